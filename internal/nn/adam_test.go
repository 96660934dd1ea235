package nn

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestAdamVectorMatchesGo checks that adamUpdate (the AVX-512 body where the
// CPU has it, then the Go loop for the tail) gives the same bits as the Go
// loop alone, over several steps, lengths that are and are not multiples of
// 16, weight decay, and gradients spanning many magnitudes (including 0).
func TestAdamVectorMatchesGo(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	h := Hyper{Adam: true, LR: 3e-3, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, WeightDecay: 1e-4}
	for _, n := range []int{1, 15, 16, 17, 100, 1024, 4099} {
		w1, g := make([]float32, n), make([]float32, n)
		for i := range w1 {
			w1[i] = float32(rng.NormFloat64())
		}
		w2 := append([]float32(nil), w1...)
		m1, v1 := make([]float32, n), make([]float32, n)
		m2, v2 := make([]float32, n), make([]float32, n)
		for step := 1; step <= 5; step++ {
			for i := range g {
				g[i] = float32(rng.NormFloat64() * math.Pow(10, float64(rng.IntN(12)-8)))
				if rng.IntN(10) == 0 {
					g[i] = 0
				}
			}
			p := h.Step(h.LR, step)
			adamUpdate(w1, g, m1, v1, p)
			adamGo(w2, g, m2, v2, p)
			for i := range w1 {
				if math.Float32bits(w1[i]) != math.Float32bits(w2[i]) || m1[i] != m2[i] || v1[i] != v2[i] {
					t.Fatalf("n=%d step %d element %d: vector (w %v, m %v, v %v) != Go (w %v, m %v, v %v)",
						n, step, i, w1[i], m1[i], v1[i], w2[i], m2[i], v2[i])
				}
			}
		}
	}
}
