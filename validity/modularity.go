package validity

import (
	"fmt"
	"math"
)

// Modularity returns Newman's modularity (Newman & Girvan 2004; Newman,
// PNAS 2006) of a partition of the k-nearest-neighbour graph of n points.
// index holds each point's k neighbours row by row (n × k, any order, no
// self-loops needed). The graph is the symmetrised one of UMAP and of the
// spectral clusterer, with weights W = N + Nᵀ, N_ij = 1 when j is among
// i's neighbours (so a mutual pair weighs 2), and
//
//	Q = (1/2m) Σ_ij [W_ij − d_i d_j / 2m] δ(c_i, c_j),
//	2m = Σ_ij W_ij = 2nk,   d_i = Σ_j W_ij = k + (in-degree of i),
//
// computed in O(nk) as Q = Σ_c [w_c/2m − (D_c/2m)²], with w_c the weight of
// the edges inside cluster c counted from both ends and D_c = Σ_{i∈c} d_i.
// Q ≤ 1; higher means more of the graph's edges fall within clusters than
// a random graph with the same degrees would put there. Labels may be any
// int32 values. It is WeightedModularity of the neighbour lists as the
// rows of N, every weight 1.
func Modularity(index []int32, n, k int, labels []int32) (float64, error) {
	switch {
	case n < 1 || k < 1:
		return 0, fmt.Errorf("validity: modularity of %d points with %d neighbours each, want both ≥ 1", n, k)
	case len(index) != n*k:
		return 0, fmt.Errorf("validity: modularity: %d neighbour indices for %d points × %d neighbours", len(index), n, k)
	}
	rowPtr := make([]int, n+1)
	for i := range rowPtr {
		rowPtr[i] = i * k
	}
	return WeightedModularity(rowPtr, index, nil, labels)
}

// WeightedModularity returns Newman's modularity of a partition of the
// weighted undirected graph W = A + Aᵀ (Newman, "Analysis of weighted
// networks", Phys. Rev. E 70, 056131, 2004), A given in compressed sparse
// row form: row i's entries are A_ij = val[p] at j = col[p] for p in
// [rowPtr[i], rowPtr[i+1]), len(rowPtr) = n+1; val nil means every entry
// weighs 1, and entries repeated at one position add up. With
// 2m = Σ_ij W_ij, d_i = Σ_j W_ij, w_c = Σ_{i,j∈c} W_ij and D_c = Σ_{i∈c} d_i,
//
//	Q = (1/2m) Σ_ij [W_ij − d_i d_j / 2m] δ(c_i, c_j) = Σ_c [w_c/2m − (D_c/2m)²],
//
// computed in O(n + nnz(A)). For a symmetric A (an affinity that already
// holds both A_ij and A_ji) Q is that of A itself, since Q does not change
// when every weight is doubled. Weights must be finite and ≥ 0; a graph
// without weight has Q = 0. Labels may be any int32 values.
func WeightedModularity(rowPtr []int, col []int32, val []float64, labels []int32) (float64, error) {
	n := len(rowPtr) - 1
	switch {
	case n < 1:
		return 0, fmt.Errorf("validity: weighted modularity: %d row pointers, want at least 2", len(rowPtr))
	case len(labels) != n:
		return 0, fmt.Errorf("validity: modularity: %d labels for %d points", len(labels), n)
	case rowPtr[0] != 0 || rowPtr[n] != len(col):
		return 0, fmt.Errorf("validity: weighted modularity: row pointers span [%d, %d), want [0, %d)", rowPtr[0], rowPtr[n], len(col))
	case val != nil && len(val) != len(col):
		return 0, fmt.Errorf("validity: weighted modularity: %d weights for %d entries", len(val), len(col))
	}
	cluster := make(map[int32]int)
	c := make([]int, n)
	for i, l := range labels {
		id, ok := cluster[l]
		if !ok {
			id = len(cluster)
			cluster[l] = id
		}
		c[i] = id
	}
	deg := make([]float64, len(cluster))
	var inside, twoM float64
	for i := range n {
		lo, hi := rowPtr[i], rowPtr[i+1]
		if lo > hi || hi > len(col) {
			return 0, fmt.Errorf("validity: weighted modularity: row %d spans [%d, %d) of %d entries", i, lo, hi, len(col))
		}
		for p := lo; p < hi; p++ {
			j := col[p]
			if j < 0 || int(j) >= n {
				return 0, fmt.Errorf("validity: modularity: neighbour %d of point %d is outside [0, %d)", j, i, n)
			}
			w := 1.0
			if val != nil {
				if w = val[p]; !(w >= 0) || math.IsInf(w, 0) {
					return 0, fmt.Errorf("validity: weighted modularity: weight %v between points %d and %d, want finite and ≥ 0", w, i, j)
				}
			}
			// A_ij enters W_ij and W_ji: once in each end's degree and,
			// inside a cluster, twice in w_c.
			deg[c[i]] += w
			deg[c[j]] += w
			twoM += 2 * w
			if c[j] == c[i] {
				inside += 2 * w
			}
		}
	}
	if !(twoM > 0) {
		return 0, nil
	}
	q := inside / twoM
	for _, d := range deg {
		q -= (d / twoM) * (d / twoM)
	}
	return q, nil
}
