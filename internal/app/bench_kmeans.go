package app

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/deepclust/deepclust/clusterers/kmeans"
	"github.com/deepclust/deepclust/dataset"
	"github.com/deepclust/deepclust/internal/mnist"
	"github.com/deepclust/deepclust/sdk"
)

// kmeansBench holds the bench command's k-means measurement.
type kmeansBench struct {
	seconds float64 // median seconds per fit
	inertia float64
	data    string
}

// benchKMeans times k-means with k = 10, n_init = 10 (kmeans.Cluster, the
// kmeans clusterer's Fit) on 70,000 × 784 rows: the MNIST pixels scaled to
// [0, 1] when the GoMNIST module is in the Go module cache (the data of
// ../shared/bench/sk_kmeans.py, scikit-learn's peer), else uniform
// random pixels. It runs min(runs, 3) fits, since one takes seconds, and
// returns the median.
func benchKMeans(ctx context.Context, runs int) (kmeansBench, error) {
	const n, d = 70000, 784
	var x []float32
	b := kmeansBench{data: "MNIST 70,000×784 pixels in [0,1] (GoMNIST module cache), k = 10, n_init = 10, seed 1"}
	if dir, err := mnist.ModuleCacheDir(); err == nil {
		if ds, err := dataset.Load(dir, dataset.Options{}); err == nil && ds.X.Rows() == n && ds.X.Cols() == d {
			x = ds.X.Data
		}
	}
	if x == nil {
		x = make([]float32, n*d)
		rng := rand.New(rand.NewPCG(1, 3))
		for i := range x {
			x[i] = float32(rng.IntN(256)) / 255
		}
		b.data = "uniform random 70,000×784 pixels k/255 (no GoMNIST in the module cache), k = 10, n_init = 10, seed 1"
	}
	z := sdk.Tensor{Shape: []int{n, d}, Data: x}
	var sec []float64
	for range min(runs, 3) {
		if err := ctx.Err(); err != nil {
			return kmeansBench{}, err
		}
		begin := time.Now()
		res, err := kmeans.Cluster(z, 10, 10, 300, 1e-4, 1)
		if err != nil {
			return kmeansBench{}, fmt.Errorf("bench: k-means: %w", err)
		}
		sec = append(sec, time.Since(begin).Seconds())
		b.inertia = res.Inertia
	}
	slices.Sort(sec)
	b.seconds = sec[len(sec)/2]
	return b, nil
}

// addJSON adds the k-means fields to the bench command's JSON object.
func (b kmeansBench) addJSON(out map[string]any) {
	out["kmeans_70k_seconds"] = b.seconds
	out["kmeans_70k_inertia"] = b.inertia
	out["kmeans_data"] = b.data
}

// text prints the k-means lines of the bench table.
func (b kmeansBench) text(w io.Writer) {
	fmt.Fprintf(w, "k-means 70,000×784, k 10, n_init 10\t%.2f s, inertia %.1f\n", b.seconds, b.inertia)
	fmt.Fprintf(w, "  data\t%s\n", b.data)
}
