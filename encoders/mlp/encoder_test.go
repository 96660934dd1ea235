package mlp

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/deepclust/deepclust/sdk"
)

var ctx = context.Background()

func newTestEncoder(t testing.TB, cfg sdk.Config, shape []int, seed uint64) *Encoder {
	t.Helper()
	e := New()
	if err := e.Configure(ctx, sdk.Setup{Config: cfg, InputShape: shape, Seed: seed}); err != nil {
		t.Fatal(err)
	}
	return e
}

// randTensor returns a tensor of uniform values in [lo, hi).
func randTensor(rng *rand.Rand, lo, hi float64, shape ...int) sdk.Tensor {
	x := sdk.NewTensor(shape...)
	for i := range x.Data {
		x.Data[i] = float32(lo + (hi-lo)*rng.Float64())
	}
	return x
}

// dot is Σ a_i·b_i in float64.
func dot(a, b []float32) float64 {
	s := 0.0
	for i := range a {
		s += float64(a[i]) * float64(b[i])
	}
	return s
}

// TestGradientCheck compares the gradients Backward computes with central
// finite differences of L = Σ a⊙z + Σ b⊙x̂ (so ∂L/∂z = a, ∂L/∂x̂ = b) on a
// 5-4-3-2-3-4-5 network. The analytic gradient is read from e.grads (the
// optimiser step does not change it). Step h = 1e-2 on float32 weights,
// quotient in float64: the forward pass is float32, so L carries a rounding
// error of about 1e-6, i.e. up to ~1e-4 in a quotient over 2h; the networks
// are piecewise linear apart from the sigmoid, so the O(h²) truncation error
// is smaller, and h is large against float32 spacing yet small enough not
// to cross a ReLU kink at this seed. Observed worst error: 6e-5. Each
// element must satisfy |num − ana| ≤ 5e-4 + 1e-3·|ana|.
func TestGradientCheck(t *testing.T) {
	for _, act := range []string{"relu", "leaky_relu"} {
		for _, out := range []string{"linear", "sigmoid"} {
			for _, path := range []string{"z", "xhat", "both"} {
				t.Run(act+"/"+out+"/"+path, func(t *testing.T) {
					checkGradient(t, sdk.Config{"hidden": []int{4, 3}, "embedding": 2, "activation": act, "leaky_slope": 0.1, "output": out, "init": "he"}, path)
				})
			}
		}
	}
}

func checkGradient(t *testing.T, cfg sdk.Config, path string) {
	e := newTestEncoder(t, cfg, []int{5}, 7)
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range e.params { // non-zero biases too, so every term is exercised
		e.params[i] += float32(0.1 * rng.NormFloat64())
	}
	x := randTensor(rng, 0, 1, 3, 5)
	a := randTensor(rng, -1, 1, 3, 2)
	b := randTensor(rng, -1, 1, 3, 5)
	var req sdk.BackwardRequest
	if path != "xhat" {
		req.GradZ = a
	}
	if path != "z" {
		req.GradXHat = b
	}
	loss := func() float64 {
		f, err := e.Forward(ctx, x, false)
		if err != nil {
			t.Fatal(err)
		}
		l := 0.0
		if !req.GradZ.Empty() {
			l += dot(a.Data, f.Z.Data)
		}
		if !req.GradXHat.Empty() {
			l += dot(b.Data, f.XHat.Data)
		}
		return l
	}
	p0 := slices.Clone(e.params)
	if _, err := e.Forward(ctx, x, true); err != nil {
		t.Fatal(err)
	}
	if err := e.Backward(ctx, req); err != nil {
		t.Fatal(err)
	}
	dec := e.decoderOffset()
	if path == "z" && !slices.Equal(e.params[dec:], p0[dec:]) {
		t.Fatal("decoder weights changed by a Backward without GradXHat")
	}
	analytic := slices.Clone(e.grads)
	copy(e.params, p0)
	const h = 1e-2
	for j := range e.params {
		if path == "z" && j >= dec {
			break // the decoder has no gradient on this path
		}
		hi, lo := p0[j]+h, p0[j]-h
		e.params[j] = hi
		lp := loss()
		e.params[j] = lo
		lm := loss()
		e.params[j] = p0[j]
		num := (lp - lm) / float64(hi-lo)
		ana := float64(analytic[j])
		if math.Abs(num-ana) > 5e-4+1e-3*math.Abs(ana) {
			t.Errorf("parameter %d: analytic %.6g, numeric %.6g", j, ana, num)
		}
	}
}

// TestOptimizerStepsMatchFormulas trains a linear 2-1-2 autoencoder for two
// steps and compares the weights with a float64 computation by hand: the
// gradients of a linear layer pair, then Algorithm 1 of Kingma & Ba (2015),
// "Adam: A Method for Stochastic Optimization", with the L2 term g + λθ
// (PyTorch's weight_decay), or PyTorch's SGD with momentum (v = μv + g,
// θ ← θ − lr·v). Tolerance 1e-5 relative to max(1, |θ|): float32 storage
// of θ, m, v between steps.
func TestOptimizerStepsMatchFormulas(t *testing.T) {
	for _, opt := range []string{"adam", "sgd"} {
		t.Run(opt, func(t *testing.T) {
			cfg := sdk.Config{"hidden": []int{}, "embedding": 1, "optimizer": opt, "lr": 0.05, "beta1": 0.8, "beta2": 0.95, "eps": 1e-3, "momentum": 0.7, "weight_decay": 0.1}
			e := newTestEncoder(t, cfg, []int{2}, 11)
			x := sdk.Tensor{Shape: []int{2, 2}, Data: []float32{0.5, -1, 2, 0.25}}
			gx := sdk.Tensor{Shape: []int{2, 2}, Data: []float32{0.3, -0.2, 0.1, 0.4}}
			gz := sdk.Tensor{Shape: []int{2, 1}, Data: []float32{-0.5, 0.25}}
			// θ = [W1(1×2) b1 | W2(2×1) b2(2)] in the flat layout.
			theta := make([]float64, len(e.params))
			for i, v := range e.params {
				theta[i] = float64(v)
			}
			m := make([]float64, len(theta))
			v := make([]float64, len(theta))
			for step := 1; step <= 2; step++ {
				if _, err := e.Forward(ctx, x, true); err != nil {
					t.Fatal(err)
				}
				if err := e.Backward(ctx, sdk.BackwardRequest{GradZ: gz, GradXHat: gx}); err != nil {
					t.Fatal(err)
				}
				g := make([]float64, len(theta))
				for r := range 2 {
					x0, x1 := float64(x.Data[2*r]), float64(x.Data[2*r+1])
					z := theta[0]*x0 + theta[1]*x1 + theta[2]
					dz := float64(gz.Data[r])
					for j := range 2 {
						gj := float64(gx.Data[2*r+j])
						g[3+j] += gj * z // ∂L/∂W2[j]
						g[5+j] += gj     // ∂L/∂b2[j]
						dz += gj * theta[3+j]
					}
					g[0] += dz * x0
					g[1] += dz * x1
					g[2] += dz
				}
				for i := range theta {
					gi := g[i] + 0.1*theta[i]
					if opt == "adam" {
						m[i] = 0.8*m[i] + 0.2*gi
						v[i] = 0.95*v[i] + 0.05*gi*gi
						mHat := m[i] / (1 - math.Pow(0.8, float64(step)))
						vHat := v[i] / (1 - math.Pow(0.95, float64(step)))
						theta[i] -= 0.05 * mHat / (math.Sqrt(vHat) + 1e-3)
					} else {
						m[i] = 0.7*m[i] + gi
						theta[i] -= 0.05 * m[i]
					}
				}
				for i, want := range theta {
					if got := float64(e.params[i]); math.Abs(got-want) > 1e-5*max(1, math.Abs(want)) {
						t.Errorf("step %d, parameter %d: got %.8g, want %.8g", step, i, got, want)
					}
				}
			}
		})
	}
}

// trainSteps runs steps training steps of a plain autoencoder (∂L/∂x̂ of
// the mean squared error) and returns the last batch loss.
func trainSteps(t testing.TB, e *Encoder, x sdk.Tensor, steps int) float64 {
	t.Helper()
	grad := sdk.NewTensor(x.Shape...)
	loss := 0.0
	for range steps {
		f, err := e.Forward(ctx, x, true)
		if err != nil {
			t.Fatal(err)
		}
		loss = mseGrad(x.Data, f.XHat.Data, grad.Data)
		if err := e.Backward(ctx, sdk.BackwardRequest{GradXHat: grad}); err != nil {
			t.Fatal(err)
		}
	}
	return loss
}

// mseGrad returns mean((x̂−x)²) and writes its gradient 2(x̂−x)/len into g.
func mseGrad(x, xHat, g []float32) float64 {
	s := 0.0
	for i := range x {
		d := xHat[i] - x[i]
		s += float64(d) * float64(d)
		g[i] = 2 * d / float32(len(x))
	}
	return s / float64(len(x))
}

func TestDeterministicForSeed(t *testing.T) {
	cfg := sdk.Config{"hidden": []int{8}, "embedding": 3, "noise": 0.1}
	x := randTensor(rand.New(rand.NewPCG(1, 2)), 0, 1, 16, 12)
	run := func(seed uint64) []byte {
		e := newTestEncoder(t, cfg, []int{12}, seed)
		trainSteps(t, e, x, 5)
		s, err := e.Save(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	a, b, c := run(5), run(5), run(6)
	if !slices.Equal(a, b) {
		t.Error("two runs with seed 5 differ")
	}
	if slices.Equal(a, c) {
		t.Error("seeds 5 and 6 give identical states")
	}
}

// TestSaveLoadRoundTrip checks that a loaded encoder continues training
// exactly like the original (weights, Adam state, noise generator).
func TestSaveLoadRoundTrip(t *testing.T) {
	cfg := sdk.Config{"hidden": []int{8, 6}, "embedding": 3, "noise": 0.05, "activation": "leaky_relu"}
	x := randTensor(rand.New(rand.NewPCG(1, 2)), 0, 1, 10, 2, 3)
	a := newTestEncoder(t, cfg, []int{2, 3}, 1)
	trainSteps(t, a, x, 3)
	state, err := a.Save(ctx)
	if err != nil {
		t.Fatal(err)
	}
	saved := slices.Clone(a.params)
	b := newTestEncoder(t, cfg, []int{2, 3}, 99)
	if err := b.Load(ctx, state); err != nil {
		t.Fatal(err)
	}
	la, lb := trainSteps(t, a, x, 2), trainSteps(t, b, x, 2)
	if la != lb || !slices.Equal(a.params, b.params) || !slices.Equal(a.opt.V, b.opt.V) {
		t.Fatalf("training diverged after Load: loss %v vs %v", la, lb)
	}

	// Another optimiser and a flattened input shape: weights load, the
	// optimiser starts afresh.
	sgd := newTestEncoder(t, sdk.Config{"hidden": []int{8, 6}, "embedding": 3, "activation": "leaky_relu", "optimizer": "sgd"}, []int{6}, 1)
	if err := sgd.Load(ctx, state); err != nil {
		t.Fatalf("loading Adam state into an SGD encoder: %v", err)
	}
	if !slices.Equal(sgd.params, saved) || sgd.steps != [2]int{} || slices.ContainsFunc(sgd.opt.M, func(v float32) bool { return v != 0 }) {
		t.Error("Adam state loaded into an SGD encoder: weights differ or optimiser state not reset")
	}
	for name, bad := range map[string]struct {
		cfg   sdk.Config
		shape []int
		state []byte
		want  string
	}{
		"hidden":    {sdk.Config{"hidden": []int{8, 5}, "embedding": 3, "activation": "leaky_relu"}, []int{6}, state, "6-8-6-3-6-8-6"},
		"input":     {cfg, []int{7}, state, "input width 6"},
		"act":       {sdk.Config{"hidden": []int{8, 6}, "embedding": 3}, []int{6}, state, "saved activation leaky_relu"},
		"truncated": {cfg, []int{6}, state[:len(state)-3], "truncated"},
		"magic":     {cfg, []int{6}, []byte("nonsense"), "bad magic"},
	} {
		e := newTestEncoder(t, bad.cfg, bad.shape, 1)
		err := e.Load(ctx, bad.state)
		if err == nil || !strings.Contains(err.Error(), bad.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: got error %v, want one line containing %q", name, err, bad.want)
		}
	}
}

// TestTrainingReducesReconstructionError fits data lying near a 3-dim
// manifold in 20 dims; 300 Adam steps must cut the MSE below a fifth.
func TestTrainingReducesReconstructionError(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 9))
	mix := randTensor(rng, -1, 1, 3, 20)
	x := sdk.NewTensor(128, 20)
	for r := range 128 {
		u := [3]float64{rng.NormFloat64(), rng.NormFloat64(), rng.NormFloat64()}
		for j := range 20 {
			s := 0.0
			for k := range 3 {
				s += u[k] * float64(mix.Data[k*20+j])
			}
			x.Data[r*20+j] = float32(1 / (1 + math.Exp(-s)))
		}
	}
	e := newTestEncoder(t, sdk.Config{"hidden": []int{32}, "embedding": 3, "lr": 0.01}, []int{20}, 1)
	first := trainSteps(t, e, x, 1)
	last := trainSteps(t, e, x, 300)
	if last > first/5 {
		t.Errorf("MSE went from %.4g to %.4g, want below %.4g", first, last, first/5)
	}
}

// TestEvalForwardKeepsTrainingCache checks that an evaluation Forward
// between a training Forward and its Backward changes nothing.
func TestEvalForwardKeepsTrainingCache(t *testing.T) {
	cfg := sdk.Config{"hidden": []int{8}, "embedding": 3}
	rng := rand.New(rand.NewPCG(1, 2))
	x, other := randTensor(rng, 0, 1, 6, 5), randTensor(rng, 0, 1, 300, 5)
	grad := randTensor(rng, -1, 1, 6, 5)
	run := func(interleave bool) []float32 {
		e := newTestEncoder(t, cfg, []int{5}, 3)
		if _, err := e.Forward(ctx, x, true); err != nil {
			t.Fatal(err)
		}
		if interleave {
			if _, err := e.Forward(ctx, other, false); err != nil {
				t.Fatal(err)
			}
		}
		if err := e.Backward(ctx, sdk.BackwardRequest{GradXHat: grad}); err != nil {
			t.Fatal(err)
		}
		return e.params
	}
	if !slices.Equal(run(false), run(true)) {
		t.Error("an evaluation Forward changed the result of Backward")
	}
}

// TestEvalMatchesTrainForward checks the chunked evaluation path against
// the training path on a batch larger than one chunk.
func TestEvalMatchesTrainForward(t *testing.T) {
	e := newTestEncoder(t, sdk.Config{"hidden": []int{7}, "embedding": 2, "output": "sigmoid"}, []int{1, 2, 2}, 3)
	x := randTensor(rand.New(rand.NewPCG(1, 2)), 0, 1, evalChunk+9, 1, 2, 2)
	ev, err := e.Forward(ctx, x, false)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := e.Forward(ctx, x, true)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ev.Z.Data, tr.Z.Data) || !slices.Equal(ev.XHat.Data, tr.XHat.Data) {
		t.Error("evaluation and training Forward disagree")
	}
	if !slices.Equal(ev.XHat.Shape, x.Shape) || !slices.Equal(ev.Z.Shape, []int{evalChunk + 9, 2}) {
		t.Errorf("shapes z %v, x̂ %v for x %v", ev.Z.Shape, ev.XHat.Shape, x.Shape)
	}
}

// TestTrainStepAllocatesNothing checks the steady state on a network whose
// matrices are small enough for the GEMM kernel to run serially, so that
// only this package's allocations are counted.
func TestTrainStepAllocatesNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector's instrumentation allocates")
	}
	e := newTestEncoder(t, sdk.Config{"hidden": []int{16}, "embedding": 4, "noise": 0.1, "activation": "leaky_relu", "output": "sigmoid"}, []int{12}, 1)
	x := randTensor(rand.New(rand.NewPCG(1, 2)), 0, 1, 8, 12)
	gz := sdk.NewTensor(8, 4)
	trainSteps(t, e, x, 1)
	allocs := testing.AllocsPerRun(20, func() {
		f, err := e.Forward(ctx, x, true)
		if err != nil {
			t.Fatal(err)
		}
		if err := e.Backward(ctx, sdk.BackwardRequest{GradZ: gz, GradXHat: f.XHat}); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("training step allocates %v times", allocs)
	}
}

func TestConfigErrors(t *testing.T) {
	for _, c := range []struct {
		cfg   sdk.Config
		shape []int
		want  string
	}{
		{sdk.Config{}, nil, "input shape is empty"},
		{sdk.Config{}, []int{3, 0}, "non-positive dimension"},
		{sdk.Config{"embedding": 0}, []int{4}, `"embedding" is 0`},
		{sdk.Config{"hidden": []int{4, -1}}, []int{4}, "item 1 is -1"},
		{sdk.Config{"lr": -1.0}, []int{4}, `"lr"`},
		{sdk.Config{"activation": "tanh"}, []int{4}, "not one of relu, leaky_relu"},
		{sdk.Config{"layers": 3}, []int{4}, `unknown config key "layers"`},
	} {
		err := New().Configure(ctx, sdk.Setup{Config: c.cfg, InputShape: c.shape})
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("config %v, shape %v: got %v, want one line containing %q", c.cfg, c.shape, err, c.want)
		}
	}
}

func TestShapeErrors(t *testing.T) {
	e := New()
	if _, err := e.Forward(ctx, sdk.NewTensor(1, 4), false); err == nil || !strings.Contains(err.Error(), "before Configure") {
		t.Errorf("Forward before Configure: %v", err)
	}
	e = newTestEncoder(t, sdk.Config{"hidden": []int{3}, "embedding": 2}, []int{2, 2}, 1)
	if err := e.Backward(ctx, sdk.BackwardRequest{GradZ: sdk.NewTensor(1, 2)}); err == nil || !strings.Contains(err.Error(), "without a pending training Forward") {
		t.Errorf("Backward without Forward: %v", err)
	}
	for _, x := range []sdk.Tensor{sdk.NewTensor(3, 5), sdk.NewTensor(3, 2, 3), sdk.NewTensor(4), {Shape: []int{2, 4}, Data: make([]float32, 7)}, sdk.NewTensor(0, 4)} {
		if _, err := e.Forward(ctx, x, true); err == nil || strings.Contains(err.Error(), "\n") {
			t.Errorf("x shape %v with %d values: got %v, want a one-line error", x.Shape, len(x.Data), err)
		}
	}
	if _, err := e.Forward(ctx, sdk.NewTensor(3, 4), true); err != nil {
		t.Fatalf("flattened [N d] input: %v", err)
	}
	for _, req := range []sdk.BackwardRequest{{GradZ: sdk.NewTensor(3, 3)}, {GradXHat: sdk.NewTensor(3, 2, 2)}} {
		if err := e.Backward(ctx, req); err == nil || !strings.Contains(err.Error(), "shape") {
			t.Errorf("gradient shapes z %v x̂ %v: got %v", req.GradZ.Shape, req.GradXHat.Shape, err)
		}
	}
}

func TestDescribeDefaultsResolve(t *testing.T) {
	d := New().Describe()
	if d.Name != "mlp" || d.Kind != sdk.KindEncoder || d.Version != Version {
		t.Errorf("description %s %s %s", d.Name, d.Kind, d.Version)
	}
	e := newTestEncoder(t, nil, []int{1, 28, 28}, 1)
	if got := widths(e.layers); got != "784-500-500-2000-10-2000-500-500-784" {
		t.Errorf("default architecture %s", got)
	}
	if n, err := e.EmbeddingDim(ctx); n != 10 || err != nil {
		t.Errorf("EmbeddingDim = %d, %v", n, err)
	}
}
