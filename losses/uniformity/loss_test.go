package uniformity

import (
	"context"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/deepclust/deepclust/sdk"
)

func configured(t testing.TB, raw map[string]any) *Loss {
	t.Helper()
	l := New()
	if err := l.Configure(context.Background(), sdk.Setup{Config: raw}); err != nil {
		t.Fatal(err)
	}
	return l
}

func column(vals ...float32) sdk.Tensor { return sdk.Tensor{Shape: []int{len(vals), 1}, Data: vals} }

// TestValueByHand: z = {0, 1, 4}, μ = {0, 2}, α = 1 (one dimension) give
// q rows (5/6, 1/6), (1/2, 1/2), (5/22, 17/22), so q̄ = (103, 95)/198,
//
//	balance, uniform prior:      KL = (103/198) ln(206/198) + (95/198) ln(190/198)
//	balance, prior (0.25, 0.75): KL = (103/198) ln(412/198) + (95/198) ln((380/3)/198)
//	confidence:                  (1/3) Σ_i H(q_i) = (1/3) (H(5/6) + ln 2 + H(5/22)),
//
// H(p) = −p ln p − (1−p) ln(1−p); L = KL + λ·confidence. With sharpness 2
// the balance term averages r rows (25/26, 1/26), (1/2, 1/2), (25/314, 289/314)
// instead of q, while the confidence term keeps q. The reverse balance term
// is KL(π‖q̄) = −(1/2) ln(2·103/198) − (1/2) ln(2·95/198); with sharpness 10
// (the defaults: reverse, 10) r rows are (5¹⁰, 1)/(5¹⁰ + 1), (1/2, 1/2),
// (5¹⁰, 17¹⁰)/(5¹⁰ + 17¹⁰). Cases that set neither key use forward and 1.
// A batch collapsed
// onto one point equidistant from the centroids has q̄ = π, so the balance
// term is 0 and only the confidence term sees the collapse: L = λ ln 2.
func TestValueByHand(t *testing.T) {
	ctx := context.Background()
	in := sdk.LossInput{Z: column(0, 1, 4), Centroids: column(0, 2)}
	h := func(p float64) float64 { return -p*math.Log(p) - (1-p)*math.Log(1-p) }
	uniformKL := 103.0/198*math.Log(206.0/198) + 95.0/198*math.Log(190.0/198)
	priorKL := 103.0/198*math.Log(412.0/198) + 95.0/198*math.Log(380.0/3/198)
	meanH := (h(5.0/6) + math.Ln2 + h(5.0/22)) / 3
	r0 := (25.0/26 + 0.5 + 25.0/314) / 3
	sharpKL := r0*math.Log(2*r0) + (1-r0)*math.Log(2*(1-r0))
	reverseKL := -0.5*math.Log(2*103.0/198) - 0.5*math.Log(2*95.0/198)
	p10, p17 := math.Pow(5, 10), math.Pow(17, 10)
	r10 := (p10/(p10+1) + 0.5 + p10/(p10+p17)) / 3
	defaultKL := -0.5*math.Log(2*r10) - 0.5*math.Log(2*(1-r10))
	cases := []struct {
		raw  map[string]any
		want float64
	}{
		{map[string]any{"confidence": 0.0}, uniformKL},
		{map[string]any{"confidence": 0.0, "prior": []float64{0.25, 0.75}}, priorKL},
		{map[string]any{}, uniformKL + 0.5*meanH},
		{map[string]any{"confidence": 1.0}, uniformKL + meanH},
		{map[string]any{"confidence": 0.5, "prior": []float64{0.25, 0.75}}, priorKL + 0.5*meanH},
		{map[string]any{"confidence": 0.0, "sharpness": 2.0}, sharpKL},
		{map[string]any{"confidence": 0.5, "sharpness": 2.0}, sharpKL + 0.5*meanH},
		{map[string]any{"confidence": 0.5, "balance": "reverse"}, reverseKL + 0.5*meanH},
		{map[string]any{"balance": "reverse", "sharpness": 10.0}, defaultKL + 0.5*meanH},
	}
	for _, tc := range cases {
		for key, v := range map[string]any{"balance": "forward", "sharpness": 1.0} {
			if _, set := tc.raw[key]; !set {
				tc.raw[key] = v
			}
		}
		out, err := configured(t, tc.raw).Eval(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(out.Value-tc.want) > 1e-15 {
			t.Errorf("config %v: L = %v, want %v (tolerance 1e-15)", tc.raw, out.Value, tc.want)
		}
		if out.GradZ.Rows() != 3 || out.GradCentroids.Rows() != 2 || !out.GradXHat.Empty() {
			t.Errorf("gradient shapes %v %v %v", out.GradZ.Shape, out.GradCentroids.Shape, out.GradXHat.Shape)
		}
	}
	defaults, err := configured(t, nil).Eval(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if want := defaultKL + 0.5*meanH; math.Abs(defaults.Value-want) > 1e-15 {
		t.Errorf("default config: L = %v, want %v (tolerance 1e-15)", defaults.Value, want)
	}
	collapsed := sdk.LossInput{Z: column(0, 0, 0), Centroids: column(-1, 1)}
	for _, lambda := range []float64{0, 1, 2.5} {
		out, err := configured(t, map[string]any{"confidence": lambda}).Eval(ctx, collapsed)
		if err != nil {
			t.Fatal(err)
		}
		if want := lambda * math.Ln2; math.Abs(out.Value-want) > 1e-15 {
			t.Errorf("collapsed batch, confidence %v: L = %v, want %v (tolerance 1e-15)", lambda, out.Value, want)
		}
	}
}

// TestGradientsFiniteDifferences compares ∂L/∂z and ∂L/∂μ of objective
// with float64 central differences (h = 1e-6) on random z (7 × 3) and
// μ (4 × 3), for (α, λ, π, s) = (1, 1, uniform, 1), (3, 0.7, (0.1, 0.2,
// 0.3, 0.4), 1), (2, 0, uniform, 1), (1, 0.5, uniform, 3) and (2, 0.7,
// (0.1, 0.2, 0.3, 0.4), 2.5) with the forward balance term, and (1, 0,
// uniform, 1) and (2, 0.5, (0.1, 0.2, 0.3, 0.4), 3) with the reverse one.
// Tolerance: 1e-9 + 1e-6·|analytic|.
func TestGradientsFiniteDifferences(t *testing.T) {
	const n, k, dim, h = 7, 4, 3, 1e-6
	rng := rand.New(rand.NewPCG(5, 6))
	uniform := []float64{0.25, 0.25, 0.25, 0.25}
	for _, tc := range []struct {
		alpha, lambda float64
		prior         []float64
		sharp         float64
		reverse       bool
	}{
		{1, 1, uniform, 1, false}, {3, 0.7, []float64{0.1, 0.2, 0.3, 0.4}, 1, false}, {2, 0, uniform, 1, false},
		{1, 0.5, uniform, 3, false}, {2, 0.7, []float64{0.1, 0.2, 0.3, 0.4}, 2.5, false},
		{1, 0, uniform, 1, true}, {2, 0.5, []float64{0.1, 0.2, 0.3, 0.4}, 3, true},
	} {
		z, mu := make([]float64, n*dim), make([]float64, k*dim)
		for i := range z {
			z[i] = 1.5 * rng.NormFloat64()
		}
		for i := range mu {
			mu[i] = 1.5 * rng.NormFloat64()
		}
		gz, gmu := make([]float64, n*dim), make([]float64, k*dim)
		objective(z, mu, tc.prior, dim, tc.alpha, tc.lambda, tc.sharp, tc.reverse, gz, gmu)
		loss := func() float64 {
			return objective(z, mu, tc.prior, dim, tc.alpha, tc.lambda, tc.sharp, tc.reverse, nil, nil)
		}
		check := func(name string, x, grad []float64) {
			for i := range x {
				orig := x[i]
				x[i] = orig + h
				up := loss()
				x[i] = orig - h
				down := loss()
				x[i] = orig
				fd := (up - down) / (2 * h)
				if math.Abs(fd-grad[i]) > 1e-9+1e-6*math.Abs(grad[i]) {
					t.Errorf("alpha %v, confidence %v, sharpness %v, reverse %v: %s[%d]: analytic %v, finite difference %v", tc.alpha, tc.lambda, tc.sharp, tc.reverse, name, i, grad[i], fd)
				}
			}
		}
		check("dL/dz", z, gz)
		check("dL/dmu", mu, gmu)
	}
}

// fourBlobs returns 200 points in R⁴: 50 around each of (±2, ±2, 0, 0),
// noise N(0, 0.4²) in every coordinate.
func fourBlobs() []float64 {
	rng := rand.New(rand.NewPCG(1, 2))
	x := make([]float64, 200*4)
	for i := range 200 {
		x[i*4] = 2 - 4*float64(i%2) + 0.4*rng.NormFloat64()
		x[i*4+1] = 2 - 4*float64(i/2%2) + 0.4*rng.NormFloat64()
		x[i*4+2] = 0.4 * rng.NormFloat64()
		x[i*4+3] = 0.4 * rng.NormFloat64()
	}
	return x
}

// train fits a linear encoder z = Wx + b (W 2 × 4 from N(0, 1) drawn with
// seed, b = 0) and four centroids starting at (−1, 0), (3, 0), (1, 2),
// (1, −2) — a layout not fitted to the data — by 6000 full-batch gradient
// steps (lr 0.05) on the k-means loss (1/N) Σ ‖z_i − μ_{s_i}‖², s_i the
// nearest centroid, plus weight × uni (through Eval) when uni is not nil.
// It returns the spread (1/N) Σ ‖z_i − z̄‖² before and after, and the final
// cluster sizes (nearest centroid).
func train(t *testing.T, uni *Loss, weight float64, seed uint64) (before, after float64, sizes []int) {
	t.Helper()
	const n, d, e, k, lr, steps = 200, 4, 2, 4, 0.05, 6000
	x := fourBlobs()
	rng := rand.New(rand.NewPCG(seed, 4))
	w, b := make([]float64, e*d), make([]float64, e)
	for i := range w {
		w[i] = rng.NormFloat64()
	}
	mu := []float64{-1, 0, 3, 0, 1, 2, 1, -2}
	z := sdk.NewTensor(n, e)
	centroids := sdk.NewTensor(k, e)
	for it := 0; ; it++ {
		var mean [e]float64
		for i := range n {
			for a := range e {
				v := b[a]
				for c := range d {
					v += w[a*d+c] * x[i*d+c]
				}
				z.Data[i*e+a] = float32(v)
				mean[a] += v / n
			}
		}
		var spread float64
		for i := range n {
			for a := range e {
				dv := float64(z.Data[i*e+a]) - mean[a]
				spread += dv * dv / n
			}
		}
		gz, gmu := make([]float64, n*e), make([]float64, k*e)
		sizes = make([]int, k)
		for i := range n {
			best, bestDist := 0, math.Inf(1)
			for j := range k {
				var dist float64
				for a := range e {
					dv := float64(z.Data[i*e+a]) - mu[j*e+a]
					dist += dv * dv
				}
				if dist < bestDist {
					best, bestDist = j, dist
				}
			}
			sizes[best]++
			for a := range e {
				g := 2 * (float64(z.Data[i*e+a]) - mu[best*e+a]) / n
				gz[i*e+a] += g
				gmu[best*e+a] -= g
			}
		}
		if it == 0 {
			before = spread
		}
		if it == steps {
			return before, spread, sizes
		}
		if uni != nil {
			for i, v := range mu {
				centroids.Data[i] = float32(v)
			}
			out, err := uni.Eval(context.Background(), sdk.LossInput{Z: z, Centroids: centroids})
			if err != nil {
				t.Fatal(err)
			}
			for i, g := range out.GradZ.Data {
				gz[i] += weight * float64(g)
			}
			for i, g := range out.GradCentroids.Data {
				gmu[i] += weight * float64(g)
			}
		}
		for a := range e {
			for c := range d {
				var g float64
				for i := range n {
					g += gz[i*e+a] * x[i*d+c]
				}
				w[a*d+c] -= lr * g
			}
			var g float64
			for i := range n {
				g += gz[i*e+a]
			}
			b[a] -= lr * g
		}
		for i, g := range gmu {
			mu[i] -= lr * g
		}
	}
}

// TestDegenerateSolutionAndCure: the k-means loss alone shrinks the
// embeddings towards a point (final spread below 1e-3 × the initial spread;
// observed 4.5e-5) and leaves a centroid dead (observed sizes
// [100 26 74 0]). With weight 3 on the default uniformity loss (λ = 0.5)
// the spread stays at least 0.1 × its start (observed 2.32 ×: 4.18 → 9.70;
// with λ = 1, 3.66 ×, the same after 24000 steps, an equilibrium) and every
// cluster keeps at least 15% of the samples (30 of 200; observed 50 each,
// the four blobs). With λ = 0 (balance only) the same run collapses
// (observed 0.029 ×; 1.9e-5 × with balance forward, sharpness 1).
func TestDegenerateSolutionAndCure(t *testing.T) {
	start, alone, sizes := train(t, nil, 0, 3)
	if alone > 1e-3*start || minOf(sizes) != 0 {
		t.Errorf("k-means loss alone: spread %v → %v, sizes %v; want a collapse below 1e-3× and an empty cluster", start, alone, sizes)
	}
	_, kept, sizes := train(t, configured(t, nil), 3, 3)
	if kept < 0.1*start || minOf(sizes) < 30 {
		t.Errorf("with uniformity: spread %v → %v, sizes %v; want ≥ 0.1× the start and every cluster ≥ 30 of 200", start, kept, sizes)
	}
}

// TestCureAcrossInitialisations repeats the cure for ten encoder seeds
// (10–19; 10–13 with -short) with the defaults (λ = 0.5), weight 3: the
// spread stays ≥ 0.1 × its start (observed 0.38–0.99 ×) and every cluster
// keeps ≥ 30 of 200 samples (observed 50 each for nine seeds; seed 10 ends
// with two blobs in one cluster and sizes 100, 33, 34, 33, a local optimum
// the README describes). With λ = 1 the spread also holds (observed
// ≥ 0.59 ×) and seed 10 ends the same way.
func TestCureAcrossInitialisations(t *testing.T) {
	uni := configured(t, map[string]any{"confidence": 0.5})
	last := uint64(20)
	if testing.Short() {
		last = 14
	}
	for seed := uint64(10); seed < last; seed++ {
		start, kept, sizes := train(t, uni, 3, seed)
		if kept < 0.1*start || minOf(sizes) < 30 {
			t.Errorf("seed %d: spread %v → %v, sizes %v; want ≥ 0.1× the start and every cluster ≥ 30 of 200", seed, start, kept, sizes)
		}
	}
}

func minOf(s []int) int {
	m := s[0]
	for _, v := range s {
		m = min(m, v)
	}
	return m
}

func TestBadInput(t *testing.T) {
	ctx := context.Background()
	l := configured(t, nil)
	if _, err := l.Eval(ctx, sdk.LossInput{Z: column(0, 1)}); err == nil || !strings.Contains(err.Error(), "stages to [train]") {
		t.Errorf("no centroids: %v", err)
	}
	two := sdk.Tensor{Shape: []int{1, 2}, Data: []float32{0, 0}}
	if _, err := l.Eval(ctx, sdk.LossInput{Z: two, Centroids: column(0, 1)}); err == nil || !strings.Contains(err.Error(), "Z") {
		t.Errorf("width mismatch: %v", err)
	}
	if _, err := l.Eval(ctx, sdk.LossInput{Z: column(float32(math.NaN())), Centroids: column(0, 1)}); err == nil || !strings.Contains(err.Error(), "NaN") {
		t.Errorf("NaN: %v", err)
	}
	p := configured(t, map[string]any{"prior": []float64{0.5, 0.25, 0.25}})
	if _, err := p.Eval(ctx, sdk.LossInput{Z: column(0), Centroids: column(0, 1)}); err == nil || !strings.Contains(err.Error(), "3 entries for 2 centroids") {
		t.Errorf("prior length: %v", err)
	}
	if _, err := New().Eval(ctx, sdk.LossInput{Z: column(0), Centroids: column(0, 1)}); err == nil || !strings.Contains(err.Error(), "before Configure") {
		t.Errorf("unconfigured: %v", err)
	}
	for _, raw := range []map[string]any{
		{"prior": []float64{0.5, 0.6}},
		{"prior": []float64{1.5, -0.5}},
		{"alpha": 0.0},
		{"confidence": -0.5},
		{"sharpness": 0.5},
		{"balance": "both"},
		{"beta": 1.0},
	} {
		if err := New().Configure(ctx, sdk.Setup{Config: raw}); err == nil {
			t.Errorf("config %v accepted", raw)
		}
	}
}

// TestUnreachedClusterStaysFinite: a centroid 1e200 away from every row
// gets q_ij = 0 and, reversed and sharpened, r̄_j = 0; the loss is large but
// the gradients must stay finite (0, not NaN, for the unreached cluster).
func TestUnreachedClusterStaysFinite(t *testing.T) {
	z := []float64{0, 1, 2}
	mu := []float64{0.5, 1e200}
	gz, gmu := make([]float64, 3), make([]float64, 2)
	objective(z, mu, []float64{0.5, 0.5}, 1, 1, 0.5, 10, true, gz, gmu)
	for i, g := range append(gz, gmu...) {
		if math.IsNaN(g) || math.IsInf(g, 0) {
			t.Fatalf("gradient %d is %v", i, g)
		}
	}
}
