package spectral

import (
	"fmt"
	"math"

	"github.com/deepclust/deepclust/internal/knn"
	"github.com/deepclust/deepclust/internal/sparse"
)

// Affinity kinds (config key "affinity").
const (
	AffinityKNN      = "knn"
	AffinitySelfTune = "selftune"
	AffinityRBF      = "rbf"
)

// graphConfig says how to build and weight the kNN graph.
type graphConfig struct {
	// others is the number of nearest other points each point links to:
	// the config's knn − 1, since knn counts the point itself as
	// scikit-learn's n_neighbors does.
	others        int
	affinity      string
	scaleNeighbor int
	sigma         float64
}

// searchK is the number of neighbours the kNN search must return: others,
// or scale_neighbor when the self-tuning scale needs a farther one.
func (g graphConfig) searchK() int {
	if g.affinity == AffinitySelfTune {
		return max(g.others, g.scaleNeighbor)
	}
	return g.others
}

// affinityGraph builds the symmetric affinity A = (W + Wᵀ)/2 from the
// directed kNN weights W (row i holds the g.others nearest other points
// of i):
//
//	knn:       W_ij = 1                                  (connectivity)
//	selftune:  W_ij = exp(−‖x_i − x_j‖² / (σ_i σ_j)),     σ_i = distance to the scale_neighbor-th neighbour
//	rbf:       W_ij = exp(−‖x_i − x_j‖² / (2σ²))
//
// Weights that underflow to zero are dropped; with σ_i σ_j = 0 (duplicate
// points) a pair at distance 0 weighs 1 and any other pair 0. A vertex
// left without any edge gets the self-loop A_ii = 1, so that D^{-1/2} A
// D^{-1/2} is defined and the vertex is a component of its own.
func affinityGraph(nb *knn.Neighbours, g graphConfig) (*sparse.CSR, error) {
	n, kk := nb.N, nb.K
	scale := make([]float64, n)
	if g.affinity == AffinitySelfTune {
		for i := range n {
			scale[i] = math.Sqrt(nb.SqDist[i*kk+g.scaleNeighbor-1])
		}
	}
	weight := func(i, j int, sq float64) float64 {
		switch g.affinity {
		case AffinitySelfTune:
			if s := scale[i] * scale[j]; s > 0 {
				return math.Exp(-sq / s)
			}
			if sq == 0 {
				return 1
			}
			return 0
		case AffinityRBF:
			return math.Exp(-sq / (2 * g.sigma * g.sigma))
		}
		return 1
	}
	entries := make([]sparse.Entry, 0, 2*n*g.others)
	for i := range n {
		for t := range g.others {
			j, sq := nb.Index[i*kk+t], nb.SqDist[i*kk+t]
			w := weight(i, int(j), sq) / 2
			entries = append(entries, sparse.Entry{Row: int32(i), Col: j, Val: w}, sparse.Entry{Row: j, Col: int32(i), Val: w})
		}
	}
	a, err := sparse.FromEntries(n, entries)
	if err != nil {
		return nil, fmt.Errorf("spectral: affinity matrix: %w", err)
	}
	isolated := false
	for i := range n {
		if a.RowPtr[i] == a.RowPtr[i+1] {
			entries = append(entries, sparse.Entry{Row: int32(i), Col: int32(i), Val: 1})
			isolated = true
		}
	}
	if isolated {
		if a, err = sparse.FromEntries(n, entries); err != nil {
			return nil, fmt.Errorf("spectral: affinity matrix: %w", err)
		}
	}
	return a, nil
}
