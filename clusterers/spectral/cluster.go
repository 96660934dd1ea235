package spectral

import (
	"context"
	"fmt"
	"math"

	"github.com/deepclust/deepclust/clusterers/kmeans"
	"github.com/deepclust/deepclust/internal/autok"
	"github.com/deepclust/deepclust/internal/knn"
	"github.com/deepclust/deepclust/internal/sparse"
	"github.com/deepclust/deepclust/sdk"
)

// Label-assignment methods (config key "assign").
const (
	AssignKMeans    = "kmeans"
	AssignClusterQR = "cluster_qr"
)

// settings are the resolved config values; they are saved with the state.
type settings struct {
	K             int     `json:"k"`
	KNN           int     `json:"knn"`
	Affinity      string  `json:"affinity"`
	ScaleNeighbor int     `json:"scale_neighbor"`
	Sigma         float64 `json:"sigma"`
	Assign        string  `json:"assign"`
	NInit         int     `json:"n_init"`
	CentroidLR    float64 `json:"centroid_lr"`
	EigTol        float64 `json:"eig_tol"`
	// KNNSearch is knn.MethodAuto, MethodExact or MethodApprox; "" (a
	// state saved before the key existed) counts as auto.
	KNNSearch string `json:"knn_search,omitempty"`
}

func (s settings) graph() graphConfig {
	return graphConfig{others: s.KNN - 1, affinity: s.Affinity, scaleNeighbor: s.ScaleNeighbor, sigma: s.Sigma}
}

// validate checks the settings on their own, naming the offending key.
func (s settings) validate() error {
	switch {
	case s.K < 1:
		return fmt.Errorf("spectral: config key \"k\" is %d, want at least 1", s.K)
	case s.KNN < 2:
		return fmt.Errorf("spectral: config key \"knn\" is %d, want at least 2 (it counts the point itself)", s.KNN)
	case s.Affinity != AffinityKNN && s.Affinity != AffinitySelfTune && s.Affinity != AffinityRBF:
		return fmt.Errorf("spectral: config key \"affinity\" is %q, want %s, %s or %s", s.Affinity, AffinityKNN, AffinitySelfTune, AffinityRBF)
	case s.ScaleNeighbor < 1:
		return fmt.Errorf("spectral: config key \"scale_neighbor\" is %d, want at least 1", s.ScaleNeighbor)
	case !(s.Sigma > 0) || math.IsInf(s.Sigma, 0):
		return fmt.Errorf("spectral: config key \"sigma\" is %v, want a finite number > 0", s.Sigma)
	case s.Assign != AssignKMeans && s.Assign != AssignClusterQR:
		return fmt.Errorf("spectral: config key \"assign\" is %q, want %s or %s", s.Assign, AssignKMeans, AssignClusterQR)
	case s.NInit < 1:
		return fmt.Errorf("spectral: config key \"n_init\" is %d, want at least 1", s.NInit)
	case !(s.CentroidLR >= 0) || math.IsInf(s.CentroidLR, 0):
		return fmt.Errorf("spectral: config key \"centroid_lr\" is %v, want a finite number ≥ 0", s.CentroidLR)
	case !(s.EigTol > 0) || s.EigTol >= 1:
		return fmt.Errorf("spectral: config key \"eig_tol\" is %v, want a number in (0, 1)", s.EigTol)
	case s.KNNSearch != "":
		if err := knn.CheckMethod("knn_search", s.KNNSearch); err != nil {
			return fmt.Errorf("spectral: %w", err)
		}
	}
	return nil
}

// checkSize reports, in one line, why n points cannot be clustered with s.
func (s settings) checkSize(n int) error {
	switch {
	case s.K > n:
		return fmt.Errorf("spectral: k=%d clusters but only %d points", s.K, n)
	case s.graph().searchK() > n-1 && s.Affinity == AffinitySelfTune:
		return fmt.Errorf("spectral: knn=%d and scale_neighbor=%d need at least %d points, got %d",
			s.KNN, s.ScaleNeighbor, s.graph().searchK()+1, n)
	case s.graph().searchK() > n-1:
		return fmt.Errorf("spectral: knn=%d needs at least %d points, got %d", s.KNN, s.KNN, n)
	}
	return nil
}

// cluster runs spectral clustering on the n×d row-major points x: the kNN
// graph (exact or approximate as s.KNNSearch says, the approximate one
// seeded by seed) and its affinity A, the k leading eigenvectors U of
// D^{-1/2} A D^{-1/2}, then labels from k-means on the rows of U scaled to
// unit length (Ng, Jordan & Weiss 2002) or from cluster_qr on U.
func cluster(ctx context.Context, x []float32, n, d int, s settings, seed uint64) ([]int32, error) {
	if err := s.checkSize(n); err != nil {
		return nil, err
	}
	nb, err := knn.Find(ctx, x, n, d, s.graph().searchK(), s.KNNSearch, seed)
	if err != nil {
		return nil, err
	}
	a, err := affinityGraph(nb, s.graph())
	if err != nil {
		return nil, err
	}
	comps, _ := a.Components()
	if comps > s.K {
		return nil, fmt.Errorf("spectral: the knn=%d graph of %d points has %d connected components, more than k=%d; raise knn (or sigma) or lower k",
			s.KNN, n, comps, s.K)
	}
	return embedAndLabel(ctx, a, s.K, comps, LabelOptions{Assign: s.Assign, NInit: s.NInit, EigTol: s.EigTol, Seed: seed})
}

// chooseK is k auto's choice: on the kNN graph and affinity Fit builds, the
// hi+1 smallest eigenvalues λ_1 ≤ λ_2 ≤ … of the normalised Laplacian
// I − D^{-1/2} A D^{-1/2} (1 − the largest of D^{-1/2} A D^{-1/2}) and the
// eigengap λ_{k+1} − λ_k for every k of k_range; the largest gap wins.
// A k below the graph's number of connected components cannot be used: its
// gap is NaN.
func (c *Clusterer) chooseK(ctx context.Context, z sdk.Tensor) (*sdk.KSelection, error) {
	n := z.Rows()
	ks, err := c.auto.Range("spectral", n)
	if err != nil {
		return nil, err
	}
	s := c.set
	s.K = ks[0]
	if err := s.checkSize(n); err != nil {
		return nil, err
	}
	nb, err := knn.Find(ctx, z.Data, n, c.dim, s.graph().searchK(), s.KNNSearch, c.seed)
	if err != nil {
		return nil, err
	}
	a, err := affinityGraph(nb, s.graph())
	if err != nil {
		return nil, err
	}
	comps, _ := a.Components()
	deg := a.RowSums()
	for i, v := range deg {
		if !(v > 0) {
			return nil, fmt.Errorf("spectral: vertex %d of the affinity has degree %v, want > 0", i, v)
		}
		deg[i] = 1 / math.Sqrt(v)
	}
	top := min(ks[len(ks)-1]+1, n)
	eig, err := sparse.EigSymTop(ctx, a.ScaleSym(deg), top, sparse.EigOptions{Block: min(comps, top), Tol: s.EigTol, Seed: c.seed})
	if err != nil {
		return nil, fmt.Errorf("spectral: k auto: eigenvalues of the normalised affinity (eig_tol=%g): %w", s.EigTol, err)
	}
	sel := &sdk.KSelection{Criterion: "eigengap", Best: "max", Ks: ks,
		Note: fmt.Sprintf("gap λ_{k+1} − λ_k of the normalised Laplacian of the knn=%d %s graph; %d connected components", s.KNN, s.Affinity, comps)}
	for _, k := range ks {
		gap := math.NaN()
		if k >= comps && k < len(eig.Values) {
			gap = eig.Values[k-1] - eig.Values[k] // (1 − θ_{k+1}) − (1 − θ_k)
		}
		sel.Values = append(sel.Values, gap)
	}
	if err := autok.Choose("spectral", sel); err != nil {
		return nil, err
	}
	return sel, nil
}

// kmeansRows scales every row of the n×k embedding u to unit length (a
// zero row stays zero) and clusters the rows with the kmeans clusterer
// (greedy k-means++, nInit restarts, seeded by seed).
func kmeansRows(ctx context.Context, u []float64, n, k, nInit int, seed uint64) ([]int32, error) {
	t := sdk.NewTensor(n, k)
	for i := range n {
		row := u[i*k : (i+1)*k]
		norm := math.Sqrt(sumSquares(row))
		if norm == 0 {
			continue
		}
		for j, v := range row {
			t.Data[i*k+j] = float32(v / norm)
		}
	}
	km := kmeans.New()
	cfg, err := sdk.ResolveConfig(km.Describe(), map[string]any{"k": k, "n_init": nInit})
	if err != nil {
		return nil, fmt.Errorf("spectral: k-means on the embedding: %w", err)
	}
	if err := km.Configure(ctx, sdk.Setup{Config: cfg, EmbeddingDim: k, Seed: seed}); err != nil {
		return nil, fmt.Errorf("spectral: k-means on the embedding: %w", err)
	}
	asg, err := km.Fit(ctx, t)
	if err != nil {
		return nil, fmt.Errorf("spectral: k-means on the embedding: %w", err)
	}
	return asg.Labels, nil
}
