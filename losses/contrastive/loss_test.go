package contrastive

import (
	"context"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/deepclust/deepclust/sdk"
	"github.com/deepclust/deepclust/sdk/serve"
)

func configured(t testing.TB, raw map[string]any) *Loss {
	t.Helper()
	l := New()
	if err := l.Configure(context.Background(), sdk.Setup{Config: raw}); err != nil {
		t.Fatal(err)
	}
	return l
}

func tensor(rows, cols int, vals ...float32) sdk.Tensor {
	return sdk.Tensor{Shape: []int{rows, cols}, Data: vals}
}

// TestValueByHand works the loss out by hand (the formula of Hadsell,
// Chopra and LeCun 2006 as doc.go states it). Tolerance 1e-15 on L, 1e-7 on
// the float32 gradients (every value is exact in float32 but 0.1-based
// ones, which round within 1e-7).
//
// Batch 1: h = 2, margin 6, 2-D rows a0 = (0,0), a1 = (6,9), b0 = (0,1),
// b1 = (3,4), then an unused row (9,9):
//
//	positives: ‖a0−b0‖² = 1, ‖a1−b1‖² = 3² + 5² = 34
//	negatives: ‖a0−b1‖ = 5 → (6−5)² = 1;  ‖a1−b0‖ = ‖(6,8)‖ = 10 ≥ 6 → 0
//	P = 4, L = (1 + 34 + 1 + 0)/4 = 9
//	∂L/∂a0 = (2/4)(0,−1) − (2/4)(1/5)(−3,−4) = (0.3, −0.1)
//	∂L/∂a1 = (2/4)(3,5) = (1.5, 2.5)
//	∂L/∂b0 = −(2/4)(0,−1) = (0, 0.5)
//	∂L/∂b1 = −(2/4)(3,5) + (2/4)(1/5)(−3,−4) = (−1.8, −2.9),  unused row: 0.
//
// negatives 0 keeps the positives only: P = 2, L = (1 + 34)/2 = 17.5,
// ∂L/∂a0 = (2/2)(0,−1), ∂L/∂a1 = (2/2)(3,5), ∂L/∂b0 = (0,1), ∂L/∂b1 = (−3,−5);
// negatives 5 is clamped to h − 1 = 1 and gives batch 1's numbers.
//
// Batch 2 (a distance-0 negative): h = 2, margin 1, 1-D rows a0 = 0,
// a1 = 5, b0 = 0, b1 = 0: positives 0 and 25, negatives (a0, b1) at d = 0
// → 1² = 1 with no gradient, (a1, b0) at d = 5 → 0; L = 26/4 = 6.5,
// ∂L/∂a1 = (2/4)·5 = 2.5, ∂L/∂b1 = −2.5, the rest 0.
func TestValueByHand(t *testing.T) {
	ctx := context.Background()
	batch1 := tensor(5, 2, 0, 0, 6, 9, 0, 1, 3, 4, 9, 9)
	grad1 := []float64{0.3, -0.1, 1.5, 2.5, 0, 0.5, -1.8, -2.9, 0, 0}
	cases := []struct {
		raw   map[string]any
		z     sdk.Tensor
		want  float64
		wantG []float64
	}{
		{map[string]any{"margin": 6.0}, batch1, 9, grad1},
		{map[string]any{"margin": 6.0, "negatives": 5}, batch1, 9, grad1},
		{map[string]any{"margin": 6.0, "negatives": 0}, batch1, 17.5, []float64{0, -1, 3, 5, 0, 1, -3, -5, 0, 0}},
		{nil, tensor(4, 1, 0, 5, 0, 0), 6.5, []float64{0, 2.5, 0, -2.5}},
	}
	for _, tc := range cases {
		out, err := configured(t, tc.raw).Eval(ctx, sdk.LossInput{Z: tc.z, Pairs: 2})
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(out.Value-tc.want) > 1e-15 {
			t.Errorf("config %v: L = %v, want %v (tolerance 1e-15)", tc.raw, out.Value, tc.want)
		}
		if err := out.GradZ.CheckShape(tc.z.Shape...); err != nil {
			t.Fatalf("config %v: GradZ: %v", tc.raw, err)
		}
		for i, g := range tc.wantG {
			if math.Abs(float64(out.GradZ.Data[i])-g) > 1e-7 {
				t.Errorf("config %v: ∂L/∂z[%d] = %v, want %v (tolerance 1e-7)", tc.raw, i, out.GradZ.Data[i], g)
			}
		}
		if !out.GradXHat.Empty() || !out.GradCentroids.Empty() {
			t.Errorf("config %v: gradients the loss does not depend on are not empty: %v %v", tc.raw, out.GradXHat.Shape, out.GradCentroids.Shape)
		}
	}
	// One pair has no other anchor to form a negative with: L = ‖a0 − b0‖² = 25.
	out, err := configured(t, nil).Eval(ctx, sdk.LossInput{Z: tensor(2, 2, 0, 0, 3, 4), Pairs: 1})
	if err != nil {
		t.Fatal(err)
	}
	if out.Value != 25 {
		t.Errorf("one pair: L = %v, want 25", out.Value)
	}
}

// TestUMAPValueByHand works kind umap out by hand with a = b = 1, so that
// φ(d) = 1/(1 + d²), ℓ₊ = log(1 + d²), ℓ₋ = log(1 + d²) − log(d²(1+ε) + ε)
// (doc.go; ε = 1e-4 as parametric UMAP's clip). Batch: h = 2, 1-D rows
// a0 = 0, a1 = 3, b0 = 1, b1 = 1, one negative per anchor:
//
//	positives (a0, b0) d² = 1, (a1, b1) d² = 4; negatives (a0, b1) d² = 1, (a1, b0) d² = 4
//	L = (1/4)[log 2 + log 5 + log 2 − log(1 + 2ε) + log 5 − log(4 + 5ε)]
//	w = 2·dℓ/d(d²):  w₊(1) = 1, w₊(4) = 2/5, w₋(1) = 2(1/2 − (1+ε)/(1+2ε)), w₋(4) = 2(1/5 − (1+ε)/(4+5ε))
//	∂L/∂a0 = (1/4)(w₊(1) + w₋(1))·(0 − 1),  ∂L/∂a1 = (1/4)(w₊(4) + w₋(4))·(3 − 1)
//	∂L/∂b0 = −(1/4)(w₊(1)·(0 − 1) + w₋(4)·(3 − 1)),  ∂L/∂b1 = −(1/4)(w₊(4)·(3 − 1) + w₋(1)·(0 − 1))
//
// A pair at distance 0 adds −log ε to L as a negative and 0 as a positive,
// with no gradient. Tolerance 1e-15 on L, 1e-7 on the float32 gradients.
func TestUMAPValueByHand(t *testing.T) {
	const eps = 1e-4
	wp1, wp4 := 1.0, 2.0/5
	wn1, wn4 := 2*(0.5-(1+eps)/(1+2*eps)), 2*(0.2-(1+eps)/(4+5*eps))
	cases := []struct {
		z     sdk.Tensor
		want  float64
		wantG []float64
	}{
		{tensor(4, 1, 0, 3, 1, 1),
			(math.Log(2) + math.Log(5) + math.Log(2) - math.Log(1+2*eps) + math.Log(5) - math.Log(4+5*eps)) / 4,
			[]float64{-(wp1 + wn1) / 4, 2 * (wp4 + wn4) / 4, -(-wp1 + 2*wn4) / 4, -(2*wp4 - wn1) / 4}},
		// a0 = b0 = b1 = 0, a1 = 1: positive (a0, b0) at 0, negative (a0, b1) at 0.
		{tensor(4, 1, 0, 1, 0, 0),
			(0 + math.Log(2) - math.Log(eps) + math.Log(2) - math.Log(1+2*eps)) / 4,
			[]float64{0, (1 + wn1) / 4, -wn1 / 4, -1.0 / 4}},
	}
	for i, tc := range cases {
		out, err := configured(t, map[string]any{"kind": "umap", "a": 1.0, "b": 1.0}).Eval(context.Background(), sdk.LossInput{Z: tc.z, Pairs: 2})
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(out.Value-tc.want) > 1e-15 {
			t.Errorf("batch %d: L = %v, want %v (tolerance 1e-15)", i, out.Value, tc.want)
		}
		for j, g := range tc.wantG {
			if math.Abs(float64(out.GradZ.Data[j])-g) > 1e-7 {
				t.Errorf("batch %d: ∂L/∂z[%d] = %v, want %v (tolerance 1e-7)", i, j, out.GradZ.Data[j], g)
			}
		}
	}
}

// randomBatch returns n × dim values from N(0, 1), rounded to float32 so
// that Eval sees exactly the same numbers.
func randomBatch(rng *rand.Rand, n, dim int) []float64 {
	z := make([]float64, n*dim)
	for i := range z {
		z[i] = float64(float32(rng.NormFloat64()))
	}
	return z
}

// TestGradientsFiniteDifferences compares ∂L/∂z of objective with float64
// central differences (step 1e-6) on random z (10 × 3: h = 4 pairs and two
// unused rows): kind hadsell with margin 2.5 and 1, 3 and 7 (clamped to 3)
// negatives per anchor, with a positive margin, and kind umap with the
// default (a, b) and umap-learn's fit for min_dist 0. The test requires negatives both inside and outside the margin,
// none within 1e-3 of it (the kink). Tolerance: 1e-8 + 1e-6·|analytic|;
// the unused rows' gradient must be exactly 0. Eval must return the same
// value and objective's gradient rounded to float32, bit for bit.
func TestGradientsFiniteDifferences(t *testing.T) {
	const n, h, dim, margin, step = 10, 4, 3, 2.5, 1e-6
	rng := rand.New(rand.NewPCG(7, 8))
	z := randomBatch(rng, n, dim)
	var inside, outside int
	for s := 1; s < h; s++ {
		for i := range h {
			var d2 float64
			for t := range dim {
				v := z[i*dim+t] - z[(h+(i+s)%h)*dim+t]
				d2 += v * v
			}
			d := math.Sqrt(d2)
			if math.Abs(d-margin) < 1e-3 {
				t.Fatalf("negative pair at distance %v, too close to the margin %v for finite differences", d, margin)
			}
			if d < margin {
				inside++
			} else {
				outside++
			}
		}
	}
	if inside == 0 || outside == 0 {
		t.Fatalf("negatives inside / outside the margin: %d / %d, want both", inside, outside)
	}
	zt := sdk.NewTensor(n, dim)
	for i, v := range z {
		zt.Data[i] = float32(v)
	}
	for _, tc := range []struct {
		negatives int
		raw       map[string]any
		k         pairLoss
	}{
		{1, nil, hadsell{margin, 0}},
		{3, nil, hadsell{margin, 0}},
		{7, nil, hadsell{margin, 0}},
		{3, map[string]any{"positive_margin": 0.5}, hadsell{margin, 0.5}},
		{3, map[string]any{"kind": "umap"}, umap{1.577, 0.895}},
		{7, map[string]any{"kind": "umap", "a": 1.929, "b": 0.7915}, umap{1.929, 0.7915}},
	} {
		negatives, k := tc.negatives, tc.k
		shifts := min(negatives, h-1)
		grad := make([]float64, n*dim)
		value := objective(z, dim, h, shifts, k, grad)
		for i := 2 * h * dim; i < n*dim; i++ {
			if grad[i] != 0 {
				t.Errorf("negatives %d: unused row %d has gradient %v", negatives, i/dim, grad[i])
			}
		}
		for i := range z {
			orig := z[i]
			z[i] = orig + step
			up := objective(z, dim, h, shifts, k, nil)
			z[i] = orig - step
			down := objective(z, dim, h, shifts, k, nil)
			z[i] = orig
			fd := (up - down) / (2 * step)
			if math.Abs(fd-grad[i]) > 1e-8+1e-6*math.Abs(grad[i]) {
				t.Errorf("%+v, negatives %d: ∂L/∂z[%d]: analytic %v, finite difference %v", k, negatives, i, grad[i], fd)
			}
		}
		raw := map[string]any{"margin": margin, "negatives": negatives}
		for key, v := range tc.raw {
			raw[key] = v
		}
		out, err := configured(t, raw).Eval(context.Background(), sdk.LossInput{Z: zt, Pairs: h})
		if err != nil {
			t.Fatal(err)
		}
		if out.Value != value {
			t.Errorf("negatives %d: Eval L = %v, objective %v", negatives, out.Value, value)
		}
		for i, g := range grad {
			if out.GradZ.Data[i] != float32(g) {
				t.Errorf("negatives %d: Eval ∂L/∂z[%d] = %v, objective %v", negatives, i, out.GradZ.Data[i], float32(g))
			}
		}
	}
}

// TestSameThroughProtocol serves the loss over the plugin protocol (gRPC,
// Arrow tensors) and checks that Pairs crosses and that value and gradient
// are bit-identical to the in-process loss; a bad pair count is refused.
func TestSameThroughProtocol(t *testing.T) {
	ctx := context.Background()
	conn, srv := plugin.TestGRPCConn(t, func(s *grpc.Server) {
		if err := serve.RegisterServer(s, New()); err != nil {
			t.Fatal(err)
		}
	})
	t.Cleanup(func() { _ = conn.Close(); srv.Stop() })
	c, err := serve.NewClient(ctx, conn, sdk.KindLoss)
	if err != nil {
		t.Fatal(err)
	}
	remote := c.(sdk.Loss)
	raw := map[string]any{"margin": 2.0, "negatives": 2}
	if err := remote.Configure(ctx, sdk.Setup{Config: raw, EmbeddingDim: 3}); err != nil {
		t.Fatal(err)
	}
	z := sdk.NewTensor(12, 3)
	for i, v := range randomBatch(rand.New(rand.NewPCG(3, 4)), 12, 3) {
		z.Data[i] = float32(v)
	}
	in := sdk.LossInput{Z: z, Pairs: 5}
	want, err := configured(t, raw).Eval(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	got, err := remote.Eval(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if got.Value != want.Value {
		t.Errorf("L through the protocol %v, in process %v", got.Value, want.Value)
	}
	if err := got.GradZ.CheckShape(12, 3); err != nil {
		t.Fatal(err)
	}
	for i, g := range want.GradZ.Data {
		if got.GradZ.Data[i] != g {
			t.Errorf("∂L/∂z[%d] through the protocol %v, in process %v", i, got.GradZ.Data[i], g)
		}
	}
	if _, err := remote.Eval(ctx, sdk.LossInput{Z: z}); err == nil || !strings.Contains(err.Error(), "pretrain_sampler: neighbors") {
		t.Errorf("no pairs through the protocol: %v", err)
	}
}

func TestBadInput(t *testing.T) {
	ctx := context.Background()
	l := configured(t, nil)
	z := tensor(5, 1, 0, 1, 2, 3, 4)
	for _, tc := range []struct {
		in   sdk.LossInput
		want string
	}{
		{sdk.LossInput{Z: z}, "no neighbour pairs; train with train.pretrain_sampler: neighbors"},
		{sdk.LossInput{Z: z, Pairs: 3}, "3 neighbour pairs in a batch of 5 rows"},
		{sdk.LossInput{Z: z, Pairs: -1}, "-1 neighbour pairs in a batch of 5 rows"},
		{sdk.LossInput{Pairs: 1}, "Z shape []"},
		{sdk.LossInput{Z: sdk.NewTensor(0, 2)}, "Z shape [0 2]"},
		{sdk.LossInput{Z: sdk.NewTensor(2, 1, 1)}, "Z shape [2 1 1]"},
		{sdk.LossInput{Z: tensor(2, 1, 0, float32(math.NaN())), Pairs: 1}, "NaN"},
	} {
		if _, err := l.Eval(ctx, tc.in); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Z %v, pairs %d: error %v, want one containing %q", tc.in.Z.Shape, tc.in.Pairs, err, tc.want)
		}
	}
	if _, err := New().Eval(ctx, sdk.LossInput{Z: z, Pairs: 2}); err == nil || !strings.Contains(err.Error(), "before Configure") {
		t.Errorf("unconfigured: %v", err)
	}
	for _, tc := range []struct {
		raw  map[string]any
		want string
	}{
		{map[string]any{"margin": 0.0}, `"margin" is 0`},
		{map[string]any{"margin": -1.0}, `"margin" is -1`},
		{map[string]any{"margin": math.Inf(1)}, `"margin" is +Inf`},
		{map[string]any{"negatives": -1}, `"negatives" is -1`},
		{map[string]any{"positive_margin": -0.5}, `"positive_margin" is -0.5`},
		{map[string]any{"negatives": 1.5}, `"negatives"`},
		{map[string]any{"beta": 1.0}, `unknown config key "beta"`},
		{map[string]any{"kind": "triplet"}, `"kind"`},
		{map[string]any{"kind": "umap", "a": 0.0}, `"a" is 0`},
		{map[string]any{"kind": "umap", "b": 0.5}, `"b" is 0.5`},
		{map[string]any{"kind": "umap", "b": math.NaN()}, `"b" is NaN`},
	} {
		if err := New().Configure(ctx, sdk.Setup{Config: tc.raw}); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("config %v: error %v, want one containing %q", tc.raw, err, tc.want)
		}
	}
}
