package nn

import "testing"

func BenchmarkAdamUpdate3M(b *testing.B) {
	const n = 3_330_000
	o := NewOptimizer(true, n)
	w, g := make([]float32, n), make([]float32, n)
	for i := range w {
		w[i], g[i] = float32(i%97)*0.01, float32(i%89-44)*0.001
	}
	h := Hyper{Adam: true, LR: 1e-3, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8}
	b.SetBytes(n * 4 * 7)
	for i := 0; b.Loop(); i++ {
		o.Update(w, g, 0, n, h.Step(1e-3, i+1))
	}
}

func BenchmarkAdamUpdate3MSerial(b *testing.B) {
	const n = 3_330_000
	o := NewOptimizer(true, n)
	w, g := make([]float32, n), make([]float32, n)
	h := Hyper{Adam: true, LR: 1e-3, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8}
	b.SetBytes(n * 4 * 7)
	for i := 0; b.Loop(); i++ {
		o.updateRange(w, g, 0, n, h.Step(1e-3, i+1))
	}
}
