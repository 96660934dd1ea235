package plugins_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/deepclust/deepclust/plugins"
	"github.com/deepclust/deepclust/sdk"
	"github.com/deepclust/deepclust/sdk/sdktest"
	"github.com/deepclust/deepclust/sdk/serve"
)

// TestMain doubles as the fake plugin binary: run as
// "TESTBINARY fake-plugin KIND NAME" it serves that fake instead of
// running tests. Run as "TESTBINARY fake-host builtin|path NAME|PATH" it
// is a host that opens that encoder and waits to be killed.
func TestMain(m *testing.M) {
	if len(os.Args) == 4 && os.Args[1] == "fake-host" {
		inChild = true
		if err := serveHost(os.Args[2], os.Args[3]); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	if len(os.Args) == 4 && os.Args[1] == "fake-plugin" {
		inChild = true
		if err := serveFake(sdk.Kind(os.Args[2]), os.Args[3]); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	code := m.Run()
	close(release)
	os.Exit(code)
}

// syncBuffer collects the host's log lines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func testExe(t *testing.T) string {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return exe
}

func newHost(t *testing.T, logs io.Writer) *plugins.Host {
	exe := testExe(t)
	return &plugins.Host{
		Registry: fakeRegistry(),
		SelfCommand: func(kind sdk.Kind, name string) *exec.Cmd {
			return exec.Command(exe, "fake-plugin", string(kind), name)
		},
		Logger: hclog.New(&hclog.LoggerOptions{Output: logs, Level: hclog.Debug}),
	}
}

func open(t *testing.T, h *plugins.Host, s plugins.Spec) *plugins.Plugin {
	t.Helper()
	p, err := h.Open(context.Background(), s)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p
}

func randomTensor(seed uint64, shape ...int) sdk.Tensor {
	rng := rand.New(rand.NewPCG(seed, 99))
	t := sdk.NewTensor(shape...)
	for i := range t.Data {
		t.Data[i] = float32(rng.NormFloat64())
	}
	return t
}

func sameBits(t *testing.T, what string, got, want sdk.Tensor) {
	t.Helper()
	if fmt.Sprint(got.Shape) != fmt.Sprint(want.Shape) || len(got.Data) != len(want.Data) {
		t.Fatalf("%s: shape %v, want %v", what, got.Shape, want.Shape)
	}
	for i := range got.Data {
		if math.Float32bits(got.Data[i]) != math.Float32bits(want.Data[i]) {
			t.Fatalf("%s: value %d is %v, want %v", what, i, got.Data[i], want.Data[i])
		}
	}
}

// session runs a short training exchange on all three kinds and returns
// everything the plugins returned.
type session struct {
	z1, xhat, z2 sdk.Tensor
	state        []byte
	labels       []int32
	cl           sdk.ClusterLoss
	lo           sdk.LossOutput
}

func runSession(t *testing.T, h *plugins.Host, iso plugins.Isolation) session {
	ctx := context.Background()
	encP := open(t, h, plugins.Spec{Kind: sdk.KindEncoder, Name: "linear", Isolation: iso})
	cluP := open(t, h, plugins.Spec{Kind: sdk.KindClusterer, Name: "nearest", Isolation: iso})
	losP := open(t, h, plugins.Spec{Kind: sdk.KindLoss, Name: "l2", Isolation: iso})
	enc, err := encP.Encoder()
	if err != nil {
		t.Fatal(err)
	}
	clu, err := cluP.Clusterer()
	if err != nil {
		t.Fatal(err)
	}
	los, err := losP.Loss()
	if err != nil {
		t.Fatal(err)
	}
	var s session
	x := randomTensor(1, 16, 2, 3)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(enc.Configure(ctx, sdk.Setup{Config: sdk.Config{"dim": "4"}, InputShape: []int{2, 3}, Seed: 7}))
	f, err := enc.Forward(ctx, x, true)
	must(err)
	s.z1, s.xhat = f.Z, f.XHat
	must(clu.Configure(ctx, sdk.Setup{Config: sdk.Config{"k": 3}, EmbeddingDim: 4, Seed: 7}))
	a, err := clu.Fit(ctx, f.Z)
	must(err)
	s.labels = a.Labels
	idx := make([]int64, 16)
	s.cl, err = clu.Loss(ctx, sdk.ClusterLossRequest{Z: f.Z, Indices: idx, Train: true})
	must(err)
	must(los.Configure(ctx, sdk.Setup{Config: sdk.Config{"weight": 0.5}, EmbeddingDim: 4}))
	s.lo, err = los.Eval(ctx, sdk.LossInput{X: x, XHat: f.XHat, Z: f.Z, Centroids: s.cl.Centroids})
	must(err)
	must(enc.Backward(ctx, sdk.BackwardRequest{GradZ: s.cl.GradZ}))
	f2, err := enc.Forward(ctx, x, false)
	must(err)
	s.z2 = f2.Z
	s.state, err = enc.Save(ctx)
	must(err)
	return s
}

func TestInProcessAndProcessAgree(t *testing.T) {
	h := newHost(t, io.Discard)
	in := runSession(t, h, plugins.InProcess)
	out := runSession(t, h, plugins.Process)
	sameBits(t, "z", out.z1, in.z1)
	sameBits(t, "x_hat", out.xhat, in.xhat)
	sameBits(t, "z after Backward", out.z2, in.z2)
	sameBits(t, "cluster grad_z", out.cl.GradZ, in.cl.GradZ)
	sameBits(t, "centroids", out.cl.Centroids, in.cl.Centroids)
	sameBits(t, "loss grad_z", out.lo.GradZ, in.lo.GradZ)
	if out.cl.Value != in.cl.Value || out.lo.Value != in.lo.Value {
		t.Fatalf("loss values differ: cluster %v vs %v, aux %v vs %v", out.cl.Value, in.cl.Value, out.lo.Value, in.lo.Value)
	}
	if fmt.Sprint(out.labels) != fmt.Sprint(in.labels) || !bytes.Equal(out.state, in.state) {
		t.Fatal("labels or saved state differ between in-process and process")
	}
	if in.z1.Data[0] == in.z2.Data[0] {
		t.Fatal("Backward did not change the encoder")
	}
}

func TestLargeMessagesCross(t *testing.T) {
	h := newHost(t, io.Discard)
	p := open(t, h, plugins.Spec{Kind: sdk.KindEncoder, Name: "linear", Isolation: plugins.Process})
	enc, _ := p.Encoder()
	ctx := context.Background()
	if err := enc.Configure(ctx, sdk.Setup{InputShape: []int{1000}, Seed: 1}); err != nil {
		t.Fatal(err)
	}
	x := randomTensor(2, 2000, 1000) // 8 MB each way: x out, x_hat back
	f, err := enc.Forward(ctx, x, false)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.XHat.CheckShape(2000, 1000); err != nil {
		t.Fatal(err)
	}
}

// processGone waits until pid no longer exists.
func processGone(t *testing.T, pid int) {
	t.Helper()
	if pid <= 0 {
		t.Fatalf("no pid recorded for the plugin process")
	}
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("plugin process %d is still there", pid)
}

func TestMisbehavingEncoders(t *testing.T) {
	exe := testExe(t)
	cases := []struct {
		name, want  string
		processOnly bool
		spec        plugins.Spec
	}{
		{name: "linear-crash", want: "Forward: plugin process exited", processOnly: true},
		{name: "linear-hang", want: "Forward: no reply within 2s (timeout)"},
		{name: "linear-short", want: "Forward: returned z with 15 rows for 16 inputs"},
		{name: "linear-nan", want: "is NaN"},
		{name: "linear-panic", want: "Forward: plugin panicked: fake encoder lost its weights"},
		{name: "garbage", want: "Forward: malformed reply: z: decoding tensor", processOnly: true,
			spec: plugins.Spec{Kind: sdk.KindEncoder, Path: exe, Args: []string{"fake-plugin", "encoder", "linear-garbage"}}},
	}
	h := newHost(t, io.Discard)
	for _, c := range cases {
		for _, iso := range []plugins.Isolation{plugins.InProcess, plugins.Process} {
			if c.processOnly && iso == plugins.InProcess {
				continue
			}
			t.Run(c.name+"/"+string(iso), func(t *testing.T) {
				spec := c.spec
				if spec.Kind == "" {
					spec = plugins.Spec{Kind: sdk.KindEncoder, Name: c.name, Isolation: iso}
				}
				// Only the hang case needs a short timeout; the others get a
				// long one so that a slow start on a loaded machine cannot
				// turn into a timeout.
				spec.Timeout = time.Minute
				if c.name == "linear-hang" {
					spec.Timeout = 2 * time.Second
				}
				p := open(t, h, spec)
				enc, _ := p.Encoder()
				ctx := context.Background()
				if err := enc.Configure(ctx, sdk.Setup{InputShape: []int{6}, Seed: 3}); err != nil {
					t.Fatal(err)
				}
				_, err := enc.Forward(ctx, randomTensor(3, 16, 6), true)
				if err == nil {
					t.Fatal("Forward succeeded")
				}
				msg := err.Error()
				if !strings.Contains(msg, c.want) || !strings.HasPrefix(msg, p.String()+": ") || strings.Contains(msg, "\n") {
					t.Fatalf("error %q: want one line starting %q and containing %q", msg, p.String(), c.want)
				}
				var ce *plugins.CallError
				if !errors.As(err, &ce) || !ce.Failed {
					t.Fatalf("error %v is not a failed CallError", err)
				}
				if iso == plugins.Process {
					processGone(t, p.Pid())
				}
				if _, err := enc.Forward(ctx, randomTensor(3, 16, 6), true); err == nil || !strings.Contains(err.Error(), "plugin failed earlier") {
					t.Fatalf("second call after failure: %v", err)
				}
				if err := p.Close(); err != nil {
					t.Fatal(err)
				}
				if err := p.Close(); err != nil {
					t.Fatal(err)
				}
			})
		}
	}
}

func TestMisbehavingClustererAndLoss(t *testing.T) {
	h := newHost(t, io.Discard)
	ctx := context.Background()
	z := randomTensor(4, 8, 3)
	for _, iso := range []plugins.Isolation{plugins.InProcess, plugins.Process} {
		t.Run(string(iso), func(t *testing.T) {
			cp := open(t, h, plugins.Spec{Kind: sdk.KindClusterer, Name: "nearest-few-labels", Isolation: iso})
			clu, _ := cp.Clusterer()
			if err := clu.Configure(ctx, sdk.Setup{EmbeddingDim: 3}); err != nil {
				t.Fatal(err)
			}
			_, err := clu.Fit(ctx, z)
			want := cp.String() + ": Fit: returned 7 labels for 8 rows"
			if err == nil || err.Error() != want {
				t.Fatalf("got %v, want %q", err, want)
			}
			lp := open(t, h, plugins.Spec{Kind: sdk.KindLoss, Name: "l2-wide-grad", Isolation: iso})
			los, _ := lp.Loss()
			if err := los.Configure(ctx, sdk.Setup{EmbeddingDim: 3}); err != nil {
				t.Fatal(err)
			}
			_, err = los.Eval(ctx, sdk.LossInput{Z: z})
			want = lp.String() + ": Eval: returned grad_z of shape [8 4] for z of shape [8 3]"
			if err == nil || err.Error() != want {
				t.Fatalf("got %v, want %q", err, want)
			}
			if iso == plugins.Process {
				processGone(t, cp.Pid())
				processGone(t, lp.Pid())
			}
		})
	}
}

// TestSelectionsCross checks that a clusterer's k and param selections
// reach the host unchanged in and out of process (k_selection_json,
// param_selections_json), and that an inconsistent param selection is a
// bad reply: a clear error, and the plugin process is killed.
func TestSelectionsCross(t *testing.T) {
	h := newHost(t, io.Discard)
	ctx := context.Background()
	z := randomTensor(5, 8, 3)
	wantK, wantParams := fakeSelections()
	for _, iso := range []plugins.Isolation{plugins.InProcess, plugins.Process} {
		t.Run(string(iso), func(t *testing.T) {
			cp := open(t, h, plugins.Spec{Kind: sdk.KindClusterer, Name: "nearest-selects", Isolation: iso})
			clu, _ := cp.Clusterer()
			if err := clu.Configure(ctx, sdk.Setup{EmbeddingDim: 3}); err != nil {
				t.Fatal(err)
			}
			a, err := clu.Fit(ctx, z)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(a.Selection, wantK) || !reflect.DeepEqual(a.Params, wantParams) {
				t.Errorf("got k selection %+v and params %+v, want %+v and %+v", a.Selection, a.Params, wantK, wantParams)
			}
			if a, err = clu.Update(ctx, z); err != nil || a.Selection != nil || a.Params != nil {
				t.Errorf("Update without selections: got %+v, %+v, %v", a.Selection, a.Params, err)
			}

			bp := open(t, h, plugins.Spec{Kind: sdk.KindClusterer, Name: "nearest-bad-selection", Isolation: iso})
			bad, _ := bp.Clusterer()
			if err := bad.Configure(ctx, sdk.Setup{EmbeddingDim: 3}); err != nil {
				t.Fatal(err)
			}
			_, err = bad.Fit(ctx, z)
			want := bp.String() + `: Fit: returned an inconsistent param selection "gamma": chosen 3 has modularity of its own affinity 0.75, but candidate 1.5 has 0.875 and the largest wins`
			if err == nil || err.Error() != want {
				t.Fatalf("got %v, want %q", err, want)
			}
			if iso == plugins.Process {
				processGone(t, bp.Pid())
			}
		})
	}
}

// TestLossPairsCross checks that LossInput.Pairs reaches the loss in and
// out of process (the fake adds it to its value) and that a pair count the
// batch cannot hold is refused before the call.
func TestLossPairsCross(t *testing.T) {
	h := newHost(t, io.Discard)
	ctx := context.Background()
	z := randomTensor(4, 8, 3)
	for _, iso := range []plugins.Isolation{plugins.InProcess, plugins.Process} {
		t.Run(string(iso), func(t *testing.T) {
			lp := open(t, h, plugins.Spec{Kind: sdk.KindLoss, Name: "l2", Isolation: iso})
			los, _ := lp.Loss()
			if err := los.Configure(ctx, sdk.Setup{EmbeddingDim: 3}); err != nil {
				t.Fatal(err)
			}
			base, err := los.Eval(ctx, sdk.LossInput{Z: z})
			if err != nil {
				t.Fatal(err)
			}
			paired, err := los.Eval(ctx, sdk.LossInput{Z: z, Pairs: 3})
			if err != nil {
				t.Fatal(err)
			}
			if d := paired.Value - base.Value; d != 3 {
				t.Errorf("Pairs 3 changed the fake's value by %v, want 3", d)
			}
			_, err = los.Eval(ctx, sdk.LossInput{Z: z, Pairs: 5})
			if err == nil || !strings.Contains(err.Error(), "5 neighbour pairs in a batch of 8 rows") {
				t.Errorf("Pairs 5 of 8 rows: error %v", err)
			}
		})
	}
}

func TestBadInputIsNotAPluginFailure(t *testing.T) {
	h := newHost(t, io.Discard)
	ctx := context.Background()
	for _, iso := range []plugins.Isolation{plugins.InProcess, plugins.Process} {
		p := open(t, h, plugins.Spec{Kind: sdk.KindEncoder, Name: "linear", Isolation: iso})
		enc, _ := p.Encoder()
		err := enc.Configure(ctx, sdk.Setup{Config: sdk.Config{"depth": 3}, InputShape: []int{6}})
		if err == nil || !strings.Contains(err.Error(), `unknown config key "depth"`) {
			t.Fatalf("%s: got %v, want an unknown-key error", iso, err)
		}
		if err := enc.Configure(ctx, sdk.Setup{InputShape: []int{6}}); err != nil {
			t.Fatal(err)
		}
		_, err = enc.Forward(ctx, randomTensor(1, 4, 5), false)
		if err == nil || !strings.Contains(err.Error(), "x of shape [4 5], want [N 6]") {
			t.Fatalf("%s: got %v, want a shape error", iso, err)
		}
		if _, err := enc.Forward(ctx, randomTensor(1, 4, 6), false); err != nil {
			t.Fatalf("%s: plugin unusable after a bad input: %v", iso, err)
		}
	}
}

func TestChecksumPin(t *testing.T) {
	exe := testExe(t)
	h := newHost(t, io.Discard)
	b, err := os.ReadFile(exe)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	args := []string{"fake-plugin", "loss", "l2"}
	good := hex.EncodeToString(sum[:])
	p := open(t, h, plugins.Spec{Kind: sdk.KindLoss, Path: exe, Args: args, SHA256: good})
	if p.Description().Name != "l2" {
		t.Fatalf("opened %q", p.Description().Name)
	}
	sum[0] ^= 1
	_, err = h.Open(context.Background(), plugins.Spec{Kind: sdk.KindLoss, Path: exe, Args: args, SHA256: hex.EncodeToString(sum[:])})
	if err == nil || !strings.Contains(err.Error(), "does not match the pinned") {
		t.Fatalf("got %v, want a checksum mismatch", err)
	}
}

func TestOpenFailures(t *testing.T) {
	exe := testExe(t)
	h := newHost(t, io.Discard)
	cases := []struct {
		spec plugins.Spec
		want string
	}{
		{plugins.Spec{Kind: sdk.KindLoss, Path: "/nonexistent/plugin"}, `loss "/nonexistent/plugin" (process): starting`},
		{plugins.Spec{Kind: sdk.KindLoss, Path: "/bin/true"}, `loss "/bin/true" (process): starting /bin/true: it exited or wrote no go-plugin handshake (not a deepclust plugin?); it wrote nothing to stderr`},
		{plugins.Spec{Kind: sdk.KindLoss, Path: exe, Args: []string{"fake-plugin", "encoder", "linear"}}, "Describe: the binary does not serve a loss plugin"},
		{plugins.Spec{Kind: sdk.KindLoss, Path: exe, Args: []string{"fake-plugin", "loss", "nope"}}, `its last stderr line: no built-in loss named "nope" (known: l2, l2-wide-grad)`},
		{plugins.Spec{Kind: sdk.KindEncoder, Name: "mlp"}, `encoder "mlp" (inprocess): no built-in encoder named "mlp"`},
		{plugins.Spec{Kind: "decoder", Name: "x"}, `unknown kind "decoder"`},
		{plugins.Spec{Kind: sdk.KindLoss}, "set exactly one of name"},
		{plugins.Spec{Kind: sdk.KindLoss, Name: "l2", Path: exe}, "set exactly one of name"},
		{plugins.Spec{Kind: sdk.KindLoss, Path: exe, Isolation: plugins.InProcess}, "external plugins always run as a process"},
		{plugins.Spec{Kind: sdk.KindLoss, Name: "l2", Isolation: "thread"}, `unknown isolation "thread"`},
		{plugins.Spec{Kind: sdk.KindLoss, Name: "l2", SHA256: "00"}, "sha256 pins an external binary"},
		{plugins.Spec{Kind: sdk.KindLoss, Path: exe, SHA256: "abc"}, "is not 64 hex digits"},
		{plugins.Spec{Kind: sdk.KindLoss, Name: "l2", Args: []string{"-v"}}, "args are passed to an external binary"},
	}
	for _, c := range cases {
		p, err := h.Open(context.Background(), c.spec)
		if err == nil {
			_ = p.Close()
			t.Errorf("%+v: opened", c.spec)
			continue
		}
		if !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%+v: got %q, want one line containing %q", c.spec, err, c.want)
		}
	}
}

func TestPluginLogsReachHostLogger(t *testing.T) {
	var logs syncBuffer
	h := newHost(t, &logs)
	p := open(t, h, plugins.Spec{Kind: sdk.KindEncoder, Name: "linear", Isolation: plugins.Process})
	enc, _ := p.Encoder()
	if err := enc.Configure(context.Background(), sdk.Setup{InputShape: []int{2}}); err != nil {
		t.Fatal(err)
	}
	_ = p.Close()
	if !strings.Contains(logs.String(), "configured-linear") {
		t.Fatalf("plugin log line missing from host log:\n%s", logs.String())
	}
}

func TestRegistry(t *testing.T) {
	reg := fakeRegistry()
	if err := reg.Register(func() sdk.Describer { return &fakeLoss{} }); err == nil || !strings.Contains(err.Error(), `loss "l2": already registered`) {
		t.Fatalf("duplicate: got %v", err)
	}
	_, err := reg.Lookup(sdk.KindLoss, "center")
	if err == nil || !strings.Contains(err.Error(), `no built-in loss named "center" (known: l2, l2-wide-grad)`) {
		t.Fatalf("lookup: got %v", err)
	}
	var got []string
	for _, d := range reg.List() {
		got = append(got, string(d.Kind)+"/"+d.Name)
	}
	want := "clusterer/nearest clusterer/nearest-bad-selection clusterer/nearest-few-labels clusterer/nearest-selects encoder/linear encoder/linear-crash encoder/linear-hang encoder/linear-nan encoder/linear-panic encoder/linear-short loss/l2 loss/l2-wide-grad"
	if strings.Join(got, " ") != want {
		t.Fatalf("List: %v", got)
	}
}

func TestExternalPluginModule(t *testing.T) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("the go toolchain is not installed: cannot build examples/external-loss")
	}
	bin := filepath.Join(t.TempDir(), "center-loss")
	build := exec.Command(gobin, "build", "-o", bin, ".")
	build.Dir = filepath.Join("..", "examples", "external-loss")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building examples/external-loss: %v\n%s", err, out)
	}
	h := newHost(t, io.Discard)
	p := open(t, h, plugins.Spec{Kind: sdk.KindLoss, Path: bin})
	los, _ := p.Loss()
	ctx := context.Background()
	if err := los.Configure(ctx, sdk.Setup{Config: sdk.Config{"weight": "2"}, EmbeddingDim: 2}); err != nil {
		t.Fatal(err)
	}
	// z = [[3 4] [0 0]], weight 2: L = 2·(25+0)/2 = 25, ∂L/∂z = 2z.
	out, err := los.Eval(ctx, sdk.LossInput{Z: sdk.Tensor{Shape: []int{2, 2}, Data: []float32{3, 4, 0, 0}}})
	if err != nil {
		t.Fatal(err)
	}
	if out.Value != 25 || fmt.Sprint(out.GradZ.Data) != "[6 8 0 0]" {
		t.Fatalf("L = %v, ∂L/∂z = %v; want 25 and [6 8 0 0]", out.Value, out.GradZ.Data)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	processGone(t, p.Pid())
}

func TestFakesPassConformance(t *testing.T) {
	sdktest.Encoder(t, func() sdk.Encoder { return &fakeEncoder{} }, sdktest.EncoderOptions{InputShape: []int{2, 3}, Seed: 5})
	sdktest.Clusterer(t, func() sdk.Clusterer { return &fakeClusterer{} }, sdktest.ClustererOptions{EmbeddingDim: 3})
	sdktest.Loss(t, func() sdk.Loss { return &fakeLoss{} }, sdktest.LossOptions{EmbeddingDim: 3})
}

// TestProtocolVersionsOneApartRefuseEachOther opens a plugin one protocol
// version behind the host (the host refuses it), and a plugin under a host
// one version ahead (the plugin refuses the host): one line each, naming
// both versions.
func TestProtocolVersionsOneApartRefuseEachOther(t *testing.T) {
	exe := testExe(t)
	v := serve.ProtocolVersion
	old := newHost(t, io.Discard)
	_, err := old.Open(context.Background(), plugins.Spec{Kind: sdk.KindEncoder, Path: exe, Args: []string{"fake-plugin", "encoder", "linear-old"}})
	want := fmt.Sprintf("speaks deepclust plugin protocol %d, this host speaks %d", v-1, v)
	if err == nil || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "\n") {
		t.Errorf("older plugin: got %v, want one line containing %q", err, want)
	}
	newer := newHost(t, io.Discard)
	plugins.SetProtocolVersion(newer, v+1)
	_, err = newer.Open(context.Background(), plugins.Spec{Kind: sdk.KindEncoder, Path: exe, Args: []string{"fake-plugin", "encoder", "linear"}})
	want = fmt.Sprintf("the plugin refused this host: the host speaks deepclust plugin protocol %d, this plugin speaks %d", v+1, v)
	if err == nil || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "\n") {
		t.Errorf("newer host: got %v, want one line containing %q", err, want)
	}
}
