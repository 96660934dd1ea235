package spectral

import (
	"context"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/deepclust/deepclust/clusterers/kmeans"
	"github.com/deepclust/deepclust/internal/metrics"
	"github.com/deepclust/deepclust/sdk"
)

// moons follows scikit-learn's make_moons: half the points on the upper
// half circle (cos t, sin t), half on the shifted lower one
// (1 − cos t, 0.5 − sin t), t evenly spaced in [0, π], plus Gaussian noise.
func moons(seed uint64, n int, noise float64) (sdk.Tensor, []int32) {
	rng := rand.New(rand.NewPCG(seed, 2))
	x := sdk.NewTensor(n, 2)
	truth := make([]int32, n)
	half := n / 2
	for i := range n {
		c := i / half
		if c > 1 {
			c = 1
		}
		t := math.Pi * float64(i-c*half) / float64(max(half-1, 1))
		px, py := math.Cos(t), math.Sin(t)
		if c == 1 {
			px, py = 1-px, 0.5-py
		}
		x.Data[2*i] = float32(px + noise*rng.NormFloat64())
		x.Data[2*i+1] = float32(py + noise*rng.NormFloat64())
		truth[i] = int32(c)
	}
	return x, truth
}

// circles follows scikit-learn's make_circles: an outer unit circle and an
// inner one of radius factor, plus Gaussian noise.
func circles(seed uint64, n int, factor, noise float64) (sdk.Tensor, []int32) {
	rng := rand.New(rand.NewPCG(seed, 3))
	x := sdk.NewTensor(n, 2)
	truth := make([]int32, n)
	for i := range n {
		c := i % 2
		r := 1.0
		if c == 1 {
			r = factor
		}
		t := 2 * math.Pi * float64(i/2) / float64(n/2)
		x.Data[2*i] = float32(r*math.Cos(t) + noise*rng.NormFloat64())
		x.Data[2*i+1] = float32(r*math.Sin(t) + noise*rng.NormFloat64())
		truth[i] = int32(c)
	}
	return x, truth
}

func accuracy(t *testing.T, truth, pred []int32) float64 {
	t.Helper()
	acc, err := metrics.ACC(truth, pred)
	if err != nil {
		t.Fatal(err)
	}
	return acc
}

// TestNonConvexClusters checks that spectral clustering separates two
// moons and two concentric circles (ACC ≥ 0.99) where k-means on the same
// points cannot (ACC < 0.9): the clusters are not convex.
func TestNonConvexClusters(t *testing.T) {
	ctx := context.Background()
	m, mt := moons(1, 1000, 0.05)
	c, ct := circles(1, 1000, 0.5, 0.05)
	for _, tc := range []struct {
		name  string
		x     sdk.Tensor
		truth []int32
		raw   map[string]any
	}{
		{"moons", m, mt, nil},
		{"moons selftune", m, mt, map[string]any{"affinity": AffinitySelfTune}},
		{"moons cluster_qr", m, mt, map[string]any{"assign": AssignClusterQR}},
		{"circles", c, ct, nil},
		{"circles rbf", c, ct, map[string]any{"affinity": AffinityRBF, "sigma": 0.1}},
		{"moons approx kNN", m, mt, map[string]any{"knn_search": "approx"}},
		{"circles approx kNN", c, ct, map[string]any{"knn_search": "approx"}},
	} {
		raw := map[string]any{"k": 2}
		for key, v := range tc.raw {
			raw[key] = v
		}
		asg, err := configured(t, 2, 1, raw).Fit(ctx, tc.x)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if acc := accuracy(t, tc.truth, asg.Labels); acc < 0.99 {
			t.Errorf("%s: spectral ACC %.3f, want ≥ 0.99", tc.name, acc)
		}
	}
	for _, tc := range []struct {
		name  string
		x     sdk.Tensor
		truth []int32
	}{{"moons", m, mt}, {"circles", c, ct}} {
		km := kmeans.New()
		cfg, err := sdk.ResolveConfig(km.Describe(), map[string]any{"k": 2})
		if err != nil {
			t.Fatal(err)
		}
		if err := km.Configure(ctx, sdk.Setup{Config: cfg, EmbeddingDim: 2, Seed: 1}); err != nil {
			t.Fatal(err)
		}
		asg, err := km.Fit(ctx, tc.x)
		if err != nil {
			t.Fatal(err)
		}
		if acc := accuracy(t, tc.truth, asg.Labels); acc >= 0.9 {
			t.Errorf("%s: k-means ACC %.3f; the data set does not show the non-convex case", tc.name, acc)
		}
	}
}

// blobs returns k tight Gaussian blobs of per points in dim dimensions,
// centres spaced far apart on the axes.
func blobs(seed uint64, k, per, dim int, spread float64) (sdk.Tensor, []int32) {
	rng := rand.New(rand.NewPCG(seed, 4))
	x := sdk.NewTensor(k*per, dim)
	truth := make([]int32, k*per)
	for i := range k * per {
		c := i % k
		truth[i] = int32(c)
		for t := range dim {
			centre := 0.0
			if t == c%dim {
				centre = 10 * float64(1+c/dim)
			}
			x.Data[i*dim+t] = float32(centre + spread*rng.NormFloat64())
		}
	}
	return x, truth
}

func TestBadGraphsAndSizes(t *testing.T) {
	ctx := context.Background()
	three, _ := blobs(2, 3, 20, 3, 0.1)
	for _, tc := range []struct {
		name string
		x    sdk.Tensor
		raw  map[string]any
		want string
	}{
		{"components > k", three, map[string]any{"k": 2, "knn": 5}, "the knn=5 graph of 60 points has 3 connected components, more than k=2"},
		{"k > n", three, map[string]any{"k": 61}, "k=61 clusters but only 60 points"},
		{"knn > n", three, map[string]any{"k": 3, "knn": 61}, "knn=61 needs at least 61 points, got 60"},
		{"scale_neighbor > n", three, map[string]any{"k": 3, "affinity": AffinitySelfTune, "scale_neighbor": 60}, "knn=10 and scale_neighbor=60 need at least 61 points, got 60"},
	} {
		_, err := configured(t, 3, 1, tc.raw).Fit(ctx, tc.x)
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: error %v, want one line containing %q", tc.name, err, tc.want)
		}
	}
	// As many components as clusters is fine: each blob is one cluster.
	x, truth := blobs(2, 3, 20, 3, 0.1)
	asg, err := configured(t, 3, 1, map[string]any{"k": 3, "knn": 5}).Fit(ctx, x)
	if err != nil {
		t.Fatal(err)
	}
	if acc := accuracy(t, truth, asg.Labels); acc != 1 {
		t.Errorf("three components, k=3: ACC %.3f, want 1", acc)
	}
}

func TestConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		raw  map[string]any
		want string
	}{
		{map[string]any{"k": 0}, `"k" is 0`},
		{map[string]any{"knn": 1}, `"knn" is 1, want at least 2`},
		{map[string]any{"sigma": 0.0}, `"sigma" is 0`},
		{map[string]any{"n_init": 0}, `"n_init" is 0`},
		{map[string]any{"eig_tol": 1.0}, `"eig_tol" is 1`},
		{map[string]any{"centroid_lr": -1.0}, `"centroid_lr" is -1`},
		{map[string]any{"scale_neighbor": 0}, `"scale_neighbor" is 0`},
	} {
		c := New()
		cfg, err := sdk.ResolveConfig(c.Describe(), tc.raw)
		if err != nil {
			t.Fatal(err)
		}
		err = c.Configure(context.Background(), sdk.Setup{Config: cfg, EmbeddingDim: 2})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: error %v, want %q", tc.raw, err, tc.want)
		}
	}
	if _, err := sdk.ResolveConfig(New().Describe(), map[string]any{"affinity": "cosine"}); err == nil {
		t.Error("affinity cosine accepted")
	}
	if _, err := sdk.ResolveConfig(New().Describe(), map[string]any{"knn_search": "hnsw"}); err == nil {
		t.Error("knn_search hnsw accepted")
	}
	if err := New().Configure(context.Background(), sdk.Setup{EmbeddingDim: 0}); err == nil {
		t.Error("embedding dimension 0 accepted")
	}
	if _, err := New().Fit(context.Background(), sdk.NewTensor(3, 2)); err == nil || !strings.Contains(err.Error(), "before Configure") {
		t.Errorf("Fit before Configure: %v", err)
	}
}

// TestDeterministic fits the same data twice and with GOMAXPROCS 1 and 2
// (with the exact and the approximate kNN graph); the labels and the
// objective must be identical.
func TestDeterministic(t *testing.T) {
	x, _ := moons(3, 1500, 0.1)
	fit := func(raw map[string]any) sdk.Assignment {
		asg, err := configured(t, 2, 9, raw).Fit(context.Background(), x)
		if err != nil {
			t.Fatal(err)
		}
		return asg
	}
	for _, raw := range []map[string]any{{"k": 4}, {"k": 4, "assign": AssignClusterQR, "affinity": AffinitySelfTune}, {"k": 4, "knn_search": "approx"}} {
		first := fit(raw)
		prev := runtime.GOMAXPROCS(1)
		single := fit(raw)
		runtime.GOMAXPROCS(prev)
		again := fit(raw)
		for _, other := range []sdk.Assignment{single, again} {
			if !slices.Equal(first.Labels, other.Labels) || first.Objective != other.Objective {
				t.Fatalf("%v: runs differ (objective %v vs %v)", raw, first.Objective, other.Objective)
			}
		}
	}
}

// fitted returns a clusterer fitted on three blobs in 4 dimensions.
func fittedBlobs(t *testing.T, raw map[string]any) (*Clusterer, sdk.Tensor, sdk.Assignment) {
	t.Helper()
	x, _ := blobs(5, 3, 40, 4, 1)
	base := map[string]any{"k": 3, "centroid_lr": 0.5}
	for key, v := range raw {
		base[key] = v
	}
	c := configured(t, 4, 2, base)
	asg, err := c.Fit(context.Background(), x)
	if err != nil {
		t.Fatal(err)
	}
	return c, x, asg
}

// TestLossGradient checks L_c against its definition with the cluster
// means and ∂L_c/∂z against central finite differences (step 1e-2 in
// float32 inputs; L_c is quadratic, so the difference quotient is exact up
// to rounding: tolerance 1e-3 relative).
func TestLossGradient(t *testing.T) {
	ctx := context.Background()
	c, x, asg := fittedBlobs(t, nil)
	idx := []int64{0, 5, 17, 42, 99}
	batch := sdk.NewTensor(len(idx), 4)
	for b, i := range idx {
		copy(batch.Row(b), x.Row(int(i)))
		batch.Row(b)[1] += 0.3 // off the fitted points
	}
	loss, err := c.Loss(ctx, sdk.ClusterLossRequest{Z: batch, Indices: idx, Train: true})
	if err != nil {
		t.Fatal(err)
	}
	// Reference: means of the fitted rows per Fit label.
	mu := make([][4]float64, 3)
	count := make([]float64, 3)
	for i, s := range asg.Labels {
		count[s]++
		for t := range 4 {
			mu[s][t] += float64(x.Row(i)[t])
		}
	}
	var want float64
	for b, i := range idx {
		s := asg.Labels[i]
		for t := range 4 {
			d := float64(batch.Row(b)[t]) - mu[s][t]/count[s]
			want += d * d
		}
	}
	want /= float64(len(idx))
	if math.Abs(loss.Value-want) > 1e-9*want {
		t.Errorf("L_c = %.12g, want %.12g", loss.Value, want)
	}
	if err := loss.Centroids.CheckShape(3, 4); err != nil {
		t.Error(err)
	}
	const h = 1e-2
	for e := range batch.Data {
		orig := batch.Data[e]
		batch.Data[e] = orig + h
		up, err := c.Loss(ctx, sdk.ClusterLossRequest{Z: batch, Indices: idx})
		if err != nil {
			t.Fatal(err)
		}
		batch.Data[e] = orig - h
		down, _ := c.Loss(ctx, sdk.ClusterLossRequest{Z: batch, Indices: idx})
		batch.Data[e] = orig
		fd := (up.Value - down.Value) / (float64(orig+h) - float64(orig-h))
		if g := float64(loss.GradZ.Data[e]); math.Abs(g-fd) > 1e-3*max(math.Abs(fd), 1e-2) {
			t.Errorf("∂L/∂z[%d] = %g, finite difference %g", e, g, fd)
		}
	}
	if _, err := c.Loss(ctx, sdk.ClusterLossRequest{Z: batch, Indices: []int64{0, 1, 2, 3, 120}}); err == nil || !strings.Contains(err.Error(), "index 120") {
		t.Errorf("out-of-range index: %v", err)
	}
}

func TestStepUpdateAssign(t *testing.T) {
	ctx := context.Background()
	c, x, asg := fittedBlobs(t, nil)
	before := slices.Clone(c.centroids)
	if err := c.Step(ctx, sdk.ClusterStepRequest{}); err != nil || !slices.Equal(before, c.centroids) {
		t.Fatalf("Step without gradients: err %v, centroids changed %v", err, !slices.Equal(before, c.centroids))
	}
	grad := sdk.NewTensor(3, 4)
	grad.Data[5] = 2
	if err := c.Step(ctx, sdk.ClusterStepRequest{GradCentroids: grad}); err != nil {
		t.Fatal(err)
	}
	for i := range before {
		want := before[i]
		if i == 5 {
			want -= 0.5 * 2 // centroid_lr 0.5
		}
		if c.centroids[i] != want {
			t.Errorf("centroid value %d = %g after Step, want %g", i, c.centroids[i], want)
		}
	}
	if err := c.Step(ctx, sdk.ClusterStepRequest{GradCentroids: sdk.NewTensor(2, 4)}); err == nil {
		t.Error("centroid gradient of the wrong shape accepted")
	}
	// Assign on the fitted points: well-separated blobs, so the nearest
	// cluster mean is every point's spectral cluster.
	got, err := c.Assign(ctx, x)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got.Labels, asg.Labels) {
		t.Error("Assign on the fitted points disagrees with Fit")
	}
	// Update reruns the clustering; the relabelling keeps the names.
	up, err := c.Update(ctx, x)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(up.Labels, asg.Labels) {
		t.Error("Update on the same embeddings renamed clusters")
	}
	if _, err := c.Update(ctx, sdk.NewTensor(5, 4)); err == nil || !strings.Contains(err.Error(), "5 embeddings, Fit saw 120") {
		t.Errorf("Update with other rows: %v", err)
	}
}

func TestMatchLabels(t *testing.T) {
	prev := []int32{0, 0, 0, 1, 1, 1, 2, 2, 2, 2}
	// The same partition under other names, one row moved.
	next := []int32{2, 2, 2, 0, 0, 1, 1, 1, 1, 1}
	got, err := MatchLabels(prev, next, 3)
	if err != nil {
		t.Fatal(err)
	}
	if want := []int32{0, 0, 0, 1, 1, 2, 2, 2, 2, 2}; !slices.Equal(got, want) {
		t.Errorf("MatchLabels = %v, want %v", got, want)
	}
}

func TestClusterMeansEmptyCluster(t *testing.T) {
	z := sdk.Tensor{Shape: []int{4, 1}, Data: []float32{0, 1, 2, 10}}
	labels := []int32{0, 0, 0, 0}
	// Cluster 1 is empty: it takes the row farthest from its mean (10).
	if got := clusterMeans(z, labels, 2, nil); !slices.Equal(got, []float64{3.25, 10}) {
		t.Errorf("means %v, want [3.25 10]", got)
	}
	if got := clusterMeans(z, labels, 2, []float64{7, 8}); !slices.Equal(got, []float64{3.25, 8}) {
		t.Errorf("means with previous %v, want [3.25 8]", got)
	}
}

func TestSaveLoad(t *testing.T) {
	ctx := context.Background()
	c, x, _ := fittedBlobs(t, map[string]any{"affinity": AffinitySelfTune, "assign": AssignClusterQR})
	state, err := c.Save(ctx)
	if err != nil {
		t.Fatal(err)
	}
	d := configured(t, 4, 0, map[string]any{"k": 3})
	if err := d.Load(ctx, state); err != nil {
		t.Fatal(err)
	}
	if d.set != c.set || !slices.Equal(d.centroids, c.centroids) || !slices.Equal(d.labels, c.labels) {
		t.Fatalf("loaded state differs: %+v vs %+v", d.set, c.set)
	}
	a1, _ := c.Assign(ctx, x)
	a2, err := d.Assign(ctx, x)
	if err != nil || !slices.Equal(a1.Labels, a2.Labels) || a1.Objective != a2.Objective {
		t.Errorf("Assign after Load differs (err %v)", err)
	}
	for _, tc := range []struct {
		name  string
		state []byte
		into  *Clusterer
		want  string
	}{
		{"magic", append([]byte("XXXXXXXX"), state[8:]...), configured(t, 4, 0, map[string]any{"k": 3}), "does not start with"},
		{"truncated", state[:len(state)-3], configured(t, 4, 0, map[string]any{"k": 3}), "state body has"},
		{"other k", state, configured(t, 4, 0, map[string]any{"k": 4}), "state has k=3 and width 4, configured k=4 and width 4"},
		{"other width", state, configured(t, 5, 0, map[string]any{"k": 3}), "configured k=3 and width 5"},
		{"empty", nil, configured(t, 4, 0, map[string]any{"k": 3}), "reading header"},
	} {
		if err := tc.into.Load(ctx, tc.state); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", tc.name, err, tc.want)
		}
	}
	if _, err := New().Save(ctx); err == nil {
		t.Error("Save before Fit succeeded")
	}
}

func TestFitCancelled(t *testing.T) {
	x, _ := moons(1, 600, 0.05)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := configured(t, 2, 1, map[string]any{"k": 2}).Fit(ctx, x); err == nil || !strings.Contains(err.Error(), "context canceled") {
		t.Errorf("Fit with a cancelled context: %v", err)
	}
}
