package spectral

import (
	"fmt"

	"github.com/deepclust/deepclust/internal/knn"
	"github.com/deepclust/deepclust/internal/sparse"
)

// GraphOptions says how Affinity weights a kNN graph.
type GraphOptions struct {
	// Others is the number of nearest other points each point links to.
	Others int
	// Affinity is AffinityKNN, AffinitySelfTune or AffinityRBF.
	Affinity string
	// ScaleNeighbor is the neighbour (1-based, among the other points)
	// whose distance is the local scale σ_i of AffinitySelfTune.
	ScaleNeighbor int
	// Sigma is the kernel width σ of AffinityRBF.
	Sigma float64
}

// Affinity builds the symmetric affinity A = (W + Wᵀ)/2 of n points from
// neighbour lists of k per point as knn.Search returns them, weighting the
// directed edges to the opt.Others nearest as Fit does (see the package
// doc, step 2); a point left without an edge gets the self-loop A_ii = 1.
func Affinity(index []int32, sqDist []float64, n, k int, opt GraphOptions) (*sparse.CSR, error) {
	switch {
	case len(index) != n*k || len(sqDist) != n*k:
		return nil, fmt.Errorf("spectral: %d neighbour indices and %d distances, want %d×%d", len(index), len(sqDist), n, k)
	case opt.Others < 1 || opt.Others > k:
		return nil, fmt.Errorf("spectral: affinity over %d neighbours, want 1..%d", opt.Others, k)
	}
	switch opt.Affinity {
	case AffinityKNN:
	case AffinitySelfTune:
		if opt.ScaleNeighbor < 1 || opt.ScaleNeighbor > k {
			return nil, fmt.Errorf("spectral: scale neighbour %d, want 1..%d", opt.ScaleNeighbor, k)
		}
	case AffinityRBF:
		if !(opt.Sigma > 0) {
			return nil, fmt.Errorf("spectral: rbf kernel width %v, want > 0", opt.Sigma)
		}
	default:
		return nil, fmt.Errorf("spectral: unknown affinity %q (known: %s, %s, %s)", opt.Affinity, AffinityKNN, AffinitySelfTune, AffinityRBF)
	}
	nb := &knn.Neighbours{N: n, K: k, Index: index, SqDist: sqDist}
	return affinityGraph(nb, graphConfig{others: opt.Others, affinity: opt.Affinity, scaleNeighbor: opt.ScaleNeighbor, sigma: opt.Sigma})
}
