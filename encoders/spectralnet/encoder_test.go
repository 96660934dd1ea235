package spectralnet

import (
	"context"
	"encoding/binary"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/deepclust/deepclust/sdk"
)

var ctx = context.Background()

func newEncoder(t testing.TB, raw sdk.Config, inShape []int, seed uint64) *Encoder {
	t.Helper()
	e := New()
	if err := e.Configure(ctx, sdk.Setup{Config: raw, InputShape: inShape, Seed: seed}); err != nil {
		t.Fatal(err)
	}
	return e
}

func randTensor(rng *rand.Rand, shape ...int) sdk.Tensor {
	x := sdk.NewTensor(shape...)
	for i := range x.Data {
		x.Data[i] = float32(rng.NormFloat64())
	}
	return x
}

// netParams reads (get) or overwrites (set) the weights of the mlp network
// through its Save/Load state, whose documented layout ends with the
// parameters followed by one optimiser slot of the same length for sgd:
// the tests configure sgd so the parameters are the first half of the
// last 8·P bytes.
type netParams struct {
	e *Encoder
	p int // parameter count of the mlp autoencoder
}

func newNetParams(e *Encoder, d int, hidden []int) netParams {
	widths := slices.Concat([]int{d}, hidden, []int{e.k})
	for i := len(hidden) - 1; i >= 0; i-- {
		widths = append(widths, hidden[i])
	}
	widths = append(widths, d)
	p := 0
	for i := 0; i+1 < len(widths); i++ {
		p += widths[i]*widths[i+1] + widths[i+1]
	}
	return netParams{e: e, p: p}
}

func (np netParams) get(t *testing.T) []float32 {
	s, err := np.e.net.Save(ctx)
	if err != nil {
		t.Fatal(err)
	}
	off := len(s) - 8*np.p
	out := make([]float32, np.p)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(s[off+4*i:]))
	}
	return out
}

func (np netParams) set(t *testing.T, p []float32) {
	s, err := np.e.net.Save(ctx)
	if err != nil {
		t.Fatal(err)
	}
	off := len(s) - 8*np.p
	for i, v := range p {
		binary.LittleEndian.PutUint32(s[off+4*i:], math.Float32bits(v))
	}
	if err := np.e.net.Load(ctx, s); err != nil {
		t.Fatal(err)
	}
}

func dot(a, b []float32) float64 {
	var s float64
	for i, v := range a {
		s += float64(v) * float64(b[i])
	}
	return s
}

// TestGradientCheck differentiates f(w) = Σ G ⊙ Y(w) for a random G on a
// tiny 5-4-3-2 net over 6 samples: with ortho_grad fixed, the
// orthonormalisation matrix M is held fixed (f from evaluation Forwards,
// which use the M of the training batch); with full, M is recomputed from
// the batch (f from training Forwards). The analytic gradient is what one sgd step
// (lr 1, no momentum, no weight decay) subtracts from the weights; the
// numeric one is the central difference of f (step 1e-3, small enough that
// no ReLU input crosses 0 here). Tolerance 1e-3 + 1e-2·|g| (float32 forward passes). The
// decoder half of the mlp must not move.
func TestGradientCheck(t *testing.T) {
	for _, act := range []string{"relu", "leaky_relu"} {
		for _, out := range []string{OutputTanh, OutputLinear} {
			for _, mode := range []string{GradFixed, GradFull} {
				t.Run(act+"/"+out+"/"+mode, func(t *testing.T) { checkGradient(t, act, out, mode) })
			}
		}
	}
}

func checkGradient(t *testing.T, act, out, mode string) {
	hidden := []int{4, 3}
	cfg := sdk.Config{"k": 2, "hidden": hidden, "activation": act, "leaky_slope": 0.1, "output": out,
		"init": "he", "optimizer": "sgd", "momentum": 0.0, "lr": 1.0, "ortho_grad": mode}
	e := newEncoder(t, cfg, []int{5}, 7)
	np := newNetParams(e, 5, hidden)
	rng := rand.New(rand.NewPCG(3, 4))
	p0 := np.get(t)
	for i := range p0 { // non-zero biases too, so every term is exercised
		p0[i] += float32(0.1 * rng.NormFloat64())
	}
	np.set(t, p0)
	x := randTensor(rng, 6, 5)
	g := randTensor(rng, 6, 2)
	if _, err := e.Forward(ctx, x, true); err != nil {
		t.Fatal(err)
	}
	if err := e.Backward(ctx, sdk.BackwardRequest{GradZ: g}); err != nil {
		t.Fatal(err)
	}
	p1 := np.get(t)
	np.set(t, p0)
	f := func() float64 {
		y, err := e.Forward(ctx, x, mode == GradFull)
		if err != nil {
			t.Fatal(err)
		}
		return dot(g.Data, y.Z.Data)
	}
	encParams := 5*4 + 4 + 4*3 + 3 + 3*2 + 2
	if !slices.Equal(p0[encParams:], p1[encParams:]) {
		t.Fatal("Backward changed the decoder half of the network")
	}
	const h = 1e-3
	p := slices.Clone(p0)
	for j := range encParams {
		ana := float64(p0[j]) - float64(p1[j])
		p[j] = p0[j] + h
		np.set(t, p)
		fp := f()
		p[j] = p0[j] - h
		np.set(t, p)
		fm := f()
		p[j] = p0[j]
		num := (fp - fm) / (2 * h)
		if math.Abs(num-ana) > 1e-3+1e-2*math.Abs(ana) {
			t.Errorf("parameter %d: analytic %.6g, numeric %.6g", j, ana, num)
		}
	}
}

// maxGramError returns max_ij |(YᵀY)_ij − m·δ_ij| / m for the m×k rows y.
func maxGramError(y []float32, m, k int) float64 {
	var worst float64
	for i := range k {
		for j := range k {
			var s float64
			for r := range m {
				s += float64(y[r*k+i]) * float64(y[r*k+j])
			}
			if i == j {
				s -= float64(m)
			}
			worst = max(worst, math.Abs(s)/float64(m))
		}
	}
	return worst
}

// TestTrainingOutputIsOrthonormal checks YᵀY = m·I for the output of every
// training Forward over 20 steps with random gradients (which change the
// weights), to 1e-4·m per entry (float32 Y and M; YᵀY accumulated in
// float64), and that the same rows through an evaluation Forward right
// after give the same Y (to 1e-5 relative: the same M, evaluation-path
// rounding of the network).
func TestTrainingOutputIsOrthonormal(t *testing.T) {
	const m, d, k = 200, 12, 5
	e := newEncoder(t, sdk.Config{"k": k, "hidden": []int{32, 16}}, []int{d}, 1)
	rng := rand.New(rand.NewPCG(9, 9))
	for step := range 20 {
		x := randTensor(rng, m, d)
		f, err := e.Forward(ctx, x, true)
		if err != nil {
			t.Fatal(err)
		}
		if got := maxGramError(f.Z.Data, m, k); got > 1e-4 {
			t.Fatalf("step %d: max |YᵀY − mI|/m = %.3g", step, got)
		}
		train := slices.Clone(f.Z.Data)
		ev, err := e.Forward(ctx, x, false)
		if err != nil {
			t.Fatal(err)
		}
		for i, v := range ev.Z.Data {
			if math.Abs(float64(v-train[i])) > 1e-5*(1+math.Abs(float64(train[i]))) {
				t.Fatalf("step %d: evaluation Y[%d] = %v, training %v", step, i, v, train[i])
			}
		}
		if err := e.Backward(ctx, sdk.BackwardRequest{GradZ: randTensor(rng, m, k), LearningRate: 0.01}); err != nil {
			t.Fatal(err)
		}
	}
}

// TestSaveLoadRoundTrip checks that a loaded encoder embeds new points
// bit for bit as the saved one (same network and M) and trains on
// identically.
func TestSaveLoadRoundTrip(t *testing.T) {
	const m, d, k = 40, 8, 3
	cfg := sdk.Config{"k": k, "hidden": []int{16}}
	a := newEncoder(t, cfg, []int{d}, 2)
	rng := rand.New(rand.NewPCG(1, 1))
	step := func(e *Encoder, x, g sdk.Tensor) {
		t.Helper()
		if _, err := e.Forward(ctx, x, true); err != nil {
			t.Fatal(err)
		}
		if err := e.Backward(ctx, sdk.BackwardRequest{GradZ: g}); err != nil {
			t.Fatal(err)
		}
	}
	for range 3 {
		step(a, randTensor(rng, m, d), randTensor(rng, m, k))
	}
	state, err := a.Save(ctx)
	if err != nil {
		t.Fatal(err)
	}
	b := newEncoder(t, cfg, []int{d}, 99)
	if err := b.Load(ctx, state); err != nil {
		t.Fatal(err)
	}
	x, g := randTensor(rng, m, d), randTensor(rng, m, k)
	for _, e := range []*Encoder{a, b} {
		step(e, x, g)
	}
	ya, _ := a.Forward(ctx, x, false)
	yb, _ := b.Forward(ctx, x, false)
	if !slices.Equal(ya.Z.Data, yb.Z.Data) {
		t.Fatal("loaded encoder differs from the saved one")
	}
	c := newEncoder(t, sdk.Config{"k": 4, "hidden": []int{16}}, []int{d}, 2)
	if err := c.Load(ctx, state); err == nil {
		t.Error("loading a k = 3 state into a k = 4 encoder succeeded")
	}
	if err := b.Load(ctx, state[:20]); err == nil {
		t.Error("loading a truncated state succeeded")
	}
}

// TestDeterministicForSeed checks that a seed fixes the outputs bit for bit.
func TestDeterministicForSeed(t *testing.T) {
	run := func() []float32 {
		e := newEncoder(t, sdk.Config{"k": 3, "hidden": []int{16}}, []int{6}, 5)
		rng := rand.New(rand.NewPCG(2, 2))
		for range 3 {
			if _, err := e.Forward(ctx, randTensor(rng, 30, 6), true); err != nil {
				t.Fatal(err)
			}
			if err := e.Backward(ctx, sdk.BackwardRequest{GradZ: randTensor(rng, 30, 3)}); err != nil {
				t.Fatal(err)
			}
		}
		f, _ := e.Forward(ctx, randTensor(rng, 30, 6), false)
		return f.Z.Data
	}
	if !slices.Equal(run(), run()) {
		t.Fatal("two runs with one seed differ")
	}
}

func TestErrors(t *testing.T) {
	for _, raw := range []sdk.Config{{"k": 0}, {"hidden": []int{0}}, {"output": "sigmoid"}, {"lr": -1.0}, {"ortho_epsilon": -1e-7}, {"ortho_epsilon": math.Inf(1)}} {
		if err := New().Configure(ctx, sdk.Setup{Config: raw, InputShape: []int{4}}); err == nil {
			t.Errorf("Configure(%v) succeeded", raw)
		}
	}
	e := newEncoder(t, sdk.Config{"k": 3, "hidden": []int{8}}, []int{4}, 1)
	rng := rand.New(rand.NewPCG(1, 2))
	if _, err := e.Forward(ctx, randTensor(rng, 2, 4), true); err == nil {
		t.Error("training Forward on 2 rows with k = 3 succeeded")
	}
	if err := e.Backward(ctx, sdk.BackwardRequest{GradZ: randTensor(rng, 5, 3)}); err == nil {
		t.Error("Backward without a training Forward succeeded")
	}
	if _, err := e.Forward(ctx, randTensor(rng, 5, 4), true); err != nil {
		t.Fatal(err)
	}
	if err := e.Backward(ctx, sdk.BackwardRequest{GradZ: randTensor(rng, 5, 3), GradXHat: randTensor(rng, 5, 4)}); err == nil {
		t.Error("Backward with GradXHat succeeded")
	}
	if err := e.Backward(ctx, sdk.BackwardRequest{GradZ: randTensor(rng, 4, 3)}); err == nil {
		t.Error("Backward with a wrongly shaped GradZ succeeded")
	}
	if d, err := e.EmbeddingDim(ctx); d != 3 || err != nil {
		t.Errorf("EmbeddingDim = %d, %v", d, err)
	}
}

// TestRankDeficientBatch: a batch of identical rows gives k linearly
// dependent outputs, so ỸᵀỸ has rank 1. With ortho_epsilon 0 that is an
// error naming it; with the default 1e-7 (the authors' orthonorm_op) the
// batch trains and Y stays finite.
func TestRankDeficientBatch(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	x := sdk.NewTensor(5, 4)
	row := randTensor(rng, 1, 4)
	for i := range 5 {
		copy(x.Data[i*4:], row.Data)
	}
	exact := newEncoder(t, sdk.Config{"k": 3, "hidden": []int{8}, "ortho_epsilon": 0.0}, []int{4}, 1)
	if _, err := exact.Forward(ctx, x, true); err == nil || !strings.Contains(err.Error(), "linearly dependent") {
		t.Errorf("ortho_epsilon 0, identical rows: %v, want an error saying the columns are linearly dependent", err)
	}
	ridge := newEncoder(t, sdk.Config{"k": 3, "hidden": []int{8}}, []int{4}, 1)
	f, err := ridge.Forward(ctx, x, true)
	if err != nil {
		t.Fatalf("default ortho_epsilon, identical rows: %v", err)
	}
	for i, v := range f.Z.Data {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			t.Fatalf("Y[%d] = %v", i, v)
		}
	}
	if err := ridge.Backward(ctx, sdk.BackwardRequest{GradZ: randTensor(rng, 5, 3), LearningRate: 0.01}); err != nil {
		t.Fatal(err)
	}
}
