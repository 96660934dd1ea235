package kmeans

import (
	"math"
)

// Exact acceleration of the assignment step by triangle-inequality bounds
// (Elkan 2003, "Using the triangle inequality to accelerate k-means";
// Hamerly 2010, "Making k-means even faster").
//
// Every row keeps an upper bound U on its true distance ‖x − μ_a‖ to its
// centre a and lower bounds L_j on its true distances to the other centres
// (Elkan: one per centre; Hamerly: one for all, see elkanMinK), all valid for the centres of the round the row was last
// scored in (its stamp). When centre j has moved by at most Δ_j since then,
// ‖x − μ_a‖ ≤ U + Δ_a and ‖x − μ_j‖ ≥ L_j − Δ_j; also ‖x − μ_j‖ ≥
// ‖μ_a − μ_j‖ − ‖x − μ_a‖. A row is skipped when, for every j ≠ a,
// U′ < ρ·max(L_j′, ‖μ_a − μ_j‖ − U′); with ρ = 1 − 2η − 2⁻⁵⁰ (η the relative
// error of the reference R_j, see distance.go) this implies R_a < R_j, so
// the label is exactly the one a full scoring would give. Every bound is
// rounded outwards (up/down, float32 lower bounds rounded down), so the
// skipped rows are a subset of the rows whose label cannot change and the
// labels are identical to plain Lloyd's. Rows not skipped are scored
// against all centres by GEMM (computing all k products costs little more
// than one when the row has to be read anyway) and get fresh bounds.
//
// Centre movements are not applied to every row every round: the drift of
// centre j since round t is kept as the difference of prefix sums of its
// per-round movements, and a row's bounds are moved only when it is tested.

// Rows keep k lower bounds (Elkan) when k ≥ elkanMinK and n·k ≤
// elkanBounds (float32, 4 bytes each), else one (Hamerly). With rows
// rescored against all centres by GEMM, Elkan's tighter bounds pay for
// their upkeep only with many centres: on MNIST pixels (d = 784) Hamerly
// took 15–30% less time at k = 10 (70,000 rows), as much at k = 50 and
// 100 (20,000 rows), and 25% more at k = 300 (10,000 rows). Variables so
// that tests can cover both.
var (
	elkanMinK   = 128
	elkanBounds = 1 << 25
)

// pairBudget bounds the multiply-adds spent per round on exact centre-centre
// distances; above it the ‖μ_a − μ_j‖ test is left out (it is an extra
// test, not needed for correctness). A variable so that tests can cover
// both.
var pairBudget = 1 << 22

// engine runs assignment rounds against centres that move between rounds.
type engine struct {
	a *data
	c *centres
	m errModel
	k int

	elkan  bool
	labels []int32   // −1 before the first round
	stamp  []int32   // round of the centres the row's bounds refer to
	upper  []float64 // U per row
	lower  []float32 // L_j per row (Elkan, n·k) or min_{j≠a} L_j (Hamerly, n)

	now    int       // index of the current centres: rounds advanced so far
	prefix []float64 // (now+1)·k: Σ of the movement bounds of centre j before round t
	drift  []float64 // (now+1)·k: bound on the movement of j from round t's centres to now
	dmax   []float64 // now+1: max_j drift[t·k + j]
	half   []float64 // k·k: U below half[a·k+j] implies R_a < R_j
	sep    []float64 // k: min_{j≠a} half[a·k+j]
	rho    float64
	first  bool // no bounds yet: score every row

	rows int
	pool [workers]*scratch

	// Sums of the rows of every cluster. With exact sums (see
	// data.exactSums) each worker collects the changes of its rows;
	// otherwise each chunk's sums are recomputed in row order.
	exact    bool
	delta    [workers][]float64
	dsize    [workers][]int64
	partials []clusterSums
	changes  [workers]int
}

// newEngine prepares rounds for rows a and centres c (which the caller
// moves between rounds, calling advance); labels start at −1.
func newEngine(a *data, c *centres) *engine {
	k, n := c.k, a.n
	e := &engine{a: a, c: c, m: newErrModel(a.d), k: k, first: true,
		labels: make([]int32, n), stamp: make([]int32, n), upper: make([]float64, n),
		rows: blockRows(c.kp, a.d)}
	for i := range e.labels {
		e.labels[i] = -1
	}
	e.elkan = k >= elkanMinK && n*k <= elkanBounds
	if e.elkan {
		e.lower = make([]float32, n*k)
	} else {
		e.lower = make([]float32, n)
	}
	e.rho = down(1 - 2*e.m.eta - 0x1p-50)
	e.prefix = make([]float64, k)
	e.drift = make([]float64, k)
	e.dmax = make([]float64, 1)
	e.half = make([]float64, k*k)
	e.sep = make([]float64, k)
	e.separation()
	e.exact = a.exactSums()
	if e.exact {
		for w := range workers {
			e.delta[w] = make([]float64, k*a.d)
			e.dsize[w] = make([]int64, k)
		}
	} else {
		e.partials = make([]clusterSums, numChunks(n))
		for i := range e.partials {
			e.partials[i] = clusterSums{sums: make([]float64, k*a.d), sizes: make([]int64, k)}
		}
	}
	return e
}

// pass scores every row whose label may have changed against the current
// centres and returns the number of rows whose label changed. With
// collect, the cluster sums are brought up to date (see collect).
func (e *engine) pass(collect bool) int {
	a, c := e.a, e.c
	clear(e.changes[:])
	forEachChunkW(a.n, func(w, ch, lo, hi int) {
		s := e.pool[w]
		if s == nil {
			s = newScratch(c, e.rows)
			e.pool[w] = s
		}
		idx := s.idx[:0]
		for i := lo; i < hi; i++ {
			if e.first || !e.settled(i) {
				idx = append(idx, int32(i))
			}
		}
		for len(idx) > 0 {
			var b block
			b, idx = nextBlock(idx, e.rows, a.n)
			dots := products(a, c, &b, s)
			for q, i32 := range b.rows {
				i := int(i32)
				j := nearest(a, c, &e.m, i, dots, b.width, b.col(q), s)
				e.reset(i, j, s)
				if old := int(e.labels[i]); old != j {
					e.labels[i] = int32(j)
					e.changes[w]++
					if collect && e.exact {
						e.move(w, i, old, j)
					}
				}
			}
		}
		if collect && !e.exact {
			e.partials[ch].add(a, e.labels, lo, hi)
		}
	})
	e.first = false
	total := 0
	for _, n := range e.changes {
		total += n
	}
	return total
}

// collect sets sums and sizes to the per-cluster sums and sizes of the
// current labels after a pass with collect: with exact sums by adding the
// workers' changes (exact, so the order does not matter), otherwise by
// adding the chunks' sums in chunk order.
func (e *engine) collect(sums []float64, sizes []int64) {
	if e.exact {
		for w := range workers {
			for t, v := range e.delta[w] {
				sums[t] += v
			}
			for j, n := range e.dsize[w] {
				sizes[j] += n
			}
			clear(e.delta[w])
			clear(e.dsize[w])
		}
		return
	}
	clear(sums)
	clear(sizes)
	for _, p := range e.partials {
		for t, v := range p.sums {
			sums[t] += v
		}
		for j, n := range p.sizes {
			sizes[j] += n
		}
	}
}

// move records that row i left cluster from (−1: none) for cluster to.
func (e *engine) move(w, i, from, to int) {
	d := e.a.d
	delta := e.delta[w]
	x := e.a.row(i)
	if from >= 0 {
		e.dsize[w][from]--
		sum := delta[from*d : (from+1)*d]
		for t, v := range x {
			sum[t] -= float64(v)
		}
	}
	e.dsize[w][to]++
	sum := delta[to*d : (to+1)*d]
	for t, v := range x {
		sum[t] += float64(v)
	}
}

// settled reports whether row i's bounds prove its label unchanged.
func (e *engine) settled(i int) bool {
	k := e.k
	a, t := int(e.labels[i]), int(e.stamp[i])
	u := up(e.upper[i] + e.drift[t*k+a])
	if u < e.sep[a] {
		return true
	}
	if !e.elkan {
		l := down(float64(e.lower[i]) - e.dmax[t])
		return u < e.rho*l
	}
	low := e.lower[i*k : (i+1)*k]
	dr := e.drift[t*k : (t+1)*k]
	half := e.half[a*k : (a+1)*k]
	for j, l := range low {
		if j == a || u < half[j] {
			continue
		}
		if !(u < e.rho*down(float64(l)-dr[j])) {
			return false
		}
	}
	return true
}

// reset gives row i, just scored with label j, fresh bounds from the D̃,
// E and R its scoring left in s.
func (e *engine) reset(i, j int, s *scratch) {
	e.stamp[i] = int32(e.now)
	e.upper[i] = e.upperOf(j, s)
	if e.elkan {
		low := e.lower[i*e.k : (i+1)*e.k]
		for l := range low {
			low[l] = lowerFrom(e.lowerSq(l, s))
		}
		return
	}
	sq := math.Inf(1)
	for l := range e.k {
		if l != j {
			sq = min(sq, e.lowerSq(l, s))
		}
	}
	e.lower[i] = lowerFrom(sq)
}

// upperOf is an upper bound on the true distance to centre j of the row
// just scored into s.
func (e *engine) upperOf(j int, s *scratch) float64 {
	var sq float64
	if r := s.ref[j]; s.exact && !math.IsNaN(r) {
		sq = up(r * (1 + 2*e.m.eta))
	} else {
		sq = up(s.dist[j] + s.err)
	}
	if !(sq < math.Inf(1)) {
		return math.Inf(1)
	}
	return up(math.Sqrt(sq))
}

// lowerSq is a lower bound on the true squared distance to centre j of the
// row just scored into s.
func (e *engine) lowerSq(j int, s *scratch) float64 {
	if r := s.ref[j]; s.exact && !math.IsNaN(r) {
		return down(r * (1 - 2*e.m.eta))
	}
	return down(s.dist[j] - s.err)
}

// lowerFrom is a float32 lower bound on the square root of sq, itself a
// lower bound on a squared distance.
func lowerFrom(sq float64) float32 {
	if !(sq > 0) {
		return 0
	}
	return roundDown32(down(math.Sqrt(sq)))
}

// roundDown32 is the largest float32 ≤ v, for v > 0.
func roundDown32(v float64) float32 {
	f := float32(v)
	if float64(f) > v {
		// f > v > 0: step down by one unit in the last place.
		f = math.Float32frombits(math.Float32bits(f) - 1)
	}
	return f
}

// advance moves to the next centres: e.c now holds them and old the
// previous ones. It bounds each centre's movement and updates the drift
// tables and the centre separations.
func (e *engine) advance(old []float64) {
	k, d := e.k, e.a.d
	prev := e.prefix[e.now*k : (e.now+1)*k]
	next := make([]float64, k)
	for j := range k {
		var m float64
		moved := false
		for t, v := range e.c.row(j) {
			dv := v - old[j*d+t]
			m += dv * dv
			moved = moved || dv != 0
		}
		step := up(math.Sqrt(up(m * (1 + 2*e.m.eta))))
		if moved && m < 0x1p-1000 {
			// The squares may have underflowed.
			step += math.Sqrt(float64(d)) * 0x1p-500
		}
		next[j] = up(prev[j] + step)
	}
	e.now++
	e.prefix = append(e.prefix, next...)
	// drift[t·k+j] ≥ the exact sum of centre j's steps since round t: each
	// prefix value is rounded up, by at most 2⁻⁵⁰ relative per step, so the
	// difference of two prefix values is short of it by at most
	// now·2⁻⁵⁰·P_j(now).
	e.drift = e.drift[:0]
	e.dmax = e.dmax[:0]
	for t := 0; t <= e.now; t++ {
		m := 0.0
		for j := range k {
			slack := float64(e.now+1) * 0x1p-48 * next[j]
			dr := up(up(next[j]-e.prefix[t*k+j]) + slack)
			e.drift = append(e.drift, dr)
			m = max(m, dr)
		}
		e.dmax = append(e.dmax, m)
	}
	e.separation()
}

// separation sets half and sep for the current centres: with cc a lower
// bound on ‖μ_a − μ_j‖, U < ρ·cc/(1+ρ) gives U < ρ(cc − U) ≤
// ρ‖x − μ_j‖. It is skipped (zeros, the test never passes) when the k²
// distances would cost more than pairBudget.
func (e *engine) separation() {
	k, d := e.k, e.a.d
	clear(e.half)
	for a := range e.sep {
		e.sep[a] = math.Inf(1)
	}
	if k*(k-1)/2*d > pairBudget {
		clear(e.sep)
		return
	}
	f := down(down(e.rho / (1 + e.rho)))
	for a := range k {
		for j := a + 1; j < k; j++ {
			var m float64
			ra, rj := e.c.row(a), e.c.row(j)
			for t := range d {
				dv := ra[t] - rj[t]
				m += dv * dv
			}
			cc := down(math.Sqrt(down(m * (1 - 2*e.m.eta))))
			h := max(0, down(f*cc))
			e.half[a*k+j], e.half[j*k+a] = h, h
			e.sep[a] = min(e.sep[a], h)
			e.sep[j] = min(e.sep[j], h)
		}
	}
}
