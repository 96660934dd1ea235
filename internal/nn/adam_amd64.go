//go:build amd64 && !noasm

package nn

import "golang.org/x/sys/cpu"

// adamScalars is the scalar block adamAVX512 reads, in its order.
type adamScalars struct {
	wd, b1, c1, b2, c2, stepSize, invSqrtBC2, eps float32
}

// adamAVX512 runs Adam on n elements, n a multiple of 16 (adam_amd64.s).
//
//go:noescape
func adamAVX512(w, grad, m, v *float32, n int, s *adamScalars)

// hasAVX512 reports whether the vector Adam step can run here.
var hasAVX512 = cpu.X86.HasAVX512F

// adamVector runs the 16-lane part of an Adam step and returns how many
// leading elements it updated (0 when the CPU lacks AVX-512).
func adamVector(w, g, m, v []float32, p Step) int {
	n := len(w) &^ 15
	if !hasAVX512 || n == 0 {
		return 0
	}
	_, _, _ = g[n-1], m[n-1], v[n-1]
	s := adamScalars{wd: p.wd, b1: p.beta1, c1: 1 - p.beta1, b2: p.beta2, c2: 1 - p.beta2, stepSize: p.stepSize, invSqrtBC2: p.invSqrtBC2, eps: p.eps}
	adamAVX512(&w[0], &g[0], &m[0], &v[0], n, &s)
	return n
}
