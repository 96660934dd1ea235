package kmeans

import (
	"testing"

	"github.com/deepclust/deepclust/internal/statefuzz"
	"github.com/deepclust/deepclust/sdk"
)

// FuzzState feeds Load arbitrary bytes (see statefuzz.Clusterer).
func FuzzState(f *testing.F) {
	statefuzz.Clusterer(f, func(tb testing.TB) sdk.Clusterer {
		return configured(tb, 3, 1, map[string]any{"k": 3})
	}, statefuzz.Blobs(30, 3))
}
