package spectral

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"
)

// pivotedQR computes the QR factorisation with column pivoting A P = Q R
// (Businger & Golub 1965) of the m×n matrix A whose n columns are given
// contiguously: cols[j*m:(j+1)*m] is column j. For the spectral embedding
// U (n×k, row-major) this is Uᵀ without a copy.
//
// Step s swaps the remaining column of largest norm (the first on ties)
// into position s and reflects it onto e_s with LAPACK's Householder
// convention (dlarfg: R_ss = −sign(a_ss)‖a_{s:m,s}‖, no reflection when the
// entries below a_ss are zero), so R matches LAPACK dgeqp3, signs
// included. The remaining column norms are recomputed from scratch after
// every step, not downdated. It returns R (m×n, row-major, zero below the
// diagonal) and perm with (A P)_{:,j} = A_{:,perm[j]}. cols is overwritten.
func pivotedQR(cols []float64, m, n int) (r []float64, perm []int) {
	col := func(j int) []float64 { return cols[j*m : (j+1)*m] }
	perm = make([]int, n)
	norms := make([]float64, n)
	for j := range n {
		perm[j] = j
		norms[j] = sumSquares(col(j))
	}
	v := make([]float64, m)
	for s := range min(m, n) {
		p := s
		for j := s + 1; j < n; j++ {
			if norms[j] > norms[p] {
				p = j
			}
		}
		if p != s {
			a, b := col(s), col(p)
			for i := range m {
				a[i], b[i] = b[i], a[i]
			}
			perm[s], perm[p] = perm[p], perm[s]
			norms[s], norms[p] = norms[p], norms[s]
		}
		c := col(s)
		alpha := c[s]
		xnorm := math.Sqrt(sumSquares(c[s+1:]))
		if xnorm != 0 {
			beta := -math.Copysign(math.Hypot(alpha, xnorm), alpha)
			tau := (beta - alpha) / beta
			v[s] = 1
			for i := s + 1; i < m; i++ {
				v[i] = c[i] / (alpha - beta)
				c[i] = 0
			}
			c[s] = beta
			for j := s + 1; j < n; j++ {
				cj := col(j)
				var w float64
				for i := s; i < m; i++ {
					w += v[i] * cj[i]
				}
				w *= tau
				for i := s; i < m; i++ {
					cj[i] -= w * v[i]
				}
			}
		}
		for j := s + 1; j < n; j++ {
			norms[j] = sumSquares(col(j)[s+1:])
		}
	}
	r = make([]float64, m*n)
	for j := range n {
		for i := range min(j+1, m) {
			r[i*n+j] = cols[j*m+i]
		}
	}
	return r, perm
}

func sumSquares(x []float64) float64 {
	var s float64
	for _, v := range x {
		s += v * v
	}
	return s
}

// clusterQR labels the rows of the n×k embedding u (row-major) by the
// CPQR method of Damle, Minden & Ying 2019 ("Simple, direct and efficient
// multi-way spectral clustering", Algorithm 1): the pivoted QR of uᵀ picks
// k representative rows C = u[perm[:k], :]; with the SVD Cᵀ = W Σ Vᵀ,
// Q = W Vᵀ is the orthogonal matrix closest to Cᵀ, and row i goes to
// argmax_j |(u Q)_ij| (the lowest j on ties). This is scikit-learn's
// assign_labels="cluster_qr".
func clusterQR(u []float64, n, k int) ([]int32, error) {
	_, perm := pivotedQR(append([]float64(nil), u...), k, n)
	ct := mat.NewDense(k, k, nil)
	for c := range k {
		for t := range k {
			ct.Set(t, c, u[perm[c]*k+t])
		}
	}
	var svd mat.SVD
	if !svd.Factorize(ct, mat.SVDFull) {
		return nil, fmt.Errorf("spectral: cluster_qr: SVD of the %d×%d pivot block failed", k, k)
	}
	var w, v, q mat.Dense
	svd.UTo(&w)
	svd.VTo(&v)
	q.Mul(&w, v.T())
	labels := make([]int32, n)
	row := make([]float64, k)
	for i := range n {
		for j := range k {
			var s float64
			for t := range k {
				s += u[i*k+t] * q.At(t, j)
			}
			row[j] = math.Abs(s)
		}
		best := 0
		for j := 1; j < k; j++ {
			if row[j] > row[best] {
				best = j
			}
		}
		labels[i] = int32(best)
	}
	return labels, nil
}
