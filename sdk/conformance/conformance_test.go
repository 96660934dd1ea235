package conformance

import (
	"context"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/deepclust/deepclust/sdk"
)

// square is L = w·Σ z² + Σ (x̂−x)² + Σ μ², with its gradients scaled by
// factor (1: right).
type square struct {
	w, factor float64
}

func (l *square) Describe() sdk.Description {
	return sdk.Description{Name: "square", Kind: sdk.KindLoss, Version: "1", Doc: "test",
		Fields: []sdk.Field{{Name: "weight", Type: sdk.TypeFloat, Default: 0.5, Doc: "w", Min: sdk.Bound(0)}}}
}

func (l *square) Configure(_ context.Context, s sdk.Setup) error {
	l.w = s.Config.Float("weight")
	return nil
}

func (l *square) Eval(_ context.Context, in sdk.LossInput) (sdk.LossOutput, error) {
	out := sdk.LossOutput{GradZ: sdk.NewTensor(in.Z.Shape...)}
	for i, z := range in.Z.Data {
		out.Value += l.w * float64(z) * float64(z)
		out.GradZ.Data[i] = float32(l.factor * 2 * l.w * float64(z))
	}
	if !in.XHat.Empty() {
		out.GradXHat = sdk.NewTensor(in.XHat.Shape...)
		for i, v := range in.XHat.Data {
			d := float64(v - in.X.Data[i])
			out.Value += d * d
			out.GradXHat.Data[i] = float32(2 * d)
		}
	}
	if !in.Centroids.Empty() {
		out.GradCentroids = sdk.NewTensor(in.Centroids.Shape...)
		for i, v := range in.Centroids.Data {
			out.Value += float64(v) * float64(v)
			out.GradCentroids.Data[i] = float32(2 * v)
		}
	}
	return out, nil
}

func byName(rs []Result, name string) (Result, bool) {
	for _, r := range rs {
		if r.Name == name {
			return r, true
		}
	}
	return Result{}, false
}

func TestLossPassesAndCatchesAGradientOffByTwo(t *testing.T) {
	o := Options{InputShape: []int{3}, Clusters: 2}
	good := Loss(context.Background(), func() (sdk.Loss, error) { return &square{factor: 1}, nil }, o)
	for _, r := range good {
		if r.Err != nil || r.Skipped {
			t.Errorf("right loss: %s: %v (skipped %v)", r.Name, r.Err, r.Skipped)
		}
	}
	if len(good) != 7 {
		t.Errorf("%d checks, want 7 (describe, configure, eval, 3 gradients, determinism)", len(good))
	}
	bad := Loss(context.Background(), func() (sdk.Loss, error) { return &square{factor: 2}, nil }, o)
	r, _ := byName(bad, "eval grad_z matches finite differences")
	if r.Err == nil || !strings.Contains(r.Err.Error(), "finite difference") {
		t.Fatalf("gradient ×2 not caught: %v", r.Err)
	}
	if !Failed(bad) || Failed(good) {
		t.Fatal("Failed disagrees with the results")
	}
}

func TestFiniteDifferencesCatchesTenPercent(t *testing.T) {
	v := sdk.Tensor{Shape: []int{4, 3}, Data: []float32{0.3, -1.2, 2.5, 0.01, -0.7, 1.1, 3.3, -2.2, 0.5, 0.9, -0.4, 1.7}}
	f := func(v sdk.Tensor) (float64, error) {
		var s float64
		for _, x := range v.Data {
			s += float64(x) * float64(x)
		}
		return s, nil
	}
	for _, factor := range []float32{1, 1.1} {
		grad := sdk.NewTensor(4, 3)
		for i, x := range v.Data {
			grad.Data[i] = 2 * x * factor
		}
		err := FiniteDifferences(rand.New(rand.NewPCG(1, 2)), "z", v, grad, f)
		if (err == nil) != (factor == 1) {
			t.Errorf("factor %v: %v", factor, err)
		}
	}
}

// linear is z = W·x with W learned by SGD; mode breaks it.
type linear struct {
	w     []float32
	in    int
	x     sdk.Tensor
	mode  string // "": right; "noop": Backward does nothing; "ascend": steps up
	fails bool   // Configure fails
}

func (e *linear) Describe() sdk.Description {
	return sdk.Description{Name: "linear", Kind: sdk.KindEncoder, Version: "1", Doc: "test"}
}

func (e *linear) Configure(_ context.Context, s sdk.Setup) error {
	if e.fails {
		return errors.New("broken")
	}
	e.in = s.InputShape[0]
	e.w = make([]float32, 2*e.in)
	for i := range e.w {
		e.w[i] = float32(i%5) * 0.1
	}
	return nil
}

func (e *linear) EmbeddingDim(context.Context) (int, error) { return 2, nil }

func (e *linear) Forward(_ context.Context, x sdk.Tensor, train bool) (sdk.Forward, error) {
	z := sdk.NewTensor(x.Rows(), 2)
	for i := range x.Rows() {
		for j := range 2 {
			for k := range e.in {
				z.Data[i*2+j] += e.w[j*e.in+k] * x.Data[i*e.in+k]
			}
		}
	}
	if train {
		e.x = x
	}
	return sdk.Forward{Z: z}, nil
}

func (e *linear) Backward(_ context.Context, req sdk.BackwardRequest) error {
	if e.mode == "noop" {
		return nil
	}
	lr := float32(0.01)
	if e.mode == "ascend" {
		lr = -lr
	}
	for i := range e.x.Rows() {
		for j := range 2 {
			for k := range e.in {
				e.w[j*e.in+k] -= lr * req.GradZ.Data[i*2+j] * e.x.Data[i*e.in+k]
			}
		}
	}
	return nil
}

func (e *linear) Save(context.Context) ([]byte, error) {
	b := make([]byte, 0, 4*len(e.w))
	for _, w := range e.w {
		b = append(b, byte(int8(w*100)))
	}
	return b, nil
}

func (e *linear) Load(_ context.Context, b []byte) error {
	for i := range e.w {
		e.w[i] = float32(int8(b[i])) / 100
	}
	return nil
}

func TestEncoderBackwardMustDescend(t *testing.T) {
	o := Options{InputShape: []int{3}}
	for mode, want := range map[string]string{"": "", "noop": "changed nothing", "ascend": "ascends"} {
		rs := Encoder(context.Background(), func() (sdk.Encoder, error) { return &linear{mode: mode}, nil }, o)
		r, ok := byName(rs, "backward descends")
		switch {
		case !ok:
			t.Fatalf("%q: no backward check in %v", mode, rs)
		case want == "" && r.Err != nil:
			t.Errorf("right encoder: %v", r.Err)
		case want != "" && (r.Err == nil || !strings.Contains(r.Err.Error(), want)):
			t.Errorf("mode %q: got %v, want %q", mode, r.Err, want)
		}
	}
}

func TestFailedPrerequisiteSkipsTheRest(t *testing.T) {
	rs := Encoder(context.Background(), func() (sdk.Encoder, error) { return &linear{fails: true}, nil }, Options{InputShape: []int{3}})
	if rs[0].Err != nil || rs[1].Err == nil || !strings.Contains(rs[1].Err.Error(), "broken") {
		t.Fatalf("describe then configure: %+v", rs[:2])
	}
	for _, r := range rs[2:] {
		if !r.Skipped {
			t.Errorf("%s ran after configure failed", r.Name)
		}
	}
}

// oneCluster puts every row in cluster 0 with L_c = mean ‖z_i‖² (μ = 0);
// its Fit reports the param selection params gives.
type oneCluster struct {
	params []sdk.ParamSelection
}

func (*oneCluster) Describe() sdk.Description {
	return sdk.Description{Name: "one", Kind: sdk.KindClusterer, Version: "1", Doc: "test"}
}
func (*oneCluster) Configure(context.Context, sdk.Setup) error { return nil }
func (c *oneCluster) Fit(ctx context.Context, z sdk.Tensor) (sdk.Assignment, error) {
	a, err := c.Assign(ctx, z)
	a.Params = c.params
	return a, err
}
func (c *oneCluster) Update(ctx context.Context, z sdk.Tensor) (sdk.Assignment, error) {
	return c.Assign(ctx, z)
}
func (*oneCluster) Assign(_ context.Context, z sdk.Tensor) (sdk.Assignment, error) {
	return sdk.Assignment{Labels: make([]int32, z.Rows())}, nil
}
func (*oneCluster) Loss(_ context.Context, req sdk.ClusterLossRequest) (sdk.ClusterLoss, error) {
	out := sdk.ClusterLoss{GradZ: sdk.NewTensor(req.Z.Shape...), Centroids: sdk.NewTensor(1, req.Z.Cols())}
	n := float64(req.Z.Rows())
	for i, v := range req.Z.Data {
		out.Value += float64(v) * float64(v) / n
		out.GradZ.Data[i] = float32(2 * float64(v) / n)
	}
	return out, nil
}
func (*oneCluster) Step(context.Context, sdk.ClusterStepRequest) error { return nil }
func (*oneCluster) Save(context.Context) ([]byte, error)               { return []byte{}, nil }
func (*oneCluster) Load(context.Context, []byte) error                 { return nil }

// TestClustererParamSelectionsChecked: Fit's param selections pass when
// consistent and fail the Fit check, naming the fault, when not.
func TestClustererParamSelectionsChecked(t *testing.T) {
	good := sdk.ParamSelection{Param: "gamma", Criterion: "modularity", Best: "max", Chosen: 2, Candidates: []float64{1.5, 2}, Values: []float64{0.5, 0.75}}
	bad := good
	bad.Chosen = 1.5
	for _, tc := range []struct {
		params []sdk.ParamSelection
		want   string
	}{
		{nil, ""},
		{[]sdk.ParamSelection{good}, ""},
		{[]sdk.ParamSelection{bad}, `Fit: param selection "gamma": chosen 1.5 has modularity 0.5, but candidate 2 has 0.75 and the largest wins`},
		{[]sdk.ParamSelection{good, good}, `Fit: param selection "gamma": given twice`},
	} {
		rs := Clusterer(context.Background(), func() (sdk.Clusterer, error) { return &oneCluster{params: tc.params}, nil }, Options{})
		for _, r := range rs {
			if r.Err != nil && (tc.want == "" || r.Name != "fit labels every row") {
				t.Errorf("%v: check %q: %v", tc.params, r.Name, r.Err)
			}
		}
		if r, _ := byName(rs, "fit labels every row"); tc.want != "" && (r.Err == nil || r.Err.Error() != tc.want) {
			t.Errorf("%v: got %v, want %q", tc.params, r.Err, tc.want)
		}
	}
}
