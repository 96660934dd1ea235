package knn

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"sync"

	"github.com/deepclust/deepclust/internal/kernels"
	"github.com/deepclust/deepclust/internal/sparse"
)

// cellMinDim is the smallest dimension whose initial graph Approx takes
// from cells (initCells) rather than from a random-projection forest.
const cellMinDim = 16

// Fixed work partitions of the cell search. Results depend on them but
// not on the number of threads.
const (
	cellTileRows   = 128  // probing points of one matrix product
	cellTileCols   = 2048 // cell points of one (its 1 MiB of products stays in cache)
	cellBlock      = 32   // tiles whose updates share one set of thresholds
	kmeansIters    = 10   // Lloyd iterations of the cell centroids
	kmeansPerCell  = 64   // sample points per cell the centroids are trained on
	nearestRows    = 512  // points of one matrix product against the centroids
	kmeansSeedSalt = 0xce115eed
)

// initCells gives every point its first neighbours as an inverted-file
// index would (Jégou, Douze & Schmid, "Product quantization for nearest
// neighbor search", TPAMI 2011; FAISS's IndexIVFFlat), with an exact
// pruning rule:
//
//  1. the centred points are split into cells, the Voronoi cells of
//     round(n/CellSize) centroids from k-means++ seeding (Arthur &
//     Vassilvitskii 2007) and kmeansIters Lloyd iterations on a sample of
//     kmeansPerCell points per cell (as FAISS trains its coarse
//     quantiser); the working copy is reordered by cell, so that a cell
//     is a contiguous block of rows one kernels.Gemm call reads in place;
//  2. every point is compared exactly, by matrix products, with every
//     point of its own cell;
//  3. then with every point of each of its other Probes−1 nearest cells
//     (FAISS's nprobe) that can hold a point nearer than its k-th
//     neighbour so far: cell c is skipped when the hyperplane bisecting
//     its centroid and that of the point's own cell c₁ (the boundary
//     between the two Voronoi cells) lies farther from the point x,
//     (‖x−c‖² − ‖x−c₁‖²) / (2‖c−c₁‖), than that neighbour.
//
// In each matrix-product tile a point offers its k nearest to the graph
// (and itself to them). With Probes ≥ the number of cells the result is
// exact up to float32 rounding; below it, only cells beyond a point's
// Probes nearest centroids can hide neighbours, which the NN-descent
// iterations then look for.
func (s *searcher) initCells(ctx context.Context) error {
	ci, err := s.buildCells(ctx)
	if err != nil {
		return err
	}
	// First every point against its own cell.
	rows := make([]int32, s.n)
	for r := range rows {
		rows[r] = int32(r)
	}
	if err := s.cellTiles(ctx, ci.start, ci.start, rows); err != nil {
		return err
	}
	// Then against the other cells the bisector test keeps.
	keep := ci.keep(s)
	p := ci.p
	qstart := make([]int32, ci.cells+1)
	for r := range s.n {
		for t := 1; t < p; t++ {
			if keep[r*p+t] {
				qstart[ci.near[r*p+t]+1]++
			}
		}
	}
	for c := range ci.cells {
		qstart[c+1] += qstart[c]
	}
	queries := make([]int32, qstart[ci.cells])
	qpos := slices.Clone(qstart[:ci.cells])
	for r := range s.n {
		for t := 1; t < p; t++ {
			if keep[r*p+t] {
				c := ci.near[r*p+t]
				queries[qpos[c]] = int32(r)
				qpos[c]++
			}
		}
	}
	return s.cellTiles(ctx, ci.start, qstart, queries)
}

// cellIndex is the partition of the working copy into cells.
type cellIndex struct {
	cells, p int       // cells, and nearest cells kept per point
	cent     []float32 // cells×d centroids
	start    []int32   // cell c is copy rows [start[c], start[c+1])
	near     []int32   // n×p: each copy row's p nearest cells, nearest (its own) first
	score    []float32 // n×p: ‖c‖² − 2x·c for those cells c (‖x−c‖² − ‖x‖²)
}

// buildCells centres the working copy, computes the centroids and each
// point's Probes nearest, and reorders the copy by cell.
func (s *searcher) buildCells(ctx context.Context) (*cellIndex, error) {
	n, d := s.n, s.d
	s.centre()
	cells := max(1, min(n, int(math.Round(float64(n)/float64(s.opt.CellSize)))))
	p := min(s.opt.Probes, cells)
	cent, err := s.kmeans(ctx, cells)
	if err != nil {
		return nil, err
	}
	near := make([]int32, n*p)
	score := make([]float32, n*p)
	nearestCentroids(s.x, n, d, cent, cells, p, near, score)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	// Counting sort by nearest cell, stable.
	start := make([]int32, cells+1)
	for i := range n {
		start[near[i*p]+1]++
	}
	for c := range cells {
		start[c+1] += start[c]
	}
	order := make([]int32, n)
	pos := slices.Clone(start[:cells])
	for i := range n {
		c := near[i*p]
		order[pos[c]] = int32(i)
		pos[c]++
	}
	s.reorder(order)
	ci := &cellIndex{cells: cells, p: p, cent: cent, start: start, near: make([]int32, n*p), score: make([]float32, n*p)}
	for r, i := range order {
		copy(ci.near[r*p:(r+1)*p], near[int(i)*p:])
		copy(ci.score[r*p:(r+1)*p], score[int(i)*p:])
	}
	return ci, nil
}

// keep is the bisector test: keep[r·p+t] reports whether copy row r must
// be compared with its t-th nearest cell c (t ≥ 1), which may hold a
// point nearer than its current k-th neighbour (its heap's bound). Every
// point y of c is on c's side of the hyperplane bisecting c and the
// row's own cell c₁, and the row x, on the other side, lies at
// (‖x−c‖² − ‖x−c₁‖²) / (2‖c−c₁‖) from it, so ‖x−y‖ is at least that;
// the cell is kept when this is within the bound, in squares:
// (‖x−c‖² − ‖x−c₁‖²)² ≤ 4‖c−c₁‖²·bound. A centroid equal to c₁'s (its
// cell is empty) is not kept.
func (ci *cellIndex) keep(s *searcher) []bool {
	p, d, cent := ci.p, s.d, ci.cent
	keep := make([]bool, s.n*p)
	sparse.ForEachChunk(s.n, 4096, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			bound := float64(s.g.bound(int32(r)))
			c1 := int(ci.near[r*p])
			for t := 1; t < p; t++ {
				c := int(ci.near[r*p+t])
				gap := float64(ci.score[r*p+t]) - float64(ci.score[r*p])
				sep := exactSqDist(cent[c*d:(c+1)*d], cent[c1*d:(c1+1)*d])
				keep[r*p+t] = sep > 0 && gap*gap <= 4*sep*bound
			}
		}
	})
	return keep
}

// cellTiles compares the points queries[qstart[c]:qstart[c+1]] with the
// points of cell c, copy rows [start[c], start[c+1]), for every cell, by
// exactTile over tiles of at most cellTileRows×cellTileCols pairs.
func (s *searcher) cellTiles(ctx context.Context, start, qstart, queries []int32) error {
	type cellTile struct{ qlo, qhi, blo, bhi int32 }
	var tiles []cellTile
	for c := range len(start) - 1 {
		for qlo := qstart[c]; qlo < qstart[c+1]; qlo += cellTileRows {
			qhi := min(qstart[c+1], qlo+cellTileRows)
			for blo := start[c]; blo < start[c+1]; blo += cellTileCols {
				tiles = append(tiles, cellTile{qlo, qhi, blo, min(start[c+1], blo+cellTileCols)})
			}
		}
	}
	d := s.d
	pool := sync.Pool{New: func() any { b := make([]float32, cellTileRows*(d+cellTileCols)); return &b }}
	for blo := 0; blo < len(tiles); blo += cellBlock {
		if err := ctx.Err(); err != nil {
			return err
		}
		block := tiles[blo:min(len(tiles), blo+cellBlock)]
		s.generate(len(block), func(c int, e *emitter) {
			t := block[c]
			bufp := pool.Get().(*[]float32)
			defer pool.Put(bufp)
			s.exactTile(e, queries[t.qlo:t.qhi], int(t.blo), int(t.bhi), *bufp)
		})
	}
	return nil
}

// exactTile compares the points q with the copy rows [blo, bhi) by one
// matrix product into buf and offers each point its k nearest of them
// (those within its heap's bound), and itself to them.
func (s *searcher) exactTile(e *emitter, q []int32, blo, bhi int, buf []float32) {
	d, k := s.d, s.g.k
	m, cols := len(q), bhi-blo
	rows := buf[:m*d]
	for u, i := range q {
		copy(rows[u*d:(u+1)*d], s.row(i))
	}
	dots := buf[cellTileRows*d:][:m*cols]
	bn := s.norms[blo:bhi]
	// dots[u][c] = ‖x_c‖² − 2 x_u·x_c, the norm added in the product's
	// epilogue.
	kernels.GemmFused(kernels.Float32, false, true, m, cols, d, -2, rows, d, s.x[blo*d:bhi*d], d, 0, dots, cols, &kernels.Epilogue{Bias: bn})
	bestD := make([]float32, k)
	bestJ := make([]int32, k)
	for u, i := range q {
		ni := s.norms[i]
		// dist = ni + v ≤ thr ⟺ v ≤ lim.
		thr := s.g.bound(i)
		lim := thr - ni
		self := int(i) - blo
		cnt := 0
		for c, v := range dots[u*cols : (u+1)*cols] {
			if v > lim || c == self {
				continue
			}
			dist := max(ni+v, 0)
			if dist > thr {
				continue
			}
			j := int32(blo + c)
			// Insert into the sorted list of the best so far; columns come
			// in increasing index, so a tie stays behind its equals.
			p := cnt
			if cnt < k {
				cnt++
			} else if !pairBefore(dist, j, bestD[k-1], bestJ[k-1]) {
				continue
			} else {
				p = k - 1
			}
			for p > 0 && pairBefore(dist, j, bestD[p-1], bestJ[p-1]) {
				bestD[p], bestJ[p] = bestD[p-1], bestJ[p-1]
				p--
			}
			bestD[p], bestJ[p] = dist, j
			if cnt == k && bestD[k-1] < thr {
				thr = bestD[k-1]
				lim = thr - ni
			}
		}
		for t := range cnt {
			e.pair(i, bestJ[t], bestD[t])
		}
	}
}

// kmeans returns cells centroids (cells×d, row-major) of the working
// copy: k-means++ seeding then kmeansIters Lloyd iterations on a sample
// of min(n, kmeansPerCell·cells) points drawn by the seed. A cell left
// empty keeps its centroid. Its cost, about kmeansPerCell·cells²·d
// multiply-adds per iteration, is under a fifth of the search's up to
// about n = 10⁷.
func (s *searcher) kmeans(ctx context.Context, cells int) ([]float32, error) {
	n, d := s.n, s.d
	rng := rand.New(rand.NewPCG(mix64(s.opt.Seed^kmeansSeedSalt), 1))
	m := min(n, kmeansPerCell*cells)
	// Selection sampling (Knuth's algorithm S): each of m points out of n
	// equally likely, in index order.
	sample := make([]float32, 0, m*d)
	for i := 0; len(sample) < m*d; i++ {
		if m == n || rng.IntN(n-i) < m-len(sample)/d {
			sample = append(sample, s.x[i*d:(i+1)*d]...)
		}
	}
	cent := make([]float32, cells*d)
	if cells == 1 {
		return cent, nil // the copy is centred: its mean is 0
	}
	// k-means++: each next centroid is a sample point drawn with
	// probability proportional to its squared distance to the nearest
	// centroid so far.
	minD := make([]float64, m)
	for i := range minD {
		minD[i] = math.Inf(1)
	}
	first := rng.IntN(m)
	copy(cent[:d], sample[first*d:(first+1)*d])
	for c := 1; c < cells; c++ {
		prev := cent[(c-1)*d : c*d]
		sparse.ForEachChunk(m, 1024, func(lo, hi int) {
			for i := lo; i < hi; i++ {
				minD[i] = min(minD[i], float64(sqDist32(sample[i*d:(i+1)*d], prev)))
			}
		})
		total := 0.0
		for _, v := range minD {
			total += v
		}
		next := rng.IntN(m)
		if total > 0 {
			r := rng.Float64() * total
			for i, v := range minD {
				if r -= v; r < 0 {
					next = i
					break
				}
			}
		}
		copy(cent[c*d:(c+1)*d], sample[next*d:(next+1)*d])
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}
	assign, assignScore := make([]int32, m), make([]float32, m)
	sums := make([]float64, cells*d)
	counts := make([]int, cells)
	for range kmeansIters {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		nearestCentroids(sample, m, d, cent, cells, 1, assign, assignScore)
		clear(sums)
		clear(counts)
		for i, c := range assign {
			counts[c]++
			for t, v := range sample[i*d : (i+1)*d] {
				sums[int(c)*d+t] += float64(v)
			}
		}
		for c, cnt := range counts {
			if cnt == 0 {
				continue
			}
			for t := range d {
				cent[c*d+t] = float32(sums[c*d+t] / float64(cnt))
			}
		}
	}
	return cent, nil
}

// nearestCentroids sets out[i*p:(i+1)*p] to the p centroids nearest to
// row i of the m×d matrix x, nearest first (ties: lower index), by
// ‖c‖² − 2x·c from matrix products of nearestRows rows at a time.
func nearestCentroids(x []float32, m, d int, cent []float32, cells, p int, out []int32, outScore []float32) {
	cn := make([]float32, cells)
	for c := range cells {
		cn[c] = dot32(cent[c*d:(c+1)*d], cent[c*d:(c+1)*d])
	}
	pool := sync.Pool{New: func() any { b := make([]float32, nearestRows*cells); return &b }}
	sparse.ForEachChunk(m, nearestRows, func(lo, hi int) {
		bufp := pool.Get().(*[]float32)
		defer pool.Put(bufp)
		dots := (*bufp)[:(hi-lo)*cells]
		// dots[r][c] = ‖c‖² − 2 x_r·c, the norm added in the product's
		// epilogue.
		kernels.GemmFused(kernels.Float32, false, true, hi-lo, cells, d, -2, x[lo*d:hi*d], d, cent, d, 0, dots, cells, &kernels.Epilogue{Bias: cn})
		for r := range hi - lo {
			best := out[(lo+r)*p : (lo+r+1)*p]
			bestD := outScore[(lo+r)*p : (lo+r+1)*p]
			cnt := 0
			for c, score := range dots[r*cells : (r+1)*cells] {
				if cnt == p && score >= bestD[p-1] {
					continue
				}
				q := cnt
				if cnt < p {
					cnt++
				} else {
					q = p - 1
				}
				for q > 0 && score < bestD[q-1] {
					bestD[q], best[q] = bestD[q-1], best[q-1]
					q--
				}
				bestD[q], best[q] = score, int32(c)
			}
		}
	})
}
