package conv

import (
	"testing"

	"github.com/deepclust/deepclust/internal/statefuzz"
	"github.com/deepclust/deepclust/sdk"
)

// FuzzState feeds Load arbitrary bytes (see statefuzz.Encoder).
func FuzzState(f *testing.F) {
	x := statefuzz.Blobs(4, 2*7*6)
	x.Shape = []int{4, 2, 7, 6}
	statefuzz.Encoder(f, func(tb testing.TB) sdk.Encoder {
		return newTestEncoder(tb, tinyConfig("relu", "linear"), []int{2, 7, 6}, 7)
	}, x)
}
