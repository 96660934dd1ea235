package spectral

import (
	"context"
	"fmt"
	"math"
	"slices"

	clusterspectral "github.com/deepclust/deepclust/clusterers/spectral"
	"github.com/deepclust/deepclust/internal/knn"
	"github.com/deepclust/deepclust/internal/sparse"
	"github.com/deepclust/deepclust/sdk"
)

// Version is the plugin version reported by Describe.
const Version = "0.1.0"

// The ways of setting the Gaussian kernel width (config key "scale").
const (
	ScaleMedian   = "median"
	ScaleSelfTune = "selftune"
	ScaleFixed    = "fixed"
)

var description = sdk.Description{
	Name:    "spectral",
	Kind:    sdk.KindLoss,
	Version: Version,
	Doc: "SpectralNet loss (Shaham et al. 2018) L = (1/2m) Σ_ij W_ij ‖z_i − z_j‖² = tr(ZᵀLZ)/m on a batch of m rows, " +
		"W the symmetrised Gaussian affinity of each input's knn−1 nearest other inputs within the batch; " +
		"pair it with an encoder whose output is orthonormalised (spectralnet)",
	Fields: []sdk.Field{
		{Name: "knn", Type: sdk.TypeInt, Default: 3, Doc: "neighbours per point counting the point itself (SpectralNet's n_nbrs, 3 for MNIST): each input links to its knn−1 nearest other inputs of the batch"},
		{Name: "scale", Type: sdk.TypeString, Default: ScaleMedian, Enum: []string{ScaleMedian, ScaleSelfTune, ScaleFixed},
			Doc: "kernel width: median = exp(−d²/(2σ²)), σ the batch median of the distance to the scale_neighbor-th nearest other input (SpectralNet); selftune = exp(−d²/(σ_iσ_j)), σ_i that distance of point i (Zelnik-Manor & Perona 2004); fixed = exp(−d²/(2 sigma²))"},
		{Name: "scale_neighbor", Type: sdk.TypeInt, Default: 1, Doc: "median, selftune: the neighbour, among the other inputs, that sets the scale (1 = the nearest, SpectralNet's MNIST scale_nbr 2, which counts the point itself)"},
		{Name: "sigma", Type: sdk.TypeFloat, Default: 1.0, Doc: "fixed: kernel width σ"},
	},
}

// Loss is the SpectralNet loss. It is not safe for concurrent use.
type Loss struct {
	knn, scaleNeighbor int
	scale              string
	sigma              float64
	grad               []float32 // reused ∂L/∂z buffer
}

// New returns an unconfigured SpectralNet loss.
func New() *Loss { return &Loss{} }

// Describe returns the plugin's name, kind, version and config fields.
func (l *Loss) Describe() sdk.Description { return description }

// Configure reads and validates the config (a partial config gets the
// defaults).
func (l *Loss) Configure(ctx context.Context, s sdk.Setup) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c, err := sdk.ResolveConfig(description, s.Config)
	if err != nil {
		return err
	}
	*l = Loss{knn: c.Int("knn"), scale: c.String("scale"), scaleNeighbor: c.Int("scale_neighbor"), sigma: c.Float("sigma")}
	switch {
	case l.knn < 2:
		return fmt.Errorf("loss \"spectral\": config key \"knn\" is %d, want ≥ 2 (it counts the point itself)", l.knn)
	case l.scaleNeighbor < 1:
		return fmt.Errorf("loss \"spectral\": config key \"scale_neighbor\" is %d, want ≥ 1", l.scaleNeighbor)
	case !(l.sigma > 0) || math.IsInf(l.sigma, 0):
		return fmt.Errorf("loss \"spectral\": config key \"sigma\" is %v, want a finite number > 0", l.sigma)
	}
	return nil
}

// Eval returns the loss of the embeddings in.Z under the affinity of the
// inputs in.X (flattened per row) and ∂L/∂z. The returned GradZ is owned by
// the loss and stays valid until the next Eval.
func (l *Loss) Eval(ctx context.Context, in sdk.LossInput) (sdk.LossOutput, error) {
	if err := ctx.Err(); err != nil {
		return sdk.LossOutput{}, err
	}
	if l.knn == 0 {
		return sdk.LossOutput{}, fmt.Errorf("loss \"spectral\": Eval before Configure")
	}
	m, d, k := in.X.Rows(), in.X.Cols(), in.Z.Cols()
	switch {
	case len(in.Z.Shape) != 2 || len(in.Z.Data) != in.Z.Rows()*k:
		return sdk.LossOutput{}, fmt.Errorf("loss \"spectral\": Z shape %v with %d values, want [N k]", in.Z.Shape, len(in.Z.Data))
	case in.Z.Rows() != m:
		return sdk.LossOutput{}, fmt.Errorf("loss \"spectral\": Z has %d rows, X has %d", in.Z.Rows(), m)
	case len(in.X.Data) != m*d || d == 0:
		return sdk.LossOutput{}, fmt.Errorf("loss \"spectral\": X shape %v with %d values", in.X.Shape, len(in.X.Data))
	case m < l.searchK()+1:
		return sdk.LossOutput{}, fmt.Errorf("loss \"spectral\": batch of %d rows, want at least %d for knn %d and scale_neighbor %d", m, l.searchK()+1, l.knn, l.scaleNeighbor)
	}
	a, err := l.affinity(ctx, in.X.Data, m, d)
	if err != nil {
		return sdk.LossOutput{}, err
	}
	if cap(l.grad) < m*k {
		l.grad = make([]float32, m*k)
	}
	g := l.grad[:m*k]
	value := laplacianQuadratic(a, in.Z.Data, k, g)
	return sdk.LossOutput{Value: value, GradZ: sdk.Tensor{Shape: slices.Clone(in.Z.Shape), Data: g}}, nil
}

// searchK is the number of nearest other inputs the affinity needs.
func (l *Loss) searchK() int {
	if l.scale == ScaleFixed {
		return l.knn - 1
	}
	return max(l.knn-1, l.scaleNeighbor)
}

// affinity builds the batch's symmetric affinity W = (W̃ + W̃ᵀ)/2 from the
// exact kNN graph of the m×d inputs x.
func (l *Loss) affinity(ctx context.Context, x []float32, m, d int) (*sparse.CSR, error) {
	k := l.searchK()
	nb, err := knn.Search(ctx, x, m, d, k)
	if err != nil {
		return nil, fmt.Errorf("loss \"spectral\": %w", err)
	}
	idx, sq := nb.Index, nb.SqDist
	opt := clusterspectral.GraphOptions{Others: l.knn - 1, Affinity: clusterspectral.AffinityRBF, Sigma: l.sigma}
	switch l.scale {
	case ScaleSelfTune:
		opt.Affinity, opt.ScaleNeighbor = clusterspectral.AffinitySelfTune, l.scaleNeighbor
	case ScaleMedian:
		if opt.Sigma, err = medianScale(sq, m, k, l.scaleNeighbor); err != nil {
			return nil, err
		}
	}
	a, err := clusterspectral.Affinity(idx, sq, m, k, opt)
	if err != nil {
		return nil, fmt.Errorf("loss \"spectral\": %w", err)
	}
	return a, nil
}

// medianScale returns σ, the median over the m points of the distance to
// their s-th nearest other point (the upper median, element m/2 of the
// sorted distances, for even m).
func medianScale(sq []float64, m, k, s int) (float64, error) {
	d := make([]float64, m)
	for i := range m {
		d[i] = sq[i*k+s-1]
	}
	slices.Sort(d)
	sigma := math.Sqrt(d[m/2])
	if sigma == 0 {
		return 0, fmt.Errorf("loss \"spectral\": the median distance to neighbour %d in the batch is 0 (duplicate inputs); use scale: fixed", s)
	}
	return sigma, nil
}

// laplacianQuadratic returns L = (1/2m) Σ_ij A_ij ‖z_i − z_j‖² for the
// symmetric A and the m×k rows z, and writes ∂L/∂z_i = (2/m) Σ_j A_ij (z_i − z_j)
// into g. Sums run in float64 in a fixed order.
func laplacianQuadratic(a *sparse.CSR, z []float32, k int, g []float32) float64 {
	m := a.N
	acc := make([]float64, k)
	var total float64
	for i := range m {
		clear(acc)
		zi := z[i*k : (i+1)*k]
		var row float64
		for p := a.RowPtr[i]; p < a.RowPtr[i+1]; p++ {
			j, w := int(a.Col[p]), a.Val[p]
			zj := z[j*k : (j+1)*k]
			var sq float64
			for c, v := range zi {
				diff := float64(v) - float64(zj[c])
				sq += diff * diff
				acc[c] += w * diff
			}
			row += w * sq
		}
		total += row
		for c, v := range acc {
			g[i*k+c] = float32(2 * v / float64(m))
		}
	}
	return total / float64(2*m)
}
