package dec

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
	stateMagic   = "DCDECCLU"
	stateVersion = uint32(1)
)

// stateHeader is the fixed part of a saved state. It is followed, little
// endian, by three K·Dim float64 arrays (row-major): the centroids, the
// optimiser's first moment (Adam) or momentum buffer (SGD), and Adam's
// second moment (zeros for SGD).
type stateHeader struct {
	Magic   [8]byte
	Version uint32
	K       uint32
	Dim     uint32
	Adam    uint32 // 1 for adam, 0 for sgd
	Steps   uint64 // Adam's step count t
}

// Save serialises the centroids and the optimiser state. The targets P are
// not saved: they are a function of all embeddings, which the next Update
// recomputes.
func (c *Clusterer) Save(_ context.Context) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.fitted("save"); err != nil {
		return nil, err
	}
	h := stateHeader{Version: stateVersion, K: uint32(c.k), Dim: uint32(c.dim), Steps: c.opt.steps}
	if c.opt.adam {
		h.Adam = 1
	}
	copy(h.Magic[:], stateMagic)
	var buf bytes.Buffer
	for _, part := range []any{h, c.centroids, c.opt.m, c.opt.v} {
		if err := binary.Write(&buf, binary.LittleEndian, part); err != nil {
			return nil, fmt.Errorf("dec: save: %w", err)
		}
	}
	return buf.Bytes(), nil
}

// Load restores what Save produced. The saved k, embedding width and
// optimiser must match the configured ones. Loss needs an Update first,
// which recomputes the targets P.
func (c *Clusterer) Load(_ context.Context, state []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.configured {
		return fmt.Errorf("dec: load before Configure")
	}
	r := bytes.NewReader(state)
	var h stateHeader
	if err := binary.Read(r, binary.LittleEndian, &h); err != nil {
		return fmt.Errorf("dec: load: reading header of %d-byte state: %w", len(state), err)
	}
	adam := c.optKind == OptimizerAdam
	switch {
	case string(h.Magic[:]) != stateMagic:
		return fmt.Errorf("dec: load: state does not start with %q", stateMagic)
	case h.Version != stateVersion:
		return fmt.Errorf("dec: load: state version %d, this build reads %d", h.Version, stateVersion)
	case int(h.K) != c.k || int(h.Dim) != c.dim:
		return fmt.Errorf("dec: load: state has k=%d and width %d, configured k=%d and width %d", h.K, h.Dim, c.k, c.dim)
	case (h.Adam == 1) != adam:
		return fmt.Errorf("dec: load: state was saved with a different optimizer than the configured %q", c.optKind)
	}
	size := c.k * c.dim
	if want := 3 * size * 8; r.Len() != want {
		return fmt.Errorf("dec: load: state body has %d bytes, want %d", r.Len(), want)
	}
	opt := newOptimizer(c.optKind, c.lr, c.momentum, size)
	opt.steps = h.Steps
	centroids := make([]float64, size)
	parts := []struct {
		name string
		vals []float64
	}{{"centroid", centroids}, {"first moment", opt.m}, {"second moment", opt.v}}
	for _, part := range parts {
		if err := binary.Read(r, binary.LittleEndian, part.vals); err != nil {
			return fmt.Errorf("dec: load: %s values: %w", part.name, err)
		}
		for i, v := range part.vals {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return fmt.Errorf("dec: load: %s value %d is %v", part.name, i, v)
			}
		}
	}
	c.centroids, c.opt, c.target, c.keptGradCentre = centroids, opt, nil, nil
	return nil
}
