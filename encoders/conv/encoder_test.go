package conv

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

// tinyConfig is a two-layer network on 2×7×6 inputs with both paddings,
// a valid layer that leaves a trailing row unread (6 → 2 with kernel 3,
// stride 2 and output padding 1 in the decoder) and overridden decoder
// channels.
func tinyConfig(act, out string) sdk.Config {
	return sdk.Config{"filters": []int{3, 4}, "kernels": []int{3, 3}, "strides": []int{2, 2}, "padding": []string{"same", "valid"},
		"decoder_filters": []int{2}, "embedding": 3, "activation": act, "leaky_slope": 0.1, "output": out, "init": "he"}
}

// TestDCECArchitecture checks the default network on 28×28 against the
// layer sizes of DCEC (Guo et al. 2017, Fig. 1 and the authors' Keras
// code): 28 → 14 → 7 → 3, 1152 → 10 → 1152, 3 → 7 → 14 → 28.
func TestDCECArchitecture(t *testing.T) {
	e := newTestEncoder(t, nil, []int{1, 28, 28}, 1)
	var sizes []int
	for _, l := range e.arch.layers {
		sizes = append(sizes, l.out)
	}
	want := []int{32 * 14 * 14, 64 * 7 * 7, 128 * 3 * 3, 10, 1152, 64 * 7 * 7, 32 * 14 * 14, 28 * 28}
	if !slices.Equal(sizes, want) {
		t.Errorf("layer outputs %v, want %v (%s)", sizes, want, e.arch)
	}
	params := (32*25 + 32) + (64*32*25 + 64) + (128*64*9 + 128) + (1152*10 + 10) + (10*1152 + 1152) + (128*64*9 + 64) + (64*32*25 + 32) + (32*25 + 1)
	if len(e.params) != params {
		t.Errorf("%d parameters, want %d", len(e.params), params)
	}
}

// TestGradientCheck compares the gradients Backward computes with central
// finite differences of L = Σ a⊙z + Σ b⊙x̂ (∂L/∂z = a, ∂L/∂x̂ = b) on the
// tiny network. The analytic gradient is read from e.grads. Step h = 1e-3
// on float32 weights, quotient in float64: L carries float32 rounding of
// ~1e-7 relative, i.e. ≲1e-4 in a quotient; the network is piecewise
// linear apart from the sigmoid, and at this seed no pre-activation lies
// within the reach of h of a ReLU kink (seed 3 has one at −6e-5, which the
// check catches). Each element must satisfy |num − ana| ≤ 5e-4 + 1e-3·|ana|.
func TestGradientCheck(t *testing.T) {
	for _, act := range []string{"relu", "leaky_relu"} {
		for _, out := range []string{"linear", "sigmoid"} {
			for _, path := range []string{"z", "xhat", "both"} {
				t.Run(act+"/"+out+"/"+path, func(t *testing.T) { checkGradient(t, tinyConfig(act, out), path) })
			}
		}
	}
}

func checkGradient(t *testing.T, cfg sdk.Config, path string) {
	e := newTestEncoder(t, cfg, []int{2, 7, 6}, 7)
	rng := rand.New(rand.NewPCG(5, 4))
	for i := range e.params { // non-zero biases too, so every term is exercised
		e.params[i] += float32(0.1 * rng.NormFloat64())
	}
	x := randTensor(rng, 0, 1, 3, 2, 7, 6)
	a := randTensor(rng, -1, 1, 3, 3)
	b := randTensor(rng, -1, 1, 3, 2, 7, 6)
	var req sdk.BackwardRequest
	if path != "xhat" {
		req.GradZ = a
	}
	if path != "z" {
		req.GradXHat = b
	}
	dot := func(p, q []float32) float64 {
		s := 0.0
		for i := range p {
			s += float64(p[i]) * float64(q[i])
		}
		return s
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
	const h = 1e-3
	for j := range e.params {
		if path == "z" && j >= dec {
			break
		}
		hi, lo := p0[j]+h, p0[j]-h
		e.params[j] = hi
		lp := loss()
		e.params[j] = lo
		lm := loss()
		e.params[j] = p0[j]
		num := (lp - lm) / float64(hi-lo)
		if ana := float64(analytic[j]); math.Abs(num-ana) > 5e-4+1e-3*math.Abs(ana) {
			t.Errorf("parameter %d: analytic %.6g, numeric %.6g", j, ana, num)
		}
	}
}

// trainSteps runs steps training steps on the mean squared error and
// returns the last batch loss.
func trainSteps(t testing.TB, e *Encoder, x sdk.Tensor, steps int) float64 {
	t.Helper()
	grad := sdk.NewTensor(x.Shape...)
	loss := 0.0
	for range steps {
		f, err := e.Forward(ctx, x, true)
		if err != nil {
			t.Fatal(err)
		}
		loss = 0
		for i, v := range f.XHat.Data {
			d := v - x.Data[i]
			loss += float64(d) * float64(d)
			grad.Data[i] = 2 * d / float32(len(x.Data))
		}
		loss /= float64(len(x.Data))
		if err := e.Backward(ctx, sdk.BackwardRequest{GradXHat: grad}); err != nil {
			t.Fatal(err)
		}
	}
	return loss
}

func TestDeterministicForSeed(t *testing.T) {
	cfg := tinyConfig("relu", "linear")
	cfg["noise"] = 0.1
	x := randTensor(rand.New(rand.NewPCG(1, 2)), 0, 1, 40, 2, 7, 6)
	run := func(seed uint64) []byte {
		e := newTestEncoder(t, cfg, []int{2, 7, 6}, seed)
		trainSteps(t, e, x, 3)
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
	cfg := tinyConfig("leaky_relu", "sigmoid")
	cfg["noise"] = 0.05
	x := randTensor(rand.New(rand.NewPCG(1, 2)), 0, 1, 10, 2, 7, 6)
	a := newTestEncoder(t, cfg, []int{2, 7, 6}, 1)
	trainSteps(t, a, x, 3)
	state, err := a.Save(ctx)
	if err != nil {
		t.Fatal(err)
	}
	saved := slices.Clone(a.params)
	b := newTestEncoder(t, cfg, []int{2, 7, 6}, 99)
	if err := b.Load(ctx, state); err != nil {
		t.Fatal(err)
	}
	la, lb := trainSteps(t, a, x, 2), trainSteps(t, b, x, 2)
	if la != lb || !slices.Equal(a.params, b.params) || !slices.Equal(a.opt.V, b.opt.V) {
		t.Fatalf("training diverged after Load: loss %v vs %v", la, lb)
	}
	sgdCfg := tinyConfig("leaky_relu", "sigmoid")
	sgdCfg["optimizer"], sgdCfg["input_shape"] = "sgd", []int{2, 7, 6}
	sgd := newTestEncoder(t, sgdCfg, []int{84}, 1)
	if err := sgd.Load(ctx, state); err != nil {
		t.Fatalf("loading Adam state into an SGD encoder: %v", err)
	}
	if !slices.Equal(sgd.params, saved) || sgd.steps != [2]int{} || slices.ContainsFunc(sgd.opt.M, func(v float32) bool { return v != 0 }) {
		t.Error("Adam state loaded into an SGD encoder: weights differ or optimiser state not reset")
	}
	other := tinyConfig("leaky_relu", "sigmoid")
	other["decoder_filters"] = []int{3}
	for name, bad := range map[string]struct {
		cfg   sdk.Config
		state []byte
		want  string
	}{
		"decoder":   {other, state, "saved architecture"},
		"truncated": {cfg, state[:len(state)-3], "truncated"},
		"magic":     {cfg, []byte("nonsense"), "bad magic"},
	} {
		e := newTestEncoder(t, bad.cfg, []int{2, 7, 6}, 1)
		err := e.Load(ctx, bad.state)
		if err == nil || !strings.Contains(err.Error(), bad.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: got error %v, want one line containing %q", name, err, bad.want)
		}
	}
}

// TestTrainingReducesReconstructionError fits smooth random images; 150
// Adam steps must cut the MSE below a third.
func TestTrainingReducesReconstructionError(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 9))
	x := sdk.NewTensor(64, 1, 12, 12)
	for s := range 64 {
		fx, fy, ph := 0.2+0.3*rng.Float64(), 0.2+0.3*rng.Float64(), 6*rng.Float64()
		for i := range 144 {
			x.Data[s*144+i] = float32(0.5 + 0.4*math.Sin(fx*float64(i%12)+fy*float64(i/12)+ph))
		}
	}
	cfg := sdk.Config{"filters": []int{8, 16}, "kernels": []int{3, 3}, "strides": []int{2, 2}, "padding": []string{"same"}, "embedding": 4, "lr": 0.003}
	e := newTestEncoder(t, cfg, []int{1, 12, 12}, 1)
	first := trainSteps(t, e, x, 1)
	last := trainSteps(t, e, x, 150)
	if last > first/3 {
		t.Errorf("MSE went from %.4g to %.4g, want below %.4g", first, last, first/3)
	}
}

// TestEvalMatchesTrainForward checks the chunked evaluation path against
// the training path on a batch larger than one chunk.
func TestEvalMatchesTrainForward(t *testing.T) {
	e := newTestEncoder(t, tinyConfig("relu", "sigmoid"), []int{2, 7, 6}, 3)
	x := randTensor(rand.New(rand.NewPCG(1, 2)), 0, 1, evalChunk+9, 84)
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
	if !slices.Equal(ev.XHat.Shape, x.Shape) || !slices.Equal(ev.Z.Shape, []int{evalChunk + 9, 3}) {
		t.Errorf("shapes z %v, x̂ %v for x %v", ev.Z.Shape, ev.XHat.Shape, x.Shape)
	}
}

// TestTrainStepAllocatesNothing checks the steady state of a training step.
func TestTrainStepAllocatesNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector's instrumentation allocates")
	}
	cfg := tinyConfig("leaky_relu", "sigmoid")
	cfg["noise"] = 0.1
	e := newTestEncoder(t, cfg, []int{2, 7, 6}, 1)
	x := randTensor(rand.New(rand.NewPCG(1, 2)), 0, 1, 16, 2, 7, 6)
	gz := sdk.NewTensor(16, 3)
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
		{sdk.Config{}, nil, "want [C H W]"},
		{sdk.Config{}, []int{784}, "set config key \"input_shape\""},
		{sdk.Config{"input_shape": []int{1, 28, 27}}, []int{784}, "has 756 values"},
		{sdk.Config{}, []int{1, 0, 28}, "non-positive dimension"},
		{sdk.Config{"kernels": []int{5, 5}}, []int{1, 28, 28}, `"kernels" has 2 values`},
		{sdk.Config{"padding": []string{"same", "full", "valid"}}, []int{1, 28, 28}, `item 1 is "full"`},
		{sdk.Config{"decoder_filters": []int{8}}, []int{1, 28, 28}, `"decoder_filters" has 1 values`},
		{sdk.Config{"embedding": 0}, []int{1, 28, 28}, `"embedding" is 0`},
		{sdk.Config{"lr": -1.0}, []int{1, 28, 28}, `"lr"`},
		{sdk.Config{}, []int{1, 8, 8}, "layer 3 (conv 128 3×3 stride 2 valid): input 64×2×2 is smaller than the kernel"},
		{sdk.Config{"depth": 3}, []int{1, 28, 28}, `unknown config key "depth"`},
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
	e = newTestEncoder(t, tinyConfig("relu", "linear"), []int{2, 7, 6}, 1)
	if err := e.Backward(ctx, sdk.BackwardRequest{GradZ: sdk.NewTensor(1, 3)}); err == nil || !strings.Contains(err.Error(), "without a pending training Forward") {
		t.Errorf("Backward without Forward: %v", err)
	}
	for _, x := range []sdk.Tensor{sdk.NewTensor(3, 83), sdk.NewTensor(3, 2, 6, 7), {Shape: []int{2, 84}, Data: make([]float32, 7)}, sdk.NewTensor(0, 84)} {
		if _, err := e.Forward(ctx, x, true); err == nil || strings.Contains(err.Error(), "\n") {
			t.Errorf("x shape %v with %d values: got %v, want a one-line error", x.Shape, len(x.Data), err)
		}
	}
	if _, err := e.Forward(ctx, sdk.NewTensor(3, 84), true); err != nil {
		t.Fatalf("flattened [N d] input: %v", err)
	}
	for _, req := range []sdk.BackwardRequest{{GradZ: sdk.NewTensor(3, 4)}, {GradXHat: sdk.NewTensor(3, 2, 7, 6)}} {
		if err := e.Backward(ctx, req); err == nil || !strings.Contains(err.Error(), "shape") {
			t.Errorf("gradient shapes z %v x̂ %v: got %v", req.GradZ.Shape, req.GradXHat.Shape, err)
		}
	}
}
