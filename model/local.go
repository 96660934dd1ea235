package model

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/deepclust/deepclust/pipeline"
)

// SetPretrained makes Fit load state (an encoder state, as the encoder's
// Save writes it) into stage i's encoder and skip the stage's pretraining,
// as train.pretrained does with a saved model's encoder: for weights
// trained outside Fit, e.g. by model averaging on many machines
// (cmd/deepclust-beam train). It takes precedence over train.pretrained.
// The stage cache key includes the loaded state's SHA-256.
func (m *Model) SetPretrained(i int, state []byte) error {
	switch {
	case m.fitted:
		return errors.New("model: SetPretrained after Fit or Load")
	case i < 0 || i >= len(m.stages):
		return fmt.Errorf("model: SetPretrained of stage %d, the model has %d", i+1, len(m.stages))
	case len(state) == 0:
		return errors.New("model: SetPretrained with an empty state")
	}
	m.stages[i].pretrained = slices.Clone(state)
	return nil
}

// PretrainStage runs pretraining epochs [first, last) of stage i
// (pipeline.PretrainEpochs with the stage's schedule, its losses and
// batches drawn from seed) outside Fit and returns the encoder's state
// after them, with the mean pretraining loss of each epoch. src holds the
// stage's input samples as Fit would give them (scaled as the model
// scales them: see ScaleKind). The stage is configured as Fit configures
// it, with the same plugin seeds, for samples of src's shape; its encoder
// then starts from start (an encoder state; nil: its own initial
// weights). With first = last it returns the starting state.
//
// It is what a worker of a model-averaging training runs: every worker
// trains an epoch on its part of the samples from the same broadcast
// weights, and the averaged weights start the next epoch. The model
// stays unfitted; every call configures the stage afresh.
func (m *Model) PretrainStage(ctx context.Context, i int, src pipeline.Source, start []byte, first, last int, seed uint64) ([]byte, []float64, error) {
	switch {
	case m.fitted:
		return nil, nil, errors.New("model: PretrainStage after Fit or Load")
	case i < 0 || i >= len(m.stages):
		return nil, nil, fmt.Errorf("model: PretrainStage of stage %d, the model has %d", i+1, len(m.stages))
	}
	st := m.stages[i]
	if err := st.configure(ctx, m.cfg.Seed, src.SampleShape()); err != nil {
		return nil, nil, err
	}
	enc := st.model.Encoder
	if start != nil {
		if err := enc.Load(ctx, start); err != nil {
			return nil, nil, fmt.Errorf("stage %s: loading the starting weights: %w", st.spec.Name, err)
		}
	}
	var history []float64
	if last > first {
		rep, err := pipeline.PretrainEpochs(ctx, st.model, src, st.spec.Train, seed, first, last, m.opt.Progress)
		if err != nil {
			return nil, nil, fmt.Errorf("stage %s: %w", st.spec.Name, err)
		}
		history = rep.PretrainHistory
	}
	state, err := enc.Save(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("stage %s: saving the encoder: %w", st.spec.Name, err)
	}
	return state, history, nil
}
