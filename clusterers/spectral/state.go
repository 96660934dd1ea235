package spectral

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
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
	cfg, err := json.Marshal(c.set)
	if err != nil {
		return nil, fmt.Errorf("spectral: save: config: %w", err)
	}
	le := binary.LittleEndian
	buf := append([]byte(stateMagic), le.AppendUint32(nil, stateVersion)...)
	buf = le.AppendUint32(buf, uint32(len(cfg)))
	buf = append(buf, cfg...)
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
	var head struct {
		Magic   [8]byte
		Version uint32
		CfgLen  uint32
	}
	if err := binary.Read(r, binary.LittleEndian, &head); err != nil {
		return fmt.Errorf("spectral: load: reading header of %d-byte state: %w", len(state), err)
	}
	switch {
	case string(head.Magic[:]) != stateMagic:
		return fmt.Errorf("spectral: load: state does not start with %q", stateMagic)
	case head.Version != stateVersion:
		return fmt.Errorf("spectral: load: state version %d, this build reads %d", head.Version, stateVersion)
	case int64(head.CfgLen) > int64(r.Len()):
		return fmt.Errorf("spectral: load: config of %d bytes in a %d-byte state", head.CfgLen, len(state))
	}
	cfg := make([]byte, head.CfgLen)
	if _, err := io.ReadFull(r, cfg); err != nil {
		return fmt.Errorf("spectral: load: config: %w", err)
	}
	var set settings
	if err := json.Unmarshal(cfg, &set); err != nil {
		return fmt.Errorf("spectral: load: config: %w", err)
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
