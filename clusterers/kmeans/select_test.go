package kmeans

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/deepclust/deepclust/internal/knn"
	"github.com/deepclust/deepclust/validity"

	"github.com/deepclust/deepclust/sdk"
)

// unequalBlobs returns 900 2-D points in four groups of unequal spread:
// one wide Gaussian (400 points, σ = 4, at the origin), two tight adjacent
// ones (150 points each, σ = 0.5, at (30, 0) and (33, 0)) and a medium one
// (200 points, σ = 2, at (0, 25)). Its k = 4 k-means restarts end in
// partitions of differing inertia and modularity.
func unequalBlobs() (sdk.Tensor, []int32) {
	rng := rand.New(rand.NewPCG(7, 7))
	var x []float32
	var y []int32
	add := func(n int, cx, cy, sd float64, label int32) {
		for range n {
			x = append(x, float32(cx+sd*rng.NormFloat64()), float32(cy+sd*rng.NormFloat64()))
			y = append(y, label)
		}
	}
	add(400, 0, 0, 4, 0)
	add(150, 30, 0, 0.5, 1)
	add(150, 33, 0, 0.5, 2)
	add(200, 0, 25, 2, 3)
	return sdk.Tensor{Shape: []int{len(y), 2}, Data: x}, y
}

// TestSelectModularity replays Fit's n_init runs (same seed, same random
// stream) and checks that select inertia keeps the run of lowest inertia
// and select modularity the run of highest modularity of the 15-NN graph
// (validity.Modularity, tested against Newman's definition), the earliest
// on ties, and that on this data the two choices differ.
func TestSelectModularity(t *testing.T) {
	z, _ := unequalBlobs()
	const k, nInit, seed = 4, 10, 3
	fit := func(sel string) sdk.Assignment {
		c := configured(t, 2, seed, map[string]any{"k": k, "n_init": nInit, "select": sel})
		a, err := c.Fit(context.Background(), z)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	byInertia, byModularity := fit(SelectInertia), fit(SelectModularity)

	g, err := knn.Search(context.Background(), z.Data, z.Rows(), 2, 15)
	if err != nil {
		t.Fatal(err)
	}
	a := newData(z.Data, z.Rows(), 2)
	rng := rand.New(rand.NewPCG(seed, pcgStream))
	var minInertia, maxQ []int32
	lowest, highest := math.Inf(1), math.Inf(-1)
	distinct := map[float64]bool{}
	for range nInit {
		l, obj, _ := lloyd(a, plusPlus(a, k, rng), 300, tolerance(a, 1e-4))
		q, err := validity.Modularity(g.Index, g.N, g.K, l)
		if err != nil {
			t.Fatal(err)
		}
		distinct[q] = true
		if obj < lowest {
			lowest, minInertia = obj, l
		}
		if q > highest {
			highest, maxQ = q, l
		}
	}
	if len(distinct) < 2 {
		t.Fatalf("all %d runs have the same modularity; the data does not exercise the choice", nInit)
	}
	if !slices.Equal(byInertia.Labels, minInertia) {
		t.Errorf("select inertia did not keep the run of lowest inertia %v", lowest)
	}
	if !slices.Equal(byModularity.Labels, maxQ) {
		t.Errorf("select modularity did not keep the run of highest modularity %v", highest)
	}
	if slices.Equal(byInertia.Labels, byModularity.Labels) {
		t.Errorf("both criteria kept the same run; want different runs on this data")
	}
}

// TestSelectBadConfig: an unknown select value and a non-positive
// select_neighbors are configuration errors.
func TestSelectBadConfig(t *testing.T) {
	for _, raw := range []map[string]any{
		{"k": 3, "select": "silhouette"},
		{"k": 3, "select": "modularity", "select_neighbors": 0},
	} {
		c := New()
		cfg, err := sdk.ResolveConfig(c.Describe(), raw)
		if err != nil {
			continue // rejected by the enum check already
		}
		if err := c.Configure(context.Background(), sdk.Setup{Config: cfg, EmbeddingDim: 2}); err == nil {
			t.Errorf("config %v: no error", raw)
		}
	}
}
