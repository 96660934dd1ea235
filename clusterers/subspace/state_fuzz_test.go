package subspace

import (
	"context"
	"testing"

	"github.com/deepclust/deepclust/internal/statefuzz"
	"github.com/deepclust/deepclust/sdk"
)

// FuzzState feeds Load arbitrary bytes (see statefuzz.Clusterer).
func FuzzState(f *testing.F) {
	statefuzz.Clusterer(f, func(tb testing.TB) sdk.Clusterer {
		c := New()
		cfg, err := sdk.ResolveConfig(c.Describe(), map[string]any{"k": 3})
		if err != nil {
			tb.Fatal(err)
		}
		if err := c.Configure(context.Background(), sdk.Setup{Config: cfg, EmbeddingDim: 3, Seed: 7}); err != nil {
			tb.Fatal(err)
		}
		return c
	}, statefuzz.Blobs(30, 3))
}
