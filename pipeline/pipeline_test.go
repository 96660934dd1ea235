package pipeline

import (
	"context"
	"encoding/json"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/deepclust/deepclust/clusterers/kmeans"
	"github.com/deepclust/deepclust/encoders/mlp"
	"github.com/deepclust/deepclust/losses/reconstruction"
	"github.com/deepclust/deepclust/sdk"
)

// Recording fakes: the encoder is the identity (z = x, x̂ = x), the
// clusterer returns constant gradients and scripted labels, the loss
// returns constant gradients. They record what the pipeline sends.

type fakeEncoder struct {
	backward []sdk.BackwardRequest
	batches  [][]float32
}

func (*fakeEncoder) Describe() sdk.Description {
	return sdk.Description{Name: "id", Kind: sdk.KindEncoder}
}
func (*fakeEncoder) Configure(context.Context, sdk.Setup) error { return nil }
func (*fakeEncoder) EmbeddingDim(context.Context) (int, error)  { return 1, nil }
func (*fakeEncoder) Save(context.Context) ([]byte, error)       { return nil, nil }
func (*fakeEncoder) Load(context.Context, []byte) error         { return nil }
func (e *fakeEncoder) Forward(_ context.Context, x sdk.Tensor, train bool) (sdk.Forward, error) {
	if train {
		e.batches = append(e.batches, slices.Clone(x.Data))
	}
	return sdk.Forward{Z: x.Clone(), XHat: x.Clone()}, nil
}
func (e *fakeEncoder) Backward(_ context.Context, r sdk.BackwardRequest) error {
	e.backward = append(e.backward, sdk.BackwardRequest{GradZ: r.GradZ.Clone(), GradXHat: r.GradXHat.Clone(), LearningRate: r.LearningRate})
	return nil
}

type fakeClusterer struct {
	labels  func(update int, n int) []int32
	updates int
	steps   []sdk.ClusterStepRequest
	// params, when set, gives the param selections of Fit (update 0) and
	// of each Update.
	params func(update int) []sdk.ParamSelection
}

func (c *fakeClusterer) selections(update int) []sdk.ParamSelection {
	if c.params == nil {
		return nil
	}
	return c.params(update)
}

func (*fakeClusterer) Describe() sdk.Description {
	return sdk.Description{Name: "c", Kind: sdk.KindClusterer}
}
func (*fakeClusterer) Configure(context.Context, sdk.Setup) error { return nil }
func (*fakeClusterer) Save(context.Context) ([]byte, error)       { return nil, nil }
func (*fakeClusterer) Load(context.Context, []byte) error         { return nil }
func (c *fakeClusterer) Fit(_ context.Context, z sdk.Tensor) (sdk.Assignment, error) {
	return sdk.Assignment{Labels: c.labels(0, z.Rows()), Params: c.selections(0)}, nil
}
func (c *fakeClusterer) Update(_ context.Context, z sdk.Tensor) (sdk.Assignment, error) {
	c.updates++
	return sdk.Assignment{Labels: c.labels(c.updates, z.Rows()), Params: c.selections(c.updates)}, nil
}
func (c *fakeClusterer) Assign(_ context.Context, z sdk.Tensor) (sdk.Assignment, error) {
	return sdk.Assignment{Labels: c.labels(c.updates, z.Rows())}, nil
}
func (c *fakeClusterer) Loss(_ context.Context, r sdk.ClusterLossRequest) (sdk.ClusterLoss, error) {
	g := sdk.NewTensor(r.Z.Shape...)
	for i := range g.Data {
		g.Data[i] = 1
	}
	return sdk.ClusterLoss{Value: 2, GradZ: g, Centroids: sdk.NewTensor(2, 1)}, nil
}
func (c *fakeClusterer) Step(_ context.Context, r sdk.ClusterStepRequest) error {
	c.steps = append(c.steps, sdk.ClusterStepRequest{GradCentroids: r.GradCentroids.Clone(), Weight: r.Weight})
	return nil
}

type fakeLoss struct{}

func (fakeLoss) Describe() sdk.Description                  { return sdk.Description{Name: "l", Kind: sdk.KindLoss} }
func (fakeLoss) Configure(context.Context, sdk.Setup) error { return nil }
func (fakeLoss) Eval(_ context.Context, in sdk.LossInput) (sdk.LossOutput, error) {
	out := sdk.LossOutput{Value: 3, GradZ: sdk.NewTensor(in.Z.Shape...), GradXHat: sdk.NewTensor(in.XHat.Shape...)}
	for i := range out.GradZ.Data {
		out.GradZ.Data[i], out.GradXHat.Data[i] = 10, 100
	}
	if !in.Centroids.Empty() {
		out.GradCentroids = sdk.NewTensor(in.Centroids.Shape...)
		out.GradCentroids.Data[0] = 7
	}
	return out, nil
}

func rampData(n int) Data {
	x := sdk.NewTensor(n, 1)
	for i := range x.Data {
		x.Data[i] = float32(i)
	}
	return Data{X: x}
}

func constLabels(int, n int) []int32 { return make([]int32, n) }

// TestGradientsAreCombinedWithTheirWeights checks ∂L/∂z = β·∂L_c/∂z +
// α·∂L_k/∂z and ∂L/∂x̂ = α·∂L_k/∂x̂, the centroid gradient α·∂L_k/∂μ with
// Weight β passed to Step, and the total loss β·L_c + α·L_k.
func TestGradientsAreCombinedWithTheirWeights(t *testing.T) {
	enc, clu := &fakeEncoder{}, &fakeClusterer{labels: constLabels}
	m := Model{Encoder: enc, Clusterer: clu, Losses: []Loss{{Name: "l", Loss: fakeLoss{}, Weight: 0.5, Train: true}}}
	s := Schedule{BatchSize: 4, Epochs: 1, Beta: 0.25, LR: 0.01}
	res, err := Train(context.Background(), m, rampData(8), s, 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(enc.backward) != 2 {
		t.Fatalf("%d backward calls, want 2", len(enc.backward))
	}
	for _, b := range enc.backward {
		for i := range b.GradZ.Data {
			if b.GradZ.Data[i] != 0.25*1+0.5*10 || b.GradXHat.Data[i] != 0.5*100 {
				t.Fatalf("gradients %v %v, want 5.25 and 50", b.GradZ.Data, b.GradXHat.Data)
			}
		}
		if b.LearningRate != 0.01 {
			t.Fatalf("learning rate %v, want 0.01", b.LearningRate)
		}
	}
	for _, st := range clu.steps {
		if st.Weight != 0.25 || st.GradCentroids.Data[0] != 0.5*7 {
			t.Fatalf("step %+v, want weight 0.25 and centroid gradient 3.5", st)
		}
	}
	if got := res.Report.History[1].Loss; math.Abs(got-(0.25*2+0.5*3)) > 1e-12 {
		t.Fatalf("total loss %v, want 2", got)
	}
}

// TestPretrainUsesOnlyPretrainLosses checks that pretraining sends only
// the pretrain-stage losses' gradients and no clusterer calls.
func TestPretrainUsesOnlyPretrainLosses(t *testing.T) {
	enc, clu := &fakeEncoder{}, &fakeClusterer{labels: constLabels}
	m := Model{Encoder: enc, Clusterer: clu, Losses: []Loss{
		{Name: "pre", Loss: fakeLoss{}, Weight: 1, Pretrain: true},
		{Name: "train", Loss: fakeLoss{}, Weight: 2, Train: true},
	}}
	s := Schedule{BatchSize: 8, PretrainEpochs: 3, PretrainLR: 0.5}
	if _, err := Train(context.Background(), m, rampData(8), s, 1, nil); err != nil {
		t.Fatal(err)
	}
	if len(enc.backward) != 3 || len(clu.steps) != 0 {
		t.Fatalf("%d backward, %d clusterer steps; want 3 and 0", len(enc.backward), len(clu.steps))
	}
	if b := enc.backward[0]; b.GradZ.Data[0] != 10 || b.LearningRate != 0.5 {
		t.Fatalf("pretrain gradient %v lr %v, want 10 and 0.5", b.GradZ.Data[0], b.LearningRate)
	}
}

// TestUpdateIntervalAndTolerance checks that the clusterer is updated
// every UpdateInterval batches and that training stops once the label
// change falls below Tol.
func TestUpdateIntervalAndTolerance(t *testing.T) {
	// Labels flip at every update until the third, then stay.
	flip := func(u, n int) []int32 {
		l := make([]int32, n)
		for i := range l {
			l[i] = int32(min(u, 3) % 2)
		}
		return l
	}
	clu := &fakeClusterer{labels: flip}
	m := Model{Encoder: &fakeEncoder{}, Clusterer: clu}
	s := Schedule{BatchSize: 2, Epochs: 10, UpdateInterval: 3, Tol: 0.01}
	res, err := Train(context.Background(), m, rampData(10), s, 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	if clu.updates != 4 || res.Report.Stop != "tol" {
		t.Fatalf("%d updates, stop %q; want 4 and tol", clu.updates, res.Report.Stop)
	}
	h := res.Report.History
	if len(h) != 5 || h[1].Step != 3 || h[4].Step != 12 || h[4].Epoch != 3 || h[3].LabelChange != 1 || h[4].LabelChange != 0 {
		t.Fatalf("history %+v", h)
	}
}

// TestParamSelectionsRecorded checks that the report keeps cluster init's
// param selections, each replaced by the selection of the same param from
// the last Update that made one (an Update without any keeps them), and
// that metrics.json names them param_selections.
func TestParamSelectionsRecorded(t *testing.T) {
	gamma := func(chosen float64) sdk.ParamSelection {
		return sdk.ParamSelection{Param: "gamma", Criterion: "modularity", Best: "max", Chosen: chosen,
			Candidates: []float64{chosen, chosen + 1}, Values: []float64{0.5, 0.25}}
	}
	tau := sdk.ParamSelection{Param: "tau", Criterion: "residual", Best: "min", Chosen: 0.9, Candidates: []float64{0.9}, Values: []float64{1}}
	for _, tc := range []struct {
		name   string
		epochs int
		want   []sdk.ParamSelection
	}{
		// Updates 1 and 2 choose gamma 11 and 12, update 3 nothing.
		{"cluster init only", 0, []sdk.ParamSelection{gamma(10), tau}},
		{"joint training", 3, []sdk.ParamSelection{gamma(12), tau}},
	} {
		clu := &fakeClusterer{labels: constLabels, params: func(u int) []sdk.ParamSelection {
			switch {
			case u == 0:
				return []sdk.ParamSelection{gamma(10), tau}
			case u <= 2:
				return []sdk.ParamSelection{gamma(10 + float64(u))}
			}
			return nil
		}}
		m := Model{Encoder: &fakeEncoder{}, Clusterer: clu}
		s := Schedule{BatchSize: 5, Epochs: tc.epochs, UpdateInterval: 2}
		res, err := Train(context.Background(), m, rampData(10), s, 1, nil)
		if err != nil {
			t.Fatal(err)
		}
		if clu.updates != tc.epochs {
			t.Fatalf("%s: %d updates, want %d", tc.name, clu.updates, tc.epochs)
		}
		if got := res.Report.ParamSelections; !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: recorded %v, want %v", tc.name, got, tc.want)
		}
		b, err := json.Marshal(res.Report)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b), `"param_selections":[{"param":"gamma","criterion":"modularity","best":"max","chosen":1`) {
			t.Errorf("%s: metrics JSON %s has no param_selections", tc.name, b)
		}
	}
	res, err := Train(context.Background(), Model{Encoder: &fakeEncoder{}, Clusterer: &fakeClusterer{labels: constLabels}}, rampData(10), Schedule{BatchSize: 5}, 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := json.Marshal(res.Report); res.Report.ParamSelections != nil || strings.Contains(string(b), "param_selections") {
		t.Errorf("a clusterer that chose nothing: %s", b)
	}
}

// TestSameSeedSameBatches checks that the seed fixes the batch order and
// that another seed changes it.
func TestSameSeedSameBatches(t *testing.T) {
	order := func(seed uint64) [][]float32 {
		enc := &fakeEncoder{}
		m := Model{Encoder: enc, Clusterer: &fakeClusterer{labels: constLabels}}
		if _, err := Train(context.Background(), m, rampData(20), Schedule{BatchSize: 5, Epochs: 2}, seed, nil); err != nil {
			t.Fatal(err)
		}
		return enc.batches
	}
	a, b, c := order(3), order(3), order(4)
	if !slices.EqualFunc(a, b, slices.Equal) {
		t.Fatal("same seed, different batch order")
	}
	if slices.EqualFunc(a, c, slices.Equal) {
		t.Fatal("different seeds, same batch order")
	}
}

// TestBadPluginGradientIsAnError checks that a loss gradient of the wrong
// size is reported, not a panic.
func TestBadPluginGradientIsAnError(t *testing.T) {
	m := Model{Encoder: &fakeEncoder{}, Clusterer: &fakeClusterer{labels: constLabels}, Losses: []Loss{{Name: "short", Loss: shortLoss{}, Weight: 1, Pretrain: true}}}
	_, err := Train(context.Background(), m, rampData(4), Schedule{BatchSize: 4, PretrainEpochs: 1}, 1, nil)
	if err == nil || err.Error() != `pretrain epoch 1: loss "short": gradient w.r.t. z: 1 values, want 4` {
		t.Fatalf("got %v", err)
	}
}

type shortLoss struct{ fakeLoss }

func (shortLoss) Eval(context.Context, sdk.LossInput) (sdk.LossOutput, error) {
	return sdk.LossOutput{GradZ: sdk.NewTensor(1, 1)}, nil
}

// TestAutoencoderAndKMeansFindBlobs runs the real MLP autoencoder, k-means
// with DCN's loss and the reconstruction loss on three well-separated
// Gaussian blobs in 20 dimensions: the pipeline must recover them (ACC 1).
func TestAutoencoderAndKMeansFindBlobs(t *testing.T) {
	const n, d = 300, 20
	rng := rand.New(rand.NewPCG(7, 7))
	x, truth := sdk.NewTensor(n, d), make([]int32, n)
	for i := range n {
		truth[i] = int32(i % 3)
		for j := range d {
			centre := 0.0
			if j%3 == int(truth[i]) {
				centre = 3
			}
			x.Data[i*d+j] = float32(centre + 0.3*rng.NormFloat64())
		}
	}
	ctx := context.Background()
	enc, clu, rec := mlp.New(), kmeans.New(), reconstruction.New()
	configure := func(p interface {
		Describe() sdk.Description
		Configure(context.Context, sdk.Setup) error
	}, raw map[string]any, dim int) {
		cfg, err := sdk.ResolveConfig(p.Describe(), raw)
		if err != nil {
			t.Fatal(err)
		}
		if err := p.Configure(ctx, sdk.Setup{Config: cfg, InputShape: []int{d}, EmbeddingDim: dim, Seed: 1}); err != nil {
			t.Fatal(err)
		}
	}
	configure(enc, map[string]any{"hidden": []int{16}, "embedding": 3, "lr": 0.01}, 0)
	configure(clu, map[string]any{"k": 3, "n_init": 3}, 3)
	configure(rec, nil, 3)
	m := Model{Encoder: enc, Clusterer: clu, Losses: []Loss{{Name: "reconstruction", Loss: rec, Weight: 1, Pretrain: true, Train: true}}}
	res, err := Train(ctx, m, Data{X: x, Labels: truth}, Schedule{BatchSize: 32, PretrainEpochs: 30, Epochs: 5, Beta: 0.1, Tol: 0.001}, 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Report.ACC != 1 {
		t.Fatalf("ACC %v on separable blobs, want 1 (history %+v)", res.Report.ACC, res.Report.History)
	}
	if res.Z.Rows() != n || res.Z.Cols() != 3 || len(res.Labels) != n {
		t.Fatalf("result shapes: z %v, %d labels", res.Z.Shape, len(res.Labels))
	}
}

// TestUniformSamplerBalancesClusters checks that an epoch of the uniform
// sampler draws every cluster equally often, whatever its size: here
// clusters of 90, 9 and 1 samples each give 34 of 102 draws, cut to 100.
func TestUniformSamplerBalancesClusters(t *testing.T) {
	labels := make([]int32, 100)
	for i := range labels {
		switch {
		case i >= 99:
			labels[i] = 2
		case i >= 90:
			labels[i] = 1
		}
	}
	tr := &trainer{s: Schedule{Sampler: SamplerUniform}, rng: rand.New(rand.NewPCG(1, 1))}
	order := tr.order(labels)
	counts := make([]int, 3)
	for _, i := range order {
		counts[labels[i]]++
	}
	if len(order) != 100 || counts[0] < 32 || counts[1] < 32 || counts[2] < 32 {
		t.Fatalf("%d draws, per cluster %v; want 100 draws about evenly spread", len(order), counts)
	}
}

// TestCosinePretrainSchedule checks the learning rates the encoder gets:
// lr·½(1 + cos(π·t/T)) for steps t = 0..T-1, here 0.4, 0.2 (t = T/2) and
// 0.4·½(1 + cos(3π/4)).
func TestCosinePretrainSchedule(t *testing.T) {
	enc := &fakeEncoder{}
	m := Model{Encoder: enc, Clusterer: &fakeClusterer{labels: constLabels}, Losses: []Loss{{Name: "l", Loss: fakeLoss{}, Weight: 1, Pretrain: true}}}
	s := Schedule{BatchSize: 4, PretrainEpochs: 2, PretrainLR: 0.4, PretrainDecay: DecayCosine}
	if _, err := Train(context.Background(), m, rampData(8), s, 1, nil); err != nil {
		t.Fatal(err)
	}
	want := []float64{0.4, 0.4 * 0.5 * (1 + math.Cos(math.Pi/4)), 0.2, 0.4 * 0.5 * (1 + math.Cos(3*math.Pi/4))}
	for i, b := range enc.backward {
		if math.Abs(b.LearningRate-want[i]) > 1e-15 {
			t.Fatalf("step %d: lr %v, want %v", i, b.LearningRate, want[i])
		}
	}
	s.PretrainLR = 0
	if _, err := Train(context.Background(), m, rampData(8), s, 1, nil); err == nil {
		t.Fatal("cosine decay without a learning rate must be an error")
	}
}

// blockSource streams Data in fixed blocks, shuffling only within a block,
// as a file reader with a bounded shuffle buffer does.
type blockSource struct {
	Data
	block int
}

func (b blockSource) Shuffled(ctx context.Context, size int, rng *rand.Rand, fn func(x sdk.Tensor, idx []int64) error) error {
	for lo := 0; lo < b.Rows(); lo += b.block {
		hi := min(lo+b.block, b.Rows())
		order := rng.Perm(hi - lo)
		for i := range order {
			order[i] += lo
		}
		if err := b.batches(ctx, order, size, fn); err != nil {
			return err
		}
	}
	return nil
}

// TestTrainOnAStream checks that Train runs on a Source other than Data:
// every sample is seen once per epoch, the final embeddings are the
// encoder's, and the uniform sampler, which needs the data in memory, is
// refused.
func TestTrainOnAStream(t *testing.T) {
	enc := &fakeEncoder{}
	src := blockSource{Data: rampData(10), block: 4}
	m := Model{Encoder: enc, Clusterer: &fakeClusterer{labels: constLabels}}
	res, err := Train(context.Background(), m, src, Schedule{BatchSize: 3, Epochs: 1}, 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	var seen []float32
	for _, b := range enc.batches {
		seen = append(seen, b...)
	}
	slices.Sort(seen)
	if !slices.Equal(seen, rampData(10).X.Data) {
		t.Fatalf("one epoch saw %v, want every sample once", seen)
	}
	if !slices.Equal(res.Z.Data, rampData(10).X.Data) {
		t.Fatalf("embeddings %v, want the identity encoder's output", res.Z.Data)
	}
	_, err = Train(context.Background(), m, src, Schedule{BatchSize: 3, Epochs: 1, Sampler: SamplerUniform}, 1, nil)
	if err == nil || !strings.Contains(err.Error(), "uniform sampler needs the data in memory") {
		t.Fatalf("uniform sampler on a stream: %v", err)
	}
}

// TestEmptiedClusterKeepsItsPlace: the clusterer starts with three
// clusters (labels i mod 3) and after its first update puts nobody in the
// last one (labels i mod 2). The report keeps k = 3, and the later history
// entries show the emptied cluster with size 0 rather than dropping it.
func TestEmptiedClusterKeepsItsPlace(t *testing.T) {
	labels := func(update, n int) []int32 {
		l := make([]int32, n)
		for i := range l {
			if update == 0 {
				l[i] = int32(i % 3)
			} else {
				l[i] = int32(i % 2)
			}
		}
		return l
	}
	m := Model{Encoder: &fakeEncoder{}, Clusterer: &fakeClusterer{labels: labels}}
	res, err := Train(context.Background(), m, rampData(6), Schedule{BatchSize: 6, Epochs: 2, UpdateInterval: 1}, 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Report.K != 3 {
		t.Errorf("k = %d, want 3", res.Report.K)
	}
	h := res.Report.History
	if len(h) < 2 || !slices.Equal(h[0].ClusterSizes, []int{2, 2, 2}) || !slices.Equal(h[len(h)-1].ClusterSizes, []int{3, 3, 0}) {
		t.Errorf("history sizes %v … %v, want [2 2 2] … [3 3 0]", h[0].ClusterSizes, h[len(h)-1].ClusterSizes)
	}
}
