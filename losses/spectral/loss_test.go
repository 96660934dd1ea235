package spectral

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/deepclust/deepclust/sdk"
)

var ctx = context.Background()

func configured(t *testing.T, raw sdk.Config) *Loss {
	t.Helper()
	l := New()
	if err := l.Configure(ctx, sdk.Setup{Config: raw}); err != nil {
		t.Fatal(err)
	}
	return l
}

func tensor(shape []int, data ...float32) sdk.Tensor { return sdk.Tensor{Shape: shape, Data: data} }

// TestHandExample works the loss out by hand on four 1-D inputs
// x = 0, 1, 3, 7 with one neighbour each (knn 2): the directed edges are
// 0→1, 1→0, 2→1 and 3→2 at squared distances 1, 1, 4 and 16, so with
// w(d²) the kernel, A_01 = w(1), A_12 = w(4)/2, A_23 = w(16)/2 and
// L = (1/m) Σ_{i<j} A_ij (z_i − z_j)², ∂L/∂z_i = (2/m) Σ_j A_ij (z_i − z_j).
// fixed: w = exp(−d²/2); median: the distances to the nearest other input
// are 1, 1, 2, 4, so σ = 2 (element m/2 of the sorted list, as
// SpectralNet's get_median picks it) and w = exp(−d²/8). Tolerance 1e-6
// relative (float32 gradients).
func TestHandExample(t *testing.T) {
	x := tensor([]int{4, 1}, 0, 1, 3, 7)
	z := tensor([]int{4, 1}, 0, 2, 3, 5)
	for _, c := range []struct {
		scale string
		w     func(d2 float64) float64
	}{
		{ScaleFixed, func(d2 float64) float64 { return math.Exp(-d2 / 2) }},
		{ScaleMedian, func(d2 float64) float64 { return math.Exp(-d2 / 8) }},
	} {
		l := configured(t, sdk.Config{"knn": 2, "scale": c.scale, "sigma": 1.0})
		out, err := l.Eval(ctx, sdk.LossInput{X: x, Z: z})
		if err != nil {
			t.Fatal(err)
		}
		a01, a12, a23 := c.w(1), c.w(4)/2, c.w(16)/2
		const m = 4
		want := (a01*4 + a12*1 + a23*4) / m
		wantG := []float64{
			2.0 / m * a01 * (0 - 2),
			2.0 / m * (a01*(2-0) + a12*(2-3)),
			2.0 / m * (a12*(3-2) + a23*(3-5)),
			2.0 / m * a23 * (5 - 3),
		}
		if math.Abs(out.Value-want) > 1e-12*want {
			t.Errorf("%s: loss %.15g, want %.15g", c.scale, out.Value, want)
		}
		for i, g := range wantG {
			if math.Abs(float64(out.GradZ.Data[i])-g) > 1e-6*math.Abs(g)+1e-9 {
				t.Errorf("%s: ∂L/∂z_%d = %v, want %v", c.scale, i, out.GradZ.Data[i], g)
			}
		}
	}
}

// TestFiniteDifferences compares ∂L/∂z with central differences of the
// loss (step 1e-3 on float32 z; the loss is quadratic in z, so the only
// error is rounding) for every scale, on 40 random 6-D inputs and 3-D z.
// Tolerance 1e-4 relative to max(1, |g|)·max|g|.
func TestFiniteDifferences(t *testing.T) {
	const m, d, k = 40, 6, 3
	rng := rand.New(rand.NewPCG(1, 2))
	x, z := sdk.NewTensor(m, d), sdk.NewTensor(m, k)
	for i := range x.Data {
		x.Data[i] = float32(rng.NormFloat64())
	}
	for i := range z.Data {
		z.Data[i] = float32(rng.NormFloat64())
	}
	for _, scale := range []string{ScaleMedian, ScaleSelfTune, ScaleFixed} {
		l := configured(t, sdk.Config{"knn": 5, "scale": scale, "scale_neighbor": 4, "sigma": 2.0})
		out, err := l.Eval(ctx, sdk.LossInput{X: x, Z: z})
		if err != nil {
			t.Fatal(err)
		}
		grad := append([]float32(nil), out.GradZ.Data...)
		var gmax float64
		for _, g := range grad {
			gmax = max(gmax, math.Abs(float64(g)))
		}
		const h = 1e-3
		for i := range z.Data {
			v := z.Data[i]
			z.Data[i] = v + h
			hi := float64(v + h)
			p, _ := l.Eval(ctx, sdk.LossInput{X: x, Z: z})
			z.Data[i] = v - h
			lo := float64(v - h)
			q, _ := l.Eval(ctx, sdk.LossInput{X: x, Z: z})
			z.Data[i] = v
			num := (p.Value - q.Value) / (hi - lo)
			if math.Abs(num-float64(grad[i])) > 1e-4*gmax {
				t.Errorf("%s: ∂L/∂z[%d] = %v, numeric %v", scale, i, grad[i], num)
			}
		}
		if out.Value <= 0 {
			t.Errorf("%s: loss %v, want > 0", scale, out.Value)
		}
	}
}

// TestDeterministic checks that two Evals on the same batch agree bit for
// bit (the kNN search runs in parallel).
func TestDeterministic(t *testing.T) {
	const m, d, k = 700, 20, 4
	rng := rand.New(rand.NewPCG(5, 6))
	x, z := sdk.NewTensor(m, d), sdk.NewTensor(m, k)
	for i := range x.Data {
		x.Data[i] = float32(rng.NormFloat64())
	}
	for i := range z.Data {
		z.Data[i] = float32(rng.NormFloat64())
	}
	l := configured(t, nil)
	a, err := l.Eval(ctx, sdk.LossInput{X: x, Z: z})
	if err != nil {
		t.Fatal(err)
	}
	ga := append([]float32(nil), a.GradZ.Data...)
	b, err := l.Eval(ctx, sdk.LossInput{X: x, Z: z})
	if err != nil {
		t.Fatal(err)
	}
	if a.Value != b.Value {
		t.Fatalf("loss %v then %v", a.Value, b.Value)
	}
	for i := range ga {
		if ga[i] != b.GradZ.Data[i] {
			t.Fatalf("gradient %d: %v then %v", i, ga[i], b.GradZ.Data[i])
		}
	}
}

func TestErrors(t *testing.T) {
	for _, raw := range []sdk.Config{{"knn": 1}, {"scale_neighbor": 0}, {"sigma": 0.0}, {"scale": "global"}} {
		if err := New().Configure(ctx, sdk.Setup{Config: raw}); err == nil {
			t.Errorf("Configure(%v) succeeded", raw)
		}
	}
	l := configured(t, sdk.Config{"knn": 3})
	x := tensor([]int{3, 1}, 0, 1, 2)
	if _, err := l.Eval(ctx, sdk.LossInput{X: x, Z: tensor([]int{2, 1}, 0, 1)}); err == nil {
		t.Error("Eval with 2 rows of Z for 3 of X succeeded")
	}
	if _, err := l.Eval(ctx, sdk.LossInput{X: tensor([]int{2, 1}, 0, 1), Z: tensor([]int{2, 1}, 0, 1)}); err == nil {
		t.Error("Eval on a batch smaller than knn succeeded")
	}
	dup := tensor([]int{3, 1}, 1, 1, 1)
	if _, err := l.Eval(ctx, sdk.LossInput{X: dup, Z: x}); err == nil {
		t.Error("median scale on duplicate inputs succeeded")
	}
	if _, err := New().Eval(ctx, sdk.LossInput{X: x, Z: x}); err == nil {
		t.Error("Eval before Configure succeeded")
	}
}
