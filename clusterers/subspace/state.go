package subspace

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"math"

	"github.com/deepclust/deepclust/internal/statefile"
)

// stateMagic opens every saved state; stateVersion is bumped whenever the
// layout below changes.
const (
	stateMagic   = "DCSUBSPC"
	stateVersion = uint32(1)
)

// The state layout, little-endian: magic, version uint32, config length
// uint32 and the config as JSON (the settings fields: gamma is the kept
// γ, gamma_candidates the list it was chosen from, absent for one γ), width uint32,
// sample count uint64, dictionary size uint64, then k·width float64 cluster
// means (row-major), one int32 label per sample, one int32 label per
// dictionary row and the dictionary's m·width float32 unit-length rows.

// Save serialises the config, the cluster means, every fitted row's
// cluster and the dictionary.
func (c *Clusterer) Save(_ context.Context) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.fitted("save"); err != nil {
		return nil, err
	}
	buf, err := statefile.AppendHeader(nil, "subspace: save", stateMagic, stateVersion, c.set)
	if err != nil {
		return nil, err
	}
	le := binary.LittleEndian
	buf = le.AppendUint32(buf, uint32(c.dim))
	buf = le.AppendUint64(buf, uint64(len(c.labels)))
	buf = le.AppendUint64(buf, uint64(len(c.dictLabel)))
	for _, v := range c.centroids {
		buf = le.AppendUint64(buf, math.Float64bits(v))
	}
	for _, s := range c.labels {
		buf = le.AppendUint32(buf, uint32(s))
	}
	for _, s := range c.dictLabel {
		buf = le.AppendUint32(buf, uint32(s))
	}
	for _, v := range c.dict {
		buf = le.AppendUint32(buf, math.Float32bits(v))
	}
	return buf, nil
}

// Load restores what Save produced, including the saved config, which
// replaces the configured one; the saved k and embedding width must match
// the configured ones. It rejects a wrong magic or version, an invalid
// config, a body of the wrong length, non-finite means or dictionary rows,
// labels outside [0, k) and a dictionary larger than the samples.
func (c *Clusterer) Load(_ context.Context, state []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.configured {
		return fmt.Errorf("subspace: load before Configure")
	}
	r := bytes.NewReader(state)
	var set settings
	if err := statefile.ReadHeader(r, "subspace: load", stateMagic, stateVersion, len(state), &set); err != nil {
		return err
	}
	if err := set.validate(); err != nil {
		return fmt.Errorf("subspace: load: saved config: %w", err)
	}
	var shape struct {
		Dim     uint32
		Samples uint64
		Dict    uint64
	}
	if err := binary.Read(r, binary.LittleEndian, &shape); err != nil {
		return fmt.Errorf("subspace: load: reading shape: %w", err)
	}
	switch {
	case set.K != c.set.K || int(shape.Dim) != c.dim:
		return fmt.Errorf("subspace: load: state has k=%d and width %d, configured k=%d and width %d", set.K, shape.Dim, c.set.K, c.dim)
	case shape.Samples < 1 || shape.Dict < 1 || shape.Dict > shape.Samples:
		return fmt.Errorf("subspace: load: %d samples and a dictionary of %d, want 1 ≤ dictionary ≤ samples", shape.Samples, shape.Dict)
	case shape.Samples > uint64(r.Len())/4:
		// Checked before the products below, which can wrap around to
		// match the bytes present (statefuzz's seeds).
		return fmt.Errorf("subspace: load: state body has %d bytes, too few for %d samples", r.Len(), shape.Samples)
	}
	body := uint64(set.K*c.dim)*8 + shape.Samples*4 + shape.Dict*4 + shape.Dict*uint64(c.dim)*4
	if uint64(r.Len()) != body {
		return fmt.Errorf("subspace: load: state body has %d bytes, want %d for %d samples and a dictionary of %d", r.Len(), body, shape.Samples, shape.Dict)
	}
	centroids := make([]float64, set.K*c.dim)
	labels := make([]int32, shape.Samples)
	dictLabel := make([]int32, shape.Dict)
	dict := make([]float32, shape.Dict*uint64(c.dim))
	for _, part := range []any{centroids, labels, dictLabel, dict} {
		if err := binary.Read(r, binary.LittleEndian, part); err != nil {
			return fmt.Errorf("subspace: load: %w", err)
		}
	}
	for i, v := range centroids {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("subspace: load: cluster mean value %d is %v", i, v)
		}
	}
	for i, v := range dict {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return fmt.Errorf("subspace: load: dictionary value %d is %v", i, v)
		}
	}
	for what, ls := range map[string][]int32{"sample": labels, "dictionary row": dictLabel} {
		for i, s := range ls {
			if s < 0 || int(s) >= set.K {
				return fmt.Errorf("subspace: load: label of %s %d is %d, outside [0, %d)", what, i, s, set.K)
			}
		}
	}
	c.set, c.centroids, c.labels, c.dictLabel, c.dict = set, centroids, labels, dictLabel, dict
	return nil
}
