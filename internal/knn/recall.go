package knn

import (
	"math"
	"slices"
)

// Recall is the fraction of the exact neighbour lists' entries that the
// approximate lists hold: Σ_i |approx_i ∩ exact_i| / (N·K), the recall@K
// of approximate nearest-neighbour benchmarks. Both must hold the same
// points and K; it returns NaN otherwise.
func Recall(approx, exact *Neighbours) float64 {
	if approx == nil || exact == nil || approx.N != exact.N || approx.K != exact.K || exact.N == 0 {
		return math.NaN()
	}
	k := exact.K
	hits := 0
	for i := range exact.N {
		want := exact.Index[i*k : (i+1)*k]
		for _, j := range approx.Index[i*k : (i+1)*k] {
			if slices.Contains(want, j) {
				hits++
			}
		}
	}
	return float64(hits) / float64(exact.N*k)
}
