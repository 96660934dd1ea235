package subspace

import (
	"math"
	"slices"
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
	var pol polisher
	for res.sweeps = 1; res.sweeps <= e.maxSweeps; res.sweeps++ {
		var maxDelta, maxC float64
		flips := 0
		for j := range m {
			if diag[j] == 0 {
				continue
			}
			old := c[j]
			z := q[j] + diag[j]*old
			v := softThreshold(z, e.l1) / (diag[j] + e.l2)
			if v != old {
				if (v == 0) != (old == 0) || (v > 0) != (old > 0) {
					flips++
				}
				c[j] = v
				move(j, v-old)
				maxDelta = max(maxDelta, math.Abs(v-old))
			}
			maxC = max(maxC, math.Abs(v))
		}
		if flips == 0 && maxDelta > e.tol*maxC {
			// The sign pattern held for a whole sweep: jump towards the
			// minimiser on it (see polish).
			if d := pol.polish(e, c, b, gram, move); d > 0 {
				maxDelta = max(maxDelta, d)
			}
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

// polisher holds the buffers of polish between calls.
type polisher struct {
	s      []int
	h, rhs []float64
	cn     []float64
}

// polish moves c towards the minimiser of the elastic net on its current
// sign pattern. With S the nonzero coefficients and σ their signs, the
// objective restricted to {c: c_S has signs σ, c_{¬S} = 0} is the
// quadratic ½‖y − A_S c_S‖² + l1σᵀc_S + ½·l2‖c_S‖², whose minimiser is
//
//	ĉ_S = (G_SS + l2·I)⁻¹ (b_S − l1·σ)
//
// (a Cholesky solve of |S|×|S|; l2 > 0 makes it positive definite, and
// with l2 = 0 a numerically singular G_SS makes polish give up). c
// moves along the segment to ĉ as far as the signs hold, t = min(1, first
// sign change), and a coefficient reaching zero there is set to zero; the
// objective decreases along the whole segment (a convex quadratic towards
// its minimiser), so coordinate descent continues from a better point. On
// a stable pattern t = 1 lands on the exact solution, which coordinate
// descent alone approaches only at the rate l2/G_jj when the nonzero atoms
// are linearly dependent (more of them than dimensions, as on
// low-dimensional embeddings). It returns the largest coefficient change
// (0: no move, e.g. a numerically singular system).
func (p *polisher) polish(e enet, c, b []float64, gram func(int) []float64, move func(int, float64)) float64 {
	p.s = p.s[:0]
	for j, v := range c {
		if v != 0 {
			p.s = append(p.s, j)
		}
	}
	var maxDelta float64
	for len(p.s) > 0 {
		full, ok := p.step(e, c, b, gram, move, &maxDelta)
		if full || !ok {
			break
		}
		// A coefficient reached zero: drop it and solve again on the
		// smaller pattern (the primal active-set method of Lawson &
		// Hanson for the sign-constrained quadratic).
		p.s = slices.DeleteFunc(p.s, func(j int) bool { return c[j] == 0 })
	}
	return maxDelta
}

// step does one move of polish on the pattern p.s: it reports whether the
// step was full (c is the minimiser on the pattern) and whether the system
// could be solved.
func (p *polisher) step(e enet, c, b []float64, gram func(int) []float64, move func(int, float64), maxDelta *float64) (full, ok bool) {
	k := len(p.s)
	p.h = slices.Grow(p.h[:0], k*k)[:k*k]
	p.rhs = slices.Grow(p.rhs[:0], k)[:k]
	for a, j := range p.s {
		col := gram(j)
		for bb, l := range p.s {
			p.h[bb*k+a] = col[l]
		}
		p.h[a*k+a] += e.l2
		sign := 1.0
		if c[j] < 0 {
			sign = -1
		}
		p.rhs[a] = b[j] - e.l1*sign
	}
	// Cholesky H = LLᵀ in place (lower triangle).
	h := p.h
	for a := range k {
		v := h[a*k+a]
		for t := range a {
			v -= h[a*k+t] * h[a*k+t]
		}
		if !(v > 1e-10*(p.h[a*k+a]+e.l2)) {
			return false, false
		}
		v = math.Sqrt(v)
		h[a*k+a] = v
		for r := a + 1; r < k; r++ {
			w := h[r*k+a]
			for t := range a {
				w -= h[r*k+t] * h[a*k+t]
			}
			h[r*k+a] = w / v
		}
	}
	x := p.rhs
	for a := range k {
		v := x[a]
		for t := range a {
			v -= h[a*k+t] * x[t]
		}
		x[a] = v / h[a*k+a]
	}
	for a := k - 1; a >= 0; a-- {
		v := x[a]
		for t := a + 1; t < k; t++ {
			v -= h[t*k+a] * x[t]
		}
		x[a] = v / h[a*k+a]
	}
	// Step length: as far as every sign holds.
	step, hit := 1.0, -1
	for a, j := range p.s {
		if x[a] == 0 || (x[a] > 0) != (c[j] > 0) {
			if t := c[j] / (c[j] - x[a]); t < step {
				step, hit = t, a
			}
		}
	}
	for a, j := range p.s {
		v := c[j] + step*(x[a]-c[j])
		if a == hit || (v != 0 && (v > 0) != (c[j] > 0)) {
			v = 0
		}
		if d := v - c[j]; d != 0 {
			c[j] = v
			move(j, d)
			*maxDelta = max(*maxDelta, math.Abs(d))
		}
	}
	return hit < 0, true
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
