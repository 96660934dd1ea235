package validity

import "fmt"

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
// int32 values.
func Modularity(index []int32, n, k int, labels []int32) (float64, error) {
	switch {
	case n < 1 || k < 1:
		return 0, fmt.Errorf("validity: modularity of %d points with %d neighbours each, want both ≥ 1", n, k)
	case len(index) != n*k:
		return 0, fmt.Errorf("validity: modularity: %d neighbour indices for %d points × %d neighbours", len(index), n, k)
	case len(labels) != n:
		return 0, fmt.Errorf("validity: modularity: %d labels for %d points", len(labels), n)
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
	inside := 0.0
	for i := range n {
		deg[c[i]] += float64(k)
		for _, j := range index[i*k : (i+1)*k] {
			if j < 0 || int(j) >= n {
				return 0, fmt.Errorf("validity: modularity: neighbour %d of point %d is outside [0, %d)", j, i, n)
			}
			deg[c[j]]++
			if c[j] == c[i] {
				inside += 2 // W_ij and W_ji
			}
		}
	}
	twoM := float64(2 * n * k)
	q := inside / twoM
	for _, d := range deg {
		q -= (d / twoM) * (d / twoM)
	}
	return q, nil
}
