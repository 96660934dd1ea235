package knn

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"sync"

	"github.com/deepclust/deepclust/internal/kernels"
	"github.com/deepclust/deepclust/internal/sparse"
)

// tile is the side of the square blocks of the distance matrix that one
// GEMM computes; the dot-product buffer of a block (1 MiB of float32) is
// all the search holds besides the candidate heaps, whatever n is.
const tile = 512

// Neighbours holds, for each of N points, its K nearest other points in
// increasing order of squared Euclidean distance (ties: lower index
// first): Index[i*K+t] and SqDist[i*K+t].
type Neighbours struct {
	N, K   int
	Index  []int32
	SqDist []float64
}

// candidate is a point and its squared distance to a query.
type candidate struct {
	dist float64
	j    int32
}

// before orders candidates by distance, then index: a strict total order,
// so a bounded heap ends up holding the same candidates whatever order
// they were offered in.
func before(a, b candidate) bool {
	return a.dist < b.dist || (a.dist == b.dist && a.j < b.j)
}

// Search finds the exact k nearest neighbours of every row of the n×d
// row-major matrix x among the other rows; it needs 1 ≤ k < n. The distance matrix is computed
// once per pair, in square tiles (I, J) with I ≤ J, as
// ‖x_i‖² − 2 x_i·x_j + ‖x_j‖² with x_i·x_j from the float32 GEMM of
// kernels; each tile feeds both its rows' and its columns' bounded
// max-heaps of 2k candidates (under a lock per row block). The candidates
// are then re-ranked by their distances recomputed exactly in float64, so
// float32 rounding can only matter for points whose distances differ by
// less than it, beyond the k-th candidate. Tiles run in parallel; since a
// heap's final content does not depend on the order of its offers, and
// every distance has one fixed value, the result does not depend on
// scheduling.
//
// The search costs n²d/2 multiply-adds: 3.9·10¹⁰ for 10,000 MNIST images
// and 1.9·10¹² for 70,000 (a fraction of a second and about ten seconds
// at a few hundred GFLOP/s), plus n² heap comparisons. Beyond about 10⁵
// points this quadratic cost dominates and an approximate index (HNSW,
// NN-descent) would take over; the graph it returned would enter the
// affinity step unchanged.
//
// It stops early, returning ctx's error, when ctx is cancelled.
func Search(ctx context.Context, x []float32, n, d, k int) (*Neighbours, error) {
	switch {
	case k < 1 || k >= n:
		return nil, fmt.Errorf("knn: %d nearest neighbours among %d points, want 1 ≤ k < n", k, n)
	case d < 1 || len(x) != n*d:
		return nil, fmt.Errorf("knn: %d values for %d points of dimension %d", len(x), n, d)
	}
	sq32 := make([]float32, n)
	sparse.ForEachChunk(n, tile, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			var s float64
			for _, v := range x[i*d : (i+1)*d] {
				s += float64(v) * float64(v)
			}
			sq32[i] = float32(s)
		}
	})
	keep := min(2*k, n-1)
	heaps := make([][]candidate, n)
	for i := range heaps {
		heaps[i] = make([]candidate, 0, keep)
	}
	blocks := (n + tile - 1) / tile
	locks := make([]sync.Mutex, blocks)
	var pairs [][2]int
	for bi := range blocks {
		for bj := bi; bj < blocks; bj++ {
			pairs = append(pairs, [2]int{bi, bj})
		}
	}
	pool := sync.Pool{New: func() any { b := make([]float32, tile*tile); return &b }}
	sparse.Parallel(len(pairs), func(p int) {
		if ctx.Err() != nil {
			return
		}
		bi, bj := pairs[p][0], pairs[p][1]
		ilo, ihi := bi*tile, min(n, (bi+1)*tile)
		jlo, jhi := bj*tile, min(n, (bj+1)*tile)
		rows, cols := ihi-ilo, jhi-jlo
		bufp := pool.Get().(*[]float32)
		defer pool.Put(bufp)
		dots := (*bufp)[:rows*cols]
		kernels.Gemm(false, true, rows, cols, d, 1, x[ilo*d:ihi*d], d, x[jlo*d:jhi*d], d, 0, dots, cols)
		// A candidate farther than the heap's worst cannot enter it, so
		// most are rejected by one comparison with that bound.
		locks[bi].Lock()
		for r := range rows {
			i := ilo + r
			h, bound := heaps[i], worst(heaps[i], keep)
			for c, dot := range dots[r*cols : (r+1)*cols] {
				j := jlo + c
				if dist := float64(sq32[i] + sq32[j] - 2*dot); dist <= bound && j != i {
					h = offer(h, keep, candidate{dist: dist, j: int32(j)})
					bound = worst(h, keep)
				}
			}
			heaps[i] = h
		}
		locks[bi].Unlock()
		if bi == bj {
			return
		}
		// The columns' heaps, fed row by row so that dots is read in
		// memory order.
		locks[bj].Lock()
		bounds := make([]float64, cols)
		for c := range cols {
			bounds[c] = worst(heaps[jlo+c], keep)
		}
		for r := range rows {
			i := ilo + r
			for c, dot := range dots[r*cols : (r+1)*cols] {
				j := jlo + c
				if dist := float64(sq32[i] + sq32[j] - 2*dot); dist <= bounds[c] {
					heaps[j] = offer(heaps[j], keep, candidate{dist: dist, j: int32(i)})
					bounds[c] = worst(heaps[j], keep)
				}
			}
		}
		locks[bj].Unlock()
	})
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("knn: search: %w", err)
	}
	nb := &Neighbours{N: n, K: k, Index: make([]int32, n*k), SqDist: make([]float64, n*k)}
	sparse.ForEachChunk(n, tile, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			h := heaps[i]
			for c := range h {
				h[c].dist = exactSqDist(x[i*d:(i+1)*d], x[int(h[c].j)*d:(int(h[c].j)+1)*d])
			}
			slices.SortFunc(h, func(a, b candidate) int {
				if c := cmp.Compare(a.dist, b.dist); c != 0 {
					return c
				}
				return cmp.Compare(a.j, b.j)
			})
			for t := range k {
				nb.Index[i*k+t], nb.SqDist[i*k+t] = h[t].j, h[t].dist
			}
		}
	})
	return nb, nil
}

// worst is the largest distance the max-heap h of at most size candidates
// holds, or +Inf while it is not full.
func worst(h []candidate, size int) float64 {
	if len(h) < size {
		return math.Inf(1)
	}
	return h[0].dist
}

// offer adds c to the max-heap h of at most size candidates if it is among
// the size best seen so far.
func offer(h []candidate, size int, c candidate) []candidate {
	if len(h) < size {
		return pushHeap(h, c)
	}
	if before(c, h[0]) {
		h[0] = c
		siftDown(h, 0)
	}
	return h
}

// exactSqDist is ‖a − b‖² accumulated in float64 (in four interleaved
// partial sums, added in a fixed order).
func exactSqDist(a, b []float32) float64 {
	b = b[:len(a)]
	var s0, s1, s2, s3 float64
	t := 0
	for ; t+4 <= len(a); t += 4 {
		d0 := float64(a[t]) - float64(b[t])
		d1 := float64(a[t+1]) - float64(b[t+1])
		d2 := float64(a[t+2]) - float64(b[t+2])
		d3 := float64(a[t+3]) - float64(b[t+3])
		s0 += d0 * d0
		s1 += d1 * d1
		s2 += d2 * d2
		s3 += d3 * d3
	}
	for ; t < len(a); t++ {
		diff := float64(a[t]) - float64(b[t])
		s0 += diff * diff
	}
	return (s0 + s1) + (s2 + s3)
}

// pushHeap adds c to the max-heap h (largest candidate, by before, first).
func pushHeap(h []candidate, c candidate) []candidate {
	h = append(h, c)
	for i := len(h) - 1; i > 0; {
		p := (i - 1) / 2
		if !before(h[p], h[i]) {
			break
		}
		h[p], h[i] = h[i], h[p]
		i = p
	}
	return h
}

// siftDown restores the max-heap property below position i.
func siftDown(h []candidate, i int) {
	for {
		l := 2*i + 1
		if l >= len(h) {
			return
		}
		big := l
		if r := l + 1; r < len(h) && before(h[l], h[r]) {
			big = r
		}
		if !before(h[i], h[big]) {
			return
		}
		h[i], h[big] = h[big], h[i]
		i = big
	}
}
