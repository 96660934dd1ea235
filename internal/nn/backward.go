package nn

import (
	"fmt"
	"slices"

	"github.com/deepclust/deepclust/sdk"
)

// CheckBackward checks the gradients of a Backward request against the last
// training Forward of an autoencoder named plugin: n rows, embeddings of
// width embedding, reconstructions shaped xShape with cols values per row.
// It reports which gradients are present and the learning rate to use:
// the request's when > 0, else base.
func CheckBackward(plugin string, req sdk.BackwardRequest, n, embedding int, xShape []int, cols int, base float64) (hasZ, hasX bool, lr float64, err error) {
	hasZ, hasX = !req.GradZ.Empty(), !req.GradXHat.Empty()
	gz := req.GradZ
	if hasZ && (len(gz.Shape) != 2 || gz.Shape[0] != n || gz.Shape[1] != embedding || len(gz.Data) != n*embedding) {
		return false, false, 0, fmt.Errorf("encoder %q: GradZ shape %v with %d values, want [%d %d]", plugin, gz.Shape, len(gz.Data), n, embedding)
	}
	if hasX && (!slices.Equal(req.GradXHat.Shape, xShape) || len(req.GradXHat.Data) != n*cols) {
		return false, false, 0, fmt.Errorf("encoder %q: GradXHat shape %v with %d values, want %v", plugin, req.GradXHat.Shape, len(req.GradXHat.Data), xShape)
	}
	lr = base
	if req.LearningRate > 0 {
		lr = req.LearningRate
	}
	return hasZ, hasX, lr, nil
}
