package dec

import (
	"context"
	"encoding/binary"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/deepclust/deepclust/sdk"
)

func configured(t testing.TB, dim int, seed uint64, raw map[string]any) *Clusterer {
	t.Helper()
	c := New()
	if err := c.Configure(context.Background(), sdk.Setup{Config: raw, EmbeddingDim: dim, Seed: seed}); err != nil {
		t.Fatal(err)
	}
	return c
}

// blobs returns n rows of dim values around k centres gap apart on the
// diagonal, with standard normal noise, from a fixed PCG seed.
func blobs(seed uint64, n, dim, k int, gap float64) sdk.Tensor {
	rng := rand.New(rand.NewPCG(seed, 1))
	z := sdk.NewTensor(n, dim)
	for i := range n {
		for t := range dim {
			z.Data[i*dim+t] = float32(gap*float64(i%k) + rng.NormFloat64())
		}
	}
	return z
}

func column(vals ...float32) sdk.Tensor { return sdk.Tensor{Shape: []int{len(vals), 1}, Data: vals} }

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol }

// TestStudentTAndTargetsByHand checks q and p on z = {0, 1, 4} with
// centroids μ = {0, 2} (one dimension), worked out by hand with α = 1:
//
//	q_0 = (1, 1/5)/(6/5) = (5/6, 1/6)   q_1 = (1/2, 1/2)
//	q_2 ∝ (1/17, 1/5)   = (5/22, 17/22)
//	f = Σ_i q_i = (103/66, 95/66)
//	p_0 = (2375, 103)/2478   p_1 = (95, 103)/198   p_2 = (2375, 29767)/32142
//
// and q_0 with α = 2: weights (1, 3^(−3/2)), so q_00 = 1/(1 + 3^(−3/2)).
func TestStudentTAndTargetsByHand(t *testing.T) {
	z, mu := []float64{0, 1, 4}, []float64{0, 2}
	q, inv := make([]float64, 6), make([]float64, 6)
	StudentT(z, mu, 1, 1, q, inv)
	wantQ := []float64{5.0 / 6, 1.0 / 6, 0.5, 0.5, 5.0 / 22, 17.0 / 22}
	wantInv := []float64{1, 1.0 / 5, 1.0 / 2, 1.0 / 2, 1.0 / 17, 1.0 / 5}
	wantP := []float64{2375.0 / 2478, 103.0 / 2478, 95.0 / 198, 103.0 / 198, 2375.0 / 32142, 29767.0 / 32142}
	p := targets(q, 2)
	for i := range q {
		if !near(q[i], wantQ[i], 1e-15) || !near(inv[i], wantInv[i], 1e-15) || !near(p[i], wantP[i], 1e-15) {
			t.Errorf("entry %d: q %v inv %v p %v, want %v %v %v (tolerance 1e-15)", i, q[i], inv[i], p[i], wantQ[i], wantInv[i], wantP[i])
		}
	}
	StudentT(z[:1], mu, 1, 2, q[:2], nil)
	if want := 1 / (1 + math.Pow(3, -1.5)); !near(q[0], want, 1e-15) {
		t.Errorf("alpha 2: q_00 %v, want %v", q[0], want)
	}
}

// TestFitLossByHand runs the public calls on z = {0, 1, 4}, k = 2. k-means
// gives μ = {0.5, 4} (inertia 0.5, against 4.5 for {0}{1,4}); by hand
//
//	q_0 ∝ (4/5, 1/17) = (68, 5)/73,  q_1 ∝ (4/5, 1/10) = (8, 1)/9,
//	q_2 ∝ (4/53, 1)   = (4, 53)/57,
//
// labels (0, 0, 1) up to the numbering of the clusters. Loss on the batch of rows (2, 0) must equal
// (1/2) Σ p log(p/q) with p_ij = (q_ij²/f_j)/Σ_j' (q_ij'²/f_j') from these
// fractions, and its Soft must be those rows' q.
func TestFitLossByHand(t *testing.T) {
	ctx := context.Background()
	c := configured(t, 1, 1, map[string]any{"k": 2, "n_init": 3})
	a, err := c.Fit(ctx, column(0, 1, 4))
	if err != nil {
		t.Fatal(err)
	}
	q := []float64{68.0 / 73, 5.0 / 73, 8.0 / 9, 1.0 / 9, 4.0 / 57, 53.0 / 57}
	if c.centroids[0] != 0.5 { // k-means may number the clusters either way
		for i := 0; i < len(q); i += 2 {
			q[i], q[i+1] = q[i+1], q[i]
		}
	}
	for i, v := range a.Soft.Data {
		if !near(float64(v), q[i], 1e-6) {
			t.Errorf("Soft[%d] = %v, want %v (float32, tolerance 1e-6)", i, v, q[i])
		}
	}
	if a.Labels[0] != a.Labels[1] || a.Labels[1] == a.Labels[2] {
		t.Errorf("labels %v, want rows 0 and 1 together and row 2 apart", a.Labels)
	}
	f := []float64{q[0] + q[2] + q[4], q[1] + q[3] + q[5]}
	klRow := func(i int) float64 {
		w0, w1 := q[2*i]*q[2*i]/f[0], q[2*i+1]*q[2*i+1]/f[1]
		p0, p1 := w0/(w0+w1), w1/(w0+w1)
		return p0*math.Log(p0/q[2*i]) + p1*math.Log(p1/q[2*i+1])
	}
	if want := (klRow(0) + klRow(1) + klRow(2)) / 3; !near(a.Objective, want, 1e-12) {
		t.Errorf("Fit objective %v, want %v", a.Objective, want)
	}
	out, err := c.Loss(ctx, sdk.ClusterLossRequest{Z: column(4, 0), Indices: []int64{2, 0}})
	if err != nil {
		t.Fatal(err)
	}
	if want := (klRow(2) + klRow(0)) / 2; !near(out.Value, want, 1e-9) {
		t.Errorf("Loss %v, want %v (tolerance 1e-9)", out.Value, want)
	}
	wantSoft := []float64{q[4], q[5], q[0], q[1]}
	for i, v := range out.Soft.Data {
		if !near(float64(v), wantSoft[i], 1e-6) {
			t.Errorf("Loss Soft[%d] = %v, want %v", i, v, wantSoft[i])
		}
	}
	if mu := out.Centroids.Data; min(mu[0], mu[1]) != 0.5 || max(mu[0], mu[1]) != 4 {
		t.Errorf("centroids %v, want 0.5 and 4", mu)
	}
}

// TestGradientsFiniteDifferences compares ∂L/∂z and ∂L/∂μ of klBatch with
// float64 central differences (h = 1e-6) on random z, μ and row-stochastic
// p, for α = 1 and α = 2.5. Tolerance: 1e-8 + 1e-6·|analytic|.
func TestGradientsFiniteDifferences(t *testing.T) {
	const n, k, dim, h = 5, 4, 3, 1e-6
	rng := rand.New(rand.NewPCG(3, 4))
	for _, alpha := range []float64{1, 2.5} {
		z, mu, p := make([]float64, n*dim), make([]float64, k*dim), make([]float64, n*k)
		for i := range z {
			z[i] = 2 * rng.NormFloat64()
		}
		for i := range mu {
			mu[i] = 2 * rng.NormFloat64()
		}
		for i := range n {
			var s float64
			for j := range k {
				p[i*k+j] = rng.Float64() + 0.01
				s += p[i*k+j]
			}
			for j := range k {
				p[i*k+j] /= s
			}
		}
		q := make([]float64, n*k)
		gz, gmu := make([]float64, n*dim), make([]float64, k*dim)
		klBatch(z, mu, p, dim, alpha, q, gz, gmu)
		loss := func() float64 { return klBatch(z, mu, p, dim, alpha, q, nil, nil) }
		check := func(name string, x, grad []float64) {
			for i := range x {
				orig := x[i]
				x[i] = orig + h
				up := loss()
				x[i] = orig - h
				down := loss()
				x[i] = orig
				fd := (up - down) / (2 * h)
				if math.Abs(fd-grad[i]) > 1e-8+1e-6*math.Abs(grad[i]) {
					t.Errorf("alpha %v: %s[%d]: analytic %v, finite difference %v", alpha, name, i, grad[i], fd)
				}
			}
		}
		check("dL/dz", z, gz)
		check("dL/dmu", mu, gmu)
	}
}

// TestStepOptimisers checks the centroid step against hand formulas: a
// first Adam step moves every coordinate by −lr·g/(|g| + ε) (m̂ = g,
// v̂ = g²), and two SGD steps with momentum 0.9 move by −lr·g₁ then
// −lr·(0.9·g₁ + g₂). The gradient is the Loss's ∂L_c/∂μ (from klBatch on
// the same batch) plus the given GradCentroids.
func TestStepOptimisers(t *testing.T) {
	ctx := context.Background()
	z := blobs(5, 60, 2, 3, 6)
	extra := sdk.Tensor{Shape: []int{3, 2}, Data: []float32{0.5, -0.25, 0, 0, 1, 2}}
	lossGrad := func(c *Clusterer) []float64 {
		zs, _ := c.embeddings("test", z, 0)
		g := make([]float64, len(c.centroids))
		klBatch(zs, c.centroids, c.target, 2, c.alpha, make([]float64, len(c.target)), nil, g)
		for i, v := range extra.Data {
			g[i] += float64(v)
		}
		return g
	}
	indices := make([]int64, 60)
	for i := range indices {
		indices[i] = int64(i)
	}
	step := func(c *Clusterer) {
		if _, err := c.Loss(ctx, sdk.ClusterLossRequest{Z: z, Indices: indices, Train: true}); err != nil {
			t.Fatal(err)
		}
		if err := c.Step(ctx, sdk.ClusterStepRequest{GradCentroids: extra, Weight: 1}); err != nil {
			t.Fatal(err)
		}
	}

	adam := configured(t, 2, 1, map[string]any{"k": 3, "lr": 0.01})
	if _, err := adam.Fit(ctx, z); err != nil {
		t.Fatal(err)
	}
	before, g := slices.Clone(adam.centroids), lossGrad(adam)
	step(adam)
	for i := range before {
		want := before[i] - 0.01*g[i]/(math.Abs(g[i])+adamEps)
		if !near(adam.centroids[i], want, 1e-12) {
			t.Errorf("adam: centroid value %d is %v, want %v", i, adam.centroids[i], want)
		}
	}

	sgd := configured(t, 2, 1, map[string]any{"k": 3, "lr": 0.1, "optimizer": "sgd", "momentum": 0.9})
	if _, err := sgd.Fit(ctx, z); err != nil {
		t.Fatal(err)
	}
	before, g1 := slices.Clone(sgd.centroids), lossGrad(sgd)
	step(sgd)
	g2 := lossGrad(sgd)
	step(sgd)
	for i := range before {
		want := before[i] - 0.1*g1[i] - 0.1*(0.9*g1[i]+g2[i])
		if !near(sgd.centroids[i], want, 1e-12) {
			t.Errorf("sgd: centroid value %d is %v, want %v", i, sgd.centroids[i], want)
		}
	}
}

// TestCentroidTrainingLowersLoss takes 100 full-batch Adam steps (lr 0.05)
// on the centroids alone, with z and P fixed, on three overlapping blobs
// (centres 2 apart, unit noise); KL(P‖Q) must fall by at least 3% (it falls
// by about 5%: with z fixed the centroids alone cannot sharpen Q much).
func TestCentroidTrainingLowersLoss(t *testing.T) {
	ctx := context.Background()
	z := blobs(8, 150, 3, 3, 2)
	c := configured(t, 3, 2, map[string]any{"k": 3, "lr": 0.05})
	if _, err := c.Fit(ctx, z); err != nil {
		t.Fatal(err)
	}
	indices := make([]int64, 150)
	for i := range indices {
		indices[i] = int64(i)
	}
	var first, last float64
	for it := range 101 {
		out, err := c.Loss(ctx, sdk.ClusterLossRequest{Z: z, Indices: indices, Train: true})
		if err != nil {
			t.Fatal(err)
		}
		if it == 0 {
			first = out.Value
		}
		last = out.Value
		if err := c.Step(ctx, sdk.ClusterStepRequest{Weight: 1}); err != nil {
			t.Fatal(err)
		}
	}
	if !(last < 0.97*first) {
		t.Fatalf("KL(P‖Q) went from %v to %v after 100 steps, want a fall of at least 3%%", first, last)
	}
}

// run fits, takes three training steps on fixed batches, updates and
// assigns, returning the final centroids and labels.
func run(t *testing.T, c *Clusterer, z sdk.Tensor) ([]float64, []int32) {
	t.Helper()
	ctx := context.Background()
	if _, err := c.Fit(ctx, z); err != nil {
		t.Fatal(err)
	}
	for b := range 3 {
		idx := []int64{int64(b), int64(b + 10), int64(b + 20)}
		batch := sdk.NewTensor(3, z.Cols())
		for r, i := range idx {
			copy(batch.Row(r), z.Row(int(i)))
		}
		if _, err := c.Loss(ctx, sdk.ClusterLossRequest{Z: batch, Indices: idx, Train: true}); err != nil {
			t.Fatal(err)
		}
		if err := c.Step(ctx, sdk.ClusterStepRequest{Weight: 1}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.Update(ctx, z); err != nil {
		t.Fatal(err)
	}
	a, err := c.Assign(ctx, z)
	if err != nil {
		t.Fatal(err)
	}
	return slices.Clone(c.centroids), a.Labels
}

func TestDeterministic(t *testing.T) {
	z := blobs(9, 300, 4, 5, 6)
	mu1, l1 := run(t, configured(t, 4, 42, map[string]any{"k": 5, "n_init": 4}), z)
	mu2, l2 := run(t, configured(t, 4, 42, map[string]any{"k": 5, "n_init": 4}), z)
	if !slices.Equal(mu1, mu2) || !slices.Equal(l1, l2) {
		t.Fatal("two runs with seed 42 differ")
	}
}

// TestSaveLoad saves after training, loads into a fresh clusterer and
// checks that the targets P came back (Loss needs no Update and gives the
// same loss and gradients) and that further identical steps give
// bit-identical centroids (so the Adam moments and step count were
// restored). A version 1 state, without targets, still loads, and Loss
// after it needs an Update.
func TestSaveLoad(t *testing.T) {
	ctx := context.Background()
	z := blobs(10, 90, 2, 3, 6)
	c := configured(t, 2, 3, map[string]any{"k": 3})
	run(t, c, z)
	state, err := c.Save(ctx)
	if err != nil {
		t.Fatal(err)
	}
	d := configured(t, 2, 99, map[string]any{"k": 3})
	if err := d.Load(ctx, state); err != nil {
		t.Fatal(err)
	}
	idx := []int64{0, 1, 2}
	batch := sdk.Tensor{Shape: []int{3, 2}, Data: slices.Clone(z.Data[:6])}
	var losses []sdk.ClusterLoss
	for _, x := range []*Clusterer{c, d} {
		l, err := x.Loss(ctx, sdk.ClusterLossRequest{Z: batch, Indices: idx, Train: true})
		if err != nil {
			t.Fatalf("Loss after Load: %v", err)
		}
		losses = append(losses, l)
		if err := x.Step(ctx, sdk.ClusterStepRequest{Weight: 1}); err != nil {
			t.Fatal(err)
		}
	}
	if losses[0].Value != losses[1].Value || !slices.Equal(losses[0].GradZ.Data, losses[1].GradZ.Data) {
		t.Fatal("Loss after Load differs from the saved clusterer's")
	}
	if !slices.Equal(c.centroids, d.centroids) || c.opt.steps != d.opt.steps {
		t.Fatal("a step after Load differs from the same step on the saved clusterer")
	}
	// Version 1: the same layout without the targets.
	v1 := slices.Clone(state[:len(state)-8-8*len(c.target)])
	binary.LittleEndian.PutUint32(v1[8:], 1)
	old := configured(t, 2, 99, map[string]any{"k": 3})
	if err := old.Load(ctx, v1); err != nil {
		t.Fatalf("version 1 state: %v", err)
	}
	if _, err := old.Loss(ctx, sdk.ClusterLossRequest{Z: batch, Indices: idx}); err == nil || !strings.Contains(err.Error(), "Update") {
		t.Errorf("Loss after loading a version 1 state without Update: %v", err)
	}
	if _, err := old.Update(ctx, z); err != nil {
		t.Fatal(err)
	}
	if _, err := old.Loss(ctx, sdk.ClusterLossRequest{Z: batch, Indices: idx}); err != nil {
		t.Errorf("Loss after Update: %v", err)
	}
	bad := slices.Clone(state)
	binary.LittleEndian.PutUint64(bad[len(bad)-8:], math.Float64bits(math.NaN()))
	cases := []struct {
		name  string
		c     *Clusterer
		state []byte
		want  string
	}{
		{"truncated", configured(t, 2, 0, map[string]any{"k": 3}), state[:len(state)-1], "body"},
		{"other k", configured(t, 2, 0, map[string]any{"k": 4}), state, "k=3"},
		{"other optimiser", configured(t, 2, 0, map[string]any{"k": 3, "optimizer": "sgd"}), state, "optimizer"},
		{"garbage", configured(t, 2, 0, map[string]any{"k": 3}), []byte(strings.Repeat("not a state ", 4)), "does not start"},
		{"bad target", configured(t, 2, 0, map[string]any{"k": 3}), bad, "probability"},
		{"huge target", configured(t, 2, 0, map[string]any{"k": 3}), append(slices.Clone(state[:len(state)-8-8*len(c.target)]), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f), "rows"},
	}
	for _, tc := range cases {
		if err := tc.c.Load(ctx, tc.state); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one mentioning %q", tc.name, err, tc.want)
		}
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
	if _, err := c.Loss(ctx, sdk.ClusterLossRequest{Z: two(1, 0, 0), Indices: []int64{0, 1}}); err == nil || !strings.Contains(err.Error(), "2 indices") {
		t.Errorf("index count mismatch: %v", err)
	}
	if err := c.Step(ctx, sdk.ClusterStepRequest{Weight: 1}); err == nil || !strings.Contains(err.Error(), "without a preceding") {
		t.Errorf("Step without a training Loss: %v", err)
	}
	if _, err := c.Loss(ctx, sdk.ClusterLossRequest{Z: two(1, 0, 0), Indices: []int64{0}, Train: true}); err != nil {
		t.Fatal(err)
	}
	if err := c.Step(ctx, sdk.ClusterStepRequest{GradCentroids: two(1, 0, 0)}); err == nil || !strings.Contains(err.Error(), "centroid gradient") {
		t.Errorf("wrong-shape centroid gradient: %v", err)
	}
	for key, v := range map[string]any{"alpha": 0.0, "k": 0, "momentum": 1.0, "optimizer": "rmsprop", "n_init": 0} {
		if err := New().Configure(ctx, sdk.Setup{Config: map[string]any{key: v}, EmbeddingDim: 2}); err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("%s = %v: error %v", key, v, err)
		}
	}
}

// TestStepScalesItsOwnGradientByWeight checks that Step descends on
// β·∂L_c/∂μ: with Weight 0 and no auxiliary gradient, an SGD step leaves
// the centroids where they were.
func TestStepScalesItsOwnGradientByWeight(t *testing.T) {
	ctx := context.Background()
	z := blobs(5, 60, 2, 3, 6)
	indices := make([]int64, 60)
	for i := range indices {
		indices[i] = int64(i)
	}
	c := configured(t, 2, 1, map[string]any{"k": 3, "optimizer": "sgd", "lr": 0.1})
	if _, err := c.Fit(ctx, z); err != nil {
		t.Fatal(err)
	}
	before := slices.Clone(c.centroids)
	if _, err := c.Loss(ctx, sdk.ClusterLossRequest{Z: z, Indices: indices, Train: true}); err != nil {
		t.Fatal(err)
	}
	if err := c.Step(ctx, sdk.ClusterStepRequest{Weight: 0}); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(before, c.centroids) {
		t.Fatalf("Weight 0 moved the centroids: %v -> %v", before, c.centroids)
	}
}
