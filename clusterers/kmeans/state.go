package kmeans

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"math"
)

// stateMagic opens every saved state; stateVersion is bumped whenever the
// layout below changes.
const (
	stateMagic   = "DCKMEANS"
	stateVersion = uint32(1)
)

// stateHeader is the fixed part of a saved state. It is followed, little
// endian, by K·Dim float64 centroids (row-major), K float64 online counts
// and Samples int32 assignments.
type stateHeader struct {
	Magic   [8]byte
	Version uint32
	K       uint32
	Dim     uint32
	Samples uint64
}

// Save serialises the centroids, online counts and per-sample assignments.
func (c *Clusterer) Save(_ context.Context) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.fitted("save"); err != nil {
		return nil, err
	}
	h := stateHeader{Version: stateVersion, K: uint32(c.k), Dim: uint32(c.dim), Samples: uint64(len(c.assignments))}
	copy(h.Magic[:], stateMagic)
	var buf bytes.Buffer
	for _, part := range []any{h, c.centroids, c.counts, c.assignments} {
		if err := binary.Write(&buf, binary.LittleEndian, part); err != nil {
			return nil, fmt.Errorf("kmeans: save: %w", err)
		}
	}
	return buf.Bytes(), nil
}

// Load restores what Save produced. The saved k and embedding width must
// match the configured ones.
func (c *Clusterer) Load(_ context.Context, state []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.configured {
		return fmt.Errorf("kmeans: load before Configure")
	}
	r := bytes.NewReader(state)
	var h stateHeader
	if err := binary.Read(r, binary.LittleEndian, &h); err != nil {
		return fmt.Errorf("kmeans: load: reading header of %d-byte state: %w", len(state), err)
	}
	if c.auto.Auto && h.K >= 1 {
		// k auto: the state holds the k Fit chose.
		c.k = int(h.K)
	}
	switch {
	case string(h.Magic[:]) != stateMagic:
		return fmt.Errorf("kmeans: load: state does not start with %q", stateMagic)
	case h.Version != stateVersion:
		return fmt.Errorf("kmeans: load: state version %d, this build reads %d", h.Version, stateVersion)
	case int(h.K) != c.k || int(h.Dim) != c.dim:
		return fmt.Errorf("kmeans: load: state has k=%d and width %d, configured k=%d and width %d", h.K, h.Dim, c.k, c.dim)
	}
	// Samples is checked against the bytes present first: Samples*4 can
	// wrap around to match them (FuzzState).
	if h.Samples > uint64(r.Len())/4 {
		return fmt.Errorf("kmeans: load: state body has %d bytes, too few for %d samples", r.Len(), h.Samples)
	}
	body := uint64(c.k*c.dim+c.k)*8 + h.Samples*4
	if uint64(r.Len()) != body {
		return fmt.Errorf("kmeans: load: state body has %d bytes, want %d for %d samples", r.Len(), body, h.Samples)
	}
	centroids := make([]float64, c.k*c.dim)
	counts := make([]float64, c.k)
	assignments := make([]int32, h.Samples)
	for _, part := range []any{centroids, counts, assignments} {
		if err := binary.Read(r, binary.LittleEndian, part); err != nil {
			return fmt.Errorf("kmeans: load: %w", err)
		}
	}
	for i, v := range centroids {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("kmeans: load: centroid value %d is %v", i, v)
		}
	}
	for i, s := range assignments {
		if s < 0 || int(s) >= c.k {
			return fmt.Errorf("kmeans: load: assignment of sample %d is %d, outside [0, %d)", i, s, c.k)
		}
	}
	c.centroids, c.counts, c.assignments = centroids, counts, assignments
	c.kept, c.keptIndices = nil, nil
	return nil
}
