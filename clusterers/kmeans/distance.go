package kmeans

import (
	"math"

	"github.com/deepclust/deepclust/internal/kernels"
)

// How a row's nearest centre is decided.
//
// The reference is R_j = sqDist(x, μ_j): the squared distance to the
// float64 centre computed in float64, term by term in feature order; the
// label is argmin_j R_j, ties to the lower index. Every path (Lloyd rounds,
// the bounded rounds, Assign) gives exactly this label.
//
// The fast estimate is D̃_j = ‖x‖² − 2·x·c_j + ‖μ_j‖², with x·c_j from
// the float32 GEMM against the float32 copy c_j of μ_j and the norms in
// float64. Rounding bounds (Higham, Accuracy and Stability of Numerical
// Algorithms, §3.1, γ_n = nu/(1−nu)) give, for any summation order the
// GEMM uses,
//
//	|D̃_j − ‖x−μ_j‖²| ≤ 2(γ_d^(32)(1+u₃₂)² + u₃₂)‖x‖‖μ_j‖ + (γ_{d+4}^(64) + 3u₆₄)(‖x‖+‖μ_j‖)²
//	|R_j − ‖x−μ_j‖²| ≤ γ_{d+4}^(64)(‖x‖+‖μ_j‖)²,
//
// (the first term from the float32 dot product and the rounding of μ_j to
// float32, the second from the float64 norms, R_j and the two additions),
// plus a tiny absolute term for float32 underflow. errBound doubles the sum
// of these and calls it E_j, so |D̃_j − R_j| ≤ E_j and |D̃_j − ‖x−μ_j‖²|
// ≤ E_j; one E ≥ E_j, from the largest centre norm, serves the whole row.
// If D̃_b + E < D̃_j − E for the smallest D̃_b and every other j, then
// R_b < R_j and b is the label; otherwise R_j is computed for b and every
// j whose interval overlaps b's, and their argmin is the label.

const (
	u32 = 0x1p-24 // unit roundoff of float32
	u64 = 0x1p-53 // unit roundoff of float64
)

// up and down move a non-negative float64 computed with one rounding past
// the exact value it approximates: x(1 ± 2⁻⁵¹) rounded to nearest is still
// beyond x(1 ± u₆₄).
func up(x float64) float64   { return x * (1 + 0x1p-51) }
func down(x float64) float64 { return x * (1 - 0x1p-51) }

// gamma is Higham's γ_n = nu/(1−nu), +Inf when nu ≥ 1/2.
func gamma(n int, u float64) float64 {
	nu := float64(n) * u
	if nu >= 0.5 {
		return math.Inf(1)
	}
	return up(nu / (1 - nu))
}

// errModel holds the constants of E_j = e1·‖x‖‖μ_j‖ + e2·(‖x‖+‖μ_j‖)² +
// e0·(1+‖x‖) for width d, and eta, the relative error bound of R_j against
// the exact squared distance.
type errModel struct {
	e0, e1, e2 float64
	eta        float64
}

func newErrModel(d int) errModel {
	g32, g64 := gamma(d, u32), gamma(d+4, u64)
	return errModel{
		e0:  float64(d) * 0x1p-120,
		e1:  4 * (g32*(1+u32)*(1+u32) + u32),
		e2:  4 * (g64 + 3*u64),
		eta: g64,
	}
}

// errBound is E_j for a row of norm nx and a centre of norm nc.
func (m *errModel) errBound(nx, nc float64) float64 {
	s := nx + nc
	return up(m.e1*nx*nc + m.e2*s*s + m.e0*(1+nx))
}

// centres holds k centroids in float64 (the master copy), their float32
// copy as the GEMM operand (kp ≥ k rows, the extra rows zero, kp a
// multiple of 12 so that every micro-kernel packs full panels), the
// float64 norms ‖μ_j‖² and ‖μ_j‖, and the largest norm.
type centres struct {
	k, kp, d int
	f64      []float64
	f32      []float32
	sqNorm   []float64
	norm     []float64
	maxNorm  float64
}

// padRows is the row count GEMM operands are padded to: a multiple of every
// micro-kernel's mr (12 on AVX-512, 6 on AVX2, 4 portable).
const padRows = 12

func newCentres(f64 []float64, k, d int) *centres {
	kp := (k + padRows - 1) / padRows * padRows
	c := &centres{k: k, kp: kp, d: d, f64: f64, f32: make([]float32, kp*d),
		sqNorm: make([]float64, k), norm: make([]float64, k)}
	c.sync()
	return c
}

// sync refreshes the float32 copy and the norms from f64.
func (c *centres) sync() {
	c.maxNorm = 0
	for j := range c.k {
		var s float64
		for t, v := range c.row(j) {
			c.f32[j*c.d+t] = float32(v)
			s += v * v
		}
		c.sqNorm[j] = s
		c.norm[j] = math.Sqrt(s)
		c.maxNorm = max(c.maxNorm, up(c.norm[j]))
	}
}

func (c *centres) row(j int) []float64 { return c.f64[j*c.d : (j+1)*c.d] }

// gemmMACs bounds the multiply-adds of one GEMM call so that it stays
// under internal/kernels' threshold for handing work to helper goroutines
// (1<<20): the chunk goroutines are the parallelism here.
const gemmMACs = 1<<20 - 1

// blockRows is the number of rows scored per GEMM call for kp centres of
// width d: a multiple of 32 (the AVX-512 micro-kernel's nr) in [32,
// chunkRows], within gemmMACs when possible.
func blockRows(kp, d int) int {
	b := gemmMACs / max(1, kp*d) / 32 * 32
	return min(max(b, 32), chunkRows)
}

// scratch is one goroutine's working memory for scoring rows.
type scratch struct {
	idx  []int32   // rows of the current chunk to score
	buf  []float32 // gathered rows
	dots []float32 // kp × rows products
	dist []float64 // D̃_j of one row
	err  float64   // E of the row, a bound for every j
	// exact is set when R_j was computed for the row, into ref (NaN
	// where not computed).
	exact bool
	ref   []float64
}

func newScratch(c *centres, rows int) *scratch {
	return &scratch{
		idx:  make([]int32, 0, chunkRows),
		buf:  make([]float32, rows*c.d),
		dots: make([]float32, c.kp*rows),
		dist: make([]float64, c.k),
		ref:  make([]float64, c.k),
	}
}

// block is the rows of one GEMM call: the wanted rows rows, and the
// operand, either the width consecutive data rows from first (a wanted row
// i is column i − first) or the wanted rows gathered into scratch and
// padded to width (row rows[q] is column q). width is a multiple of 32,
// the widest micro-kernel panel, except at the end of the data, so that
// panels are packed by the vector code.
type block struct {
	rows     []int32
	first    int
	width    int
	gathered bool
}

// col is the GEMM column of the q-th wanted row.
func (b *block) col(q int) int {
	if b.gathered {
		return q
	}
	return int(b.rows[q]) - b.first
}

// nextBlock cuts the next block off the sorted row list idx, of at most
// limit (a multiple of 32) columns: consecutive rows when at least half of
// the span is wanted (computing a few unwanted rows costs less than
// copying), else gathered rows. It returns the block and the rest of idx.
func nextBlock(idx []int32, limit, n int) (block, []int32) {
	first := int(idx[0])
	e := 1
	for e < len(idx) && int(idx[e])-first < limit {
		e++
	}
	span := int(idx[e-1]) - first + 1
	if 2*e >= span {
		width := min((span+31)/32*32, n-first)
		return block{rows: idx[:e], first: first, width: width}, idx[e:]
	}
	e = min(len(idx), limit)
	return block{rows: idx[:e], width: (e + 31) / 32 * 32, gathered: true}, idx[e:]
}

// products computes s.dots[j·b.width + b.col(q)] = x_{b.rows[q]}·c_j with
// one GEMM. Padding columns of a gathered block hold whatever rows were
// gathered there before (finite values), their products unused.
func products(a *data, c *centres, b *block, s *scratch) []float32 {
	d := a.d
	var xb []float32
	if b.gathered {
		xb = s.buf[:b.width*d]
		for q, i := range b.rows {
			copy(xb[q*d:(q+1)*d], a.row(int(i)))
		}
	} else {
		xb = a.x[b.first*d : (b.first+b.width)*d]
	}
	dots := s.dots[:c.kp*b.width]
	kernels.Gemm(false, true, c.kp, b.width, d, 1, c.f32, d, xb, d, 0, dots, b.width)
	return dots
}

// nearest decides row i's label from its products (dots[j·stride + q])
// as described at the top of this file, with one error bound for the row,
// E = E(‖x‖, max_j ‖μ_j‖) ≥ E_j for every j (E_j grows with ‖μ_j‖). It
// leaves D̃_j in s.dist, E in s.err, and, when it had to compute R_j
// (s.exact), R_j in s.ref (NaN where not computed).
func nearest(a *data, c *centres, m *errModel, i int, dots []float32, stride, q int, s *scratch) int {
	nx2 := a.sqNorm[i]
	e := m.errBound(a.norm[i], c.maxNorm)
	s.err, s.exact = e, false
	best, bestD := 0, math.Inf(1)
	var total float64
	for j := range c.k {
		dj := nx2 - 2*float64(dots[j*stride+q]) + c.sqNorm[j]
		s.dist[j] = dj
		total += dj
		if dj < bestD {
			best, bestD = j, dj
		}
	}
	if math.IsNaN(total) || math.IsInf(total, 0) || math.IsInf(e, 0) {
		// Overflow in float32 (or E unbounded): decide from R alone.
		return exactNearest(a, c, i, s, -1, 0)
	}
	// D̃_j − E > D̃_best + E for every other j: R_best < R_j.
	thr := bestD + 2*e
	for j, dj := range s.dist {
		if j != best && !(dj > thr) {
			return exactNearest(a, c, i, s, best, thr)
		}
	}
	return best
}

// exactNearest is argmin R_j (ties to the lower index) over best and the
// centres j with D̃_j ≤ thr, or over all centres when best < 0, recording
// R_j in s.ref (NaN for the others).
func exactNearest(a *data, c *centres, i int, s *scratch, best int, thr float64) int {
	x := a.row(i)
	s.exact = true
	arg, argR := -1, 0.0
	for j := range c.k {
		if best >= 0 && j != best && s.dist[j] > thr {
			s.ref[j] = math.NaN()
			continue
		}
		r := sqDist(x, c.row(j))
		s.ref[j] = r
		if arg < 0 || r < argR {
			arg, argR = j, r
		}
	}
	return arg
}

// assign writes the nearest centre (by R, see above) of every row into
// labels.
func assign(a *data, c *centres, labels []int32) {
	m := newErrModel(a.d)
	rows := blockRows(c.kp, a.d)
	var pool [workers]*scratch
	forEachChunkW(a.n, func(w, _, lo, hi int) {
		s := pool[w]
		if s == nil {
			s = newScratch(c, rows)
			pool[w] = s
		}
		idx := s.idx[:0]
		for i := lo; i < hi; i++ {
			idx = append(idx, int32(i))
		}
		for len(idx) > 0 {
			var b block
			b, idx = nextBlock(idx, rows, a.n)
			dots := products(a, c, &b, s)
			for q, i := range b.rows {
				labels[i] = int32(nearest(a, c, &m, int(i), dots, b.width, b.col(q), s))
			}
		}
	})
}

// clusterSums is one chunk's partial per-cluster coordinate sums and sizes.
type clusterSums struct {
	sums  []float64
	sizes []int64
}

// add sets p to the sums and sizes of rows [lo, hi) by their labels,
// adding rows in order.
func (p *clusterSums) add(a *data, labels []int32, lo, hi int) {
	clear(p.sums)
	clear(p.sizes)
	d := a.d
	for i := lo; i < hi; i++ {
		j := int(labels[i])
		p.sizes[j]++
		sum := p.sums[j*d : (j+1)*d]
		for t, v := range a.row(i) {
			sum[t] += float64(v)
		}
	}
}
