package kmeans

import (
	"cmp"
	"math"
	"math/bits"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
)

const (
	// chunkRows is the fixed number of rows per parallel work item; results
	// depend on it (partial sums are formed per chunk), never on the
	// number of goroutines or their scheduling.
	chunkRows = 512
	// workers is the number of goroutines sharing the chunks.
	workers = 2
)

// data is a row-major n×d float32 matrix with its squared row norms (in
// float64, rows summed in feature order) and norms.
type data struct {
	x      []float32
	n, d   int
	sqNorm []float64
	norm   []float64
	// exact caches exactSums: 0 not known yet, 1 true, −1 false.
	exact int8
}

func newData(x []float32, n, d int) *data {
	sq := make([]float64, n)
	norm := make([]float64, n)
	forEachChunk(n, func(_, lo, hi int) {
		for i := lo; i < hi; i++ {
			var s float64
			for _, v := range x[i*d : (i+1)*d] {
				s += float64(v) * float64(v)
			}
			sq[i] = s
			norm[i] = math.Sqrt(s)
		}
	})
	return &data{x: x, n: n, d: d, sqNorm: sq, norm: norm}
}

func (a *data) row(i int) []float32 { return a.x[i*a.d : (i+1)*a.d] }

// exactSums reports whether every float64 sum of any subset of the values
// of any one feature, added and subtracted in any order, is exact: true
// when, for every feature, the values are multiples of 2^e (e the lowest
// set bit of any of them) and their absolute sum is below 2^(e+53). MNIST
// pixels (k/255 in float32, ≤ 1) over 70,000 rows need 48 bits. Then
// cluster sums can be updated with the rows that changed cluster instead of
// being recomputed, with the same values.
func (a *data) exactSums() bool {
	if a.exact != 0 {
		return a.exact > 0
	}
	d := a.d
	nc := numChunks(a.n)
	low := make([]int32, nc*d)
	abs := make([]float64, nc*d)
	forEachChunk(a.n, func(ch, lo, hi int) {
		lw, ab := low[ch*d:(ch+1)*d], abs[ch*d:(ch+1)*d]
		for t := range lw {
			lw[t] = math.MaxInt32
		}
		for i := lo; i < hi; i++ {
			for t, v := range a.row(i) {
				if v == 0 {
					continue
				}
				ab[t] += math.Abs(float64(v))
				lw[t] = min(lw[t], lowestBit(v))
			}
		}
	})
	exact := true
	for t := range d {
		e := int32(math.MaxInt32)
		var total float64
		for ch := range nc {
			e = min(e, low[ch*d+t])
			total += abs[ch*d+t]
		}
		// total is rounded; n·u₆₄ bounds its relative error.
		if e != math.MaxInt32 && !(total*(1+float64(a.n+1)*u64) < math.Ldexp(1, int(e)+53)) {
			exact = false
			break
		}
	}
	a.exact = -1
	if exact {
		a.exact = 1
	}
	return exact
}

// lowestBit is the exponent e of the lowest set bit of v ≠ 0: v is an odd
// multiple of 2^e.
func lowestBit(v float32) int32 {
	b := math.Float32bits(v) & 0x7fffffff
	exp, mant := int32(b>>23), b&0x7fffff
	if exp == 0 {
		return -149 + int32(bits.TrailingZeros32(mant))
	}
	return exp - 150 + int32(bits.TrailingZeros32(mant|1<<23))
}

func numChunks(n int) int { return (n + chunkRows - 1) / chunkRows }

// forEachChunk calls f(chunk, lo, hi) for every chunk of rows [lo, hi) of n,
// from up to workers goroutines. f must write only to chunk-owned memory.
func forEachChunk(n int, f func(chunk, lo, hi int)) {
	forEachChunkW(n, func(_, chunk, lo, hi int) { f(chunk, lo, hi) })
}

// forEachChunkW is forEachChunk that also passes the index w < workers of
// the goroutine running f; f may use memory owned by w.
func forEachChunkW(n int, f func(w, chunk, lo, hi int)) {
	nc := numChunks(n)
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := range min(workers, nc) {
		wg.Go(func() {
			for {
				c := int(next.Add(1)) - 1
				if c >= nc {
					return
				}
				f(w, c, c*chunkRows, min(n, (c+1)*chunkRows))
			}
		})
	}
	wg.Wait()
}

// sqDist is ‖a − b‖² in float64.
func sqDist(a []float32, b []float64) float64 {
	var s float64
	for j, v := range a {
		t := float64(v) - b[j]
		s += t * t
	}
	return s
}

// inertia is Σ_i ‖x_i − μ_{labels_i}‖², in float64 from the float64
// centres, summed per chunk and then over chunks in order.
func inertia(a *data, c *centres, labels []int32) float64 {
	part := make([]float64, numChunks(a.n))
	forEachChunk(a.n, func(ch, lo, hi int) {
		var s float64
		for i := lo; i < hi; i++ {
			s += sqDist(a.row(i), c.row(int(labels[i])))
		}
		part[ch] = s
	})
	var total float64
	for _, s := range part {
		total += s
	}
	return total
}

// tolerance turns scikit-learn's relative tol into an absolute bound on
// the summed squared centre shift: tol × mean over features of the
// (population) variance of that feature. Sums are per chunk, then over
// chunks in order.
func tolerance(a *data, tol float64) float64 {
	if tol == 0 || a.n == 0 {
		return 0
	}
	d, nc := a.d, numChunks(a.n)
	part := make([]float64, nc*d)
	forEachChunk(a.n, func(ch, lo, hi int) {
		p := part[ch*d : (ch+1)*d]
		for i := lo; i < hi; i++ {
			for t, v := range a.row(i) {
				p[t] += float64(v)
			}
		}
	})
	mean := make([]float64, d)
	for ch := range nc {
		for t, v := range part[ch*d : (ch+1)*d] {
			mean[t] += v
		}
	}
	for t := range mean {
		mean[t] /= float64(a.n)
	}
	sq := make([]float64, nc)
	forEachChunk(a.n, func(ch, lo, hi int) {
		var ss float64
		for i := lo; i < hi; i++ {
			for t, v := range a.row(i) {
				dv := float64(v) - mean[t]
				ss += dv * dv
			}
		}
		sq[ch] = ss
	})
	var ss float64
	for _, v := range sq {
		ss += v
	}
	return tol * ss / float64(a.n*a.d)
}

// lloyd runs Lloyd iterations from the centres c (updated in place), as
// scikit-learn's _kmeans_single_lloyd does: at most maxIter rounds of
// "assign to the nearest centre, move each centre to its cluster mean",
// stopping when the labels repeat (strict convergence) or the summed
// squared centre shift is at most tolAbs. Empty clusters are reseeded with
// the points farthest from their centres. It returns the labels (from a
// final assignment to the final centres), the inertia and the number of
// rounds run.
//
// Labels are argmin_j R_j (see distance.go), found with Elkan's or
// Hamerly's bounds (bounds.go), which skip only rows whose label cannot
// change; cluster sums are per chunk of chunkRows rows in row order, then
// over chunks in order, or updated with the rows that changed cluster when
// float64 sums of the data are exact (data.exactSums), which gives the same
// values. The result is thus bit-identical to plain Lloyd rounds that score
// every row against every centre.
func lloyd(a *data, c *centres, maxIter int, tolAbs float64) (labels []int32, objective float64, rounds int) {
	k, d := c.k, c.d
	e := newEngine(a, c)
	sums := make([]float64, k*d)
	sizes := make([]int64, k)
	work := make([]float64, k*d)
	workSizes := make([]int64, k)
	old := make([]float64, k*d)
	strict := false
	for rounds < maxIter {
		rounds++
		changes := e.pass(true)
		e.collect(sums, sizes)
		copy(work, sums)
		copy(workSizes, sizes)
		reseedEmpty(a, c, e.labels, work, workSizes)
		copy(old, c.f64)
		var shift float64
		for j := range k {
			scale := 1.0
			if workSizes[j] > 0 {
				scale = 1 / float64(workSizes[j])
			}
			for t := range d {
				v := work[j*d+t] * scale
				dv := v - c.f64[j*d+t]
				shift += dv * dv
				c.f64[j*d+t] = v
			}
		}
		c.sync()
		if changes == 0 {
			// The labels repeat those of the previous round.
			strict = true
			break
		}
		e.advance(old)
		if shift <= tolAbs {
			break
		}
	}
	if !strict {
		e.pass(false)
	}
	return e.labels, inertia(a, c, e.labels), rounds
}

// reseedEmpty gives every empty cluster (in increasing index order) one of
// the points farthest from their current centres (farthest first, ties to
// the lower row), moving the point's weight out of its own cluster's sum, as
// scikit-learn's _relocate_empty_clusters_dense does. labels are left as
// they are; the next assignment round settles them.
func reseedEmpty(a *data, c *centres, labels []int32, sums []float64, sizes []int64) {
	var empty []int
	for j, n := range sizes {
		if n == 0 {
			empty = append(empty, j)
		}
	}
	if len(empty) == 0 {
		return
	}
	dist := make([]float64, a.n)
	forEachChunk(a.n, func(_, lo, hi int) {
		for i := lo; i < hi; i++ {
			dist[i] = sqDist(a.row(i), c.row(int(labels[i])))
		}
	})
	order := make([]int, a.n)
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(p, q int) int { return cmp.Compare(dist[q], dist[p]) })
	d := a.d
	for e, j := range empty {
		far := order[e]
		from := int(labels[far])
		for t, v := range a.row(far) {
			sums[from*d+t] -= float64(v)
			sums[j*d+t] = float64(v)
		}
		sizes[j] = 1
		sizes[from]--
	}
}

// bestOf runs nInit k-means++ seedings, each followed by Lloyd iterations,
// all drawing from rng in turn, and keeps the run with the lowest inertia
// (the earliest on ties).
func bestOf(a *data, k, nInit, maxIter int, tolAbs float64, rng *rand.Rand) (best *centres, labels []int32, objective float64) {
	best, labels, objective, _ = bestScored(a, k, nInit, maxIter, tolAbs, rng, nil)
	return best, labels, objective
}

// bestScored is bestOf keeping the run of highest score(labels) instead
// (the earliest on ties); a nil score is bestOf's lowest inertia. It
// returns the kept run's centres, labels and inertia.
func bestScored(a *data, k, nInit, maxIter int, tolAbs float64, rng *rand.Rand, score func([]int32) (float64, error)) (best *centres, labels []int32, objective float64, err error) {
	var top float64
	for range nInit {
		c := plusPlus(a, k, rng)
		l, obj, _ := lloyd(a, c, maxIter, tolAbs)
		q := -obj
		if score != nil {
			if q, err = score(l); err != nil {
				return nil, nil, 0, err
			}
		}
		if best == nil || q > top {
			best, labels, objective, top = c, l, obj, q
		}
	}
	return best, labels, objective, nil
}
