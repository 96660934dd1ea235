package mlp

import (
	"testing"

	"github.com/deepclust/deepclust/internal/statefuzz"
	"github.com/deepclust/deepclust/sdk"
)

// FuzzState feeds Load arbitrary bytes (see statefuzz.Encoder).
func FuzzState(f *testing.F) {
	cfg := sdk.Config{"hidden": []int{4, 3}, "embedding": 2, "activation": "relu", "output": "linear"}
	statefuzz.Encoder(f, func(tb testing.TB) sdk.Encoder {
		return newTestEncoder(tb, cfg, []int{5}, 7)
	}, statefuzz.Blobs(6, 5))
}
