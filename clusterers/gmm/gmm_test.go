package gmm

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/deepclust/deepclust/internal/metrics"
	"github.com/deepclust/deepclust/sdk"
	"github.com/deepclust/deepclust/sdk/sdktest"
)

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

// gaussBlobs draws n rows in d dimensions around k centres (row i around
// centre i mod k, centres spread·N(0, I), unit noise) and returns them with
// the true component of each row.
func gaussBlobs(seed uint64, n, d, k int, spread float64) (sdk.Tensor, []int32) {
	rng := rand.New(rand.NewPCG(seed, 1))
	centres := make([]float64, k*d)
	for i := range centres {
		centres[i] = spread * rng.NormFloat64()
	}
	x := sdk.NewTensor(n, d)
	truth := make([]int32, n)
	for i := range n {
		truth[i] = int32(i % k)
		for t := range d {
			x.Data[i*d+t] = float32(centres[(i%k)*d+t] + rng.NormFloat64())
		}
	}
	return x, truth
}

func noNaN(t *testing.T, what string, a sdk.Assignment, k int) {
	t.Helper()
	if err := a.Soft.Validate(); err != nil {
		t.Fatalf("%s: soft assignments: %v", what, err)
	}
	if math.IsNaN(a.Objective) || math.IsInf(a.Objective, 0) {
		t.Fatalf("%s: objective %v", what, a.Objective)
	}
	for i := range a.Soft.Rows() {
		var s float64
		for _, v := range a.Soft.Row(i) {
			s += float64(v)
		}
		if math.Abs(s-1) > 1e-5 {
			t.Fatalf("%s: posteriors of row %d sum to %v", what, i, s)
		}
		if l := a.Labels[i]; l < 0 || int(l) >= k {
			t.Fatalf("%s: label %d of row %d", what, l, i)
		}
	}
}

func TestConformance(t *testing.T) {
	for name, cfg := range map[string]map[string]any{
		"defaults":      nil,
		"diag":          {"covariance": CovarianceDiag, "k": 3},
		"kmeans++ init": {"init": InitKMeansPlusPlus, "k": 4, "n_init": 2},
	} {
		t.Run(name, func(t *testing.T) {
			sdktest.Clusterer(t, func() sdk.Clusterer { return New() }, sdktest.ClustererOptions{Config: cfg, Seed: 3})
		})
	}
}

func TestRecoversSeparatedBlobs(t *testing.T) {
	x, truth := gaussBlobs(2, 600, 5, 4, 8)
	for _, cov := range []string{CovarianceFull, CovarianceDiag} {
		for _, init := range []string{InitKMeans, InitKMeansPlusPlus} {
			c := configured(t, 5, 1, map[string]any{"k": 4, "covariance": cov, "init": init, "n_init": 2})
			got, err := c.Fit(context.Background(), x)
			if err != nil {
				t.Fatal(err)
			}
			noNaN(t, cov+" "+init, got, 4)
			acc, err := metrics.ACC(truth, got.Labels)
			if err != nil {
				t.Fatal(err)
			}
			if acc != 1 {
				t.Errorf("%s, init %s: accuracy %v on well-separated blobs, want 1", cov, init, acc)
			}
		}
	}
}

// TestKMeansPlusPlusInitIsNearestCentre checks the kmeans++ start: hard
// responsibilities of the nearest k-means++ centre.
func TestKMeansPlusPlusInitIsNearestCentre(t *testing.T) {
	x := sdk.Tensor{Shape: []int{6, 1}, Data: []float32{0, 1, 2, 10, 11, 12}}
	c := configured(t, 1, 4, map[string]any{"k": 2, "init": InitKMeansPlusPlus, "reg_covar": 0.0})
	a := &data{x: x.Data, n: 6, d: 1}
	m, err := c.initial(x, a, 7, make([]float64, 12))
	if err != nil {
		t.Fatal(err)
	}
	// k-means++ puts one centre in each group (the second is drawn ∝ D²,
	// which is at least 64 in the other group and at most 4 in the same
	// one, so this holds but for a chance below 1e-3; it holds for this
	// seed), so the start is the two groups: means 1 and 11, variances 2/3,
	// weights 1/2.
	lo, hi := 0, 1
	if m.means[0] > m.means[1] {
		lo, hi = 1, 0
	}
	if math.Abs(m.means[lo]-1) > 1e-12 || math.Abs(m.means[hi]-11) > 1e-12 ||
		math.Abs(m.cov[0]-2.0/3) > 1e-12 || math.Abs(m.cov[1]-2.0/3) > 1e-12 || math.Abs(m.weights[0]-0.5) > 1e-12 {
		t.Fatalf("start means %v covariances %v weights %v, want {1, 11}, 2/3, 1/2", m.means, m.cov, m.weights)
	}
}

func TestNInitKeepsBestLowerBound(t *testing.T) {
	x, _ := gaussBlobs(3, 400, 3, 6, 2.5) // overlapping: restarts differ
	one := configured(t, 3, 9, map[string]any{"k": 6, "n_init": 1})
	if _, err := one.Fit(context.Background(), x); err != nil {
		t.Fatal(err)
	}
	five := configured(t, 3, 9, map[string]any{"k": 6, "n_init": 5})
	if _, err := five.Fit(context.Background(), x); err != nil {
		t.Fatal(err)
	}
	// Restart 1 of both has the same seed, so the best of five is at
	// least as good.
	if five.last.lowerBound < one.last.lowerBound {
		t.Fatalf("best of 5 restarts has lower bound %v, the first alone %v", five.last.lowerBound, one.last.lowerBound)
	}
	if !one.last.converged || !five.last.converged {
		t.Fatal("EM did not converge in 100 iterations")
	}
}

func TestDeterministic(t *testing.T) {
	x, _ := gaussBlobs(5, 1500, 4, 5, 3) // three chunks of rows
	fit := func(procs int) (sdk.Assignment, *mixture) {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
		c := configured(t, 4, 42, map[string]any{"k": 5, "n_init": 2})
		got, err := c.Fit(context.Background(), x)
		if err != nil {
			t.Fatal(err)
		}
		return got, c.mix
	}
	a1, m1 := fit(2)
	a2, m2 := fit(2)
	a3, m3 := fit(1)
	for _, o := range []struct {
		a sdk.Assignment
		m *mixture
	}{{a2, m2}, {a3, m3}} {
		if !slices.Equal(a1.Labels, o.a.Labels) || !slices.Equal(a1.Soft.Data, o.a.Soft.Data) || a1.Objective != o.a.Objective ||
			!slices.Equal(m1.means, o.m.means) || !slices.Equal(m1.cov, o.m.cov) || !slices.Equal(m1.weights, o.m.weights) {
			t.Fatal("same seed gave different results (GOMAXPROCS 2 vs 2 or 1)")
		}
	}
}

// TestLossGradientFiniteDifferences compares ∂L_c/∂z with central
// differences of L_c on a mixture fitted to the overlapping blobs, at rows
// between the blobs (soft posteriors). z values are multiples of 2⁻⁸ and
// h = 2⁻¹², so z ± h is exact in float32 and the quotient's error is the
// O(h²) truncation plus float64 rounding of L_c (both ≲ 1e-8 here) and the
// float32 rounding of the returned gradient (6e-8 relative); the tolerance
// is |g − fd| ≤ 1e-5·max(|fd|, 1e-2).
func TestLossGradientFiniteDifferences(t *testing.T) {
	ctx := context.Background()
	x := readBlobs(t, "blobs.csv")
	for _, cov := range []string{CovarianceFull, CovarianceDiag} {
		c := configured(t, 2, 1, map[string]any{"k": 3, "covariance": cov})
		if _, err := c.Fit(ctx, x); err != nil {
			t.Fatal(err)
		}
		rng := rand.New(rand.NewPCG(2, 3))
		const n = 8
		z := sdk.NewTensor(n, 2)
		for i := range z.Data {
			z.Data[i] = float32(math.Round(rng.NormFloat64()*1.5*256) / 256)
		}
		req := sdk.ClusterLossRequest{Z: z, Indices: make([]int64, n)}
		out, err := c.Loss(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		soft := 0
		for i := range n {
			if slices.Max(out.Soft.Row(i)) < 0.99 {
				soft++
			}
		}
		if soft < 2 {
			t.Fatalf("%s: only %d rows with soft posteriors; the test needs some", cov, soft)
		}
		const h = 1.0 / 4096
		worst := 0.0
		for i := range z.Data {
			orig := z.Data[i]
			z.Data[i] = orig + h
			up, err := c.Loss(ctx, req)
			if err != nil {
				t.Fatal(err)
			}
			z.Data[i] = orig - h
			down, err := c.Loss(ctx, req)
			if err != nil {
				t.Fatal(err)
			}
			z.Data[i] = orig
			fd := (up.Value - down.Value) / (2 * h)
			g := float64(out.GradZ.Data[i])
			if math.Abs(g-fd) > 1e-5*max(math.Abs(fd), 1e-2) {
				t.Fatalf("%s: ∂L/∂z[%d] = %v, finite difference %v (tolerance 1e-5 relative)", cov, i, g, fd)
			}
			worst = max(worst, math.Abs(g-fd)/max(math.Abs(fd), 1e-2))
		}
		t.Logf("%s: largest relative gradient error %.2g", cov, worst)
	}
}

// TestLossParts checks the loss against Assign (same log-likelihood and
// posteriors), the centroids against the means, and the formula
// ∂L_c/∂z_i = (1/N) Σ_j γ_ij Σ_j⁻¹(z_i − μ_j) written out for k=2 in 1-D.
func TestLossParts(t *testing.T) {
	ctx := context.Background()
	c := configured(t, 1, 0, map[string]any{"k": 2})
	if _, err := c.Fit(ctx, sdk.Tensor{Shape: []int{6, 1}, Data: []float32{0, 1, 2, 10, 11, 13}}); err != nil {
		t.Fatal(err)
	}
	z := sdk.Tensor{Shape: []int{3, 1}, Data: []float32{5, 6.5, -1}}
	l, err := c.Loss(ctx, sdk.ClusterLossRequest{Z: z, Indices: []int64{0, 1, 2}, Train: true})
	if err != nil {
		t.Fatal(err)
	}
	a, err := c.Assign(ctx, z)
	if err != nil {
		t.Fatal(err)
	}
	if l.Value != a.Objective || !slices.Equal(l.Soft.Data, a.Soft.Data) {
		t.Fatalf("Loss %v and soft %v; Assign %v and %v", l.Value, l.Soft.Data, a.Objective, a.Soft.Data)
	}
	m := c.mix
	for j := range 2 {
		if l.Centroids.Data[j] != float32(m.means[j]) {
			t.Fatalf("centroids %v, means %v", l.Centroids.Data, m.means)
		}
	}
	var nll float64
	for i, v := range z.Data {
		var p [2]float64
		for j := range 2 {
			dv := float64(v) - m.means[j]
			p[j] = m.weights[j] * math.Exp(-dv*dv/(2*m.cov[j])) / math.Sqrt(2*math.Pi*m.cov[j])
		}
		nll -= math.Log(p[0] + p[1])
		var g float64
		for j := range 2 {
			g += p[j] / (p[0] + p[1]) * (float64(v) - m.means[j]) / m.cov[j]
		}
		g /= 3
		if math.Abs(float64(l.GradZ.Data[i])-g) > 1e-6*math.Abs(g) {
			t.Fatalf("∂L/∂z[%d] = %v, by hand %v", i, l.GradZ.Data[i], g)
		}
	}
	if math.Abs(l.Value-nll/3) > 1e-12*math.Abs(nll) {
		t.Fatalf("L_c = %v, by hand %v", l.Value, nll/3)
	}
	empty, err := c.Loss(ctx, sdk.ClusterLossRequest{Z: sdk.NewTensor(0, 1)})
	if err != nil || empty.Value != 0 {
		t.Fatalf("empty batch: %v, %v", empty.Value, err)
	}
}

func TestStepChangesNothing(t *testing.T) {
	ctx := context.Background()
	x, _ := gaussBlobs(1, 90, 2, 3, 5)
	c := configured(t, 2, 0, map[string]any{"k": 3})
	if err := c.Step(ctx, sdk.ClusterStepRequest{}); err == nil || !strings.Contains(err.Error(), "before Fit") {
		t.Fatalf("Step before Fit: %v", err)
	}
	if _, err := c.Fit(ctx, x); err != nil {
		t.Fatal(err)
	}
	before := c.mix.clone()
	if _, err := c.Loss(ctx, sdk.ClusterLossRequest{Z: x, Indices: make([]int64, 90), Train: true}); err != nil {
		t.Fatal(err)
	}
	grad := sdk.Tensor{Shape: []int{3, 2}, Data: []float32{1, 2, 3, 4, 5, 6}}
	if err := c.Step(ctx, sdk.ClusterStepRequest{GradCentroids: grad, Weight: 1}); err != nil {
		t.Fatal(err)
	}
	if err := c.Step(ctx, sdk.ClusterStepRequest{}); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(before.means, c.mix.means) || !slices.Equal(before.cov, c.mix.cov) || !slices.Equal(before.weights, c.mix.weights) {
		t.Fatal("Step changed the mixture")
	}
	if err := c.Step(ctx, sdk.ClusterStepRequest{GradCentroids: sdk.Tensor{Shape: []int{2, 2}, Data: []float32{1, 2, 3, 4}}}); err == nil {
		t.Fatal("centroid gradient of the wrong shape accepted")
	}
}

// TestUpdateWarmStarts checks that Update continues EM from the current
// parameters: from a 1-iteration Fit it raises the log-likelihood, and
// from the converged parameters it stops within two iterations. Update
// accepts a different number of rows (no per-sample state).
func TestUpdateWarmStarts(t *testing.T) {
	ctx := context.Background()
	x, _ := gaussBlobs(6, 500, 3, 4, 2)
	c := configured(t, 3, 2, map[string]any{"k": 4, "max_iter": 1})
	fit, err := c.Fit(ctx, x)
	if err != nil {
		t.Fatal(err)
	}
	c.maxIter = 100
	up, err := c.Update(ctx, x)
	if err != nil {
		t.Fatal(err)
	}
	noNaN(t, "Update", up, 4)
	if up.Objective >= fit.Objective {
		t.Fatalf("negative log-likelihood %v after Update, %v after a 1-iteration Fit", up.Objective, fit.Objective)
	}
	if !c.last.converged || c.last.iterations < 2 {
		t.Fatalf("Update: %d iterations, converged %v", c.last.iterations, c.last.converged)
	}
	again, err := c.Update(ctx, x)
	if err != nil {
		t.Fatal(err)
	}
	if c.last.iterations != 2 || math.Abs(again.Objective-up.Objective) > 1e-3 {
		t.Fatalf("Update from converged parameters: %d iterations, objective %v after %v", c.last.iterations, again.Objective, up.Objective)
	}
	assigned, err := c.Assign(ctx, x)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(assigned.Labels, again.Labels) || assigned.Objective != again.Objective {
		t.Fatal("Assign after Update differs from Update's result")
	}
	sub := sdk.Tensor{Shape: []int{100, 3}, Data: x.Data[:300]}
	if _, err := c.Update(ctx, sub); err != nil {
		t.Fatalf("Update on 100 of the rows: %v", err)
	}
	if _, err := c.Update(ctx, sdk.Tensor{Shape: []int{3, 3}, Data: x.Data[:9]}); err == nil || !strings.Contains(err.Error(), "need n ≥ k") {
		t.Fatalf("Update on 3 rows for k=4: %v", err)
	}
}

// TestAssignPredicts checks Assign on new rows: the posteriors are
// scikit-learn's predict_proba formula, nothing changes, and rows far from
// every component still get finite posteriors.
func TestAssignPredicts(t *testing.T) {
	ctx := context.Background()
	x := readBlobs(t, "separated.csv")
	c := configured(t, 2, 0, map[string]any{"k": 3})
	if _, err := c.Fit(ctx, x); err != nil {
		t.Fatal(err)
	}
	before := c.mix.clone()
	z := sdk.Tensor{Shape: []int{4, 2}, Data: []float32{-4, 0, 3, 3, 3, -3, 1e4, -1e4}}
	got, err := c.Assign(ctx, z)
	if err != nil {
		t.Fatal(err)
	}
	noNaN(t, "Assign", got, 3)
	if got.Labels[0] == got.Labels[1] || got.Labels[1] == got.Labels[2] || got.Labels[0] == got.Labels[2] {
		t.Fatalf("the three blob centres got labels %v", got.Labels[:3])
	}
	for i := range 3 {
		if got.Soft.Row(i)[got.Labels[i]] < 0.999 {
			t.Fatalf("blob centre %d: posteriors %v", i, got.Soft.Row(i))
		}
	}
	if !slices.Equal(before.means, c.mix.means) || !slices.Equal(before.cov, c.mix.cov) {
		t.Fatal("Assign changed the mixture")
	}
}

func TestDegenerateInput(t *testing.T) {
	ctx := context.Background()
	t.Run("k > n", func(t *testing.T) {
		c := configured(t, 2, 0, map[string]any{"k": 5})
		_, err := c.Fit(ctx, sdk.Tensor{Shape: []int{3, 2}, Data: []float32{0, 0, 1, 1, 2, 2}})
		if err == nil || !strings.Contains(err.Error(), "3 embeddings") || !strings.Contains(err.Error(), "k=5") {
			t.Fatalf("error %v, want one naming n=3 and k=5", err)
		}
	})
	t.Run("identical rows", func(t *testing.T) {
		z := sdk.NewTensor(40, 3)
		for i := range 40 {
			copy(z.Row(i), []float32{1.5, -2, 1e3})
		}
		for _, cov := range []string{CovarianceFull, CovarianceDiag} {
			for _, init := range []string{InitKMeans, InitKMeansPlusPlus} {
				c := configured(t, 3, 1, map[string]any{"k": 4, "covariance": cov, "init": init, "n_init": 2})
				got, err := c.Fit(ctx, z)
				if err != nil {
					t.Fatalf("%s %s: %v", cov, init, err)
				}
				noNaN(t, cov+" "+init+" Fit", got, 4)
				up, err := c.Update(ctx, z)
				if err != nil {
					t.Fatal(err)
				}
				noNaN(t, cov+" "+init+" Update", up, 4)
				l, err := c.Loss(ctx, sdk.ClusterLossRequest{Z: z, Indices: make([]int64, 40)})
				if err != nil || math.IsNaN(l.Value) || l.GradZ.Validate() != nil || l.Soft.Validate() != nil {
					t.Fatalf("%s %s: Loss %v, %v", cov, init, l.Value, err)
				}
				// Every covariance is the floor reg_covar·I.
				d := 3
				for j := range 4 {
					for s := range d {
						want := 1e-6
						if cov == CovarianceDiag {
							if got := c.mix.cov[j*d+s]; math.Abs(got-want) > 1e-12 {
								t.Fatalf("%s: variance %v, want reg_covar", cov, got)
							}
						} else if got := c.mix.cov[j*d*d+s*d+s]; math.Abs(got-want) > 1e-12 {
							t.Fatalf("%s: variance %v, want reg_covar", cov, got)
						}
					}
				}
			}
		}
		// Without the floor the covariances are singular: a clear error,
		// no NaN.
		c := configured(t, 3, 1, map[string]any{"k": 2, "reg_covar": 0.0})
		_, err := c.Fit(ctx, z)
		var ill errIllDefined
		if !errors.As(err, &ill) || !strings.Contains(err.Error(), "increase reg_covar") {
			t.Fatalf("reg_covar 0 on identical rows: %v", err)
		}
		if c.mix != nil {
			t.Fatal("failed Fit left a mixture")
		}
	})
	t.Run("one dimension", func(t *testing.T) {
		rng := rand.New(rand.NewPCG(4, 4))
		z := sdk.NewTensor(300, 1)
		for i := range z.Data {
			z.Data[i] = float32(rng.NormFloat64()*0.5 + float64(10*(i%3)))
		}
		for _, cov := range []string{CovarianceFull, CovarianceDiag} {
			c := configured(t, 1, 0, map[string]any{"k": 3, "covariance": cov})
			got, err := c.Fit(ctx, z)
			if err != nil {
				t.Fatal(err)
			}
			noNaN(t, "1-D "+cov, got, 3)
			means := slices.Clone(c.mix.means)
			slices.Sort(means)
			for j, want := range []float64{0, 10, 20} {
				if math.Abs(means[j]-want) > 0.2 {
					t.Fatalf("1-D %s: means %v, want ≈ 0, 10, 20", cov, means)
				}
			}
			for j := range 3 {
				if v := c.mix.cov[j]; math.Abs(v-0.25) > 0.1 {
					t.Fatalf("1-D %s: variances %v, want ≈ 0.25", cov, c.mix.cov)
				}
			}
		}
	})
	t.Run("NaN and Inf", func(t *testing.T) {
		c := configured(t, 2, 0, map[string]any{"k": 1})
		for _, bad := range []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1))} {
			z := sdk.Tensor{Shape: []int{3, 2}, Data: []float32{0, 0, 1, bad, 2, 2}}
			if _, err := c.Fit(ctx, z); err == nil || !strings.Contains(err.Error(), "row 1") {
				t.Fatalf("Fit with %v: %v", bad, err)
			}
		}
		if _, err := c.Fit(ctx, sdk.Tensor{Shape: []int{2, 2}, Data: []float32{0, 0, 1, 1}}); err != nil {
			t.Fatal(err)
		}
		z := sdk.Tensor{Shape: []int{1, 2}, Data: []float32{float32(math.Inf(1)), 0}}
		if _, err := c.Assign(ctx, z); err == nil {
			t.Fatal("Assign accepted Inf")
		}
		if _, err := c.Loss(ctx, sdk.ClusterLossRequest{Z: z, Indices: []int64{0}}); err == nil {
			t.Fatal("Loss accepted Inf")
		}
		if _, err := c.Update(ctx, z); err == nil {
			t.Fatal("Update accepted Inf")
		}
	})
}

func TestBadCallsAndConfig(t *testing.T) {
	ctx := context.Background()
	c := configured(t, 2, 0, map[string]any{"k": 2})
	two := sdk.Tensor{Shape: []int{2, 2}, Data: []float32{0, 0, 1, 1}}
	for name, call := range map[string]func() error{
		"Assign": func() error { _, err := c.Assign(ctx, two); return err },
		"Update": func() error { _, err := c.Update(ctx, two); return err },
		"Loss": func() error {
			_, err := c.Loss(ctx, sdk.ClusterLossRequest{Z: two, Indices: []int64{0, 1}})
			return err
		},
		"Save": func() error { _, err := c.Save(ctx); return err },
	} {
		if err := call(); err == nil || !strings.Contains(err.Error(), "before Fit") {
			t.Errorf("%s before Fit: %v", name, err)
		}
	}
	if _, err := New().Fit(ctx, two); err == nil || !strings.Contains(err.Error(), "before Configure") {
		t.Errorf("Fit before Configure: %v", err)
	}
	if _, err := c.Fit(ctx, sdk.Tensor{Shape: []int{2, 3}, Data: make([]float32, 6)}); err == nil || !strings.Contains(err.Error(), "shape") {
		t.Errorf("wrong width: %v", err)
	}
	if _, err := c.Fit(ctx, two); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Loss(ctx, sdk.ClusterLossRequest{Z: two, Indices: []int64{0}}); err == nil {
		t.Error("Loss with 1 index for 2 rows accepted")
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := c.Fit(cancelled, two); !errors.Is(err, context.Canceled) {
		t.Errorf("Fit with a cancelled context: %v", err)
	}
	for key, v := range map[string]any{"k": 0, "n_init": 0, "max_iter": 0, "tol": -1.0, "reg_covar": -1e-6} {
		cfg, err := sdk.ResolveConfig(New().Describe(), map[string]any{key: v})
		if err != nil {
			t.Fatal(err)
		}
		if err := New().Configure(ctx, sdk.Setup{Config: cfg, EmbeddingDim: 2}); err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("%s = %v: %v", key, v, err)
		}
	}
	for key, v := range map[string]any{"covariance": "tied", "init": "random"} {
		if _, err := sdk.ResolveConfig(New().Describe(), map[string]any{key: v}); err == nil {
			t.Errorf("%s = %v accepted", key, v)
		}
	}
	if err := New().Configure(ctx, sdk.Setup{EmbeddingDim: 0}); err == nil {
		t.Error("embedding dimension 0 accepted")
	}
}

func TestDescribeDefaults(t *testing.T) {
	cfg, err := sdk.ResolveConfig(New().Describe(), nil)
	if err != nil {
		t.Fatal(err)
	}
	want := sdk.Config{"k": 10, "covariance": "full", "n_init": 1, "max_iter": 100, "tol": 1e-3, "reg_covar": 1e-6, "init": "kmeans"}
	for key, v := range want {
		if cfg[key] != v {
			t.Errorf("default %s = %v, want %v", key, cfg[key], v)
		}
	}
	if r := cfg["k_range"].([]int); len(r) != 2 || r[0] != 2 || r[1] != 20 {
		t.Errorf("default k_range = %v, want [2 20]", r)
	}
	if len(cfg) != len(want)+1 {
		t.Errorf("%d config fields, want %d", len(cfg), len(want))
	}
}
