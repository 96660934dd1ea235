package sdktest

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/deepclust/deepclust/sdk"
)

// EncoderOptions set up the encoder checks.
type EncoderOptions struct {
	// InputShape is the shape of one sample, e.g. [784]; required.
	InputShape []int
	// Config is the raw config to resolve; nil for the defaults.
	Config map[string]any
	// Batch is the number of rows per Forward; 8 when 0.
	Batch int
	// Seed is passed in Setup.
	Seed uint64
}

// ClustererOptions set up the clusterer checks.
type ClustererOptions struct {
	// EmbeddingDim is the width of z; 4 when 0.
	EmbeddingDim int
	// Rows is the number of embeddings to Fit; 64 when 0.
	Rows int
	// Config is the raw config to resolve; nil for the defaults.
	Config map[string]any
	// Seed is passed in Setup.
	Seed uint64
}

// LossOptions set up the loss checks.
type LossOptions struct {
	// EmbeddingDim is the width of z; 4 when 0.
	EmbeddingDim int
	// InputShape, when set, adds x and x̂ of that sample shape to the input.
	InputShape []int
	// Clusters, when > 0, adds centroids (Clusters × EmbeddingDim) and soft
	// assignments (Batch × Clusters) to the input.
	Clusters int
	// Batch is the number of rows; 8 when 0.
	Batch int
	// Config is the raw config to resolve; nil for the defaults.
	Config map[string]any
	// Seed is passed in Setup.
	Seed uint64
}

// both runs check on instances made directly and on instances served
// through the protocol.
func both[T sdk.Describer](t *testing.T, kind sdk.Kind, newT func() T, check func(t *testing.T, newP func() T)) {
	t.Helper()
	t.Run("direct", func(t *testing.T) { check(t, newT) })
	t.Run("protocol", func(t *testing.T) {
		check(t, func() T {
			p := newT()
			conn, srv := plugin.TestGRPCConn(t, func(s *grpc.Server) {
				if err := sdk.RegisterServer(s, p); err != nil {
					t.Fatal(err)
				}
			})
			t.Cleanup(func() { _ = conn.Close(); srv.Stop() })
			c, err := sdk.NewClient(context.Background(), conn, kind)
			if err != nil {
				t.Fatalf("connecting through the protocol: %v", err)
			}
			return c.(T)
		})
	})
}

// setup checks p's description and resolves cfg into a Setup.
func setup(t *testing.T, p sdk.Describer, kind sdk.Kind, cfg map[string]any, s sdk.Setup) sdk.Setup {
	t.Helper()
	if err := sdk.CheckPlugin(p); err != nil {
		t.Fatalf("Describe: %v", err)
	}
	d := p.Describe()
	if d.Kind != kind {
		t.Fatalf("Describe: kind %q, want %q", d.Kind, kind)
	}
	for _, f := range d.Fields {
		if f.Doc == "" {
			t.Errorf("Describe: field %q has no doc", f.Name)
		}
	}
	resolved, err := sdk.ResolveConfig(d, cfg)
	if err != nil {
		t.Fatalf("resolving config: %v", err)
	}
	s.Config = resolved
	return s
}

func randomTensor(rng *rand.Rand, shape ...int) sdk.Tensor {
	x := sdk.NewTensor(shape...)
	for i := range x.Data {
		x.Data[i] = float32(rng.NormFloat64())
	}
	return x
}

func checkTensor(t *testing.T, what string, got sdk.Tensor, want ...int) {
	t.Helper()
	if err := got.Validate(); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if err := got.CheckShape(want...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func sameTensor(t *testing.T, what string, got, want sdk.Tensor) {
	t.Helper()
	if !slices.Equal(got.Shape, want.Shape) || !slices.EqualFunc(got.Data, want.Data, func(a, b float32) bool { return math.Float32bits(a) == math.Float32bits(b) }) {
		t.Fatalf("%s differs (shapes %v and %v)", what, got.Shape, want.Shape)
	}
}

func or(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}

// Encoder checks an encoder: a well-formed Describe whose defaults resolve,
// Configure, EmbeddingDim > 0, Forward shapes and finiteness (z is
// Batch × EmbeddingDim, x̂ absent or shaped like x), Backward accepting
// gradients of those shapes, Save/Load giving identical Forward output, and
// identical output from two instances with the same seed.
func Encoder(t *testing.T, newEnc func() sdk.Encoder, opts EncoderOptions) {
	t.Helper()
	if len(opts.InputShape) == 0 {
		t.Fatal("sdktest.Encoder: EncoderOptions.InputShape is required")
	}
	both(t, sdk.KindEncoder, newEnc, func(t *testing.T, newP func() sdk.Encoder) {
		ctx := context.Background()
		rng := rand.New(rand.NewPCG(opts.Seed, 0x5d7))
		x := randomTensor(rng, append([]int{or(opts.Batch, 8)}, opts.InputShape...)...)
		configured := func() (sdk.Encoder, int) {
			e := newP()
			s := setup(t, e, sdk.KindEncoder, opts.Config, sdk.Setup{InputShape: opts.InputShape, Seed: opts.Seed})
			if err := e.Configure(ctx, s); err != nil {
				t.Fatalf("Configure: %v", err)
			}
			dim, err := e.EmbeddingDim(ctx)
			if err != nil || dim <= 0 {
				t.Fatalf("EmbeddingDim: %d, %v", dim, err)
			}
			return e, dim
		}
		e, dim := configured()
		f, err := e.Forward(ctx, x, true)
		if err != nil {
			t.Fatalf("Forward: %v", err)
		}
		checkTensor(t, "Forward z", f.Z, x.Rows(), dim)
		if !f.XHat.Empty() {
			checkTensor(t, "Forward x_hat", f.XHat, x.Shape...)
		}
		req := sdk.BackwardRequest{GradZ: randomTensor(rng, x.Rows(), dim)}
		if !f.XHat.Empty() {
			req.GradXHat = randomTensor(rng, x.Shape...)
		}
		if err := e.Backward(ctx, req); err != nil {
			t.Fatalf("Backward: %v", err)
		}
		after, err := e.Forward(ctx, x, false)
		if err != nil {
			t.Fatalf("Forward after Backward: %v", err)
		}
		state, err := e.Save(ctx)
		if err != nil {
			t.Fatalf("Save: %v", err)
		}
		loaded, _ := configured()
		if err := loaded.Load(ctx, state); err != nil {
			t.Fatalf("Load: %v", err)
		}
		restored, err := loaded.Forward(ctx, x, false)
		if err != nil {
			t.Fatalf("Forward after Load: %v", err)
		}
		sameTensor(t, "z after Save/Load", restored.Z, after.Z)
		sameTensor(t, "x_hat after Save/Load", restored.XHat, after.XHat)
		twin, _ := configured()
		again, err := twin.Forward(ctx, x, true)
		if err != nil {
			t.Fatalf("Forward: %v", err)
		}
		sameTensor(t, "z of two instances with one seed", again.Z, f.Z)
	})
}

// Clusterer checks a clusterer: a well-formed Describe, Configure, Fit and
// Assign labelling every row with a label in range (and soft assignments of
// matching shape), Loss returning a finite value and a gradient shaped like
// z, Step, Save/Load giving identical assignments, and identical results
// from two instances with the same seed.
func Clusterer(t *testing.T, newClu func() sdk.Clusterer, opts ClustererOptions) {
	t.Helper()
	dim, rows := or(opts.EmbeddingDim, 4), or(opts.Rows, 64)
	both(t, sdk.KindClusterer, newClu, func(t *testing.T, newP func() sdk.Clusterer) {
		ctx := context.Background()
		rng := rand.New(rand.NewPCG(opts.Seed, 0xc1))
		z := randomTensor(rng, rows, dim)
		configured := func() sdk.Clusterer {
			c := newP()
			s := setup(t, c, sdk.KindClusterer, opts.Config, sdk.Setup{EmbeddingDim: dim, Seed: opts.Seed})
			if err := c.Configure(ctx, s); err != nil {
				t.Fatalf("Configure: %v", err)
			}
			return c
		}
		checkAssignment := func(what string, a sdk.Assignment) {
			t.Helper()
			if len(a.Labels) != rows {
				t.Fatalf("%s: %d labels for %d rows", what, len(a.Labels), rows)
			}
			for i, l := range a.Labels {
				if l < 0 || (!a.Soft.Empty() && int(l) >= a.Soft.Cols()) {
					t.Fatalf("%s: label %d of row %d out of range", what, l, i)
				}
			}
			if !a.Soft.Empty() {
				checkTensor(t, what+" soft", a.Soft, rows, -1)
			}
			if math.IsNaN(a.Objective) || math.IsInf(a.Objective, 0) {
				t.Fatalf("%s: objective %v", what, a.Objective)
			}
		}
		c := configured()
		fit, err := c.Fit(ctx, z)
		if err != nil {
			t.Fatalf("Fit: %v", err)
		}
		checkAssignment("Fit", fit)
		idx := make([]int64, 8)
		for i := range idx {
			idx[i] = int64(i)
		}
		batch := sdk.Tensor{Shape: []int{8, dim}, Data: z.Data[:8*dim]}
		l, err := c.Loss(ctx, sdk.ClusterLossRequest{Z: batch, Indices: idx, Train: true})
		if err != nil {
			t.Fatalf("Loss: %v", err)
		}
		if math.IsNaN(l.Value) || math.IsInf(l.Value, 0) {
			t.Fatalf("Loss: value %v", l.Value)
		}
		checkTensor(t, "Loss grad_z", l.GradZ, 8, dim)
		if !l.Centroids.Empty() {
			checkTensor(t, "Loss centroids", l.Centroids, -1, dim)
		}
		if err := c.Step(ctx, sdk.ClusterStepRequest{}); err != nil {
			t.Fatalf("Step: %v", err)
		}
		before, err := c.Assign(ctx, z)
		if err != nil {
			t.Fatalf("Assign: %v", err)
		}
		checkAssignment("Assign", before)
		state, err := c.Save(ctx)
		if err != nil {
			t.Fatalf("Save: %v", err)
		}
		loaded := configured()
		if err := loaded.Load(ctx, state); err != nil {
			t.Fatalf("Load: %v", err)
		}
		after, err := loaded.Assign(ctx, z)
		if err != nil {
			t.Fatalf("Assign after Load: %v", err)
		}
		if !slices.Equal(after.Labels, before.Labels) || after.Objective != before.Objective {
			t.Fatal("Assign after Save/Load differs")
		}
		twin, err := configured().Fit(ctx, z)
		if err != nil {
			t.Fatalf("Fit: %v", err)
		}
		if !slices.Equal(twin.Labels, fit.Labels) || twin.Objective != fit.Objective {
			t.Fatal("Fit of two instances with one seed differs")
		}
	})
}

// Loss checks an auxiliary loss: a well-formed Describe, Configure, Eval
// returning a finite value and gradients that are absent or shaped like
// their inputs, gradients that match central finite differences (see the
// package documentation), and identical results from two instances.
func Loss(t *testing.T, newLoss func() sdk.Loss, opts LossOptions) {
	t.Helper()
	dim, n := or(opts.EmbeddingDim, 4), or(opts.Batch, 8)
	both(t, sdk.KindLoss, newLoss, func(t *testing.T, newP func() sdk.Loss) {
		ctx := context.Background()
		rng := rand.New(rand.NewPCG(opts.Seed, 0x1055))
		in := sdk.LossInput{Z: randomTensor(rng, n, dim)}
		if len(opts.InputShape) > 0 {
			shape := append([]int{n}, opts.InputShape...)
			in.X, in.XHat = randomTensor(rng, shape...), randomTensor(rng, shape...)
		}
		if opts.Clusters > 0 {
			in.Centroids = randomTensor(rng, opts.Clusters, dim)
			in.Soft = sdk.NewTensor(n, opts.Clusters)
			for i := range n {
				in.Soft.Data[i*opts.Clusters+i%opts.Clusters] = 1
			}
		}
		l := newP()
		s := setup(t, l, sdk.KindLoss, opts.Config, sdk.Setup{InputShape: opts.InputShape, EmbeddingDim: dim, Seed: opts.Seed})
		if err := l.Configure(ctx, s); err != nil {
			t.Fatalf("Configure: %v", err)
		}
		eval := func(in sdk.LossInput) sdk.LossOutput {
			t.Helper()
			out, err := l.Eval(ctx, in)
			if err != nil {
				t.Fatalf("Eval: %v", err)
			}
			if math.IsNaN(out.Value) || math.IsInf(out.Value, 0) {
				t.Fatalf("Eval: value %v", out.Value)
			}
			return out
		}
		out := eval(in)
		for _, g := range []struct {
			name     string
			grad, of sdk.Tensor
		}{{"grad_z", out.GradZ, in.Z}, {"grad_x_hat", out.GradXHat, in.XHat}, {"grad_centroids", out.GradCentroids, in.Centroids}} {
			if !g.grad.Empty() {
				checkTensor(t, "Eval "+g.name, g.grad, g.of.Shape...)
			}
		}
		finiteDifferences(t, rng, "z", in.Z, out.GradZ, func(v sdk.Tensor) float64 {
			c := in
			c.Z = v
			return eval(c).Value
		})
		finiteDifferences(t, rng, "x_hat", in.XHat, out.GradXHat, func(v sdk.Tensor) float64 {
			c := in
			c.XHat = v
			return eval(c).Value
		})
		twin := newP()
		if err := twin.Configure(ctx, s); err != nil {
			t.Fatalf("Configure: %v", err)
		}
		again, err := twin.Eval(ctx, in)
		if err != nil {
			t.Fatalf("Eval: %v", err)
		}
		if again.Value != out.Value {
			t.Fatalf("Eval of two instances: %v and %v", again.Value, out.Value)
		}
		sameTensor(t, "grad_z of two instances", again.GradZ, out.GradZ)
	})
}

// finiteDifferences compares grad (∂L/∂v; absent means zero) with central
// differences of f at up to 6 random entries of v.
func finiteDifferences(t testing.TB, rng *rand.Rand, name string, v, grad sdk.Tensor, f func(sdk.Tensor) float64) {
	t.Helper()
	if len(v.Data) == 0 {
		return
	}
	for range 6 {
		i := rng.IntN(len(v.Data))
		h := float32(1e-2 * max(1, math.Abs(float64(v.Data[i]))))
		plus, minus := v.Clone(), v.Clone()
		plus.Data[i] += h
		minus.Data[i] -= h
		fd := (f(plus) - f(minus)) / float64(plus.Data[i]-minus.Data[i])
		var g float64
		if !grad.Empty() {
			g = float64(grad.Data[i])
		}
		if math.Abs(fd-g) > 2e-2*max(math.Abs(fd), math.Abs(g))+1e-3 {
			t.Fatalf("∂L/∂%s[%d]: Eval returned %v, finite difference %v", name, i, g, fd)
		}
	}
}
