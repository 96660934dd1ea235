package kmeans

import (
	"cmp"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/deepclust/deepclust/internal/kernels"
)

const (
	// chunkRows is the fixed number of rows per parallel work item; results
	// depend on it (partial sums are formed per chunk), never on the
	// number of goroutines or their scheduling.
	chunkRows = 512
	// workers is the number of goroutines sharing the chunks.
	workers = 2
)

// data is a row-major n×d float32 matrix with its squared row norms.
type data struct {
	x      []float32
	n, d   int
	sqNorm []float64
}

func newData(x []float32, n, d int) *data {
	sq := make([]float64, n)
	forEachChunk(n, func(_, lo, hi int) {
		for i := lo; i < hi; i++ {
			var s float64
			for _, v := range x[i*d : (i+1)*d] {
				s += float64(v) * float64(v)
			}
			sq[i] = s
		}
	})
	return &data{x: x, n: n, d: d, sqNorm: sq}
}

func (a *data) row(i int) []float32 { return a.x[i*a.d : (i+1)*a.d] }

func numChunks(n int) int { return (n + chunkRows - 1) / chunkRows }

// forEachChunk calls f(chunk, lo, hi) for every chunk of rows [lo, hi) of n,
// from up to workers goroutines. f must write only to chunk-owned memory.
func forEachChunk(n int, f func(chunk, lo, hi int)) {
	nc := numChunks(n)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(workers, nc) {
		wg.Go(func() {
			for {
				c := int(next.Add(1)) - 1
				if c >= nc {
					return
				}
				f(c, c*chunkRows, min(n, (c+1)*chunkRows))
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

// centres holds k centroids in float64 (the master copy) and float32 (the
// GEMM operand) with the squared norms of the float32 copy.
type centres struct {
	k, d   int
	f64    []float64
	f32    []float32
	sqNorm []float32
}

func newCentres(f64 []float64, k, d int) *centres {
	c := &centres{k: k, d: d, f64: f64, f32: make([]float32, k*d), sqNorm: make([]float32, k)}
	c.sync()
	return c
}

// sync refreshes the float32 copy and norms from f64.
func (c *centres) sync() {
	for j := range c.k {
		var s float64
		for t := range c.d {
			v := float32(c.f64[j*c.d+t])
			c.f32[j*c.d+t] = v
			s += float64(v) * float64(v)
		}
		c.sqNorm[j] = float32(s)
	}
}

func (c *centres) row(j int) []float64 { return c.f64[j*c.d : (j+1)*c.d] }

// clusterSums is one chunk's partial per-cluster coordinate sums and sizes.
type clusterSums struct {
	sums  []float64
	sizes []int64
}

// assign writes the nearest centre of every row into labels, using
// argmin_j ‖μ_j‖² − 2 x·μ_j with x·μ_j from one GEMM per chunk (ties go to
// the lower index). When partials is non-nil (one per chunk), it also
// accumulates the chunk's per-cluster sums there.
func assign(a *data, c *centres, labels []int32, partials []clusterSums) {
	k, d := c.k, c.d
	forEachChunk(a.n, func(ch, lo, hi int) {
		rows := hi - lo
		dots := make([]float32, rows*k)
		kernels.Gemm(false, true, rows, k, d, 1, a.x[lo*d:hi*d], d, c.f32, d, 0, dots, k)
		var p *clusterSums
		if partials != nil {
			p = &partials[ch]
			clear(p.sums)
			clear(p.sizes)
		}
		for r := range rows {
			best, bestDist := 0, float32(math.Inf(1))
			for j, dot := range dots[r*k : (r+1)*k] {
				if dist := c.sqNorm[j] - 2*dot; dist < bestDist {
					best, bestDist = j, dist
				}
			}
			labels[lo+r] = int32(best)
			if p != nil {
				p.sizes[best]++
				sum := p.sums[best*d : (best+1)*d]
				for t, v := range a.row(lo + r) {
					sum[t] += float64(v)
				}
			}
		}
	})
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
// (population) variance of that feature.
func tolerance(a *data, tol float64) float64 {
	if tol == 0 {
		return 0
	}
	mean := make([]float64, a.d)
	for i := range a.n {
		for t, v := range a.row(i) {
			mean[t] += float64(v)
		}
	}
	for t := range mean {
		mean[t] /= float64(a.n)
	}
	var ss float64
	for i := range a.n {
		for t, v := range a.row(i) {
			dv := float64(v) - mean[t]
			ss += dv * dv
		}
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
func lloyd(a *data, c *centres, maxIter int, tolAbs float64) (labels []int32, objective float64, rounds int) {
	k, d := c.k, c.d
	labels = make([]int32, a.n)
	old := make([]int32, a.n)
	for i := range old {
		old[i] = -1
	}
	partials := make([]clusterSums, numChunks(a.n))
	for i := range partials {
		partials[i] = clusterSums{sums: make([]float64, k*d), sizes: make([]int64, k)}
	}
	sums := make([]float64, k*d)
	sizes := make([]int64, k)
	strict := false
	for rounds < maxIter {
		rounds++
		assign(a, c, labels, partials)
		clear(sums)
		clear(sizes)
		for _, p := range partials {
			for t, v := range p.sums {
				sums[t] += v
			}
			for j, n := range p.sizes {
				sizes[j] += n
			}
		}
		reseedEmpty(a, c, labels, sums, sizes)
		var shift float64
		for j := range k {
			scale := 1.0
			if sizes[j] > 0 {
				scale = 1 / float64(sizes[j])
			}
			for t := range d {
				v := sums[j*d+t] * scale
				dv := v - c.f64[j*d+t]
				shift += dv * dv
				c.f64[j*d+t] = v
			}
		}
		c.sync()
		if slices.Equal(labels, old) {
			strict = true
			break
		}
		if shift <= tolAbs {
			break
		}
		copy(old, labels)
	}
	if !strict {
		assign(a, c, labels, nil)
	}
	return labels, inertia(a, c, labels), rounds
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

// plusPlus picks k initial centres by greedy k-means++ as scikit-learn's
// _kmeans_plusplus does: the first centre uniformly at random, then for
// each further centre 2+⌊ln k⌋ candidates sampled with probability
// proportional to D² (the squared distance to the nearest centre chosen so
// far), keeping the candidate that lowers the potential Σ D² most.
func plusPlus(a *data, k int, rng *rand.Rand) *centres {
	trials := 2 + int(math.Log(float64(k)))
	d := a.d
	chosen := make([]float64, 0, k*d)
	take := func(i int) {
		for _, v := range a.row(i) {
			chosen = append(chosen, float64(v))
		}
	}
	first := rng.IntN(a.n)
	take(first)
	closest := make([]float64, a.n)
	pot := distancesTo(a, []int{first}, nil, [][]float64{closest})[0]
	cumsum := make([]float64, a.n)
	cand := make([][]float64, trials)
	for t := range cand {
		cand[t] = make([]float64, a.n)
	}
	ids := make([]int, trials)
	for len(chosen) < k*d {
		var run float64
		for i, v := range closest {
			run += v
			cumsum[i] = run
		}
		for t := range ids {
			r := rng.Float64() * pot
			ids[t] = min(searchSorted(cumsum, r), a.n-1)
		}
		pots := distancesTo(a, ids, closest, cand)
		best := 0
		for t := range pots {
			if pots[t] < pots[best] {
				best = t
			}
		}
		pot = pots[best]
		copy(closest, cand[best])
		take(ids[best])
	}
	return newCentres(chosen, k, d)
}

// searchSorted is numpy's searchsorted(side='left'): the first index whose
// cumulative sum is ≥ r (len(cumsum) if none).
func searchSorted(cumsum []float64, r float64) int {
	i, _ := slices.BinarySearch(cumsum, r)
	return i
}

// distancesTo sets out[t][i] = ‖x_i − x_{ids[t]}‖², lowered to prev[i]
// when prev is non-nil, and returns each candidate's potential Σ_i out[t][i]
// (summed per chunk, then over chunks in order). Distances use
// ‖x‖² − 2x·y + ‖y‖² with one GEMM per chunk, clamped at 0.
func distancesTo(a *data, ids []int, prev []float64, out [][]float64) []float64 {
	m, d := len(ids), a.d
	rows := make([]float32, m*d)
	for t, id := range ids {
		copy(rows[t*d:], a.row(id))
	}
	part := make([]float64, numChunks(a.n)*m)
	forEachChunk(a.n, func(ch, lo, hi int) {
		nr := hi - lo
		dots := make([]float32, nr*m)
		kernels.Gemm(false, true, nr, m, d, 1, a.x[lo*d:hi*d], d, rows, d, 0, dots, m)
		for t, id := range ids {
			var s float64
			for r := range nr {
				i := lo + r
				dist := max(a.sqNorm[i]-2*float64(dots[r*m+t])+a.sqNorm[id], 0)
				if prev != nil {
					dist = min(dist, prev[i])
				}
				out[t][i] = dist
				s += dist
			}
			part[ch*m+t] = s
		}
	})
	pots := make([]float64, m)
	for ch := range numChunks(a.n) {
		for t := range m {
			pots[t] += part[ch*m+t]
		}
	}
	return pots
}

// bestOf runs nInit k-means++ seedings, each followed by Lloyd iterations,
// all drawing from rng in turn, and keeps the run with the lowest inertia
// (the earliest on ties).
func bestOf(a *data, k, nInit, maxIter int, tolAbs float64, rng *rand.Rand) (best *centres, labels []int32, objective float64) {
	for range nInit {
		c := plusPlus(a, k, rng)
		l, obj, _ := lloyd(a, c, maxIter, tolAbs)
		if best == nil || obj < objective {
			best, labels, objective = c, l, obj
		}
	}
	return best, labels, objective
}
