package plugins_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"slices"
	"strings"

	"github.com/hashicorp/go-hclog"
	"google.golang.org/grpc"

	"github.com/deepclust/deepclust/plugins"
	"github.com/deepclust/deepclust/sdk"
	"github.com/deepclust/deepclust/sdk/pluginpb"
	"github.com/deepclust/deepclust/sdk/serve"
)

// Fake plugins for the host tests. The test binary serves them as child
// processes (see TestMain); their misbehaviours are selected by name.

// inChild is set when the test binary serves a fake as a child process.
var inChild bool

// release unblocks in-process "hang" fakes when a test ends.
var release = make(chan struct{})

// fakeEncoder is a tied linear autoencoder z = xW, x̂ = zWᵀ whose mode
// selects a misbehaviour in Forward: "" (none), "crash", "hang", "short",
// "nan", "panic".
type fakeEncoder struct {
	mode  string
	cols  int
	dim   int
	w     []float32 // cols × dim
	lastX sdk.Tensor
	lr    float64
}

func (e *fakeEncoder) Describe() sdk.Description {
	name := "linear"
	if e.mode != "" {
		name += "-" + e.mode
	}
	return sdk.Description{Name: name, Kind: sdk.KindEncoder, Version: "0.1", Doc: "test fake",
		Fields: []sdk.Field{
			{Name: "dim", Type: sdk.TypeInt, Default: 3, Doc: "embedding width"},
			{Name: "lr", Type: sdk.TypeFloat, Default: 0.01, Doc: "learning rate"},
		}}
}

func (e *fakeEncoder) Configure(_ context.Context, s sdk.Setup) error {
	e.cols = 1
	for _, d := range s.InputShape {
		e.cols *= d
	}
	e.dim, e.lr = s.Config.Int("dim"), s.Config.Float("lr")
	rng := rand.New(rand.NewPCG(s.Seed, 1))
	e.w = make([]float32, e.cols*e.dim)
	for i := range e.w {
		e.w[i] = float32(rng.NormFloat64() / math.Sqrt(float64(e.cols)))
	}
	if inChild {
		hclog.L().Info("fake encoder configured", "marker", "configured-"+e.Describe().Name)
	}
	return nil
}

func (e *fakeEncoder) EmbeddingDim(context.Context) (int, error) { return e.dim, nil }

// matmul returns a (n×k) · b (k×m), or a · bᵀ when bT, with b (m×k).
func matmul(a []float32, n, k int, b []float32, m int, bT bool) []float32 {
	out := make([]float32, n*m)
	for i := range n {
		for j := range m {
			var s float32
			for l := range k {
				if bT {
					s += a[i*k+l] * b[j*k+l]
				} else {
					s += a[i*k+l] * b[l*m+j]
				}
			}
			out[i*m+j] = s
		}
	}
	return out
}

func (e *fakeEncoder) Forward(ctx context.Context, x sdk.Tensor, train bool) (sdk.Forward, error) {
	n := x.Rows()
	z := sdk.Tensor{Shape: []int{n, e.dim}, Data: matmul(x.Data, n, e.cols, e.w, e.dim, false)}
	xhat := sdk.Tensor{Shape: append([]int(nil), x.Shape...), Data: matmul(z.Data, n, e.dim, e.w, e.cols, true)}
	if train {
		e.lastX = x.Clone()
	}
	switch e.mode {
	case "crash":
		os.Exit(3)
	case "hang":
		<-release
	case "short":
		z = sdk.Tensor{Shape: []int{n - 1, e.dim}, Data: z.Data[:(n-1)*e.dim]}
	case "nan":
		z.Data[0] = float32(math.NaN())
	case "panic":
		panic("fake encoder lost its weights")
	}
	return sdk.Forward{Z: z, XHat: xhat}, nil
}

// Backward steps along xᵀ·∂L/∂z (the gradient of the z path only).
func (e *fakeEncoder) Backward(_ context.Context, req sdk.BackwardRequest) error {
	if req.GradZ.Empty() {
		return nil
	}
	n := e.lastX.Rows()
	for i := range e.cols {
		for j := range e.dim {
			var g float32
			for r := range n {
				g += e.lastX.Data[r*e.cols+i] * req.GradZ.Data[r*e.dim+j]
			}
			e.w[i*e.dim+j] -= float32(e.lr) * g
		}
	}
	return nil
}

func (e *fakeEncoder) Save(context.Context) ([]byte, error) {
	return binary.Append(nil, binary.LittleEndian, e.w)
}

func (e *fakeEncoder) Load(_ context.Context, state []byte) error {
	if len(state) != 4*len(e.w) {
		return fmt.Errorf("state of %d bytes, want %d", len(state), 4*len(e.w))
	}
	_, err := binary.Decode(state, binary.LittleEndian, e.w)
	return err
}

// fakeClusterer labels each row by its nearest of k fixed centroids (the
// first k rows seen by Fit). Mode "few-labels" returns one label too few;
// "selects" reports fakeSelections from Fit; "bad-selection" reports a
// param selection whose chosen value is not the best.
type fakeClusterer struct {
	mode      string
	k, dim    int
	centroids []float32
}

func (c *fakeClusterer) Describe() sdk.Description {
	name := "nearest"
	if c.mode != "" {
		name += "-" + c.mode
	}
	return sdk.Description{Name: name, Kind: sdk.KindClusterer, Version: "0.1",
		Fields: []sdk.Field{{Name: "k", Type: sdk.TypeInt, Default: 2, Doc: "clusters"}}}
}

func (c *fakeClusterer) Configure(_ context.Context, s sdk.Setup) error {
	c.k, c.dim = s.Config.Int("k"), s.EmbeddingDim
	return nil
}

func (c *fakeClusterer) nearest(z sdk.Tensor) ([]int32, float64) {
	labels := make([]int32, z.Rows())
	var total float64
	for i := range labels {
		best := math.Inf(1)
		for j := range c.k {
			var d float64
			for l, v := range z.Row(i) {
				diff := float64(v - c.centroids[j*c.dim+l])
				d += diff * diff
			}
			if d < best {
				best, labels[i] = d, int32(j)
			}
		}
		total += best
	}
	if c.mode == "few-labels" {
		labels = labels[:len(labels)-1]
	}
	return labels, total
}

func (c *fakeClusterer) Fit(_ context.Context, z sdk.Tensor) (sdk.Assignment, error) {
	if z.Rows() < c.k {
		return sdk.Assignment{}, fmt.Errorf("%d rows for %d clusters", z.Rows(), c.k)
	}
	c.centroids = append([]float32(nil), z.Data[:c.k*c.dim]...)
	a, err := c.Assign(context.Background(), z)
	switch c.mode {
	case "selects":
		a.Selection, a.Params = fakeSelections()
	case "bad-selection":
		_, a.Params = fakeSelections()
		a.Params[0].Chosen = 3
	}
	return a, err
}

// fakeSelections are what the "selects" fake clusterer reports from Fit.
func fakeSelections() (*sdk.KSelection, []sdk.ParamSelection) {
	return &sdk.KSelection{Criterion: "silhouette", Best: "max", K: 3, Ks: []int{2, 3, 4}, Values: []float64{0.25, 0.5, 0.375}},
		[]sdk.ParamSelection{
			{Param: "gamma", Criterion: "modularity of its own affinity", Best: "max", Chosen: 1.5,
				Candidates: []float64{1.3, 1.5, 3}, Values: []float64{0.8125, 0.875, 0.75}, Note: "the first listed on ties"},
			{Param: "tau", Criterion: "residual", Best: "min", Chosen: 0.9, Candidates: []float64{0.9, 1}, Values: []float64{0.1, 0.2}},
		}
}

func (c *fakeClusterer) Update(ctx context.Context, z sdk.Tensor) (sdk.Assignment, error) {
	return c.Assign(ctx, z)
}

func (c *fakeClusterer) Assign(_ context.Context, z sdk.Tensor) (sdk.Assignment, error) {
	if c.centroids == nil {
		return sdk.Assignment{}, errors.New("not fitted")
	}
	labels, obj := c.nearest(z)
	return sdk.Assignment{Labels: labels, Objective: obj}, nil
}

// Loss is the mean squared distance to the assigned centroid.
func (c *fakeClusterer) Loss(_ context.Context, req sdk.ClusterLossRequest) (sdk.ClusterLoss, error) {
	labels, obj := c.nearest(req.Z)
	n := req.Z.Rows()
	grad := sdk.NewTensor(n, c.dim)
	for i := range n {
		for l := range c.dim {
			grad.Data[i*c.dim+l] = 2 * (req.Z.Data[i*c.dim+l] - c.centroids[int(labels[i])*c.dim+l]) / float32(n)
		}
	}
	cent := sdk.Tensor{Shape: []int{c.k, c.dim}, Data: append([]float32(nil), c.centroids...)}
	return sdk.ClusterLoss{Value: obj / float64(n), GradZ: grad, Centroids: cent}, nil
}

func (c *fakeClusterer) Step(context.Context, sdk.ClusterStepRequest) error { return nil }

func (c *fakeClusterer) Save(context.Context) ([]byte, error) {
	return binary.Append(nil, binary.LittleEndian, c.centroids)
}

func (c *fakeClusterer) Load(_ context.Context, state []byte) error {
	c.centroids = make([]float32, len(state)/4)
	_, err := binary.Decode(state, binary.LittleEndian, c.centroids)
	return err
}

// fakeLoss is L = w·mean‖z‖² + Pairs (so tests see Pairs arrive). Mode "wide-grad" returns ∂L/∂z with one
// column too many.
type fakeLoss struct {
	mode string
	w    float64
}

func (l *fakeLoss) Describe() sdk.Description {
	name := "l2"
	if l.mode != "" {
		name += "-" + l.mode
	}
	return sdk.Description{Name: name, Kind: sdk.KindLoss, Version: "0.1",
		Fields: []sdk.Field{{Name: "weight", Type: sdk.TypeFloat, Default: 1.0, Doc: "w"}}}
}

func (l *fakeLoss) Configure(_ context.Context, s sdk.Setup) error {
	l.w = s.Config.Float("weight")
	return nil
}

func (l *fakeLoss) Eval(_ context.Context, in sdk.LossInput) (sdk.LossOutput, error) {
	n, d := in.Z.Rows(), in.Z.Cols()
	if l.mode == "wide-grad" {
		d++
	}
	grad := sdk.NewTensor(n, d)
	var v float64
	for i := range n {
		for j, z := range in.Z.Row(i) {
			v += float64(z) * float64(z)
			grad.Data[i*d+j] = float32(2 * l.w * float64(z) / float64(n))
		}
	}
	return sdk.LossOutput{Value: l.w*v/float64(n) + float64(in.Pairs), GradZ: grad}, nil
}

// fakeRegistry holds every fake.
func fakeRegistry() *plugins.Registry {
	reg := &plugins.Registry{}
	for _, mode := range []string{"", "crash", "hang", "short", "nan", "panic"} {
		if err := reg.Register(func() sdk.Describer { return &fakeEncoder{mode: mode} }); err != nil {
			panic(err)
		}
	}
	for _, f := range []plugins.Factory{
		func() sdk.Describer { return &fakeClusterer{} },
		func() sdk.Describer { return &fakeClusterer{mode: "few-labels"} },
		func() sdk.Describer { return &fakeClusterer{mode: "selects"} },
		func() sdk.Describer { return &fakeClusterer{mode: "bad-selection"} },
		func() sdk.Describer { return &fakeLoss{} },
		func() sdk.Describer { return &fakeLoss{mode: "wide-grad"} },
	} {
		if err := reg.Register(f); err != nil {
			panic(err)
		}
	}
	return reg
}

// serveFake serves the fake kind/name in a child process. "linear-garbage"
// is the linear encoder behind an interceptor that replaces z with bytes
// that are not Arrow.
func serveFake(kind sdk.Kind, name string) error {
	if name == "linear-garbage" {
		corrupt := func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
			resp, err := h(ctx, req)
			if f, ok := resp.(*pluginpb.ForwardResponse); ok {
				f.Z = []byte(strings.Repeat("not arrow ", 8))
			}
			return resp, err
		}
		serve.Encoder(&fakeEncoder{}, serve.WithGRPCServerOptions(grpc.ChainUnaryInterceptor(corrupt)))
		return nil
	}
	if name == "linear-env" {
		serve.Encoder(&envEncoder{})
		return nil
	}
	if name == "linear-crash-hard" {
		serve.Encoder(&crashingEncoder{})
		return nil
	}
	if name == "linear-old" {
		// A plugin of the previous protocol version, built before plugins
		// checked the host's version: only the host can refuse it.
		os.Unsetenv("PLUGIN_PROTOCOL_VERSIONS")
		serve.Encoder(&fakeEncoder{}, serve.WithProtocolVersion(serve.ProtocolVersion-1))
		return nil
	}
	return plugins.ServeBuiltin(fakeRegistry(), kind, name)
}

// envEncoder is the linear encoder; its Doc lists the names of the
// variables in its environment and its socket directory.
type envEncoder struct{ fakeEncoder }

func (e *envEncoder) Describe() sdk.Description {
	d := e.fakeEncoder.Describe()
	var names []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		names = append(names, name)
	}
	slices.Sort(names)
	d.Doc = "env: " + strings.Join(names, " ") + "; socket dir: " + os.Getenv("PLUGIN_UNIX_SOCKET_DIR")
	return d
}

// crashingEncoder is the linear encoder whose Forward panics on another
// goroutine, which nothing recovers: the process dies with a stack trace
// on stderr.
type crashingEncoder struct{ fakeEncoder }

func (e *crashingEncoder) Forward(context.Context, sdk.Tensor, bool) (sdk.Forward, error) {
	go panic("fake encoder crashed hard")
	select {}
}

// serveHost is a plugin host process for the tests of host death: it opens
// the encoder the arguments name (a fake built-in served by this binary,
// or an executable), prints "ready", and waits to be killed.
func serveHost(how, what string) error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	h := &plugins.Host{
		Registry: fakeRegistry(),
		SelfCommand: func(kind sdk.Kind, name string) *exec.Cmd {
			return exec.Command(exe, "fake-plugin", string(kind), name)
		},
	}
	spec := plugins.Spec{Kind: sdk.KindEncoder, Name: what, Isolation: plugins.Process}
	if how == "path" {
		spec = plugins.Spec{Kind: sdk.KindEncoder, Path: what}
	}
	if _, err := h.Open(context.Background(), spec); err != nil {
		return err
	}
	fmt.Println("ready")
	select {}
}
