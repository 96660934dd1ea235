package pipeline

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/deepclust/deepclust/internal/metrics"
	"github.com/deepclust/deepclust/sdk"
)

// Loss is an auxiliary loss term with its weight α_k and the stages it
// takes part in.
type Loss struct {
	// Name labels the loss in metrics, e.g. "reconstruction".
	Name string
	sdk.Loss
	// Weight is α_k.
	Weight float64
	// Pretrain and Train say whether the loss applies in each stage.
	Pretrain, Train bool
}

// Model is the set of configured plugins a pipeline trains.
type Model struct {
	Encoder   sdk.Encoder
	Clusterer sdk.Clusterer
	Losses    []Loss
}

// Data is the training input: samples X (N × sample shape) and, when known,
// ground-truth labels used only for metrics.
type Data struct {
	X      sdk.Tensor
	Labels []int32
}

// Result is what a run produces.
type Result struct {
	// Labels is the final cluster of every sample.
	Labels []int32
	// Z holds the final embeddings, N × EmbeddingDim.
	Z sdk.Tensor
	// Report holds timings, metrics and the joint-training history.
	Report Report
}

// Scores are the external clustering metrics against known labels.
type Scores struct {
	ACC float64 `json:"acc"`
	NMI float64 `json:"nmi"`
	ARI float64 `json:"ari"`
}

// Epoch records one clusterer update of joint training (epoch 0 is cluster
// init): the losses averaged over the batches since the previous update,
// the fraction of samples whose cluster changed, and the scores.
type Epoch struct {
	Epoch        int                `json:"epoch"`
	Step         int                `json:"step"`
	Loss         float64            `json:"loss"`
	ClusterLoss  float64            `json:"cluster_loss"`
	Losses       map[string]float64 `json:"losses,omitempty"`
	LabelChange  float64            `json:"label_change"`
	ClusterSizes []int              `json:"cluster_sizes"`
	Scores       *Scores            `json:"scores,omitempty"`
}

// Report summarises a run.
type Report struct {
	N int `json:"n"`
	K int `json:"k"`
	*Scores
	// Seconds holds the wall time of each stage.
	Seconds map[string]float64 `json:"seconds"`
	// TrainSamplesPerSecond is the throughput of the mini-batch steps of
	// pretraining and joint training together.
	TrainSamplesPerSecond float64 `json:"train_samples_per_s"`
	// PretrainLoss is the mean loss of the last pretraining epoch.
	PretrainLoss float64 `json:"pretrain_loss"`
	// PretrainHistory holds the mean loss of every pretraining epoch.
	PretrainHistory []float64 `json:"pretrain_history,omitempty"`
	// History holds one record per joint-training epoch.
	History []Epoch `json:"history"`
	// Stop says why joint training ended: "tol", "epochs" or "none".
	Stop string `json:"stop"`
	// KSelection says how the clusterer chose k at cluster init, when its
	// config left k to it (k: auto); nil otherwise.
	KSelection *sdk.KSelection `json:"k_selection,omitempty"`
	// ParamSelections say how the clusterer chose other hyper-parameters
	// itself (sdk.Assignment.Params): those of cluster init, each replaced
	// by the selection of the same Param from the last Update that made
	// one; nil when it chose none.
	ParamSelections []sdk.ParamSelection `json:"param_selections,omitempty"`
}

// recordParams merges the param selections of a Fit or Update into the
// report: each replaces the one of the same Param, or is added.
func (r *Report) recordParams(ps []sdk.ParamSelection) {
	for _, p := range ps {
		p.Candidates, p.Values = slices.Clone(p.Candidates), slices.Clone(p.Values)
		if i := slices.IndexFunc(r.ParamSelections, func(q sdk.ParamSelection) bool { return q.Param == p.Param }); i >= 0 {
			r.ParamSelections[i] = p
		} else {
			r.ParamSelections = append(r.ParamSelections, p)
		}
	}
}

// trainer holds the state of one run.
type trainer struct {
	m        Model
	src      Source
	s        Schedule
	pcg      *rand.PCG
	rng      *rand.Rand
	knnSeed  uint64 // seeds the neighbours sampler's approximate search
	progress Progress
	report   *Report

	// ck saves checkpoints; resume is the state a resumed run starts from
	// (nil for a fresh run). lastSave is when the last checkpoint was
	// written, saveTime the time spent writing them.
	ck       Checkpoints
	resume   *State
	lastSave time.Time
	saveTime time.Duration

	gradZ    []float32
	gradXHat []float32
	gradMu   []float32

	stepSamples int
	stepTime    time.Duration

	// part, when set by PretrainEpochs, limits pretraining to its epochs
	// [part[0], part[1]).
	part *[2]int
}

// Train runs pretraining, cluster init and joint training on the samples
// of src: a Data in memory, or a stream. With no clusterer in m it only
// pretrains and embeds: the Result then has embeddings and no labels, as
// an intermediate stage of a multi-stage pipeline gives.
func Train(ctx context.Context, m Model, src Source, s Schedule, seed uint64, p Progress) (*Result, error) {
	return TrainWith(ctx, m, src, s, seed, p, Checkpoints{})
}

// TrainWith is Train with checkpoints: ck.Save receives the run's State at
// every epoch boundary (and mid-epoch once ck.Interval has passed since
// the last one), and with ck.Resume set the run continues from that State
// instead of starting afresh, with the same result as a run that was never
// interrupted. The encoder and clusterer must be configured as they were
// for the run that saved the State.
func TrainWith(ctx context.Context, m Model, src Source, s Schedule, seed uint64, p Progress, ck Checkpoints) (*Result, error) {
	if err := checkInput(m, src, s); err != nil {
		return nil, err
	}
	t := newTrainer(m, src, s, seed, p)
	t.ck = ck
	start := time.Now()
	if r := ck.Resume; r != nil {
		if err := t.restore(ctx, r); err != nil {
			return nil, fmt.Errorf("resuming from the checkpoint: %w", err)
		}
		start = start.Add(-time.Duration(r.TotalSeconds * float64(time.Second)))
	}
	t.lastSave = time.Now()
	if t.resume != nil && t.resume.Phase == StageTrain {
		// Cluster init is done: continue joint training.
		return t.resumeTraining(ctx, start)
	}
	if err := t.pretrain(ctx, start); err != nil {
		return nil, err
	}
	z, err := EmbedSource(ctx, m.Encoder, src, embedBatch(s))
	if err != nil {
		return nil, fmt.Errorf("embedding the samples: %w", err)
	}
	return t.cluster(ctx, z, start)
}

// PretrainEpochs runs epochs [first, last) of the schedule's pretraining
// (s.PretrainEpochs epochs in all) on src, and nothing else: no
// embedding, no cluster init, no joint training (m.Clusterer is not
// used). It is a part of a pretraining run outside Train, e.g. one epoch
// of model averaging (local SGD), whose workers each train on their part
// of the samples from the same weights. The learning rate follows the
// schedule at the steps those epochs have in a whole run over src's
// batches; the batches are drawn from seed. With first 0 and last
// s.PretrainEpochs the encoder ends exactly as Train's pretraining leaves
// it. The Report holds the epochs' mean losses (PretrainHistory).
func PretrainEpochs(ctx context.Context, m Model, src Source, s Schedule, seed uint64, first, last int, p Progress) (*Report, error) {
	if first < 0 || last < first || last > s.PretrainEpochs {
		return nil, fmt.Errorf("pretraining epochs [%d, %d) of %d", first, last, s.PretrainEpochs)
	}
	s.Epochs = 0
	m.Clusterer = nil
	if err := checkInput(m, src, s); err != nil {
		return nil, err
	}
	t := newTrainer(m, src, s, seed, p)
	t.part = &[2]int{first, last}
	if err := t.pretrain(ctx, time.Now()); err != nil {
		return nil, err
	}
	return t.report, nil
}

// Cluster runs cluster init and joint training from embeddings z that m's
// encoder already gives for src, for instance those of a cached stage: it
// skips pretraining, and gives the same result as Train when the schedule
// has no joint training (Epochs 0), since pretraining draws nothing that
// cluster init uses.
func Cluster(ctx context.Context, m Model, src Source, z sdk.Tensor, s Schedule, seed uint64, p Progress) (*Result, error) {
	if err := checkInput(m, src, s); err != nil {
		return nil, err
	}
	if z.Rows() != src.Rows() {
		return nil, fmt.Errorf("%d embeddings for %d samples", z.Rows(), src.Rows())
	}
	return newTrainer(m, src, s, seed, p).cluster(ctx, z, time.Now())
}

func newTrainer(m Model, src Source, s Schedule, seed uint64, p Progress) *trainer {
	if p == nil {
		p = NoProgress{}
	}
	pcg := rand.NewPCG(seed, 0x9e3779b97f4a7c15)
	return &trainer{
		m: m, src: src, s: s, progress: p, pcg: pcg, rng: rand.New(pcg), knnSeed: seed ^ 0x6b6e6e5f73656564,
		report: &Report{N: src.Rows(), Seconds: map[string]float64{}, Stop: "none"},
	}
}

// cluster runs cluster init and joint training from the embeddings z of
// every sample; start is when the run began, for the total time.
func (t *trainer) cluster(ctx context.Context, z sdk.Tensor, start time.Time) (*Result, error) {
	if t.m.Clusterer == nil {
		return t.result(nil, z, start), nil
	}
	begin := time.Now()
	t.progress.Start(StageClusterInit, 1)
	stop := t.heartbeat("fitting the clusterer " + t.m.Clusterer.Describe().Name)
	a, err := t.m.Clusterer.Fit(ctx, z)
	stop()
	if err != nil {
		return nil, fmt.Errorf("cluster init: clusterer Fit: %w", err)
	}
	t.report.Seconds[StageClusterInit] = time.Since(begin).Seconds()
	t.report.KSelection = a.Selection
	t.report.recordParams(a.Params)
	if err := t.record(0, 0, a.Labels, nil, 0, 0, 1); err != nil {
		return nil, err
	}
	t.progress.Finish(fmt.Sprintf("cluster init: %d clusters", t.report.K))
	if t.s.Epochs > 0 {
		if err := t.save(ctx, &State{Phase: StageTrain, RNG: t.rngState(), Labels: a.Labels}, start, time.Now()); err != nil {
			return nil, err
		}
	}
	return t.finishTraining(ctx, a, z, start, time.Now())
}

// resumeTraining continues joint training from the State t.resume, whose
// cluster init is done: the embeddings are those of the restored encoder,
// the assignment the labels of the clusterer's last update.
func (t *trainer) resumeTraining(ctx context.Context, start time.Time) (*Result, error) {
	z, err := EmbedSource(ctx, t.m.Encoder, t.src, embedBatch(t.s))
	if err != nil {
		return nil, fmt.Errorf("embedding the samples: %w", err)
	}
	begin := time.Now().Add(-time.Duration(t.resume.PhaseSeconds * float64(time.Second)))
	return t.finishTraining(ctx, sdk.Assignment{Labels: t.resume.Labels}, z, start, begin)
}

// finishTraining runs joint training from assignment a and embeddings z,
// begun at begin, and scores the result.
func (t *trainer) finishTraining(ctx context.Context, a sdk.Assignment, z sdk.Tensor, start, begin time.Time) (*Result, error) {
	a, z, err := t.train(ctx, a, z, start, begin)
	if err != nil {
		return nil, err
	}
	t.report.Seconds[StageTrain] = time.Since(begin).Seconds()
	if truth := t.src.Truth(); truth != nil {
		if t.report.Scores, err = Score(truth, a.Labels); err != nil {
			return nil, err
		}
	}
	return t.result(a.Labels, z, start), nil
}

// result closes the report: the total time since start and the training
// throughput.
func (t *trainer) result(labels []int32, z sdk.Tensor, start time.Time) *Result {
	t.report.Seconds["total"] = time.Since(start).Seconds()
	if t.saveTime > 0 {
		t.report.Seconds[StageCheckpoint] = t.saveTime.Seconds()
	}
	if t.stepTime > 0 {
		t.report.TrainSamplesPerSecond = float64(t.stepSamples) / t.stepTime.Seconds()
	}
	return &Result{Labels: labels, Z: z, Report: *t.report}
}

func checkInput(m Model, src Source, s Schedule) error {
	if err := s.Validate(); err != nil {
		return fmt.Errorf("schedule: %w", err)
	}
	switch {
	case m.Encoder == nil:
		return fmt.Errorf("pipeline needs an encoder")
	case m.Clusterer == nil && s.Epochs > 0:
		return fmt.Errorf("joint training (%d epochs) needs a clusterer", s.Epochs)
	case src.Rows() == 0:
		return fmt.Errorf("no input samples")
	case src.Truth() != nil && len(src.Truth()) != src.Rows():
		return fmt.Errorf("%d labels for %d samples", len(src.Truth()), src.Rows())
	}
	return nil
}

func embedBatch(s Schedule) int { return max(s.BatchSize, 1024) }

// pretrain fits the encoder on the pretrain-stage losses; start is when
// the run began.
func (t *trainer) pretrain(ctx context.Context, start time.Time) error {
	var losses []Loss
	for _, l := range t.m.Losses {
		if l.Pretrain {
			losses = append(losses, l)
		}
	}
	if t.s.PretrainEpochs == 0 || len(losses) == 0 {
		return nil
	}
	begin := time.Now()
	n := t.src.Rows()
	batches := (n + t.s.BatchSize - 1) / t.s.BatchSize
	visit := func(fn func(x sdk.Tensor, idx []int64, pairs int) error) error {
		return t.src.Shuffled(ctx, t.s.BatchSize, t.rng, func(x sdk.Tensor, idx []int64) error { return fn(x, idx, 0) })
	}
	if t.s.PretrainSampler == SamplerNeighbors {
		p, err := newPairSampler(ctx, t.src, t.s.Neighbors, t.s.KNNSearch, t.knnSeed)
		if err != nil {
			return err
		}
		h := anchors(t.s.BatchSize)
		batches = (n + h - 1) / h
		visit = func(fn func(x sdk.Tensor, idx []int64, pairs int) error) error {
			return p.epoch(ctx, t.s.BatchSize, t.rng, fn)
		}
	}
	total := t.s.PretrainEpochs * batches
	t.progress.Start(StagePretrain, total)
	var mean, sum, seen float64
	steps, first, skip := 0, 0, 0
	if r := t.resume; r != nil {
		// Continue after r.Batch batches of epoch r.Epoch+1: the sampler
		// replays that epoch from its saved start and the batches already
		// trained on are passed over.
		first, skip, steps, sum, seen = r.Epoch, r.Batch, r.Steps, r.Sum, r.Seen
		begin = begin.Add(-time.Duration(r.PhaseSeconds * float64(time.Second)))
		if h := t.report.PretrainHistory; len(h) > 0 {
			mean = h[len(h)-1]
		}
	}
	last := t.s.PretrainEpochs
	if t.part != nil {
		first, last, steps = t.part[0], t.part[1], t.part[0]*batches
	}
	for epoch := first; epoch < last; epoch++ {
		epochRNG := t.rngState()
		b := 0
		err := visit(func(x sdk.Tensor, idx []int64, pairs int) error {
			if b++; b <= skip {
				return nil
			}
			loss, _, err := t.step(ctx, x, idx, pairs, losses, false, t.s.pretrainLR(steps, total))
			if err != nil {
				return err
			}
			steps++
			sum += loss * float64(len(idx))
			seen += float64(len(idx))
			t.progress.Step(steps, sum/seen)
			if !t.due() {
				return nil
			}
			return t.save(ctx, &State{Phase: StagePretrain, Epoch: epoch, Batch: b, Steps: steps, RNG: epochRNG, Sum: sum, Seen: seen}, start, begin)
		})
		if err != nil {
			return fmt.Errorf("pretrain epoch %d: %w", epoch+1, err)
		}
		skip = 0
		mean = sum / seen
		sum, seen = 0, 0
		t.report.PretrainHistory = append(t.report.PretrainHistory, mean)
		if epoch+1 < t.s.PretrainEpochs || t.m.Clusterer != nil {
			// The end of pretraining is saved too when cluster init and
			// joint training follow.
			if err := t.save(ctx, &State{Phase: StagePretrain, Epoch: epoch + 1, Steps: steps, RNG: t.rngState()}, start, begin); err != nil {
				return err
			}
		}
		if epoch+1 == t.s.PretrainEpochs && t.part == nil && t.ck.Pretrained != nil {
			st := &State{Phase: StagePretrain, Epoch: epoch + 1, Steps: steps, RNG: t.rngState()}
			if err := t.complete(ctx, st, start, begin, time.Now()); err != nil {
				return err
			}
			if err := t.ck.Pretrained(ctx, st); err != nil {
				return fmt.Errorf("pretrained state: %w", err)
			}
		}
	}
	t.report.PretrainLoss = mean
	t.report.Seconds[StagePretrain] = time.Since(begin).Seconds()
	t.progress.Finish(fmt.Sprintf("pretrain: %d epochs, loss %.5g", t.s.PretrainEpochs, mean))
	return nil
}

// train runs joint training from the cluster-init assignment a and
// embeddings z, returning the final ones. Every UpdateInterval batches (or
// once per epoch) it embeds all data, updates the clusterer and checks the
// label change. start is when the run began, begin when joint training
// did.
func (t *trainer) train(ctx context.Context, a sdk.Assignment, z sdk.Tensor, start, begin time.Time) (sdk.Assignment, sdk.Tensor, error) {
	if t.s.Epochs == 0 {
		return a, z, nil
	}
	var losses []Loss
	for _, l := range t.m.Losses {
		if l.Train {
			losses = append(losses, l)
		}
	}
	n := t.src.Rows()
	batches := (n + t.s.BatchSize - 1) / t.s.BatchSize
	interval := t.s.UpdateInterval
	if interval <= 0 {
		interval = batches
	}
	t.progress.Start(StageTrain, t.s.Epochs*batches)
	t.report.Stop = "epochs"
	prev := a.Labels
	var sum, sumC, seen float64
	sums := make([]float64, len(losses))
	steps, updated := 0, 0
	first, skip := 1, 0
	var resumedEpochLabels []int32
	if r := t.resume; r != nil && r.Phase == StageTrain {
		if r.Sums != nil && len(r.Sums) != len(sums) {
			return a, z, fmt.Errorf("the checkpoint has %d training losses, the stage %d", len(r.Sums), len(sums))
		}
		first, skip, steps, updated = r.Epoch+1, r.Batch, r.Steps, r.Updated
		sum, sumC, seen = r.Sum, r.SumC, r.Seen
		copy(sums, r.Sums)
		resumedEpochLabels = r.EpochLabels
	}
	// update embeds all data, updates the clusterer, records the epoch and
	// reports whether the label change fell below the tolerance.
	update := func(epoch int) (bool, error) {
		var err error
		if z, err = EmbedSource(ctx, t.m.Encoder, t.src, embedBatch(t.s)); err != nil {
			return false, err
		}
		stop := t.heartbeat("updating the clusterer " + t.m.Clusterer.Describe().Name)
		a, err = t.m.Clusterer.Update(ctx, z)
		stop()
		if err != nil {
			return false, fmt.Errorf("clusterer Update: %w", err)
		}
		t.report.recordParams(a.Params)
		named := make(map[string]float64, len(losses))
		for i, l := range losses {
			named[l.Name] = sums[i] / seen
		}
		change := labelChange(prev, a.Labels)
		prev, updated = a.Labels, steps
		if err := t.record(epoch, steps, a.Labels, named, sum/seen, sumC/seen, change); err != nil {
			return false, err
		}
		sum, sumC, seen = 0, 0, 0
		clear(sums)
		return change < t.s.Tol, nil
	}
	// state is the run's state after b batches of the given epoch, which
	// began with the generator state epochRNG and the labels epochLabels.
	state := func(epoch, b int, epochRNG []byte, epochLabels []int32) *State {
		st := &State{Phase: StageTrain, Epoch: epoch, Batch: b, Steps: steps, Updated: updated, RNG: epochRNG,
			Sum: sum, SumC: sumC, Seen: seen, Sums: slices.Clone(sums), Labels: prev}
		if t.s.Sampler == SamplerUniform && b > 0 {
			st.EpochLabels = epochLabels
		}
		return st
	}
	for epoch := first; epoch <= t.s.Epochs; epoch++ {
		stop := false
		epochRNG, epochLabels := t.rngState(), prev
		if skip > 0 && resumedEpochLabels != nil {
			epochLabels = resumedEpochLabels
		}
		b := 0
		batch := func(x sdk.Tensor, idx []int64) error {
			if b++; b <= skip {
				return nil
			}
			loss, parts, err := t.step(ctx, x, idx, 0, losses, true, t.s.LR)
			if err != nil {
				return err
			}
			w := float64(len(idx))
			sum, sumC, seen = sum+loss*w, sumC+parts[0]*w, seen+w
			for i := range losses {
				sums[i] += parts[i+1] * w
			}
			steps++
			t.progress.Step(steps, sum/seen)
			if steps%interval == 0 {
				if stop, err = update(epoch); err != nil {
					return err
				}
				if stop {
					return errStop
				}
			}
			if !t.due() {
				return nil
			}
			return t.save(ctx, state(epoch-1, b, epochRNG, epochLabels), start, begin)
		}
		var err error
		if t.s.Sampler == SamplerUniform {
			err = t.uniform(ctx, epochLabels, batch)
		} else {
			err = t.src.Shuffled(ctx, t.s.BatchSize, t.rng, batch)
		}
		skip = 0
		if err == nil && epoch == t.s.Epochs && updated != steps {
			stop, err = update(epoch)
		}
		if err != nil && err != errStop {
			return a, z, fmt.Errorf("train epoch %d: %w", epoch, err)
		}
		if stop {
			t.report.Stop = "tol"
			last := t.report.History[len(t.report.History)-1]
			t.progress.Finish(fmt.Sprintf("train: stopped at epoch %d (step %d), label change %.4f < tol %g", last.Epoch, last.Step, last.LabelChange, t.s.Tol))
			return a, z, nil
		}
		if epoch < t.s.Epochs {
			if err := t.save(ctx, state(epoch, 0, t.rngState(), nil), start, begin); err != nil {
				return a, z, err
			}
		}
	}
	last := t.report.History[len(t.report.History)-1]
	t.progress.Finish(fmt.Sprintf("train: %d epochs, loss %.5g, label change %.4f", last.Epoch, last.Loss, last.LabelChange))
	return a, z, nil
}

// errStop ends an epoch early when training has converged.
var errStop = errors.New("converged")

// uniform runs one joint-training epoch with the uniform sampler over the
// current labels; it needs the data in memory.
func (t *trainer) uniform(ctx context.Context, labels []int32, fn func(x sdk.Tensor, idx []int64) error) error {
	d, ok := t.src.(Data)
	if !ok {
		return fmt.Errorf("the uniform sampler needs the data in memory, not streamed")
	}
	return d.batches(ctx, t.order(labels), t.s.BatchSize, fn)
}

// order returns the sample order of one epoch of the uniform sampler
// (Caron et al. 2018, DeepCluster): ⌈n/k⌉ samples from each non-empty
// cluster of the current labels — without replacement where the cluster is
// large enough, with replacement otherwise — shuffled and cut to n, so that
// every cluster weighs the same in the loss whatever its size.
func (t *trainer) order(labels []int32) []int {
	n := len(labels)
	members := make([][]int, countClusters(labels))
	for i, l := range labels {
		members[l] = append(members[l], i)
	}
	nonEmpty := 0
	for _, m := range members {
		if len(m) > 0 {
			nonEmpty++
		}
	}
	per := (n + nonEmpty - 1) / nonEmpty
	out := make([]int, 0, per*nonEmpty)
	for _, m := range members {
		if len(m) == 0 {
			continue
		}
		if len(m) >= per {
			for _, j := range t.rng.Perm(len(m))[:per] {
				out = append(out, m[j])
			}
			continue
		}
		for range per {
			out = append(out, m[t.rng.IntN(len(m))])
		}
	}
	t.rng.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out[:n]
}

// step runs one mini-batch: forward, losses, backward and (in joint
// training) the clusterer step. It returns the total loss and, in joint
// training, the clustering loss followed by each auxiliary loss.
//
// pairs > 0 says the batch holds that many neighbour pairs (see
// pairSampler); the losses receive it as LossInput.Pairs.
func (t *trainer) step(ctx context.Context, x sdk.Tensor, idx []int64, pairs int, losses []Loss, joint bool, lr float64) (float64, []float64, error) {
	begin := time.Now()
	fwd, err := t.m.Encoder.Forward(ctx, x, true)
	if err != nil {
		return 0, nil, fmt.Errorf("encoder Forward: %w", err)
	}
	gz := resize(&t.gradZ, len(fwd.Z.Data))
	gx := resize(&t.gradXHat, len(fwd.XHat.Data))
	total := 0.0
	parts := make([]float64, 0, len(losses)+1)
	var cl sdk.ClusterLoss
	if joint {
		cl, err = t.m.Clusterer.Loss(ctx, sdk.ClusterLossRequest{Z: fwd.Z, Indices: idx, Train: true})
		if err != nil {
			return 0, nil, fmt.Errorf("clusterer Loss: %w", err)
		}
		total += t.s.Beta * cl.Value
		parts = append(parts, cl.Value)
		if err := axpy(gz, float32(t.s.Beta), cl.GradZ.Data); err != nil {
			return 0, nil, fmt.Errorf("clusterer Loss: gradient w.r.t. z: %w", err)
		}
	}
	var gmu []float32
	if joint {
		gmu = resize(&t.gradMu, len(cl.Centroids.Data))
	}
	usedMu := false
	for _, l := range losses {
		out, err := l.Eval(ctx, sdk.LossInput{X: x, XHat: fwd.XHat, Z: fwd.Z, Centroids: cl.Centroids, Soft: cl.Soft, Pairs: pairs})
		if err != nil {
			return 0, nil, fmt.Errorf("loss %q: %w", l.Name, err)
		}
		total += l.Weight * out.Value
		parts = append(parts, out.Value)
		w := float32(l.Weight)
		if err := axpy(gz, w, out.GradZ.Data); err != nil {
			return 0, nil, fmt.Errorf("loss %q: gradient w.r.t. z: %w", l.Name, err)
		}
		if err := axpy(gx, w, out.GradXHat.Data); err != nil {
			return 0, nil, fmt.Errorf("loss %q: gradient w.r.t. the reconstruction: %w", l.Name, err)
		}
		if len(out.GradCentroids.Data) > 0 {
			if err := axpy(gmu, w, out.GradCentroids.Data); err != nil {
				return 0, nil, fmt.Errorf("loss %q: gradient w.r.t. the centroids: %w", l.Name, err)
			}
			usedMu = true
		}
	}
	req := sdk.BackwardRequest{GradZ: like(fwd.Z, gz), GradXHat: like(fwd.XHat, gx), LearningRate: lr}
	if err := t.m.Encoder.Backward(ctx, req); err != nil {
		return 0, nil, fmt.Errorf("encoder Backward: %w", err)
	}
	if joint {
		step := sdk.ClusterStepRequest{Weight: t.s.Beta}
		if usedMu {
			step.GradCentroids = like(cl.Centroids, gmu)
		}
		if err := t.m.Clusterer.Step(ctx, step); err != nil {
			return 0, nil, fmt.Errorf("clusterer Step: %w", err)
		}
	}
	t.stepSamples += len(idx)
	t.stepTime += time.Since(begin)
	return total, parts, nil
}

// record appends a history entry for an update at the given epoch and
// training step. The report's K is the most clusters any update has had,
// so a cluster that empties later keeps its place in the sizes, with 0.
func (t *trainer) record(epoch, step int, labels []int32, losses map[string]float64, loss, lossC, change float64) error {
	t.report.K = max(t.report.K, countClusters(labels))
	e := Epoch{Epoch: epoch, Step: step, Loss: loss, ClusterLoss: lossC, Losses: losses, LabelChange: change, ClusterSizes: clusterSizes(labels, t.report.K)}
	if truth := t.src.Truth(); truth != nil {
		s, err := Score(truth, labels)
		if err != nil {
			return err
		}
		e.Scores = s
	}
	t.report.History = append(t.report.History, e)
	msg := fmt.Sprintf("epoch %d, step %d: loss %.5g, L_c %.5g, label change %.4f", epoch, step, loss, lossC, change)
	if e.Scores != nil {
		msg += fmt.Sprintf(", ACC %.4f NMI %.4f", e.Scores.ACC, e.Scores.NMI)
	}
	t.progress.Note(msg)
	return nil
}

// Score computes ACC, NMI and ARI of pred against truth.
func Score(truth, pred []int32) (*Scores, error) {
	acc, err := metrics.ACC(truth, pred)
	if err != nil {
		return nil, fmt.Errorf("scoring: %w", err)
	}
	nmi, err := metrics.NMI(truth, pred)
	if err != nil {
		return nil, fmt.Errorf("scoring: %w", err)
	}
	ari, err := metrics.ARI(truth, pred)
	if err != nil {
		return nil, fmt.Errorf("scoring: %w", err)
	}
	return &Scores{ACC: acc, NMI: nmi, ARI: ari}, nil
}

// Embed runs the encoder over all of x in batches of the given size and
// returns the embeddings.
func Embed(ctx context.Context, enc sdk.Encoder, x sdk.Tensor, batch int) (sdk.Tensor, error) {
	return EmbedSource(ctx, enc, Data{X: x}, batch)
}

// EmbedSource runs the encoder over every sample of src in row order, in
// batches of the given size, and returns the embeddings.
func EmbedSource(ctx context.Context, enc sdk.Encoder, src Source, batch int) (sdk.Tensor, error) {
	var z sdk.Tensor
	err := src.InOrder(ctx, batch, func(lo int, x sdk.Tensor) error {
		fwd, err := enc.Forward(ctx, x, false)
		if err != nil {
			return fmt.Errorf("encoder Forward: %w", err)
		}
		if z.Empty() {
			z = sdk.NewTensor(src.Rows(), fwd.Z.Cols())
		}
		if fwd.Z.Cols() != z.Cols() || lo+x.Rows() > z.Rows() {
			return fmt.Errorf("encoder Forward: embeddings of shape %v do not fit rows %d.. of %v", fwd.Z.Shape, lo, z.Shape)
		}
		copy(z.Data[lo*z.Cols():(lo+x.Rows())*z.Cols()], fwd.Z.Data)
		return nil
	})
	return z, err
}

func resize(buf *[]float32, n int) []float32 {
	if cap(*buf) < n {
		*buf = make([]float32, n)
	}
	b := (*buf)[:n]
	clear(b)
	return b
}

// like returns a tensor shaped like t holding data, or the empty tensor
// when t is empty.
func like(t sdk.Tensor, data []float32) sdk.Tensor {
	if t.Empty() {
		return sdk.Tensor{}
	}
	return sdk.Tensor{Shape: t.Shape, Data: data}
}

// axpy adds a·x to y; an empty x adds nothing.
func axpy(y []float32, a float32, x []float32) error {
	if len(x) == 0 || a == 0 {
		return nil
	}
	if len(x) != len(y) {
		return fmt.Errorf("%d values, want %d", len(x), len(y))
	}
	for i, v := range x {
		y[i] += a * v
	}
	return nil
}

func labelChange(prev, cur []int32) float64 {
	changed := 0
	for i := range cur {
		if prev[i] != cur[i] {
			changed++
		}
	}
	return float64(changed) / float64(len(cur))
}

// clusterSizes counts the rows of each of the k clusters; every label must
// be below k.
func clusterSizes(labels []int32, k int) []int {
	sizes := make([]int, k)
	for _, l := range labels {
		sizes[l]++
	}
	return sizes
}

func countClusters(labels []int32) int {
	k := int32(0)
	for _, l := range labels {
		k = max(k, l+1)
	}
	return int(k)
}
