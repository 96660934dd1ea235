package knn

import (
	"context"
	"fmt"
)

// The search methods a graph builder's config chooses between (config key
// knn_search).
const (
	// MethodAuto is MethodExact up to AutoApproxRows points and
	// MethodApprox above.
	MethodAuto = "auto"
	// MethodExact is Search: every pair of points, exact neighbours.
	MethodExact = "exact"
	// MethodApprox is Approx: NN-descent from a random-projection forest
	// (below 16 dimensions) or from exact comparisons in k-means cells.
	MethodApprox = "approx"
)

// Methods lists the valid values of a knn_search config key.
var Methods = []string{MethodAuto, MethodExact, MethodApprox}

// AutoApproxRows is the largest number of points MethodAuto searches
// exactly. The exact search's n² cost is still moderate there (on the
// 70,000 MNIST autoencoder codes, 10-d, it took 15 s of CPU on this
// project's 2-core machine, so about 30 s at 100,000), and every
// documented MNIST-70k result keeps the exact graph it was measured with;
// at a million points it would be about 200 times the 70,000-point cost.
const AutoApproxRows = 100_000

// CheckMethod reports a method that is not one of Methods, naming the
// config key it came from.
func CheckMethod(key, method string) error {
	switch method {
	case MethodAuto, MethodExact, MethodApprox:
		return nil
	}
	return fmt.Errorf("config key %q is %q, want %s, %s or %s", key, method, MethodAuto, MethodExact, MethodApprox)
}

// Resolve is the method that method (MethodAuto, MethodExact or
// MethodApprox; "" counts as MethodAuto) runs on n points.
func Resolve(method string, n int) string {
	switch method {
	case MethodExact, MethodApprox:
		return method
	}
	if n > AutoApproxRows {
		return MethodApprox
	}
	return MethodExact
}

// Find returns the k nearest other points of every row of the n×d
// row-major x by the method Resolve(method, n) chooses: Search, or Approx
// seeded by seed (which the exact search does not use).
func Find(ctx context.Context, x []float32, n, d, k int, method string, seed uint64) (*Neighbours, error) {
	if method != "" {
		if err := CheckMethod("knn_search", method); err != nil {
			return nil, fmt.Errorf("knn: %w", err)
		}
	}
	if Resolve(method, n) == MethodApprox {
		return Approx(ctx, x, n, d, k, ApproxOptions{Seed: seed})
	}
	return Search(ctx, x, n, d, k)
}
