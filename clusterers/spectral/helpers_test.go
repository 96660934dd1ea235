package spectral

import (
	"context"
	"testing"

	"github.com/deepclust/deepclust/sdk"
)

// configured returns a spectral clusterer for width-dim embeddings with
// the given config over the defaults.
func configured(tb testing.TB, dim int, seed uint64, raw map[string]any) *Clusterer {
	tb.Helper()
	c := New()
	cfg, err := sdk.ResolveConfig(c.Describe(), raw)
	if err != nil {
		tb.Fatal(err)
	}
	if err := c.Configure(context.Background(), sdk.Setup{Config: cfg, EmbeddingDim: dim, Seed: seed}); err != nil {
		tb.Fatal(err)
	}
	return c
}
