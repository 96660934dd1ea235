package subspace

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"

	"github.com/deepclust/deepclust/internal/sparse"
)

// affinity builds A = ½(|Ĉ| + |Ĉ|ᵀ) from the self-expression e of n
// points, Ĉ the coefficient rows scaled to unit ℓ2 length (EnSC's
// symmetrize affinity). Spectral clustering needs at most k connected
// components with no isolated vertex, which a sparse C does not promise
// (a few points may only express each other, or be expressed by no one).
// So every point outside the k largest components, and every isolated
// point, is linked to its most coherent point (largest |x_iᵀx_j|, x the
// unit rows, n×d) inside those components by an edge of the smallest
// weight in A; it then follows that point in the spectral embedding.
func affinity(e *expression, n, k int, x []float32, d int) (*sparse.CSR, Report, error) {
	entries := make([]sparse.Entry, 0, 2*len(e.Val))
	minW := math.Inf(1)
	for i := range n {
		lo, hi := e.RowPtr[i], e.RowPtr[i+1]
		var norm float64
		for _, v := range e.Val[lo:hi] {
			norm += v * v
		}
		if norm == 0 {
			continue
		}
		norm = math.Sqrt(norm)
		for p := lo; p < hi; p++ {
			w := math.Abs(e.Val[p]) / norm / 2
			if w == 0 {
				continue
			}
			minW = min(minW, w)
			j := e.Col[p]
			entries = append(entries, sparse.Entry{Row: int32(i), Col: j, Val: w}, sparse.Entry{Row: j, Col: int32(i), Val: w})
		}
	}
	a, err := sparse.FromEntries(n, entries)
	if err != nil {
		return nil, Report{}, fmt.Errorf("subspace: affinity: %w", err)
	}
	comps, label := a.Components()
	rep := Report{Components: comps}
	size := make([]int, comps)
	for _, l := range label {
		size[l]++
	}
	order := make([]int, comps)
	for i := range order {
		order[i] = i
	}
	// Largest first; label order (that of the lowest vertex) on ties.
	slices.SortStableFunc(order, func(p, q int) int { return cmp.Compare(size[q], size[p]) })
	main := make([]bool, comps)
	for _, l := range order[:min(k, comps)] {
		main[l] = size[l] > 1
	}
	var stray, keep []int
	for i, l := range label {
		if main[l] {
			keep = append(keep, i)
		} else {
			stray = append(stray, i)
		}
	}
	if len(stray) == 0 {
		return a, rep, nil
	}
	if len(keep) == 0 {
		return nil, rep, fmt.Errorf("subspace: no point is expressed by another (every coefficient is zero); raise gamma")
	}
	dict := make([]float32, len(keep)*d)
	for t, i := range keep {
		copy(dict[t*d:(t+1)*d], x[i*d:(i+1)*d])
	}
	self := make([]int32, n)
	for i := range self {
		self[i] = -1
	}
	best, err := scan(context.Background(), x, stray, dict, len(keep), d, self, nil, -1, 1, -1)
	if err != nil {
		return nil, rep, err
	}
	for _, i := range stray {
		j := 0 // no coherent point at all (a zero row): link to the first kept point
		if len(best[i]) > 0 {
			j = int(best[i][0])
		}
		j = keep[j]
		entries = append(entries, sparse.Entry{Row: int32(i), Col: int32(j), Val: minW}, sparse.Entry{Row: int32(j), Col: int32(i), Val: minW})
	}
	rep.Linked = len(stray)
	if a, err = sparse.FromEntries(n, entries); err != nil {
		return nil, rep, fmt.Errorf("subspace: affinity: %w", err)
	}
	return a, rep, nil
}
