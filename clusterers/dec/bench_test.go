package dec

import (
	"context"
	"testing"

	"github.com/deepclust/deepclust/sdk"
)

// BenchmarkUpdate70k measures Q and P on 70,000 × 10 embeddings, k = 10
// (MNIST-70k with the usual 10-wide code).
func BenchmarkUpdate70k(b *testing.B) {
	ctx := context.Background()
	z := blobs(1, 70000, 10, 10, 3)
	c := configured(b, 10, 1, map[string]any{"n_init": 1})
	if _, err := c.Fit(ctx, z); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := c.Update(ctx, z); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLossStep256 measures one training Loss and Step on a batch of
// 256 × 10, k = 10.
func BenchmarkLossStep256(b *testing.B) {
	ctx := context.Background()
	z := blobs(2, 2560, 10, 10, 3)
	c := configured(b, 10, 1, map[string]any{"n_init": 1})
	if _, err := c.Fit(ctx, z); err != nil {
		b.Fatal(err)
	}
	batch := sdk.Tensor{Shape: []int{256, 10}, Data: z.Data[:2560]}
	idx := make([]int64, 256)
	for i := range idx {
		idx[i] = int64(i)
	}
	for b.Loop() {
		if _, err := c.Loss(ctx, sdk.ClusterLossRequest{Z: batch, Indices: idx, Train: true}); err != nil {
			b.Fatal(err)
		}
		if err := c.Step(ctx, sdk.ClusterStepRequest{Weight: 1}); err != nil {
			b.Fatal(err)
		}
	}
}
