package nn

import (
	"math"
	"testing"
)

// TestBackpropMatchesDerivative checks Backprop against central differences
// of Apply at points away from the kinks (h = 1e-3 in float64 around float32
// values; tolerance 1e-3 absolute, well above float32 rounding / 2h ≈ 1e-4).
func TestBackpropMatchesDerivative(t *testing.T) {
	xs := []float32{-2, -0.5, 0.3, 1.7}
	for a := Linear; a <= Sigmoid; a++ {
		y := append([]float32(nil), xs...)
		a.Apply(y, 0.1)
		g := []float32{1, 1, 1, 1}
		d := make([]float32, len(xs))
		a.Backprop(d, g, y, 0.1)
		for i, x := range xs {
			p, m := []float32{x + 1e-3}, []float32{x - 1e-3}
			a.Apply(p, 0.1)
			a.Apply(m, 0.1)
			num := (float64(p[0]) - float64(m[0])) / 2e-3
			if math.Abs(num-float64(d[i])) > 1e-3 {
				t.Errorf("%s at %v: Backprop %v, numeric %v", a, x, d[i], num)
			}
		}
		if b, err := ParseActivation(a.String()); b != a || err != nil {
			t.Errorf("ParseActivation(%q) = %v, %v", a.String(), b, err)
		}
	}
	if _, err := ParseActivation("tanh"); err == nil {
		t.Error("ParseActivation(tanh) succeeded")
	}
}
