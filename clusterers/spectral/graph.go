package spectral

import (
	"context"
	"fmt"

	"github.com/deepclust/deepclust/internal/sparse"
)

// Neighbours finds the exact k nearest other rows of every row of the n×d
// row-major matrix x, as Fit does (tiled float32 GEMM, candidates re-ranked
// by float64 distances; see the package doc). Row i's neighbours are
// index[i*k : (i+1)*k], nearest first (ties: lower index), at the squared
// Euclidean distances sqDist[i*k : (i+1)*k]. It needs 1 ≤ k < n.
func Neighbours(ctx context.Context, x []float32, n, d, k int) (index []int32, sqDist []float64, err error) {
	switch {
	case k < 1 || k >= n:
		return nil, nil, fmt.Errorf("spectral: %d nearest neighbours among %d points, want 1 ≤ k < n", k, n)
	case d < 1 || len(x) != n*d:
		return nil, nil, fmt.Errorf("spectral: %d values for %d points of dimension %d", len(x), n, d)
	}
	nb, err := nearestNeighbours(ctx, x, n, d, k)
	if err != nil {
		return nil, nil, err
	}
	return nb.Index, nb.SqDist, nil
}

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
// neighbour lists of k per point as Neighbours returns them, weighting the
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
	nb := &neighbours{n: n, k: k, Index: index, SqDist: sqDist}
	return affinityGraph(nb, graphConfig{others: opt.Others, affinity: opt.Affinity, scaleNeighbor: opt.ScaleNeighbor, sigma: opt.Sigma})
}
