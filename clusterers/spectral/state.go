package spectral

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
	stateMagic   = "DCSPECTR"
	stateVersion = uint32(1)
)

// The state layout, little-endian: magic, version uint32, config length
// uint32 and the config as JSON (the settings fields), width uint32,
// sample count uint64, then k·width float64 centroids (row-major) and one
// int32 label per sample.

// Save serialises the config, the cluster means and every fitted row's
// cluster.
func (c *Clusterer) Save(_ context.Context) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.fitted("save"); err != nil {
		return nil, err
	}
	buf, err := statefile.AppendHeader(nil, "spectral: save", stateMagic, stateVersion, c.set)
	if err != nil {
		return nil, err
	}
	le := binary.LittleEndian
	buf = le.AppendUint32(buf, uint32(c.dim))
	buf = le.AppendUint64(buf, uint64(len(c.labels)))
	for _, v := range c.centroids {
		buf = le.AppendUint64(buf, math.Float64bits(v))
	}
	for _, s := range c.labels {
		buf = le.AppendUint32(buf, uint32(s))
	}
	return buf, nil
}

// Load restores what Save produced, including the saved config, which
// replaces the configured one; the saved k and embedding width must match
// the configured ones.
func (c *Clusterer) Load(_ context.Context, state []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.configured {
		return fmt.Errorf("spectral: load before Configure")
	}
	r := bytes.NewReader(state)
	var set settings
	if err := statefile.ReadHeader(r, "spectral: load", stateMagic, stateVersion, len(state), &set); err != nil {
		return err
	}
	if err := set.validate(); err != nil {
		return fmt.Errorf("spectral: load: saved config: %w", err)
	}
	var shape struct {
		Dim     uint32
		Samples uint64
	}
	if err := binary.Read(r, binary.LittleEndian, &shape); err != nil {
		return fmt.Errorf("spectral: load: reading shape: %w", err)
	}
	if c.auto.Auto && set.K >= 1 {
		// k auto: the state holds the k Fit chose.
		c.set.K = set.K
	}
	if set.K != c.set.K || int(shape.Dim) != c.dim {
		return fmt.Errorf("spectral: load: state has k=%d and width %d, configured k=%d and width %d", set.K, shape.Dim, c.set.K, c.dim)
	}
	// Samples is checked against the bytes present first: Samples*4 can
	// wrap around to match them (statefuzz's seeds).
	if shape.Samples > uint64(r.Len())/4 {
		return fmt.Errorf("spectral: load: state body has %d bytes, too few for %d samples", r.Len(), shape.Samples)
	}
	body := uint64(set.K*c.dim)*8 + shape.Samples*4
	if uint64(r.Len()) != body {
		return fmt.Errorf("spectral: load: state body has %d bytes, want %d for %d samples", r.Len(), body, shape.Samples)
	}
	centroids := make([]float64, set.K*c.dim)
	labels := make([]int32, shape.Samples)
	for _, part := range []any{centroids, labels} {
		if err := binary.Read(r, binary.LittleEndian, part); err != nil {
			return fmt.Errorf("spectral: load: %w", err)
		}
	}
	for i, v := range centroids {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("spectral: load: centroid value %d is %v", i, v)
		}
	}
	for i, s := range labels {
		if s < 0 || int(s) >= set.K {
			return fmt.Errorf("spectral: load: label of sample %d is %d, outside [0, %d)", i, s, set.K)
		}
	}
	c.set, c.centroids, c.labels = set, centroids, labels
	return nil
}
