package pipeline

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"
)

// Checkpoints configures the checkpoints of TrainWith.
type Checkpoints struct {
	// Save receives the run's State at every epoch boundary of pretraining
	// and joint training (not after the last one, when the run is about to
	// end), after cluster init when joint training follows, and after any
	// batch once Interval has passed since the last checkpoint. The State
	// is valid only during the call. nil saves nothing.
	Save func(ctx context.Context, s *State) error
	// Interval, when > 0, adds mid-epoch checkpoints: after a batch that
	// ends Interval or more after the previous checkpoint.
	Interval time.Duration
	// Resume, when set, is a State saved by an earlier run of the same
	// model, schedule, input and seed: the run continues from it. A State
	// of completed pretraining (Pretrained's) may come from a run whose
	// schedule differs in joint training only.
	Resume *State
	// Pretrained, when set, receives the State at the end of a whole
	// pretraining (not of PretrainEpochs' part), whether or not cluster
	// init follows: what a run with the same encoder, pretraining losses,
	// pretraining schedule, input and seed resumes from to skip
	// pretraining. The State is valid only during the call.
	Pretrained func(ctx context.Context, s *State) error
}

// State is a run of Train stopped between two batches: everything that
// decides how it goes on, so that a run resumed from it ends exactly as
// the uninterrupted run does.
//
// The sampler's position is the generator state at the start of the
// current epoch (RNG) and the number of batches of that epoch already
// trained on (Batch): a resumed run draws the epoch's order again and
// passes over those batches.
type State struct {
	// Phase is StagePretrain or StageTrain (cluster init is done).
	Phase string
	// Epoch is the number of epochs of Phase completed, Batch the number of
	// batches of the next epoch already trained on, and Steps the
	// mini-batch steps of Phase so far. Pretraining with Epoch equal to its
	// epochs is complete.
	Epoch, Batch, Steps int
	// Updated is the step of joint training's last clusterer update.
	Updated int
	// RNG is the pipeline's generator at the start of epoch Epoch+1.
	RNG []byte
	// Sum, SumC, Seen and Sums are the running loss sums of the current
	// epoch (pretraining) or since the last update (joint training).
	Sum, SumC, Seen float64
	Sums            []float64
	// Labels are the clusters of the last update (joint training), and
	// EpochLabels those the current epoch's uniform sampler draws from
	// when an update came between its start and Batch.
	Labels, EpochLabels []int32
	// Report is the report so far.
	Report Report
	// StepSamples and StepTime feed the throughput of the report.
	StepSamples int
	StepTime    time.Duration
	// PhaseSeconds and TotalSeconds are the wall time of Phase and of the
	// whole run so far.
	PhaseSeconds, TotalSeconds float64
	// Encoder and Clusterer are the plugins' saved states (Clusterer only
	// in joint training).
	Encoder, Clusterer []byte
}

// due reports whether the checkpoint interval has passed.
func (t *trainer) due() bool {
	return t.ck.Save != nil && t.ck.Interval > 0 && time.Since(t.lastSave) >= t.ck.Interval
}

// rngState returns the state of the pipeline's generator.
func (t *trainer) rngState() []byte {
	// PCG.MarshalBinary has no failure path: it always returns the state.
	b, _ := t.pcg.MarshalBinary()
	return b
}

// save completes st with the report, timings and plugin states and hands
// it to the checkpoint's Save; start is when the run began, begin when
// st.Phase did.
func (t *trainer) save(ctx context.Context, st *State, start, begin time.Time) error {
	if t.ck.Save == nil {
		return nil
	}
	now := time.Now()
	if err := t.complete(ctx, st, start, begin, now); err != nil {
		return err
	}
	if err := t.ck.Save(ctx, st); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	t.lastSave = time.Now()
	t.saveTime += t.lastSave.Sub(now)
	return nil
}

// complete fills st with the report, timings (up to now) and plugin
// states.
func (t *trainer) complete(ctx context.Context, st *State, start, begin, now time.Time) error {
	st.Report = *t.report
	st.StepSamples, st.StepTime = t.stepSamples, t.stepTime
	st.PhaseSeconds, st.TotalSeconds = now.Sub(begin).Seconds(), now.Sub(start).Seconds()
	var err error
	if st.Encoder, err = t.m.Encoder.Save(ctx); err != nil {
		return fmt.Errorf("checkpoint: saving the encoder: %w", err)
	}
	if st.Phase == StageTrain {
		if st.Clusterer, err = t.m.Clusterer.Save(ctx); err != nil {
			return fmt.Errorf("checkpoint: saving the clusterer: %w", err)
		}
	}
	return nil
}

// restore loads the State r into the trainer and its plugins.
func (t *trainer) restore(ctx context.Context, r *State) error {
	n := t.src.Rows()
	switch {
	case r.Phase != StagePretrain && r.Phase != StageTrain:
		return fmt.Errorf("unknown phase %q", r.Phase)
	case r.Phase == StagePretrain && (r.Epoch < 0 || r.Epoch > t.s.PretrainEpochs):
		return fmt.Errorf("pretraining epoch %d of %d", r.Epoch, t.s.PretrainEpochs)
	case r.Phase == StageTrain && (r.Epoch < 0 || r.Epoch >= t.s.Epochs):
		return fmt.Errorf("joint-training epoch %d of %d", r.Epoch, t.s.Epochs)
	case r.Batch < 0 || r.Steps < 0 || r.Updated < 0 || r.Updated > r.Steps:
		return fmt.Errorf("batch %d, step %d, update at step %d", r.Batch, r.Steps, r.Updated)
	case r.Phase == StageTrain && t.m.Clusterer == nil:
		return errors.New("joint training without a clusterer")
	case r.Phase == StageTrain && len(r.Labels) != n:
		return fmt.Errorf("%d labels for %d samples", len(r.Labels), n)
	case r.EpochLabels != nil && len(r.EpochLabels) != n:
		return fmt.Errorf("%d epoch labels for %d samples", len(r.EpochLabels), n)
	case r.Report.N != n:
		return fmt.Errorf("the checkpoint is of %d samples, the input has %d", r.Report.N, n)
	}
	for _, labels := range [][]int32{r.Labels, r.EpochLabels} {
		for i, l := range labels {
			if l < 0 {
				return fmt.Errorf("sample %d has cluster %d", i, l)
			}
		}
	}
	if err := t.pcg.UnmarshalBinary(r.RNG); err != nil {
		return fmt.Errorf("the batch generator: %w", err)
	}
	if err := t.m.Encoder.Load(ctx, r.Encoder); err != nil {
		return fmt.Errorf("loading the encoder: %w", err)
	}
	if r.Phase == StageTrain {
		if err := t.m.Clusterer.Load(ctx, r.Clusterer); err != nil {
			return fmt.Errorf("loading the clusterer: %w", err)
		}
	}
	rep := r.Report
	rep.Seconds = map[string]float64{}
	for k, v := range r.Report.Seconds {
		rep.Seconds[k] = v
	}
	t.report = &rep
	t.stepSamples, t.stepTime = r.StepSamples, r.StepTime
	t.resume = r
	return nil
}

// stateMagic opens an encoded State; stateVersion is bumped whenever the
// layout changes.
const (
	stateMagic   = "DCPSTATE"
	stateVersion = uint32(1)
)

// stateHeader is the JSON part of an encoded State: the scalars (floats
// as their IEEE-754 bits, so that they come back exactly), the report and
// the lengths of the binary parts that follow.
type stateHeader struct {
	Phase        string   `json:"phase"`
	Epoch        int      `json:"epoch"`
	Batch        int      `json:"batch"`
	Steps        int      `json:"steps"`
	Updated      int      `json:"updated"`
	Sum          uint64   `json:"sum"`
	SumC         uint64   `json:"sum_c"`
	Seen         uint64   `json:"seen"`
	Sums         []uint64 `json:"sums"`
	StepSamples  int      `json:"step_samples"`
	StepTime     int64    `json:"step_ns"`
	PhaseSeconds float64  `json:"phase_seconds"`
	TotalSeconds float64  `json:"total_seconds"`
	Report       Report   `json:"report"`
	// Lengths of RNG, Encoder and Clusterer in bytes, and of Labels and
	// EpochLabels in values (-1: nil).
	RNG         int `json:"rng_bytes"`
	Encoder     int `json:"encoder_bytes"`
	Clusterer   int `json:"clusterer_bytes"`
	Labels      int `json:"labels"`
	EpochLabels int `json:"epoch_labels"`
}

// MarshalBinary encodes the State: stateMagic, the version (uint32), the
// length of a JSON header (uint32) and the header, then the generator,
// encoder and clusterer states and the labels (int32), little-endian.
func (s *State) MarshalBinary() ([]byte, error) {
	parts, err := s.Encode()
	if err != nil {
		return nil, err
	}
	return bytes.Join(parts, nil), nil
}

// Encode returns the encoding MarshalBinary gives as consecutive parts,
// without copying the plugin states, so that a large state can be written
// out without a second copy in memory.
func (s *State) Encode() ([][]byte, error) {
	h := stateHeader{
		Phase: s.Phase, Epoch: s.Epoch, Batch: s.Batch, Steps: s.Steps, Updated: s.Updated,
		Sum: math.Float64bits(s.Sum), SumC: math.Float64bits(s.SumC), Seen: math.Float64bits(s.Seen),
		StepSamples: s.StepSamples, StepTime: int64(s.StepTime), PhaseSeconds: s.PhaseSeconds, TotalSeconds: s.TotalSeconds,
		Report: s.Report, RNG: len(s.RNG), Encoder: len(s.Encoder), Clusterer: len(s.Clusterer),
		Labels: labelCount(s.Labels), EpochLabels: labelCount(s.EpochLabels),
	}
	for _, v := range s.Sums {
		h.Sums = append(h.Sums, math.Float64bits(v))
	}
	head, err := json.Marshal(h)
	if err != nil {
		return nil, fmt.Errorf("encoding the training state: %w", err)
	}
	le := binary.LittleEndian
	prefix := make([]byte, 0, len(stateMagic)+8+len(head))
	prefix = append(prefix, stateMagic...)
	prefix = le.AppendUint32(prefix, stateVersion)
	prefix = le.AppendUint32(prefix, uint32(len(head)))
	prefix = append(prefix, head...)
	labels := make([]byte, 0, 4*(len(s.Labels)+len(s.EpochLabels)))
	for _, l := range s.Labels {
		labels = le.AppendUint32(labels, uint32(l))
	}
	for _, l := range s.EpochLabels {
		labels = le.AppendUint32(labels, uint32(l))
	}
	return [][]byte{prefix, s.RNG, s.Encoder, s.Clusterer, labels}, nil
}

func labelCount(l []int32) int {
	if l == nil {
		return -1
	}
	return len(l)
}

// UnmarshalState decodes what State.MarshalBinary wrote. Every length is
// checked against the bytes present before anything is allocated.
func UnmarshalState(b []byte) (*State, error) {
	if !bytes.HasPrefix(b, []byte(stateMagic)) {
		return nil, errors.New("not a training state (bad magic)")
	}
	b = b[len(stateMagic):]
	if len(b) < 8 {
		return nil, errors.New("training state: truncated header")
	}
	le := binary.LittleEndian
	if v := le.Uint32(b); v != stateVersion {
		return nil, fmt.Errorf("training state version %d, this build reads %d", v, stateVersion)
	}
	n := uint64(le.Uint32(b[4:]))
	b = b[8:]
	if n > uint64(len(b)) {
		return nil, fmt.Errorf("training state: header of %d bytes in %d", n, len(b))
	}
	var h stateHeader
	if err := json.Unmarshal(b[:n], &h); err != nil {
		return nil, fmt.Errorf("training state: header: %w", err)
	}
	b = b[n:]
	s := &State{
		Phase: h.Phase, Epoch: h.Epoch, Batch: h.Batch, Steps: h.Steps, Updated: h.Updated,
		Sum: math.Float64frombits(h.Sum), SumC: math.Float64frombits(h.SumC), Seen: math.Float64frombits(h.Seen),
		StepSamples: h.StepSamples, StepTime: time.Duration(h.StepTime), PhaseSeconds: h.PhaseSeconds, TotalSeconds: h.TotalSeconds,
		Report: h.Report,
	}
	for _, v := range h.Sums {
		s.Sums = append(s.Sums, math.Float64frombits(v))
	}
	for _, part := range []struct {
		n   int
		dst *[]byte
	}{{h.RNG, &s.RNG}, {h.Encoder, &s.Encoder}, {h.Clusterer, &s.Clusterer}} {
		if part.n < 0 || part.n > len(b) {
			return nil, fmt.Errorf("training state: a part of %d bytes in %d", part.n, len(b))
		}
		*part.dst = bytes.Clone(b[:part.n])
		b = b[part.n:]
	}
	for _, part := range []struct {
		n   int
		dst *[]int32
	}{{h.Labels, &s.Labels}, {h.EpochLabels, &s.EpochLabels}} {
		if part.n < -1 || part.n > len(b)/4 {
			return nil, fmt.Errorf("training state: %d labels in %d bytes", part.n, len(b))
		}
		if part.n == -1 {
			continue
		}
		labels := make([]int32, part.n)
		for i := range labels {
			labels[i] = int32(le.Uint32(b[4*i:]))
		}
		*part.dst = labels
		b = b[4*part.n:]
	}
	if len(b) != 0 {
		return nil, fmt.Errorf("training state: %d unexpected bytes at the end", len(b))
	}
	return s, nil
}
