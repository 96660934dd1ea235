//go:build amd64 && !noasm

package nn

import (
	"math"
	"testing"
)

// TestAdamVectorFlushesSubnormals: the AVX-512 Adam step reads subnormal
// gradients and moments as zero and writes no subnormal (MXCSR's DAZ and
// FTZ inside the kernel), and restores MXCSR for the caller: Go's own
// float32 arithmetic still produces subnormals afterwards.
func TestAdamVectorFlushesSubnormals(t *testing.T) {
	if !hasAVX512 {
		t.Skip("no AVX-512")
	}
	const n = 16
	tiny := math.Float32frombits(1) // the smallest subnormal
	p := Step{beta1: 0.9, beta2: 0.999, stepSize: 1e-3, invSqrtBC2: 1, eps: 1e-8}
	w, g, m, v := make([]float32, n), make([]float32, n), make([]float32, n), make([]float32, n)
	w0, g0, m0, v0 := make([]float32, n), make([]float32, n), make([]float32, n), make([]float32, n)
	for i := range n {
		w[i], w0[i] = 0.5, 0.5
		g[i], m[i], v[i] = tiny, tiny, tiny // all read as 0
	}
	if got := adamVector(w, g, m, v, p); got != n {
		t.Fatalf("adamVector updated %d elements, want %d", got, n)
	}
	adamGo(w0, g0, m0, v0, p) // the same step from true zeros
	for i := range n {
		if w[i] != w0[i] || m[i] != m0[i] || v[i] != v0[i] {
			t.Fatalf("element %d: w %v m %v v %v, want the zero-input step's %v %v %v", i, w[i], m[i], v[i], w0[i], m0[i], v0[i])
		}
	}
	// A product that underflows to a subnormal (1e-20·1e-20 = 1e-40) is
	// written as zero: with g = 1e-20, c2·g·g is subnormal, so v stays 0.
	for i := range n {
		g[i], m[i], v[i] = 1e-20, 0, 0
	}
	adamVector(w, g, m, v, p)
	for i := range n {
		if v[i] != 0 {
			t.Fatalf("element %d: v = %g, want the subnormal product flushed to 0", i, v[i])
		}
	}
	if z := g[0] * g[1]; z == 0 { // operands from memory: computed at run time
		t.Fatalf("MXCSR not restored: Go's 1e-20·1e-20 gave 0, want a subnormal")
	}
}
