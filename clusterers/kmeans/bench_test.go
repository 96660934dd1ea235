package kmeans

import (
	"context"
	"testing"
)

// benchmarkFit times Fit with k=10, n_init=10 on n×d overlapping blobs (10
// centres, noise wide enough that Lloyd runs tens of rounds). The peer,
// scikit-learn KMeans(k=10, n_init=10) on MNIST-70k pixels, is timed with
// BenchmarkFitMNIST70k (bench_mnist_test.go).
func benchmarkFit(b *testing.B, n, d int) {
	x, _ := lcgBlobs(1, n, d, 10, 40)
	c := configured(b, d, 1, map[string]any{"k": 10, "n_init": 10})
	b.ResetTimer()
	for b.Loop() {
		if _, err := c.Fit(context.Background(), x); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFit70kx10 fits 70,000 × 10 embeddings, DCN's usual setting.
func BenchmarkFit70kx10(b *testing.B) { benchmarkFit(b, 70000, 10) }

// BenchmarkFit10kx784 fits 10,000 × 784 (MNIST-10k pixel width).
func BenchmarkFit10kx784(b *testing.B) { benchmarkFit(b, 10000, 784) }

// BenchmarkFit70kx784 fits MNIST-70k-sized data, the peer's setting.
func BenchmarkFit70kx784(b *testing.B) { benchmarkFit(b, 70000, 784) }
