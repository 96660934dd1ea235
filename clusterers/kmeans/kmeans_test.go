package kmeans

import (
	"context"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/deepclust/deepclust/internal/metrics"
	"github.com/deepclust/deepclust/sdk"
)

// lcgBlobs reproduces blobs() from the reference script below: k integer
// centres in [-10, 10]^d, row i drawn around centre i mod k with uniform
// noise of width spread, computed in float64 and rounded to float32.
func lcgBlobs(seed uint64, n, d, k int, spread float64) (sdk.Tensor, []int32) {
	s := seed
	next := func() uint64 {
		s = s*6364136223846793005 + 1442695040888963407
		return s
	}
	centres := make([]float64, k*d)
	for i := range centres {
		centres[i] = float64((next()>>40)%21) - 10
	}
	x := sdk.NewTensor(n, d)
	truth := make([]int32, n)
	for i := range n {
		truth[i] = int32(i % k)
		for t := range d {
			u := float64(next()>>11)*0x1p-53 - 0.5
			x.Data[i*d+t] = float32(centres[(i%k)*d+t] + spread*u)
		}
	}
	return x, truth
}

// Reference numbers from scikit-learn 1.2.1 (Debian python3-sklearn, run
// with /usr/bin/python3):
//
//	import numpy as np
//	from sklearn.cluster import KMeans
//
//	def blobs(seed, n, d, k, spread):
//	    s = seed
//	    def nxt():
//	        nonlocal s
//	        s = (s * 6364136223846793005 + 1442695040888963407) % 2**64
//	        return s
//	    centers = [[float((nxt() >> 40) % 21) - 10 for _ in range(d)] for _ in range(k)]
//	    x = np.empty((n, d), dtype=np.float32)
//	    for i in range(n):
//	        for t in range(d):
//	            u = (nxt() >> 11) * 2.0**-53 - 0.5
//	            x[i, t] = np.float32(centers[i % k][t] + spread * u)
//	    return x.astype(np.float64)
//
//	X = blobs(11, 2000, 5, 6, 8.0)
//	inertias = [KMeans(6, n_init=10, random_state=r, algorithm="lloyd").fit(X).inertia_
//	            for r in range(5)]
//	# -> 53042.970585351461 53042.679715908038 53042.679715908038
//	#    53042.970585351461 53042.679715908038
//
//	X = blobs(12, 1500, 4, 5, 24.0)
//	km = KMeans(5, init=X[5:10], n_init=1, max_iter=300, tol=1e-4, algorithm="lloyd").fit(X)
//	lab = km.labels_
//	print(km.n_iter_, km.inertia_, np.bincount(lab, minlength=5).tolist(),
//	      int((np.arange(len(lab)) * lab).sum()))
//	# -> 22 192997.77391366099 [283, 312, 325, 277, 303] 2260042
//
//	X = np.array([[0.0], [1.0], [3.0], [10.0], [11.0]])
//	km = KMeans(3, init=np.array([[1.0], [10.5], [100.0]]), n_init=1, max_iter=1,
//	            algorithm="lloyd").fit(X)
//	# -> cluster_centers_ [0.5, 10.5, 3.0], labels_ [0, 0, 2, 1, 1], inertia_ 1.0
const (
	sklearnBestInertia  = 53042.679715908038 // best over random_state 0..4
	sklearnLloydRounds  = 22
	sklearnLloydInertia = 192997.77391366099
	sklearnLloydSum     = 2260042 // Σ_i i·label_i
)

var sklearnLloydSizes = []int{283, 312, 325, 277, 303}

func configured(t testing.TB, dim int, seed uint64, raw map[string]any) *Clusterer {
	t.Helper()
	c := New()
	cfg, err := sdk.ResolveConfig(c.Describe(), raw)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Configure(context.Background(), sdk.Setup{Config: cfg, EmbeddingDim: dim, Seed: seed}); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestRecoversSeparatedBlobs(t *testing.T) {
	x, truth := lcgBlobs(3, 900, 6, 5, 1.0) // centres ≥ 1 apart per axis, noise ±0.5
	c := configured(t, 6, 1, map[string]any{"k": 5})
	got, err := c.Fit(context.Background(), x)
	if err != nil {
		t.Fatal(err)
	}
	acc, err := metrics.ACC(truth, got.Labels)
	if err != nil {
		t.Fatal(err)
	}
	if acc != 1 {
		t.Fatalf("accuracy %v on well-separated blobs, want 1", acc)
	}
}

func TestBestInertiaMatchesScikitLearn(t *testing.T) {
	x, _ := lcgBlobs(11, 2000, 5, 6, 8.0)
	for _, seed := range []uint64{1, 2} {
		c := configured(t, 5, seed, map[string]any{"k": 6})
		got, err := c.Fit(context.Background(), x)
		if err != nil {
			t.Fatal(err)
		}
		// Seeding differs from numpy's generator, so compare the
		// best-of-10 inertia within 1%.
		if got.Objective > sklearnBestInertia*1.01 || got.Objective < sklearnBestInertia*0.99 {
			t.Errorf("seed %d: inertia %v, scikit-learn best %v (tolerance 1%%)", seed, got.Objective, sklearnBestInertia)
		}
	}
}

func TestLloydFromGivenCentresMatchesScikitLearn(t *testing.T) {
	x, _ := lcgBlobs(12, 1500, 4, 5, 24.0)
	a := newData(x.Data, 1500, 4)
	init := make([]float64, 5*4)
	for i, v := range x.Data[5*4 : 10*4] {
		init[i] = float64(v)
	}
	labels, obj, rounds := lloyd(a, newCentres(init, 5, 4), 300, tolerance(a, 1e-4))
	if rounds != sklearnLloydRounds {
		t.Errorf("%d rounds, scikit-learn %d", rounds, sklearnLloydRounds)
	}
	if math.Abs(obj-sklearnLloydInertia) > 1e-6*sklearnLloydInertia {
		t.Errorf("inertia %.17g, scikit-learn %.17g (relative tolerance 1e-6)", obj, sklearnLloydInertia)
	}
	sizes := make([]int, 5)
	sum := 0
	for i, l := range labels {
		sizes[l]++
		sum += i * int(l)
	}
	if !slices.Equal(sizes, sklearnLloydSizes) || sum != sklearnLloydSum {
		t.Errorf("sizes %v, Σ i·label %d; scikit-learn %v, %d (exact)", sizes, sum, sklearnLloydSizes, sklearnLloydSum)
	}
}

func TestEmptyClusterIsReseededWithFarthestPoint(t *testing.T) {
	// Centre 100 attracts no point; the point farthest from its centre is
	// x=3 (distance² 4 to centre 1), so it becomes the third centre and
	// leaves cluster 0 as {0, 1}: scikit-learn gives the same (see above).
	x := []float32{0, 1, 3, 10, 11}
	a := newData(x, 5, 1)
	c := newCentres([]float64{1, 10.5, 100}, 3, 1)
	labels, obj, _ := lloyd(a, c, 1, 0)
	if !slices.Equal(c.f64, []float64{0.5, 10.5, 3}) {
		t.Fatalf("centres after one round %v, want [0.5 10.5 3]", c.f64)
	}
	if !slices.Equal(labels, []int32{0, 0, 2, 1, 1}) || obj != 1 {
		t.Fatalf("labels %v inertia %v, want [0 0 2 1 1] and 1", labels, obj)
	}
}

func TestDeterministic(t *testing.T) {
	x, _ := lcgBlobs(5, 3000, 7, 8, 10.0) // more than one chunk, overlapping
	fit := func(procs int) (sdk.Assignment, []float64) {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
		c := configured(t, 7, 42, map[string]any{"k": 8, "n_init": 3})
		got, err := c.Fit(context.Background(), x)
		if err != nil {
			t.Fatal(err)
		}
		return got, c.centroids
	}
	a1, c1 := fit(2)
	a2, c2 := fit(2)
	a3, c3 := fit(1)
	for _, other := range []struct {
		a sdk.Assignment
		c []float64
	}{{a2, c2}, {a3, c3}} {
		if !slices.Equal(a1.Labels, other.a.Labels) || !slices.Equal(c1, other.c) || a1.Objective != other.a.Objective {
			t.Fatal("same seed gave different results (GOMAXPROCS 2 vs 2 or 1)")
		}
	}
}

// fitted1D returns a clusterer fitted on 1-D data {0, 0, 10, 10} with k=2
// whose centroids are exactly [0 10] and assignments [0 0 1 1]: the label
// order depends on the seed, so it tries seeds until cluster 0 is at 0.
func fitted1D(t *testing.T, raw map[string]any) *Clusterer {
	t.Helper()
	raw["k"] = 2
	for seed := range uint64(20) {
		c := configured(t, 1, seed, raw)
		got, err := c.Fit(context.Background(), sdk.Tensor{Shape: []int{4, 1}, Data: []float32{0, 0, 10, 10}})
		if err != nil {
			t.Fatal(err)
		}
		if slices.Equal(c.centroids, []float64{0, 10}) && slices.Equal(got.Labels, []int32{0, 0, 1, 1}) {
			return c
		}
	}
	t.Fatal("no seed in 0..19 fits {0,0,10,10} with centroids [0 10]")
	return nil
}

func TestOnlineUpdateByHand(t *testing.T) {
	ctx := context.Background()
	c := fitted1D(t, map[string]any{"count_init": 2.0})
	batch := sdk.ClusterLossRequest{Z: sdk.Tensor{Shape: []int{3, 1}, Data: []float32{1, 9, 4}}, Indices: []int64{0, 2, 1}, Train: true}
	if _, err := c.Loss(ctx, batch); err != nil {
		t.Fatal(err)
	}
	if err := c.Step(ctx, sdk.ClusterStepRequest{}); err != nil {
		t.Fatal(err)
	}
	// z=1 → cluster 0: c=3, μ0 = 0 − (0−1)/3 = 1/3
	// z=9 → cluster 1: c=3, μ1 = 10 − (10−9)/3 = 29/3
	// z=4 → cluster 0 (assigned against the centroids before the step):
	//        c=4, μ0 = 1/3 − (1/3 − 4)/4 = 5/4
	want := []float64{5.0 / 4, 29.0 / 3}
	for j := range want {
		if math.Abs(c.centroids[j]-want[j]) > 1e-12 {
			t.Fatalf("centroids %v, want %v", c.centroids, want)
		}
	}
	if !slices.Equal(c.counts, []float64{4, 3}) || !slices.Equal(c.assignments, []int32{0, 0, 1, 1}) {
		t.Fatalf("counts %v assignments %v, want [4 3] [0 0 1 1]", c.counts, c.assignments)
	}
	if err := c.Step(ctx, sdk.ClusterStepRequest{}); err == nil {
		t.Fatal("second Step without a new training Loss accepted")
	}

	// Centroid gradient first (μ − 0.5·g = {−1, 12}), then the online
	// update: z=11 is nearer 12, c1=2 → μ1 = 12 − (12−11)/2 = 11.5, and
	// sample 0 moves to cluster 1.
	c = fitted1D(t, map[string]any{"count_init": 1.0, "centroid_lr": 0.5})
	batch = sdk.ClusterLossRequest{Z: sdk.Tensor{Shape: []int{1, 1}, Data: []float32{11}}, Indices: []int64{0}, Train: true}
	if _, err := c.Loss(ctx, batch); err != nil {
		t.Fatal(err)
	}
	grad := sdk.Tensor{Shape: []int{2, 1}, Data: []float32{2, -4}}
	if err := c.Step(ctx, sdk.ClusterStepRequest{GradCentroids: grad}); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(c.centroids, []float64{-1, 11.5}) || c.assignments[0] != 1 {
		t.Fatalf("centroids %v, assignment of sample 0 %d; want [-1 11.5] and 1", c.centroids, c.assignments[0])
	}
}

func TestLossGradientFiniteDifferences(t *testing.T) {
	ctx := context.Background()
	x, _ := lcgBlobs(7, 200, 3, 4, 6.0)
	c := configured(t, 3, 9, map[string]any{"k": 4, "n_init": 2})
	if _, err := c.Fit(ctx, x); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	const n = 8
	z := sdk.NewTensor(n, 3)
	idx := make([]int64, n)
	for b := range n {
		idx[b] = int64(rng.IntN(200))
		for t := range 3 {
			z.Data[b*3+t] = float32(rng.NormFloat64() * 4)
		}
	}
	req := sdk.ClusterLossRequest{Z: z, Indices: idx}
	out, err := c.Loss(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	// L is quadratic in z, so a central difference is exact up to
	// rounding: h = 1/64 is exact in float32 for these magnitudes.
	const h = 1.0 / 64
	for i := range z.Data {
		orig := z.Data[i]
		z.Data[i] = orig + h
		up, _ := c.Loss(ctx, req)
		z.Data[i] = orig - h
		down, _ := c.Loss(ctx, req)
		z.Data[i] = orig
		fd := (up.Value - down.Value) / (2 * h)
		if g := float64(out.GradZ.Data[i]); math.Abs(g-fd) > 1e-5*max(1, math.Abs(fd)) {
			t.Fatalf("∂L/∂z[%d] = %v, finite difference %v (tolerance 1e-5 relative)", i, g, fd)
		}
	}
	if err := out.Centroids.CheckShape(4, 3); err != nil {
		t.Fatal(err)
	}
}

func TestUpdateModes(t *testing.T) {
	ctx := context.Background()
	x, _ := lcgBlobs(8, 600, 4, 5, 12.0)
	for _, mode := range []string{UpdateAssign, UpdateLloyd} {
		c := configured(t, 4, 3, map[string]any{"k": 5, "n_init": 1, "max_iter": 2, "update": mode})
		fit, err := c.Fit(ctx, x)
		if err != nil {
			t.Fatal(err)
		}
		before := slices.Clone(c.centroids)
		up, err := c.Update(ctx, x)
		if err != nil {
			t.Fatal(err)
		}
		assigned, err := c.Assign(ctx, x)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(up.Labels, assigned.Labels) || !slices.Equal(c.assignments, up.Labels) {
			t.Fatalf("%s: Update labels are not the nearest centroids", mode)
		}
		switch mode {
		case UpdateAssign:
			if !slices.Equal(before, c.centroids) {
				t.Fatal("assign: centroids changed")
			}
		case UpdateLloyd:
			if up.Objective >= fit.Objective {
				t.Fatalf("lloyd: inertia %v after Update, %v after a 2-round Fit", up.Objective, fit.Objective)
			}
		}
	}
}

func TestSaveLoadRoundTrip(t *testing.T) {
	ctx := context.Background()
	c := fitted1D(t, map[string]any{"count_init": 7.0})
	state, err := c.Save(ctx)
	if err != nil {
		t.Fatal(err)
	}
	d := configured(t, 1, 0, map[string]any{"k": 2})
	if err := d.Load(ctx, state); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(d.centroids, c.centroids) || !slices.Equal(d.counts, c.counts) || !slices.Equal(d.assignments, c.assignments) {
		t.Fatal("Load did not restore the saved state")
	}
	if err := configured(t, 2, 0, map[string]any{"k": 2}).Load(ctx, state); err == nil {
		t.Fatal("state of width 1 loaded into width 2")
	}
	if err := d.Load(ctx, state[:len(state)-1]); err == nil {
		t.Fatal("truncated state loaded")
	}
}

func TestBadInput(t *testing.T) {
	ctx := context.Background()
	c := configured(t, 2, 0, map[string]any{"k": 3})
	two := func(rows int, vals ...float32) sdk.Tensor { return sdk.Tensor{Shape: []int{rows, 2}, Data: vals} }
	if _, err := c.Loss(ctx, sdk.ClusterLossRequest{Z: two(1, 0, 0), Indices: []int64{0}}); err == nil || !strings.Contains(err.Error(), "before Fit") {
		t.Errorf("Loss before Fit: %v", err)
	}
	cases := []struct {
		name string
		z    sdk.Tensor
		want string
	}{
		{"k > n", two(2, 0, 0, 1, 1), "need at least 3"},
		{"wrong width", sdk.Tensor{Shape: []int{4, 1}, Data: []float32{0, 1, 2, 3}}, "shape"},
		{"NaN", two(3, 0, 0, 1, float32(math.NaN()), 2, 2), "NaN"},
	}
	for _, tc := range cases {
		if _, err := c.Fit(ctx, tc.z); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one mentioning %q", tc.name, err, tc.want)
		}
	}
	if _, err := c.Fit(ctx, two(3, 0, 0, 1, 1, 5, 5)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Loss(ctx, sdk.ClusterLossRequest{Z: two(1, 0, 0), Indices: []int64{3}}); err == nil || !strings.Contains(err.Error(), "index 3") {
		t.Errorf("out-of-range index: %v", err)
	}
	if err := c.Step(ctx, sdk.ClusterStepRequest{}); err == nil {
		t.Error("Step without a training Loss accepted")
	}
	if _, err := c.Update(ctx, two(2, 0, 0, 1, 1)); err == nil {
		t.Error("Update with a different number of rows accepted")
	}
	if err := New().Configure(ctx, sdk.Setup{Config: sdk.Config{"k": 0, "n_init": 1, "max_iter": 1, "tol": 0.0, "update": "assign", "count_init": 1.0, "centroid_lr": 0.0}, EmbeddingDim: 2}); err == nil {
		t.Error("k=0 accepted")
	}
}
