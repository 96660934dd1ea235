package app

import (
	"context"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/deepclust/deepclust/internal/knn"
)

// knnBench holds the bench command's nearest-neighbour measurements.
type knnBench struct {
	exact, approx float64 // seconds, medians
	recall        float64 // recall@10 of the approximate search
}

// knnBenchData describes the data of benchKNN in the bench output.
const knnBenchData = "generated 70,000×10 points, 10 Gaussian clusters (knn.Blobs, seed 1), k = 10"

// benchKNN times the exact (tiled GEMM) and the approximate (NN-descent)
// search of the 10 nearest neighbours of 70,000 generated points of
// dimension 10 in 10 Gaussian clusters (the shape of the MNIST
// autoencoder codes), alternating the two: min(runs, 3) exact runs, since
// one takes seconds, and runs approximate ones; it returns the medians and
// the approximate search's recall@10 against the exact one.
func benchKNN(ctx context.Context, runs int) (knnBench, error) {
	const n, d, k = 70000, 10, 10
	x := knn.Blobs(n, d, 10, 4, 1)
	var exactSec, approxSec []float64
	var exact, approx *knn.Neighbours
	for r := range runs {
		if r < min(runs, 3) {
			begin := time.Now()
			nb, err := knn.Search(ctx, x, n, d, k)
			if err != nil {
				return knnBench{}, fmt.Errorf("bench: exact kNN: %w", err)
			}
			exactSec, exact = append(exactSec, time.Since(begin).Seconds()), nb
		}
		begin := time.Now()
		nb, err := knn.Approx(ctx, x, n, d, k, knn.ApproxOptions{Seed: 1})
		if err != nil {
			return knnBench{}, fmt.Errorf("bench: approximate kNN: %w", err)
		}
		approxSec, approx = append(approxSec, time.Since(begin).Seconds()), nb
	}
	return knnBench{exact: knnMedian(exactSec), approx: knnMedian(approxSec), recall: knn.Recall(approx, exact)}, nil
}

// knnMedian is the median of s (the upper one of an even count).
func knnMedian(s []float64) float64 {
	s = slices.Clone(s)
	slices.Sort(s)
	return s[len(s)/2]
}

// addJSON adds the kNN fields to the bench command's JSON object.
func (b knnBench) addJSON(out map[string]any) {
	out["knn_70k_seconds_exact"] = b.exact
	out["knn_70k_seconds_approx"] = b.approx
	out["knn_recall_at_10"] = b.recall
	out["knn_data"] = knnBenchData
}

// text prints the kNN lines of the bench table.
func (b knnBench) text(w io.Writer) {
	fmt.Fprintf(w, "kNN 70,000×10 exact (tiled GEMM)\t%.2f s\n", b.exact)
	fmt.Fprintf(w, "kNN 70,000×10 approx (NN-descent)\t%.2f s, recall@10 %.4f, %.1f× faster\n", b.approx, b.recall, b.exact/b.approx)
	fmt.Fprintf(w, "  data\t%s\n", knnBenchData)
}
