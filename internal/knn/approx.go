package knn

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"math/bits"
	"runtime"
	"slices"

	"github.com/deepclust/deepclust/internal/kernels"
	"github.com/deepclust/deepclust/internal/sparse"
)

// ApproxOptions tune Approx. A zero field takes its default: for the
// forest and the iterations, that of pynndescent's NNDescent for a graph
// of k+1 neighbours (the point itself counted, as pynndescent counts it).
type ApproxOptions struct {
	// Seed fixes every random choice: the same seed gives the same
	// neighbours, whatever the number of threads.
	Seed uint64
	// Trees is the number of random-projection trees of the initial
	// graph (dimensions below 16); 0: max(3, min(12, round(2·log10 n))).
	Trees int
	// LeafSize is the largest leaf of a tree; 0: max(60, min(256, 5(k+1))).
	LeafSize int
	// CellSize is the mean number of points of a cell of the initial
	// graph (dimensions 16 and above): there are round(n/CellSize)
	// cells; 0: 2048.
	CellSize int
	// Probes is the largest number of cells, its own included, each
	// point is compared with (dimensions 16 and above); 0: 8.
	Probes int
	// MaxCandidates bounds the new and the old candidates each point
	// joins per iteration; 0: min(60, k+1).
	MaxCandidates int
	// Iters is the largest number of NN-descent iterations; 0:
	// max(5, round(log2 n)).
	Iters int
	// Delta stops the iterations once one changes fewer than
	// Delta·k·n neighbour entries; 0: 0.001.
	Delta float64
}

// withDefaults fills the zero fields of o for n points and k neighbours.
func (o ApproxOptions) withDefaults(n, k int) ApproxOptions {
	if o.Trees <= 0 {
		o.Trees = max(3, min(12, int(math.Round(2*math.Log10(float64(n))))))
	}
	if o.LeafSize <= 0 {
		o.LeafSize = max(60, min(256, 5*(k+1)))
	}
	o.LeafSize = max(o.LeafSize, 2)
	if o.MaxCandidates <= 0 {
		o.MaxCandidates = min(60, k+1)
	}
	if o.Iters <= 0 {
		o.Iters = max(5, int(math.Round(math.Log2(float64(n)))))
	}
	if !(o.Delta > 0) {
		o.Delta = 0.001
	}
	if o.CellSize <= 0 {
		o.CellSize = 2048
	}
	if o.Probes <= 0 {
		o.Probes = 8
	}
	return o
}

// Fixed work partitions. Results depend on these (thresholds are read at
// block starts) but not on the number of threads.
const (
	joinBlockRows = 16384 // rows whose local joins share one set of thresholds
	joinChunkRows = 256   // rows one goroutine joins at a time
	leafBlock     = 256   // leaves whose pairs share one set of thresholds
	leafChunk     = 16    // leaves one goroutine handles at a time
	maxTreeDepth  = 200   // as pynndescent's max_rptree_depth
)

// emptyIndex marks a free heap slot; with distance +Inf it sorts after
// every real candidate.
const emptyIndex = math.MaxInt32

// Approx finds approximate k nearest neighbours of every row of the n×d
// row-major matrix x among the other rows (1 ≤ k < n) by NN-descent (Dong,
// Charikar & Li, "Efficient k-nearest neighbor graph construction for
// generic similarity measures", WWW 2011) as pynndescent implements it,
// from an initial graph that depends on the dimension:
//
//  1. below 16 dimensions, a forest of random-projection trees (each node
//     split by the hyperplane halfway between two of its points drawn at
//     random) whose leaves give the first neighbour candidates: every
//     pair of points sharing a leaf (pynndescent's initialisation);
//     from 16 dimensions on, where neighbours of neighbours stop being
//     reliable neighbours and small leaves cut most neighbourhoods,
//     exact comparisons, by matrix products, of every point with the
//     points of its own k-means cell and of the nearby cells that can
//     hold a nearer neighbour (an inverted-file index with exact pruning:
//     see initCells), which usually leaves the iterations little to do;
//  2. iterations in which every point joins its sampled neighbours and
//     reverse neighbours (up to MaxCandidates new ones, never joined
//     before, and as many old ones), offering each pair of them to both
//     their neighbour lists, until an iteration changes fewer than
//     Delta·k·n entries.
//
// Distances are squared Euclidean, in float32 during the search; the k
// neighbours found are re-ranked by their distances recomputed in float64
// and returned as Search returns them (increasing distance, ties by lower
// index), so Neighbours holds the exact distances of approximate
// neighbours.
//
// Work runs on GOMAXPROCS goroutines over fixed partitions: candidates
// are generated against the thresholds of a fixed block of rows, and each
// row receives its updates in a fixed order, whichever goroutine computes
// them; random choices come from counter-based hashes of (seed, round,
// point), or from random streams seeded by the seed (one per tree, one
// for the cells' k-means), each drawn by one goroutine. The output
// depends on x, k and the options only (and, for d ≥ 16, whose distances
// come from kernels.Gemm, on the GEMM kernel the processor runs, which
// fixes their float32 rounding).
//
// It stops early, returning ctx's error, when ctx is cancelled.
func Approx(ctx context.Context, x []float32, n, d, k int, opt ApproxOptions) (*Neighbours, error) {
	switch {
	case k < 1 || k >= n:
		return nil, fmt.Errorf("knn: %d nearest neighbours among %d points, want 1 ≤ k < n", k, n)
	case d < 1 || len(x) != n*d:
		return nil, fmt.Errorf("knn: %d values for %d points of dimension %d", len(x), n, d)
	case n >= emptyIndex:
		return nil, fmt.Errorf("knn: %d points, at most %d supported", n, emptyIndex-1)
	}
	for i, v := range x {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return nil, fmt.Errorf("knn: point %d has the value %v, want finite values", i/d, v)
		}
	}
	o := opt.withDefaults(n, k)
	g := newGraph(n, k)
	s := &searcher{src: x, n: n, d: d, g: g, opt: o}
	s.shift = max(0, bits.Len(uint(n-1))-6) // at most 64 buckets of rows
	s.buckets = (n-1)>>s.shift + 1
	initGraph := s.initForest
	if d >= cellMinDim {
		initGraph = s.initCells
	}
	if err := initGraph(ctx); err != nil {
		return nil, fmt.Errorf("knn: approximate search: %w", err)
	}
	s.fillRandom()
	newC, oldC := newCandidates(n, o.MaxCandidates), newCandidates(n, o.MaxCandidates)
	for it := range o.Iters {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("knn: approximate search: %w", err)
		}
		s.buildCandidates(uint64(it), newC, oldC)
		changed, err := s.join(ctx, newC, oldC)
		if err != nil {
			return nil, fmt.Errorf("knn: approximate search: %w", err)
		}
		if float64(changed) <= o.Delta*float64(k)*float64(n) {
			break
		}
	}
	return s.finish(), nil
}

// graph holds every point's current k neighbours as a bounded max-heap
// ordered by (distance, index): slot 0 holds the farthest, so its
// distance is the threshold a new candidate must beat. flag is 1 for an
// entry not yet sampled into a local join.
type graph struct {
	n, k int
	idx  []int32
	dist []float32
	flag []uint8
}

func newGraph(n, k int) *graph {
	g := &graph{n: n, k: k, idx: make([]int32, n*k), dist: make([]float32, n*k), flag: make([]uint8, n*k)}
	for i := range g.idx {
		g.idx[i], g.dist[i] = emptyIndex, float32(math.Inf(1))
	}
	return g
}

// bound is the distance a candidate for row i must not exceed to enter it.
func (g *graph) bound(i int32) float32 { return g.dist[int(i)*g.k] }

// pairBefore orders candidates by distance, then index.
func pairBefore(d1 float32, j1 int32, d2 float32, j2 int32) bool {
	return d1 < d2 || (d1 == d2 && j1 < j2)
}

// push offers j at distance dd to row i's heap as a new entry; it reports
// whether the heap changed. An index already present is refused, so the
// heap ends up holding the k best distinct candidates offered, whatever
// their order.
func (g *graph) push(i, j int32, dd float32) bool {
	base := int(i) * g.k
	ds, is, fs := g.dist[base:base+g.k], g.idx[base:base+g.k], g.flag[base:base+g.k]
	if !pairBefore(dd, j, ds[0], is[0]) {
		return false
	}
	if slices.Contains(is, j) {
		return false
	}
	p := 0
	for {
		l := 2*p + 1
		if l >= len(ds) {
			break
		}
		big := l
		if r := l + 1; r < len(ds) && pairBefore(ds[l], is[l], ds[r], is[r]) {
			big = r
		}
		if !pairBefore(dd, j, ds[big], is[big]) {
			break
		}
		ds[p], is[p], fs[p] = ds[big], is[big], fs[big]
		p = big
	}
	ds[p], is[p], fs[p] = dd, j, 1
	return true
}

// update is a candidate src for row dst at squared distance d.
type update struct {
	dst, src int32
	d        float32
}

// emitter collects the updates one chunk generates, bucketed by the
// destination row's range, in generation order.
type emitter struct {
	g       *graph
	shift   int
	buckets [][]update
	// Scratch of the matrix-product distances: gathered rows, their
	// squared norms, and their dot products.
	rows, norms, dots []float32
}

// pair offers p and q to each other, keeping only the offers that can
// enter the current heaps.
func (e *emitter) pair(p, q int32, d float32) {
	if d <= e.g.bound(p) {
		b := int(p) >> e.shift
		e.buckets[b] = append(e.buckets[b], update{p, q, d})
	}
	if d <= e.g.bound(q) {
		b := int(q) >> e.shift
		e.buckets[b] = append(e.buckets[b], update{q, p, d})
	}
}

// searcher is one Approx call's state. The search runs on a copy of the
// points, centred on their mean (for the float32 precision of margins and
// of distances from dot products) and reordered by the leaves of the
// first tree, so that points close in space are mostly close in memory;
// point r of the copy is input row order[r], and the graph holds copy
// indices.
type searcher struct {
	src     []float32 // the input, n×d
	x       []float32 // the centred, reordered copy
	norms   []float32 // ‖x_r‖² of the copy
	order   []int32
	n, d    int
	g       *graph
	opt     ApproxOptions
	shift   int // a row's bucket is row >> shift
	buckets int
	chunks  []*emitter
}

// emitters returns m emitters with empty buckets, reusing earlier ones.
func (s *searcher) emitters(m int) []*emitter {
	for len(s.chunks) < m {
		s.chunks = append(s.chunks, &emitter{g: s.g, shift: s.shift, buckets: make([][]update, s.buckets)})
	}
	for _, e := range s.chunks[:m] {
		for b := range e.buckets {
			e.buckets[b] = e.buckets[b][:0]
		}
	}
	return s.chunks[:m]
}

// generate runs gen for chunks 0..m-1 in parallel, each into its own
// emitter, then applies the updates: every bucket of rows in parallel,
// each row receiving its updates in chunk order, then generation order.
// It returns the number of heap entries that changed.
func (s *searcher) generate(m int, gen func(c int, e *emitter)) int {
	es := s.emitters(m)
	sparse.Parallel(m, func(c int) { gen(c, es[c]) })
	changed := make([]int, s.buckets)
	sparse.Parallel(s.buckets, func(b int) {
		for _, e := range es {
			for _, u := range e.buckets[b] {
				if s.g.push(u.dst, u.src, u.d) {
					changed[b]++
				}
			}
		}
	})
	total := 0
	for _, c := range changed {
		total += c
	}
	return total
}

// row returns point i of the working copy.
func (s *searcher) row(i int32) []float32 { return s.x[int(i)*s.d : (int(i)+1)*s.d] }

// centre makes the working copy: the input minus the mean of its rows,
// in input order until reorder.
func (s *searcher) centre() {
	n, d := s.n, s.d
	mean := make([]float64, d)
	for i := range n {
		for t, v := range s.src[i*d : (i+1)*d] {
			mean[t] += float64(v)
		}
	}
	for t := range mean {
		mean[t] /= float64(n)
	}
	s.x = make([]float32, n*d)
	sparse.ForEachChunk(n, 4096, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			for t, v := range s.src[i*d : (i+1)*d] {
				s.x[i*d+t] = float32(float64(v) - mean[t])
			}
		}
	})
}

// reorder permutes the working copy in place so that input row order[r]
// becomes point r (following the permutation's cycles, one row of
// scratch), and computes the squared norms.
func (s *searcher) reorder(order []int32) {
	n, d := s.n, s.d
	s.order = order
	done := make([]bool, n)
	tmp := make([]float32, d)
	for start := range n {
		if done[start] {
			continue
		}
		copy(tmp, s.row(int32(start)))
		for cur := start; ; {
			done[cur] = true
			from := int(order[cur])
			if from == start {
				copy(s.row(int32(cur)), tmp)
				break
			}
			copy(s.row(int32(cur)), s.row(int32(from)))
			cur = from
		}
	}
	s.norms = make([]float32, n)
	sparse.ForEachChunk(n, 4096, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			var nrm float64
			for _, v := range s.row(int32(r)) {
				nrm += float64(v) * float64(v)
			}
			s.norms[r] = float32(nrm)
		}
	})
}

// fillRandom completes every heap the forest left short of k entries
// with points drawn by a hash of (seed, row, draw), then, if draws keep
// hitting present points, with the next points in index order.
func (s *searcher) fillRandom() {
	g, n := s.g, s.n
	sparse.ForEachChunk(n, 4096, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			is := g.idx[i*g.k : (i+1)*g.k]
			missing := 0
			for _, v := range is {
				if v == emptyIndex {
					missing++
				}
			}
			for draw := 0; missing > 0 && draw < 4*g.k; draw++ {
				j := int32(hash3(s.opt.Seed, 0xf111, uint64(i)<<32|uint64(draw)) % uint64(n))
				if j != int32(i) && g.push(int32(i), j, sqDist32(s.row(int32(i)), s.row(j))) {
					missing--
				}
			}
			for step := 1; missing > 0 && step < n; step++ {
				j := int32((i + step) % n)
				if g.push(int32(i), j, sqDist32(s.row(int32(i)), s.row(j))) {
					missing--
				}
			}
		}
	})
}

// candidates holds up to m candidate indices per point as a bounded
// max-heap of random priorities (the m lowest priorities are kept).
type candidates struct {
	m   int
	idx []int32
	pri []uint32
}

func newCandidates(n, m int) *candidates {
	return &candidates{m: m, idx: make([]int32, n*m), pri: make([]uint32, n*m)}
}

// reset empties rows [lo, hi).
func (c *candidates) reset(lo, hi int) {
	for t := lo * c.m; t < hi*c.m; t++ {
		c.idx[t], c.pri[t] = emptyIndex, math.MaxUint32
	}
}

// push offers j with priority p to row i; an index already present is
// refused.
func (c *candidates) push(i, j int32, p uint32) {
	base := int(i) * c.m
	ps, is := c.pri[base:base+c.m], c.idx[base:base+c.m]
	if !priorityBefore(p, j, ps[0], is[0]) || slices.Contains(is, j) {
		return
	}
	q := 0
	for {
		l := 2*q + 1
		if l >= len(ps) {
			break
		}
		big := l
		if r := l + 1; r < len(ps) && priorityBefore(ps[l], is[l], ps[r], is[r]) {
			big = r
		}
		if !priorityBefore(p, j, ps[big], is[big]) {
			break
		}
		ps[q], is[q] = ps[big], is[big]
		q = big
	}
	ps[q], is[q] = p, j
}

// priorityBefore orders candidates by priority, then index.
func priorityBefore(p1 uint32, j1 int32, p2 uint32, j2 int32) bool {
	return p1 < p2 || (p1 == p2 && j1 < j2)
}

// list returns the candidates of row i (free slots skipped) in buf.
func (c *candidates) list(i int, buf []int32) []int32 {
	buf = buf[:0]
	for _, j := range c.idx[i*c.m : (i+1)*c.m] {
		if j != emptyIndex {
			buf = append(buf, j)
		}
	}
	return buf
}

// buildCandidates samples round it's candidates: for every entry j of
// row i, with priority hash(seed, it, i, j), j becomes a candidate of i
// and i of j, among the new ones if the entry is new, else among the old
// ones; each row keeps the MaxCandidates lowest priorities of each kind.
// The new entries sampled become old. Each goroutine owns a range of
// rows and scans the whole graph in index order, so every row receives
// its offers in the same order whatever the number of goroutines.
func (s *searcher) buildCandidates(it uint64, newC, oldC *candidates) {
	g, n := s.g, s.n
	workers := max(1, min(runtime.GOMAXPROCS(0), n/1024))
	sparse.Parallel(workers, func(w int) {
		lo, hi := int32(w*n/workers), int32((w+1)*n/workers)
		newC.reset(int(lo), int(hi))
		oldC.reset(int(lo), int(hi))
		for i := range int32(n) {
			mine := i >= lo && i < hi
			for t := int(i) * g.k; t < (int(i)+1)*g.k; t++ {
				j := g.idx[t]
				if j == emptyIndex || (!mine && (j < lo || j >= hi)) {
					continue
				}
				p := uint32(hash3(s.opt.Seed, it, uint64(i)<<32|uint64(j)) >> 32)
				c := oldC
				if g.flag[t] != 0 {
					c = newC
				}
				if mine {
					c.push(i, j, p)
				}
				if j >= lo && j < hi {
					c.push(j, i, p)
				}
			}
		}
	})
	sparse.ForEachChunk(n, 4096, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			cand := newC.idx[i*newC.m : (i+1)*newC.m]
			for t := i * g.k; t < (i+1)*g.k; t++ {
				if g.flag[t] != 0 && slices.Contains(cand, g.idx[t]) {
					g.flag[t] = 0
				}
			}
		}
	})
}

// join runs one round of local joins: for every point, each pair of its
// new candidates, and each new candidate with each old one, is offered to
// both members' heaps. Rows are joined in blocks against the heaps'
// thresholds at the block's start. It returns the number of entries that
// changed.
func (s *searcher) join(ctx context.Context, newC, oldC *candidates) (int, error) {
	n := s.n
	changed := 0
	for blo := 0; blo < n; blo += joinBlockRows {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		bhi := min(n, blo+joinBlockRows)
		chunks := (bhi - blo + joinChunkRows - 1) / joinChunkRows
		changed += s.generate(chunks, func(c int, e *emitter) {
			var nw, od []int32
			for i := blo + c*joinChunkRows; i < min(bhi, blo+(c+1)*joinChunkRows); i++ {
				nw, od = newC.list(i, nw), oldC.list(i, od)
				if s.d >= gemmMinDim {
					s.joinGemm(e, nw, od)
					continue
				}
				for a, p := range nw {
					xp := s.row(p)
					for _, q := range nw[a+1:] {
						e.pair(p, q, sqDist32(xp, s.row(q)))
					}
					for _, q := range od {
						if q != p {
							e.pair(p, q, sqDist32(xp, s.row(q)))
						}
					}
				}
			}
		})
	}
	return changed, nil
}

// gemmMinDim is the smallest dimension whose distances Approx computes by
// matrix products (kernels.Gemm on gathered rows); below it, one pair at
// a time.
const gemmMinDim = 16

// gather copies the rows idx of the working copy, transposed, into
// e.rows (d×m, point r in column r) and their squared norms into e.norms;
// it returns m. The transposed layout lets both operands of dotRows'
// product be packed by contiguous loads. Distances computed as
// ‖a‖² + ‖b‖² − 2a·b carry float32 errors relative to the norms, which
// the centring of the copy keeps near the data's spread.
func (s *searcher) gather(e *emitter, idx ...[]int32) int {
	d := s.d
	m := 0
	for _, l := range idx {
		m += len(l)
	}
	e.rows = slices.Grow(e.rows[:0], m*d)[:m*d]
	e.norms = slices.Grow(e.norms[:0], m)[:m]
	r := 0
	for _, l := range idx {
		for _, j := range l {
			for t, v := range s.row(j) {
				e.rows[t*m+r] = v
			}
			e.norms[r] = s.norms[j]
			r++
		}
	}
	return m
}

// dotRows sets e.dots to the a×m matrix of dot products of the first a
// gathered points with all m of them.
func (e *emitter) dotRows(a, m, d int) []float32 {
	e.dots = slices.Grow(e.dots[:0], a*m)[:a*m]
	kernels.Gemm(true, false, a, m, d, 1, e.rows, m, e.rows, m, 0, e.dots, m)
	return e.dots
}

// gramDist is ‖a − b‖² from the squared norms and dot product, never
// negative.
func gramDist(na, nb, dot float32) float32 { return max(na+nb-2*dot, 0) }

// joinGemm is a local join with distances by one matrix product: the
// new candidates nw against new and old (od).
func (s *searcher) joinGemm(e *emitter, nw, od []int32) {
	a := len(nw)
	if a == 0 {
		return
	}
	m := a + len(od)
	s.gather(e, nw, od)
	dots := e.dotRows(a, m, s.d)
	for u, p := range nw {
		row := dots[u*m : (u+1)*m]
		for v := u + 1; v < a; v++ {
			e.pair(p, nw[v], gramDist(e.norms[u], e.norms[v], row[v]))
		}
		for v, q := range od {
			if q != p {
				e.pair(p, q, gramDist(e.norms[u], e.norms[a+v], row[a+v]))
			}
		}
	}
}

// finish maps every row's heap back to input rows, re-ranks it by
// float64 distances on the input and returns it.
func (s *searcher) finish() *Neighbours {
	g, n, k, d := s.g, s.n, s.g.k, s.d
	x := s.src
	nb := &Neighbours{N: n, K: k, Index: make([]int32, n*k), SqDist: make([]float64, n*k)}
	sparse.ForEachChunk(n, tile, func(lo, hi int) {
		h := make([]candidate, k)
		for r := lo; r < hi; r++ {
			i := int(s.order[r])
			for t := range k {
				j := s.order[g.idx[r*k+t]]
				h[t] = candidate{dist: exactSqDist(x[i*d:(i+1)*d], x[int(j)*d:(int(j)+1)*d]), j: j}
			}
			slices.SortFunc(h, func(a, b candidate) int {
				if c := cmp.Compare(a.dist, b.dist); c != 0 {
					return c
				}
				return cmp.Compare(a.j, b.j)
			})
			for t, c := range h {
				nb.Index[i*k+t], nb.SqDist[i*k+t] = c.j, c.dist
			}
		}
	})
	return nb
}

// sqDist32 is ‖a − b‖² in float32 (four interleaved partial sums).
func sqDist32(a, b []float32) float32 {
	b = b[:len(a)]
	var s0, s1, s2, s3 float32
	t := 0
	for ; t+4 <= len(a); t += 4 {
		d0 := a[t] - b[t]
		d1 := a[t+1] - b[t+1]
		d2 := a[t+2] - b[t+2]
		d3 := a[t+3] - b[t+3]
		s0 += d0 * d0
		s1 += d1 * d1
		s2 += d2 * d2
		s3 += d3 * d3
	}
	for ; t < len(a); t++ {
		diff := a[t] - b[t]
		s0 += diff * diff
	}
	return (s0 + s1) + (s2 + s3)
}

// mix64 is SplitMix64's output function (Steele, Lea & Flood 2014).
func mix64(z uint64) uint64 {
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// hash3 is a 64-bit hash of (seed, round, key): the counter-based random
// numbers of Approx.
func hash3(seed, round, key uint64) uint64 {
	return mix64(mix64(seed+0x9e3779b97f4a7c15*(round+1)) ^ key)
}
