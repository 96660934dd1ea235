package kmeans

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/deepclust/deepclust/sdk"
)

// Result is the outcome of Cluster: the best of n_init k-means runs.
type Result struct {
	// Centroids holds the k centres, row-major k × d.
	Centroids []float64
	// Labels holds the nearest centre of every row.
	Labels []int32
	// Inertia is Σ_i ‖z_i − μ_{labels_i}‖².
	Inertia float64
}

// Cluster runs k-means on the rows of z (N × d, finite, N ≥ k) exactly as
// Clusterer.Fit does with the same seed: nInit greedy k-means++ seedings,
// each followed by at most maxIter Lloyd rounds with scikit-learn's relative
// tol, keeping the lowest inertia. It lets other clusterers (DEC) initialise
// their centres without a configured k-means plugin.
func Cluster(z sdk.Tensor, k, nInit, maxIter int, tol float64, seed uint64) (Result, error) {
	switch {
	case k < 1:
		return Result{}, fmt.Errorf("kmeans: k is %d, want at least 1", k)
	case nInit < 1:
		return Result{}, fmt.Errorf("kmeans: n_init is %d, want at least 1", nInit)
	case maxIter < 1:
		return Result{}, fmt.Errorf("kmeans: max_iter is %d, want at least 1", maxIter)
	case !(tol >= 0) || math.IsInf(tol, 0):
		return Result{}, fmt.Errorf("kmeans: tol is %v, want a finite number ≥ 0", tol)
	}
	a, err := rows(z, k)
	if err != nil {
		return Result{}, err
	}
	rng := rand.New(rand.NewPCG(seed, pcgStream))
	best, labels, obj := bestOf(a, k, nInit, maxIter, tolerance(a, tol), rng)
	return Result{Centroids: best.f64, Labels: labels, Inertia: obj}, nil
}

// PlusPlus returns k initial centres, row-major k × d in float64, chosen
// among the rows of z (N × d, finite, N ≥ k) by the greedy k-means++
// seeding that Cluster and Clusterer.Fit start from (scikit-learn's
// kmeans_plusplus); no Lloyd round is run. With the same seed they are the
// centres the first of Cluster's nInit runs starts from. It lets other
// clusterers (gmm) seed from k-means++ alone.
func PlusPlus(z sdk.Tensor, k int, seed uint64) ([]float64, error) {
	if k < 1 {
		return nil, fmt.Errorf("kmeans: k is %d, want at least 1", k)
	}
	a, err := rows(z, k)
	if err != nil {
		return nil, err
	}
	return plusPlus(a, k, rand.New(rand.NewPCG(seed, pcgStream))).f64, nil
}

// rows checks that z is a finite N × d matrix with N ≥ k and wraps it.
func rows(z sdk.Tensor, k int) (*data, error) {
	if err := z.CheckShape(-1, -1); err != nil {
		return nil, fmt.Errorf("kmeans: embeddings: %w", err)
	}
	if err := z.Validate(); err != nil {
		return nil, fmt.Errorf("kmeans: embeddings: %w", err)
	}
	if z.Rows() < k {
		return nil, fmt.Errorf("kmeans: %d embeddings for k=%d clusters, need at least %d", z.Rows(), k, k)
	}
	return newData(z.Data, z.Rows(), z.Cols()), nil
}
