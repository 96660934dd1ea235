package gmm

import (
	"context"
	"testing"
)

// benchmarkFit times Fit with k=10 on n×d Gaussian blobs (10 centres of
// spread 3, unit noise), default settings except tol 0 and max_iter 20, so
// that every run is the k-means initialisation plus exactly 20 EM
// iterations whatever the data. N2D's setting is 70,000 × 10 UMAP
// embeddings of MNIST with full covariances.
func benchmarkFit(b *testing.B, n, d int, cov string) {
	x, _ := gaussBlobs(1, n, d, 10, 3)
	c := configured(b, d, 1, map[string]any{"k": 10, "covariance": cov, "tol": 0.0, "max_iter": 20})
	b.ResetTimer()
	for b.Loop() {
		if _, err := c.Fit(context.Background(), x); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFit70kx10 fits 70,000 × 10 embeddings with full covariances,
// N2D's setting.
func BenchmarkFit70kx10(b *testing.B) { benchmarkFit(b, 70000, 10, CovarianceFull) }

// BenchmarkFit70kx10Diag is the same with diagonal covariances.
func BenchmarkFit70kx10Diag(b *testing.B) { benchmarkFit(b, 70000, 10, CovarianceDiag) }

// BenchmarkFit10kx64 fits 10,000 × 64 embeddings with full covariances.
func BenchmarkFit10kx64(b *testing.B) { benchmarkFit(b, 10000, 64, CovarianceFull) }
