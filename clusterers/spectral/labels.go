package spectral

import (
	"context"
	"fmt"
	"math"

	"github.com/deepclust/deepclust/internal/sparse"
)

// LabelOptions says how Labels turns a graph's eigenvectors into labels.
type LabelOptions struct {
	// Assign is AssignKMeans or AssignClusterQR.
	Assign string
	// NInit is the number of k-means++ restarts of AssignKMeans (≥ 1).
	NInit int
	// EigTol is the eigensolver's relative residual tolerance, in (0, 1).
	EigTol float64
	// Seed fixes the eigensolver's start and the k-means restarts.
	Seed uint64
}

// Labels runs steps 3 and 4 of the package doc on a given symmetric
// affinity a with nonnegative entries: the k leading eigenvectors of
// D^{-1/2} A D^{-1/2}, then k-means on their unit-length rows or
// cluster_qr. Every vertex needs at least one entry (a self-loop will do),
// and a must have at most k connected components; otherwise Labels fails
// with a one-line error. Fit calls it on its kNN affinity, the subspace
// clusterer on its self-expression affinity |C| + |C|ᵀ.
func Labels(ctx context.Context, a *sparse.CSR, k int, opt LabelOptions) ([]int32, error) {
	switch {
	case a == nil || a.N < 1:
		return nil, fmt.Errorf("spectral: labels of an empty graph")
	case k < 1 || k > a.N:
		return nil, fmt.Errorf("spectral: k=%d clusters of a graph of %d vertices", k, a.N)
	case opt.Assign != AssignKMeans && opt.Assign != AssignClusterQR:
		return nil, fmt.Errorf("spectral: assign %q, want %s or %s", opt.Assign, AssignKMeans, AssignClusterQR)
	case opt.NInit < 1:
		return nil, fmt.Errorf("spectral: n_init %d, want at least 1", opt.NInit)
	case !(opt.EigTol > 0) || opt.EigTol >= 1:
		return nil, fmt.Errorf("spectral: eig_tol %v, want a number in (0, 1)", opt.EigTol)
	}
	comps, _ := a.Components()
	if comps > k {
		return nil, fmt.Errorf("spectral: the graph of %d vertices has %d connected components, more than k=%d", a.N, comps, k)
	}
	return embedAndLabel(ctx, a, k, comps, opt)
}

// embedAndLabel is Labels without the checks: comps is the number of
// connected components of a (at most k).
func embedAndLabel(ctx context.Context, a *sparse.CSR, k, comps int, opt LabelOptions) ([]int32, error) {
	n := a.N
	deg := a.RowSums()
	for i, v := range deg {
		if !(v > 0) {
			return nil, fmt.Errorf("spectral: vertex %d of the affinity has degree %v, want > 0", i, v)
		}
		deg[i] = 1 / math.Sqrt(v)
	}
	// Eigenvalue 1 has the multiplicity comps; a block of that size
	// resolves it, and the other eigenvalues of a data graph are simple.
	eig, err := sparse.EigSymTop(ctx, a.ScaleSym(deg), k, sparse.EigOptions{Block: comps, Tol: opt.EigTol, Seed: opt.Seed})
	if err != nil {
		return nil, fmt.Errorf("spectral: eigenvectors of the normalised affinity (eig_tol=%g): %w", opt.EigTol, err)
	}
	u := make([]float64, n*k)
	for j, vec := range eig.Vectors {
		for i, v := range vec {
			u[i*k+j] = v
		}
	}
	if opt.Assign == AssignClusterQR {
		return clusterQR(u, n, k)
	}
	return kmeansRows(ctx, u, n, k, opt.NInit, opt.Seed)
}
