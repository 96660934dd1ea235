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
//
// Version 2 appends the targets P, so that joint training resumed from a
// saved state goes on exactly as it would have; Load still reads version
// 1 states, which have none.
const (
	stateMagic   = "DCDECCLU"
	stateVersion = uint32(2)
)

// stateHeader is the fixed part of a saved state. It is followed, little
// endian, by three K·Dim float64 arrays (row-major): the centroids, the
// optimiser's first moment (Adam) or momentum buffer (SGD), and Adam's
// second moment (zeros for SGD); then, from version 2, the number of rows
// of the targets P (uint64, 0 for none) and P, rows·K float64.
type stateHeader struct {
	Magic   [8]byte
	Version uint32
	K       uint32
	Dim     uint32
	Adam    uint32 // 1 for adam, 0 for sgd
	Steps   uint64 // Adam's step count t
}

// Save serialises the centroids, the optimiser state and the targets P of
// the last Fit or Update (which Loss reads), so that training goes on
// after Load as it would have without it.
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
	rows := uint64(len(c.target) / c.k)
	for _, part := range []any{h, c.centroids, c.opt.m, c.opt.v, rows, c.target} {
		if err := binary.Write(&buf, binary.LittleEndian, part); err != nil {
			return nil, fmt.Errorf("dec: save: %w", err)
		}
	}
	return buf.Bytes(), nil
}

// Load restores what Save produced. The saved k, embedding width and
// optimiser must match the configured ones. After a version 1 state,
// which holds no targets P, Loss needs an Update first.
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
	case h.Version != 1 && h.Version != stateVersion:
		return fmt.Errorf("dec: load: state version %d, this build reads 1 and %d", h.Version, stateVersion)
	case int(h.K) != c.k || int(h.Dim) != c.dim:
		return fmt.Errorf("dec: load: state has k=%d and width %d, configured k=%d and width %d", h.K, h.Dim, c.k, c.dim)
	case (h.Adam == 1) != adam:
		return fmt.Errorf("dec: load: state was saved with a different optimizer than the configured %q", c.optKind)
	}
	size := c.k * c.dim
	want := 3 * size * 8
	var rows uint64
	if h.Version >= 2 {
		if r.Len() < want+8 {
			return fmt.Errorf("dec: load: state body has %d bytes, want at least %d", r.Len(), want+8)
		}
		rows = binary.LittleEndian.Uint64(state[len(state)-r.Len()+want:])
		if rows > uint64(r.Len()) {
			return fmt.Errorf("dec: load: state declares targets of %d rows in %d bytes", rows, r.Len())
		}
		want += 8 + int(rows)*c.k*8
	}
	if r.Len() != want {
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
	var target []float64
	if h.Version >= 2 {
		var n uint64
		if err := binary.Read(r, binary.LittleEndian, &n); err != nil {
			return fmt.Errorf("dec: load: target rows: %w", err)
		}
		if n > 0 {
			target = make([]float64, n*uint64(c.k))
			if err := binary.Read(r, binary.LittleEndian, target); err != nil {
				return fmt.Errorf("dec: load: target values: %w", err)
			}
		}
		for i, v := range target {
			if !(v >= 0 && v <= 1) {
				return fmt.Errorf("dec: load: target value %d is %v, want a probability", i, v)
			}
		}
	}
	c.centroids, c.opt, c.target, c.keptGradCentre = centroids, opt, target, nil
	return nil
}
