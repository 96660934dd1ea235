package subspace

import (
	"context"
	"fmt"
	"math"
	"slices"

	"github.com/deepclust/deepclust/internal/kernels"
	"github.com/deepclust/deepclust/internal/sparse"
)

// Scan tiling: a block of rowBlock queries against colTile dictionary rows
// per GEMM, so each worker holds one rowBlock×colTile float32 buffer
// (2 MiB) whatever the number of points.
const (
	rowBlock = 256
	colTile  = 2048
)

// kktTol is the relative slack of the optimality check: an atom outside
// the support violates it when |a_jᵀδ| > τ(1 + kktTol). Candidates are
// found in float32 above τ(1 − prefilter) and checked again in float64.
const (
	kktTol    = 1e-4
	prefilter = 1e-3
)

// expressOptions are the parameters of the self-expression step.
type expressOptions struct {
	gamma, tau float64
	support    int // initial support size and most atoms added per round
	rounds     int // most active-set rounds
	nonzero    int // coefficients kept per point, the largest in magnitude
	tol        float64
	maxSweeps  int
}

// expression is the sparse self-expression of nq query points: row i holds
// the atoms Col[RowPtr[i]:RowPtr[i+1]] and their coefficients.
type expression struct {
	RowPtr []int
	Col    []int32
	Val    []float64
	// Unconverged counts the points whose active set still had violators
	// after the last round.
	Unconverged int
	// Rounds is the number of active-set rounds run.
	Rounds int
}

// express computes, for every query q_i (rows of the nq×d matrix q), the
// elastic-net coefficients over the rows of the n×d dictionary x,
//
//	min_c ½‖q_i − Σ_j c_j x_j‖² + α_i(τ‖c‖₁ + ½(1−τ)‖c‖²),   c_{self_i} = 0,
//	α_i = μ_i/(γτ),   μ_i = max_{j ≠ self_i} |x_jᵀq_i|,
//
// by the oracle-guided active-set method of You, Li, Robinson & Vidal
// (2016): start from the support atoms of largest |x_jᵀq_i|, solve the
// problem restricted to the support (enet), compute δ_i = (q_i − Σ c_j x_j)/α_i
// and stop when no atom outside the support has |x_jᵀδ_i| > τ(1+kktTol)
// (the optimality condition of the full problem); otherwise the support
// becomes the nonzero coefficients plus the (at most support) worst
// violators. Rounds are batched: each scans all still-active queries
// against the whole dictionary by float32 GEMM tiles. self[i] = −1 means
// no excluded atom. A query with μ_i = 0 gets no coefficients.
func express(ctx context.Context, q []float32, nq int, x []float32, n, d int, self []int32, o expressOptions) (*expression, error) {
	if len(q) != nq*d || len(x) != n*d || len(self) != nq {
		return nil, fmt.Errorf("subspace: self-expression of %d queries over %d atoms of width %d: inconsistent sizes", nq, n, d)
	}
	supp := make([][]int32, nq)
	coef := make([][]float64, nq)
	alpha := make([]float64, nq)
	qrow := func(i int) []float32 { return q[i*d : (i+1)*d] }
	xrow := func(j int) []float32 { return x[j*d : (j+1)*d] }

	// Round 0: the support largest coherences |x_jᵀq_i|.
	all := make([]int, nq)
	for i := range all {
		all[i] = i
	}
	init, err := scan(ctx, q, all, x, n, d, self, nil, 0, min(o.support, n), 0)
	if err != nil {
		return nil, err
	}
	active := make([]int, 0, nq)
	for i := range nq {
		supp[i] = init[i]
		if len(init[i]) == 0 {
			continue
		}
		// μ_i, recomputed in float64: the top candidate of the scan is
		// the most coherent atom up to float32 rounding, so take the
		// maximum over the whole initial support.
		var mu float64
		for _, j := range init[i] {
			mu = max(mu, math.Abs(dot64(qrow(i), xrow(int(j)))))
		}
		if mu == 0 {
			supp[i] = nil
			continue
		}
		alpha[i] = mu / (o.gamma * o.tau)
		slices.Sort(supp[i])
		active = append(active, i)
	}
	out := &expression{}
	delta := make([]float32, nq*d)
	for round := 1; len(active) > 0; round++ {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("subspace: self-expression: %w", err)
		}
		out.Rounds = round
		sparse.Parallel(len(active), func(a int) {
			i := active[a]
			s := supp[i]
			e := enet{l1: alpha[i] * o.tau, l2: alpha[i] * (1 - o.tau), tol: o.tol, maxSweeps: o.maxSweeps}
			y := widen(qrow(i))
			// The Gram matrix of the support by one float32 GEMM.
			xs := make([]float32, len(s)*d)
			for t, j := range s {
				copy(xs[t*d:(t+1)*d], xrow(int(j)))
			}
			g32 := make([]float32, len(s)*len(s))
			kernels.Gemm(false, true, len(s), len(s), d, 1, xs, d, xs, d, 0, g32, len(s))
			r := e.solve(y, len(s), func(t int) []float32 { return xs[t*d : (t+1)*d] }, coef[i], g32)
			coef[i] = r.c
			// δ_i = (q_i − Σ c_j x_j)/α_i.
			res := y
			for t, c := range r.c {
				if c == 0 {
					continue
				}
				for u, v := range xrow(int(s[t])) {
					res[u] -= c * float64(v)
				}
			}
			for u := range d {
				delta[i*d+u] = float32(res[u] / alpha[i])
			}
		})
		last := round == o.rounds
		keep := o.support
		if last {
			keep = 1 // only to count the queries that would still move
		}
		viol, err := scan(ctx, delta, active, x, n, d, self, supp, o.tau*(1-prefilter), keep, o.tau*(1+kktTol))
		if err != nil {
			return nil, err
		}
		next := active[:0]
		for _, i := range active {
			if len(viol[i]) == 0 {
				continue
			}
			if last {
				out.Unconverged++
				continue
			}
			// New support: the nonzero coefficients (warm start) and the violators (0).
			type cv struct {
				j int32
				v float64
			}
			var s []cv
			for t, c := range coef[i] {
				if c != 0 {
					s = append(s, cv{supp[i][t], c})
				}
			}
			for _, j := range viol[i] {
				s = append(s, cv{j, 0})
			}
			slices.SortFunc(s, func(a, b cv) int { return int(a.j - b.j) })
			supp[i] = make([]int32, len(s))
			coef[i] = make([]float64, len(s))
			for t, e := range s {
				supp[i][t], coef[i][t] = e.j, e.v
			}
			next = append(next, i)
		}
		if last {
			break
		}
		active = next
	}
	// Keep the nonzero largest coefficients, at most nonzero per row.
	out.RowPtr = make([]int, nq+1)
	for i := range nq {
		type cv struct {
			j int32
			v float64
		}
		var kept []cv
		for t, c := range coef[i] {
			if c != 0 {
				kept = append(kept, cv{supp[i][t], c})
			}
		}
		if len(kept) > o.nonzero {
			slices.SortStableFunc(kept, func(a, b cv) int {
				if c := cmpAbsDesc(a.v, b.v); c != 0 {
					return c
				}
				return int(a.j - b.j)
			})
			kept = kept[:o.nonzero]
			slices.SortFunc(kept, func(a, b cv) int { return int(a.j - b.j) })
		}
		for _, e := range kept {
			out.Col = append(out.Col, e.j)
			out.Val = append(out.Val, e.v)
		}
		out.RowPtr[i+1] = len(out.Col)
	}
	return out, nil
}

// scan compares the queries ids (rows of the row-major q, width d) with
// every row of the n×d dictionary x by float32 GEMM tiles and returns, per
// query, up to keep atoms j ≠ self[i] outside exclude[i] (sorted; nil: none)
// whose coherence |x_jᵀq_i| exceeds pre in float32, the largest first
// (ties: lower j), keeping those whose coherence recomputed in float64
// exceeds exact. Query blocks run in parallel, each owning its queries'
// candidate heaps, so the result does not depend on scheduling.
func scan(ctx context.Context, q []float32, ids []int, x []float32, n, d int, self []int32, exclude [][]int32, pre float64, keep int, exact float64) ([][]int32, error) {
	out := make([][]int32, len(self))
	if keep < 1 || len(ids) == 0 {
		return out, nil
	}
	blocks := (len(ids) + rowBlock - 1) / rowBlock
	pre32 := float32(pre)
	sparse.Parallel(blocks, func(b int) {
		if ctx.Err() != nil {
			return
		}
		lo, hi := b*rowBlock, min(len(ids), (b+1)*rowBlock)
		rows := hi - lo
		qb := make([]float32, rows*d)
		for r := range rows {
			copy(qb[r*d:(r+1)*d], q[ids[lo+r]*d:(ids[lo+r]+1)*d])
		}
		heaps := make([]topHeap, rows)
		buf := make([]float32, rows*colTile)
		for jlo := 0; jlo < n; jlo += colTile {
			cols := min(colTile, n-jlo)
			kernels.Gemm(false, true, rows, cols, d, 1, qb, d, x[jlo*d:(jlo+cols)*d], d, 0, buf[:rows*cols], cols)
			for r := range rows {
				i := ids[lo+r]
				h := &heaps[r]
				var ex []int32
				if exclude != nil {
					ex = exclude[i]
				}
				// thr: the bar a coherence must pass, pre or, with a full
				// heap, its worst item (columns come in increasing j, so
				// an equal coherence never beats an item already kept).
				// Comparing v and −v with it keeps the loop free of
				// data-dependent branches for the many atoms below it.
				thr := pre32
				if len(h.items) == keep {
					thr = max(thr, h.items[0].v)
				}
				for c, v := range buf[r*cols : (r+1)*cols] {
					if !(v > thr || -v > thr) {
						continue
					}
					if v < 0 {
						v = -v
					}
					if len(h.items) == keep && !h.beats(v, int32(jlo+c)) {
						continue
					}
					j := int32(jlo + c)
					if j == self[i] {
						continue
					}
					if _, found := slices.BinarySearch(ex, j); found {
						continue
					}
					h.offer(keep, v, j)
					if len(h.items) == keep {
						thr = max(thr, h.items[0].v)
					}
				}
			}
		}
		for r := range rows {
			i := ids[lo+r]
			items := heaps[r].items
			slices.SortFunc(items, func(a, b scored) int {
				if a.before(b) {
					return -1
				}
				return 1
			})
			picked := make([]int32, 0, len(items))
			for _, it := range items {
				if math.Abs(dot64(q[i*d:(i+1)*d], x[int(it.j)*d:(int(it.j)+1)*d])) > exact {
					picked = append(picked, it.j)
				}
			}
			out[i] = picked
		}
	})
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("subspace: self-expression: %w", err)
	}
	return out, nil
}

// scored is a candidate atom and its float32 coherence.
type scored struct {
	v float32
	j int32
}

// before orders candidates by coherence, largest first, then by index: a
// strict total order, so a bounded heap ends with the same content
// whatever order the candidates came in.
func (a scored) before(b scored) bool { return a.v > b.v || (a.v == b.v && a.j < b.j) }

// topHeap keeps the best keep candidates; items[0] is the worst of them.
type topHeap struct{ items []scored }

// beats reports whether (v, j) would enter a full heap.
func (h *topHeap) beats(v float32, j int32) bool { return scored{v, j}.before(h.items[0]) }

func (h *topHeap) offer(keep int, v float32, j int32) {
	s := scored{v, j}
	if len(h.items) < keep {
		h.items = append(h.items, s)
		for c := len(h.items) - 1; c > 0; {
			p := (c - 1) / 2
			if !h.items[p].before(h.items[c]) {
				break
			}
			h.items[p], h.items[c] = h.items[c], h.items[p]
			c = p
		}
		return
	}
	if !s.before(h.items[0]) {
		return
	}
	h.items[0] = s
	for p := 0; ; {
		l, r, w := 2*p+1, 2*p+2, p
		if l < len(h.items) && h.items[w].before(h.items[l]) {
			w = l
		}
		if r < len(h.items) && h.items[w].before(h.items[r]) {
			w = r
		}
		if w == p {
			return
		}
		h.items[p], h.items[w] = h.items[w], h.items[p]
		p = w
	}
}

func dot64(a, b []float32) float64 {
	var s float64
	for t, v := range a {
		s += float64(v) * float64(b[t])
	}
	return s
}

func widen(a []float32) []float64 {
	out := make([]float64, len(a))
	for t, v := range a {
		out[t] = float64(v)
	}
	return out
}

func cmpAbsDesc(a, b float64) int {
	switch a, b := math.Abs(a), math.Abs(b); {
	case a > b:
		return -1
	case a < b:
		return 1
	}
	return 0
}
