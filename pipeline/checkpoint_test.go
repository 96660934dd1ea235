package pipeline

import (
	"context"
	"errors"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/deepclust/deepclust/clusterers/dec"
	"github.com/deepclust/deepclust/clusterers/kmeans"
	"github.com/deepclust/deepclust/encoders/mlp"
	"github.com/deepclust/deepclust/losses/contrastive"
	"github.com/deepclust/deepclust/losses/reconstruction"
	"github.com/deepclust/deepclust/sdk"
)

// blobData returns n samples of d features around three centres, with
// their labels.
func blobData(n, d int, seed uint64) Data {
	rng := rand.New(rand.NewPCG(seed, 7))
	x, truth := sdk.NewTensor(n, d), make([]int32, n)
	for i := range n {
		truth[i] = int32(i % 3)
		for j := range d {
			centre := 0.0
			if j%3 == int(truth[i]) {
				centre = 2
			}
			x.Data[i*d+j] = float32(centre + 0.6*rng.NormFloat64())
		}
	}
	return Data{X: x, Labels: truth}
}

// resumeCase builds a freshly configured model for a run: every call
// gives plugins in the state Configure leaves them in.
type resumeCase struct {
	name  string
	s     Schedule
	model func(t *testing.T) Model
}

func configurePlugin(t *testing.T, p interface {
	Describe() sdk.Description
	Configure(context.Context, sdk.Setup) error
}, raw map[string]any, shape []int, dim int, seed uint64) {
	t.Helper()
	cfg, err := sdk.ResolveConfig(p.Describe(), raw)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Configure(context.Background(), sdk.Setup{Config: cfg, InputShape: shape, EmbeddingDim: dim, Seed: seed}); err != nil {
		t.Fatal(err)
	}
}

const resumeDim = 9

func resumeCases() []resumeCase {
	shape := []int{resumeDim}
	encoder := func(t *testing.T) *mlp.Encoder {
		// noise > 0: the encoder's own generator must come back too.
		enc := mlp.New()
		configurePlugin(t, enc, map[string]any{"hidden": []int{12}, "embedding": 3, "lr": 0.01, "noise": 0.1}, shape, 0, 11)
		return enc
	}
	rec := func(t *testing.T) Loss {
		l := reconstruction.New()
		configurePlugin(t, l, nil, shape, 3, 13)
		return Loss{Name: "reconstruction", Loss: l, Weight: 1, Pretrain: true, Train: true}
	}
	return []resumeCase{
		{
			name: "kmeans shuffle",
			s:    Schedule{BatchSize: 32, PretrainEpochs: 2, Epochs: 3, Beta: 0.1, Sampler: SamplerShuffle},
			model: func(t *testing.T) Model {
				clu := kmeans.New()
				configurePlugin(t, clu, map[string]any{"k": 3, "n_init": 2}, shape, 3, 12)
				return Model{Encoder: encoder(t), Clusterer: clu, Losses: []Loss{rec(t)}}
			},
		},
		{
			// Updates every 3 batches, between epoch boundaries, and the
			// uniform sampler, which draws from the labels of the epoch's
			// start; DEC's targets P must come back with its state.
			name: "dec uniform update interval",
			s:    Schedule{BatchSize: 32, PretrainEpochs: 1, Epochs: 3, Beta: 1, UpdateInterval: 3, Sampler: SamplerUniform},
			model: func(t *testing.T) Model {
				clu := dec.New()
				configurePlugin(t, clu, map[string]any{"k": 3, "n_init": 2, "lr": 0.01}, shape, 3, 12)
				return Model{Encoder: encoder(t), Clusterer: clu, Losses: []Loss{rec(t)}}
			},
		},
		{
			// The neighbours sampler draws partners within the epoch, and
			// a stage without clusterer only pretrains.
			name: "neighbors no clusterer",
			s:    Schedule{BatchSize: 32, PretrainEpochs: 3, PretrainSampler: SamplerNeighbors, Neighbors: 3, PretrainLR: 0.01, PretrainDecay: DecayCosine},
			model: func(t *testing.T) Model {
				l := contrastive.New()
				configurePlugin(t, l, map[string]any{"kind": "umap", "negatives": 2}, shape, 3, 13)
				return Model{Encoder: encoder(t), Losses: []Loss{{Name: "contrastive", Loss: l, Weight: 1, Pretrain: true}}}
			},
		},
	}
}

// sameResult fails unless two results have the same labels, embeddings
// and histories (timings aside).
func sameResult(t *testing.T, what string, got, want *Result) {
	t.Helper()
	if !slices.Equal(got.Labels, want.Labels) || !slices.Equal(got.Z.Data, want.Z.Data) {
		t.Fatalf("%s: labels or embeddings differ from the uninterrupted run's", what)
	}
	g, w := got.Report, want.Report
	g.Seconds, w.Seconds, g.TrainSamplesPerSecond, w.TrainSamplesPerSecond = nil, nil, 0, 0
	if !reflect.DeepEqual(g, w) {
		t.Fatalf("%s: report\n%+v\nwant\n%+v", what, g, w)
	}
}

// TestResumeFromEveryCheckpoint saves a checkpoint after every batch of a
// run (Interval 1 ns), then resumes a freshly configured model from each,
// through its encoding: every resumed run must end exactly as the
// uninterrupted one, which in turn must match a run without checkpoints.
func TestResumeFromEveryCheckpoint(t *testing.T) {
	ctx := context.Background()
	data := blobData(100, resumeDim, 1)
	for _, tc := range resumeCases() {
		t.Run(tc.name, func(t *testing.T) {
			plain, err := Train(ctx, tc.model(t), data, tc.s, 5, nil)
			if err != nil {
				t.Fatal(err)
			}
			var saved [][]byte
			ck := Checkpoints{Interval: time.Nanosecond, Save: func(_ context.Context, s *State) error {
				b, err := s.MarshalBinary()
				saved = append(saved, b)
				return err
			}}
			full, err := TrainWith(ctx, tc.model(t), data, tc.s, 5, nil, ck)
			if err != nil {
				t.Fatal(err)
			}
			sameResult(t, "with checkpoints", full, plain)
			if full.Report.Seconds[StageCheckpoint] <= 0 {
				t.Errorf("no checkpoint time in the report: %v", full.Report.Seconds)
			}
			if len(saved) < 10 {
				t.Fatalf("%d checkpoints", len(saved))
			}
			for i, b := range saved {
				st, err := UnmarshalState(b)
				if err != nil {
					t.Fatalf("checkpoint %d: %v", i, err)
				}
				res, err := TrainWith(ctx, tc.model(t), data, tc.s, 5, nil, Checkpoints{Resume: st})
				if err != nil {
					t.Fatalf("resuming from checkpoint %d (%s epoch %d batch %d): %v", i, st.Phase, st.Epoch, st.Batch, err)
				}
				sameResult(t, "resumed from checkpoint "+st.Phase, res, plain)
			}
		})
	}
}

// TestCheckpointAtEveryEpoch checks where checkpoints fall without an
// interval: after every pretraining epoch (the last one too, since cluster
// init follows), after cluster init, and after every joint-training epoch
// but the last.
func TestCheckpointAtEveryEpoch(t *testing.T) {
	type pos struct {
		phase        string
		epoch, batch int
	}
	var got []pos
	ck := Checkpoints{Save: func(_ context.Context, s *State) error {
		got = append(got, pos{s.Phase, s.Epoch, s.Batch})
		return nil
	}}
	m := Model{Encoder: &fakeEncoder{}, Clusterer: &fakeClusterer{labels: constLabels}, Losses: []Loss{{Name: "l", Loss: fakeLoss{}, Weight: 1, Pretrain: true}}}
	if _, err := TrainWith(context.Background(), m, rampData(20), Schedule{BatchSize: 5, PretrainEpochs: 2, Epochs: 3}, 1, nil, ck); err != nil {
		t.Fatal(err)
	}
	want := []pos{{StagePretrain, 1, 0}, {StagePretrain, 2, 0}, {StageTrain, 0, 0}, {StageTrain, 1, 0}, {StageTrain, 2, 0}}
	if !slices.Equal(got, want) {
		t.Fatalf("checkpoints at %v, want %v", got, want)
	}
}

// TestCheckpointErrorsStopTheRun checks that a failed checkpoint write is
// an error of the run, not ignored.
func TestCheckpointErrorsStopTheRun(t *testing.T) {
	ck := Checkpoints{Save: func(context.Context, *State) error { return errors.New("disk full") }}
	m := Model{Encoder: &fakeEncoder{}, Clusterer: &fakeClusterer{labels: constLabels}, Losses: []Loss{{Name: "l", Loss: fakeLoss{}, Weight: 1, Pretrain: true}}}
	_, err := TrainWith(context.Background(), m, rampData(20), Schedule{BatchSize: 5, PretrainEpochs: 2, Epochs: 1}, 1, nil, ck)
	if err == nil || err.Error() != "checkpoint: disk full" {
		t.Fatalf("got %v", err)
	}
}

// TestUnmarshalStateRejectsDamage checks that every truncation of an
// encoded State, and a length that overstates the bytes present, is an
// error rather than a panic or a huge allocation.
func TestUnmarshalStateRejectsDamage(t *testing.T) {
	s := &State{Phase: StageTrain, Epoch: 1, Batch: 2, Steps: 9, Updated: 8, RNG: []byte("pcg:0123456789abcdef"),
		Sum: 1.0 / 3, Seen: 7, Sums: []float64{0.1, 2e-300}, Labels: []int32{0, 1, 2}, EpochLabels: []int32{2, 1, 0},
		Report:  Report{N: 3, K: 3, History: []Epoch{{Epoch: 1, Loss: 0.25, ClusterSizes: []int{1, 1, 1}}}},
		Encoder: []byte{1, 2, 3}, Clusterer: []byte{4}, StepTime: time.Second, TotalSeconds: 1.5}
	b, err := s.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	back, err := UnmarshalState(b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, s) {
		t.Fatalf("round trip\n%+v\nwant\n%+v", back, s)
	}
	for n := range len(b) {
		if _, err := UnmarshalState(b[:n]); err == nil {
			t.Fatalf("truncated to %d of %d bytes: no error", n, len(b))
		}
	}
	huge := slices.Clone(b)
	huge[12] = 0xff // the header length's high byte
	if _, err := UnmarshalState(huge); err == nil {
		t.Fatal("overstated header length: no error")
	}
}

// TestResumeRejectsAStateOfAnotherRun checks the consistency checks of a
// resume: a state for another number of samples or an epoch past the
// schedule is an error.
func TestResumeRejectsAStateOfAnotherRun(t *testing.T) {
	m := Model{Encoder: &fakeEncoder{}, Clusterer: &fakeClusterer{labels: constLabels}, Losses: []Loss{{Name: "l", Loss: fakeLoss{}, Weight: 1, Pretrain: true}}}
	rng, _ := rand.NewPCG(1, 2).MarshalBinary()
	for _, st := range []*State{
		{Phase: StagePretrain, Epoch: 1, RNG: rng, Report: Report{N: 7}},
		{Phase: StagePretrain, Epoch: 5, RNG: rng, Report: Report{N: 20}},
		{Phase: StageTrain, Epoch: 0, RNG: rng, Labels: make([]int32, 3), Report: Report{N: 20}},
		{Phase: "cluster", RNG: rng, Report: Report{N: 20}},
	} {
		_, err := TrainWith(context.Background(), m, rampData(20), Schedule{BatchSize: 5, PretrainEpochs: 2, Epochs: 1}, 1, nil, Checkpoints{Resume: st})
		if err == nil {
			t.Errorf("state %+v: no error", st)
		}
	}
}

// FuzzUnmarshalState feeds damaged encodings of a State to UnmarshalState:
// it must return an error or a State that encodes again,
// never panic nor allocate beyond the input.
func FuzzUnmarshalState(f *testing.F) {
	s := &State{Phase: StagePretrain, Epoch: 2, Batch: 1, Steps: 7, RNG: []byte("pcg:0123456789abcdef"), Sum: 0.5, Seen: 3,
		Labels: []int32{1, 0}, Report: Report{N: 2, PretrainHistory: []float64{0.25}}, Encoder: []byte{9, 8, 7}}
	b, err := s.MarshalBinary()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add(b[:len(b)/2])
	f.Add([]byte(stateMagic))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := UnmarshalState(b)
		if err != nil {
			return
		}
		if _, err := s.MarshalBinary(); err != nil {
			t.Fatalf("a decoded state does not encode: %v", err)
		}
	})
}
