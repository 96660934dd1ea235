package subspace

import (
	"math"
)

// enet is the elastic-net problem of one point y over a dictionary of m
// atoms a_j (rows of a row-major float32 matrix):
//
//	min_c ½‖y − Σ_j c_j a_j‖² + l1‖c‖₁ + ½·l2‖c‖²,
//
// solved by cyclic coordinate descent with covariance updates (Friedman,
// Hastie & Tibshirani 2010, §2.2): b_j = a_jᵀy, the Gram column G_{:,l} of
// an atom is computed the first time c_l becomes nonzero, and the partial
// residual correlations q_j = a_jᵀ(y − Σ_l c_l a_l) are kept up to date.
// It stops on the duality gap of scikit-learn's enet_coordinate_descent,
// gap ≤ tol·‖y‖², checked whenever a sweep changed no coefficient by more
// than tol·max_j|c_j|, or after maxSweeps sweeps.
type enet struct {
	l1, l2    float64
	tol       float64
	maxSweeps int
}

// enetResult is a solution and how it was reached.
type enetResult struct {
	c      []float64 // coefficients, one per atom
	q      []float64 // a_jᵀ(y − Σ c_l a_l) at c
	gap    float64   // duality gap at c
	sweeps int
}

// solve minimises the elastic net of y over the atoms atom(0..m−1), each
// of length len(y), from the start c0 (nil: zero). It allocates O(m·nnz)
// for the Gram columns of the nonzero coefficients.
//
// When g32 is not nil it holds the m×m Gram matrix of the atoms (row-major
// float32, from a GEMM), used instead of float64 products: the columns
// then cost nothing, at float32 accuracy.
func (e enet) solve(y []float64, m int, atom func(j int) []float32, c0 []float64, g32 []float32) enetResult {
	b := make([]float64, m)
	diag := make([]float64, m)
	for j := range m {
		a := atom(j)
		var s, sq float64
		for t, v := range a {
			f := float64(v)
			s += f * y[t]
			sq += f * f
		}
		b[j], diag[j] = s, sq
	}
	var yy float64
	for _, v := range y {
		yy += v * v
	}
	c := make([]float64, m)
	q := append([]float64(nil), b...)
	cols := make([][]float64, m)
	gram := func(l int) []float64 {
		if cols[l] == nil && g32 != nil {
			col := make([]float64, m)
			for j, v := range g32[l*m : (l+1)*m] {
				col[j] = float64(v)
			}
			col[l] = diag[l]
			cols[l] = col
		}
		if cols[l] == nil {
			al := atom(l)
			col := make([]float64, m)
			for j := range m {
				if j == l {
					col[j] = diag[l]
					continue
				}
				var s float64
				for t, v := range atom(j) {
					s += float64(v) * float64(al[t])
				}
				col[j] = s
			}
			cols[l] = col
		}
		return cols[l]
	}
	move := func(l int, delta float64) {
		col := gram(l)
		for j := range m {
			q[j] -= col[j] * delta
		}
	}
	if c0 != nil {
		for l, v := range c0 {
			if v != 0 {
				c[l] = v
				move(l, v)
			}
		}
	}
	res := enetResult{c: c, q: q}
	if yy == 0 {
		clear(c)
		copy(q, b)
		return res
	}
	for res.sweeps = 1; res.sweeps <= e.maxSweeps; res.sweeps++ {
		var maxDelta, maxC float64
		for j := range m {
			if diag[j] == 0 {
				continue
			}
			old := c[j]
			z := q[j] + diag[j]*old
			v := softThreshold(z, e.l1) / (diag[j] + e.l2)
			if v != old {
				c[j] = v
				move(j, v-old)
				maxDelta = max(maxDelta, math.Abs(v-old))
			}
			maxC = max(maxC, math.Abs(v))
		}
		if maxC == 0 || maxDelta <= e.tol*maxC {
			res.gap = e.gap(c, q, b, yy)
			if res.gap <= e.tol*yy {
				return res
			}
		}
	}
	res.sweeps = e.maxSweeps
	res.gap = e.gap(c, q, b, yy)
	return res
}

// gap is the duality gap of the elastic net at c as scikit-learn's
// enet_coordinate_descent computes it, from q_j = a_jᵀR (R = y − Σ c_j a_j),
// b_j = a_jᵀy and ‖y‖²: with XtA_j = q_j − l2·c_j,
// ‖R‖² = ‖y‖² − 2cᵀb + cᵀGc (cᵀGc = Σ c_j(b_j − q_j)) and
// s = min(1, l1 / max|XtA|),
//
//	gap = ½(1 + s²)‖R‖² + l1‖c‖₁ − s·Rᵀy + ½·l2(1 + s²)‖c‖².
func (e enet) gap(c, q, b []float64, yy float64) float64 {
	var cb, cgc, l1n, l2n, dual float64
	for j, v := range c {
		cb += v * b[j]
		cgc += v * (b[j] - q[j])
		l1n += math.Abs(v)
		l2n += v * v
		dual = max(dual, math.Abs(q[j]-e.l2*v))
	}
	rr := max(yy-2*cb+cgc, 0)
	s := 1.0
	if dual > e.l1 {
		s = e.l1 / dual
	}
	ry := yy - cb
	return 0.5*(1+s*s)*rr + e.l1*l1n - s*ry + 0.5*e.l2*(1+s*s)*l2n
}

func softThreshold(z, t float64) float64 {
	switch {
	case z > t:
		return z - t
	case z < -t:
		return z + t
	}
	return 0
}
