package model

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"

	"github.com/deepclust/deepclust/pipeline"
)

// Pretraining is cached on its own too: DIR/pretrain-PKEY/ holds the
// pipeline's State at the end of a stage's pretraining (the encoder's
// state with its optimiser's, the generator, the pretraining history),
// PKEY hashing only what pretraining depends on: the stage's seed, input
// and input shape, encoder, the losses of the pretraining phase (their
// places in the list, plugins, configs and weights) and the pretraining
// schedule (batch size, epochs, learning rate and decay, sampler,
// neighbours, kNN search). A stage that misses the cache but pretrains as
// a cached one did, such as a joint-training stage (DEC, IDEC, DSC-Net)
// after a config with the same autoencoder stage (N2D), resumes from that
// State: pipeline.TrainWith then goes on exactly as after its own
// pretraining (the checkpoints' resume), so the result is the same.

// Files of a pretraining entry.
const (
	pretrainPrefix = "pretrain-"
	pretrainFile   = "pretrain.json"
	pretrainState  = "state.bin"
	pretrainFormat = 1
)

// subIndex is the index file of a fit or pretraining entry: its format,
// key and rows, and the SHA-256 of each of its files.
type subIndex struct {
	Format int               `json:"format"`
	Key    string            `json:"key"`
	Rows   int               `json:"rows"`
	Files  map[string]string `json:"sha256"`
}

// pretrainEntry is pretrain.json.
type pretrainEntry = subIndex

// pretrainKey is the key of stage st's pretraining on the input keyed
// input (see stageKey).
func pretrainKey(seed uint64, st *stage, input string) (string, error) {
	type loss struct {
		Index  int       `json:"index"`
		Plugin pluginKey `json:"plugin"`
		Weight float64   `json:"weight"`
	}
	s := st.spec.Train
	key := struct {
		Format     int    `json:"format"`
		Seed       uint64 `json:"seed"`
		Input      string `json:"input"`
		InputShape []int  `json:"input_shape"`
		Encoder    pluginKey
		Losses     []loss
		BatchSize  int
		Epochs     int
		LR         float64
		Sampler    string
		Neighbors  int
		KNNSearch  string
		Decay      string
	}{Format: pretrainFormat, Seed: stageSeed(seed, st.index), Input: input, InputShape: st.inputShape,
		BatchSize: s.BatchSize, Epochs: s.PretrainEpochs, LR: s.PretrainLR, Sampler: s.PretrainSampler,
		Neighbors: s.Neighbors, KNNSearch: s.KNNSearch, Decay: s.PretrainDecay}
	var err error
	if key.Encoder, err = keyOf(st.spec.Encoder, st.encoder.Description()); err != nil {
		return "", err
	}
	for i, l := range st.spec.Losses {
		if !l.In(pipeline.StagePretrain) {
			continue
		}
		k, err := keyOf(l.PluginSpec, st.losses[i].Description())
		if err != nil {
			return "", err
		}
		key.Losses = append(key.Losses, loss{Index: i, Plugin: k, Weight: l.Weight})
	}
	b, err := json.Marshal(key)
	if err != nil {
		return "", fmt.Errorf("pretraining key: %w", err)
	}
	return sha(b), nil
}

func (c *stageCache) pretrainPath(key string) string {
	return filepath.Join(c.dir, pretrainPrefix+key)
}

// getPretrain returns the cached State of pretraining key on rows
// samples; a corrupt entry is reported, removed and missed.
func (c *stageCache) getPretrain(key string, rows int) (s *pipeline.State, ok bool) {
	ok = c.open(c.pretrainPath(key), pretrainFile, "pretraining", "pretraining again", func(dir string, b []byte) (err error) {
		s, err = readPretrain(dir, b, key, rows)
		return err
	})
	return s, ok
}

func readPretrain(dir string, b []byte, key string, rows int) (*pipeline.State, error) {
	var e pretrainEntry
	if err := json.Unmarshal(b, &e); err != nil {
		return nil, fmt.Errorf("reading %s: %w", pretrainFile, err)
	}
	if e.Format != pretrainFormat || e.Key != key || e.Rows != rows {
		return nil, fmt.Errorf("%s is of format %d for key %.12s and %d rows, want format %d, key %.12s, %d rows", pretrainFile, e.Format, e.Key, e.Rows, pretrainFormat, key, rows)
	}
	data, err := checkedFiles(dir, pretrainFile, e.Files, pretrainState)
	if err != nil {
		return nil, err
	}
	s, err := pipeline.UnmarshalState(data[pretrainState])
	if err != nil {
		return nil, err
	}
	if s.Phase != pipeline.StagePretrain || s.Report.N != rows {
		return nil, fmt.Errorf("a state of phase %s on %d rows, want completed pretraining on %d", s.Phase, s.Report.N, rows)
	}
	return s, nil
}

// putPretrain stores s, the State at the end of pretraining, under key;
// its timings are dropped (a run resuming from it reports the time it
// spends itself).
func (c *stageCache) putPretrain(key string, s *pipeline.State) error {
	cp := *s
	cp.StepSamples, cp.StepTime, cp.PhaseSeconds, cp.TotalSeconds = 0, 0, 0, 0
	cp.Report.Seconds = nil
	b, err := cp.MarshalBinary()
	if err != nil {
		return err
	}
	head, err := json.MarshalIndent(pretrainEntry{Format: pretrainFormat, Key: key, Rows: s.Report.N, Files: map[string]string{pretrainState: sha(b)}}, "", "  ")
	if err != nil {
		return err
	}
	return c.writeDir(c.pretrainPath(key), map[string][]byte{pretrainState: b, pretrainFile: head})
}

// pretrainHooks sets ck, a stage's checkpoints, to resume from the cached
// pretraining of key when there is one and no other resume point, else to
// cache the stage's pretraining when it ends. It reports whether the
// pretraining came from the cache.
func (c *stageCache) pretrainHooks(key string, rows int, ck *pipeline.Checkpoints) bool {
	if ck.Resume != nil {
		return false
	}
	if s, ok := c.getPretrain(key, rows); ok {
		ck.Resume = s
		return true
	}
	ck.Pretrained = func(_ context.Context, s *pipeline.State) error {
		if err := c.putPretrain(key, s); err != nil {
			fmt.Fprintf(c.log, "stage cache: pretraining not cached: %v\n", err)
		}
		return nil
	}
	return false
}
