package spectral

import (
	"fmt"

	"github.com/deepclust/deepclust/sdk"
)

// CentroidLoss is the joint-training loss of a clusterer whose clusters
// change only in Update (spectral, subspace): the k-means loss of a batch
// against the stored cluster s_i of each of its rows,
//
//	L_c = (1/N) Σ_i ‖z_i − μ_{s_i}‖²,   ∂L_c/∂z_i = 2(z_i − μ_{s_i})/N,
//
// with the centroids μ (k × dim, row-major) returned too. labels holds the
// stored cluster of every fitted sample and req.Indices the batch rows'
// sample numbers; name starts error messages.
func CentroidLoss(name string, req sdk.ClusterLossRequest, labels []int32, centroids []float64, k, dim int) (sdk.ClusterLoss, error) {
	n := req.Z.Rows()
	if len(req.Indices) != n {
		return sdk.ClusterLoss{}, fmt.Errorf("%s: loss: %d indices for %d embeddings", name, len(req.Indices), n)
	}
	for b, idx := range req.Indices {
		if idx < 0 || idx >= int64(len(labels)) {
			return sdk.ClusterLoss{}, fmt.Errorf("%s: loss: index %d (batch row %d) is outside the %d fitted samples", name, idx, b, len(labels))
		}
	}
	grad := sdk.NewTensor(n, dim)
	var total float64
	if n > 0 {
		scale := 2 / float64(n)
		for b, idx := range req.Indices {
			l := int(labels[idx])
			mu := centroids[l*dim : (l+1)*dim]
			g := grad.Row(b)
			for t, v := range req.Z.Row(b) {
				diff := float64(v) - mu[t]
				total += diff * diff
				g[t] = float32(scale * diff)
			}
		}
		total /= float64(n)
	}
	cen := sdk.NewTensor(k, dim)
	for i, v := range centroids {
		cen.Data[i] = float32(v)
	}
	return sdk.ClusterLoss{Value: total, GradZ: grad, Centroids: cen}, nil
}
