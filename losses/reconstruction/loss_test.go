package reconstruction

import (
	"context"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/deepclust/deepclust/sdk"
)

var ctx = context.Background()

func newLoss(t *testing.T, kind string) *Loss {
	t.Helper()
	l := New()
	if err := l.Configure(ctx, sdk.Setup{Config: sdk.Config{"kind": kind}}); err != nil {
		t.Fatal(err)
	}
	return l
}

func tensor(shape []int, data ...float32) sdk.Tensor { return sdk.Tensor{Shape: shape, Data: data} }

// TestHandComputed checks values worked out by hand:
//
//	mse, x = [[0 1] [2 3]], x̂ = [[1 1] [2 1]]: differences 1, 0, 0, −2;
//	  L = (1+0+0+4)/4 = 1.25, ∂L/∂x̂ = 2·diff/4 = [0.5 0 0 −1].
//	bce, x = [[1 0]], x̂ = [[0.5 0.25]]: L = −(ln 0.5 + ln 0.75)/2
//	  = (0.693147181 + 0.287682072)/2 = 0.490414627;
//	  ∂L/∂x̂ = (x̂−x)/(x̂(1−x̂))/2 = [−0.5/0.25/2, 0.25/0.1875/2] = [−1, 0.666667].
//	bce clamp, x = [[1 0]], x̂ = [[0 1]]: both terms −ln(1e-7) = 16.118095651,
//	  so L = 16.118095651 (1e-7 rounds to ~1.0000000e-7 in float64 arithmetic);
//	  x̂ outside the clamp range gets zero gradient.
func TestHandComputed(t *testing.T) {
	for _, c := range []struct {
		kind     string
		x, xHat  sdk.Tensor
		value    float64
		gradient []float32
	}{
		{"mse", tensor([]int{2, 2}, 0, 1, 2, 3), tensor([]int{2, 2}, 1, 1, 2, 1), 1.25, []float32{0.5, 0, 0, -1}},
		{"bce", tensor([]int{1, 2}, 1, 0), tensor([]int{1, 2}, 0.5, 0.25), 0.490414627, []float32{-1, 0.6666667}},
		{"bce", tensor([]int{1, 2}, 1, 0), tensor([]int{1, 2}, 0, 1), 16.118095651, []float32{0, 0}},
	} {
		out, err := newLoss(t, c.kind).Eval(ctx, sdk.LossInput{X: c.x, XHat: c.xHat})
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(out.Value-c.value) > 1e-6 {
			t.Errorf("%s %v: L = %.9g, want %.9g", c.kind, c.xHat.Data, out.Value, c.value)
		}
		for i, want := range c.gradient {
			if math.Abs(float64(out.GradXHat.Data[i]-want)) > 1e-6 {
				t.Errorf("%s %v: ∂L/∂x̂[%d] = %v, want %v", c.kind, c.xHat.Data, i, out.GradXHat.Data[i], want)
			}
		}
		if !out.GradZ.Empty() || !out.GradCentroids.Empty() {
			t.Error("GradZ or GradCentroids not empty")
		}
	}
}

// TestGradientFiniteDifference compares ∂L/∂x̂ with central differences of
// L (step 1e-3 on float32 x̂ in (0.05, 0.95), away from the clamp; L is
// accumulated in float64, so the quotient error is ~1e-7/2e-3 relative to
// the per-element gradient scale 1/(N·D)). Tolerance: 1e-3·max|∂L/∂x̂|.
func TestGradientFiniteDifference(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, kind := range []string{"mse", "bce"} {
		l := newLoss(t, kind)
		x, xHat := sdk.NewTensor(3, 2, 2), sdk.NewTensor(3, 2, 2)
		for i := range x.Data {
			x.Data[i] = float32(rng.Float64())
			xHat.Data[i] = float32(0.05 + 0.9*rng.Float64())
		}
		eval := func() sdk.LossOutput {
			out, err := l.Eval(ctx, sdk.LossInput{X: x, XHat: xHat})
			if err != nil {
				t.Fatal(err)
			}
			return out
		}
		analytic := append([]float32(nil), eval().GradXHat.Data...)
		scale := 0.0
		for _, g := range analytic {
			scale = max(scale, math.Abs(float64(g)))
		}
		for i := range xHat.Data {
			v := xHat.Data[i]
			hi, lo := v+1e-3, v-1e-3
			xHat.Data[i] = hi
			lp := eval().Value
			xHat.Data[i] = lo
			lm := eval().Value
			xHat.Data[i] = v
			num := (lp - lm) / float64(hi-lo)
			if math.Abs(num-float64(analytic[i])) > 1e-3*scale {
				t.Errorf("%s element %d: analytic %.6g, numeric %.6g", kind, i, analytic[i], num)
			}
		}
	}
}

func TestErrors(t *testing.T) {
	for _, c := range []struct {
		kind    string
		x, xHat sdk.Tensor
		want    string
	}{
		{"mse", sdk.NewTensor(2, 3), sdk.Tensor{}, "XHat is empty"},
		{"mse", sdk.NewTensor(2, 3), sdk.NewTensor(2, 4), "X shape [2 3] differs from XHat shape [2 4]"},
		{"mse", sdk.NewTensor(2, 3), tensor([]int{2, 3}, 1, 2), "needs 6 values"},
		{"bce", tensor([]int{2, 2}, 0, 1, 0.5, 1.5), tensor([]int{2, 2}, 0.5, 0.5, 0.5, 0.5), "X[1][1] is 1.5"},
	} {
		_, err := newLoss(t, c.kind).Eval(ctx, sdk.LossInput{X: c.x, XHat: c.xHat})
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: got %v, want one line containing %q", c.kind, err, c.want)
		}
	}
	if err := New().Configure(ctx, sdk.Setup{Config: sdk.Config{"kind": "l1"}}); err == nil || !strings.Contains(err.Error(), "not one of mse, bce") {
		t.Errorf("bad kind: %v", err)
	}
}
