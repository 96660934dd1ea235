package gmm

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
	stateMagic   = "DCGMMSTA"
	stateVersion = uint32(1)
)

// Covariance codes of a saved state.
const (
	codeFull = uint32(0)
	codeDiag = uint32(1)
)

// stateHeader is the fixed part of a saved state. It is followed, little
// endian, by K float64 weights, K·Dim float64 means (row-major) and the
// float64 covariances: K row-major Dim × Dim matrices (Covariance 0, full)
// or K·Dim variances (Covariance 1, diag).
type stateHeader struct {
	Magic      [8]byte
	Version    uint32
	K          uint32
	Dim        uint32
	Covariance uint32
}

func (c *Clusterer) covCode() uint32 {
	if c.diag {
		return codeDiag
	}
	return codeFull
}

// Save serialises the mixture: weights, means and covariances.
func (c *Clusterer) Save(_ context.Context) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.fitted("save"); err != nil {
		return nil, err
	}
	h := stateHeader{Version: stateVersion, K: uint32(c.k), Dim: uint32(c.dim), Covariance: c.covCode()}
	copy(h.Magic[:], stateMagic)
	var buf bytes.Buffer
	for _, part := range []any{h, c.mix.weights, c.mix.means, c.mix.cov} {
		if err := binary.Write(&buf, binary.LittleEndian, part); err != nil {
			return nil, fmt.Errorf("gmm: save: %w", err)
		}
	}
	return buf.Bytes(), nil
}

// Load restores what Save produced. The saved k, embedding width and
// covariance type must match the configured ones; the weights must be
// finite, non-negative and sum to 1 (within 1e-9), the means finite and
// every covariance symmetric positive definite. Truncated, oversized or
// corrupt states are errors.
func (c *Clusterer) Load(_ context.Context, state []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.configured {
		return fmt.Errorf("gmm: load before Configure")
	}
	r := bytes.NewReader(state)
	var h stateHeader
	if err := binary.Read(r, binary.LittleEndian, &h); err != nil {
		return fmt.Errorf("gmm: load: reading header of %d-byte state: %w", len(state), err)
	}
	if c.auto.Auto && h.K >= 1 {
		// k auto: the state holds the k Fit chose.
		c.k = int(h.K)
	}
	switch {
	case string(h.Magic[:]) != stateMagic:
		return fmt.Errorf("gmm: load: state does not start with %q", stateMagic)
	case h.Version != stateVersion:
		return fmt.Errorf("gmm: load: state version %d, this build reads %d", h.Version, stateVersion)
	case int64(h.K) != int64(c.k) || int64(h.Dim) != int64(c.dim):
		return fmt.Errorf("gmm: load: state has k=%d and width %d, configured k=%d and width %d", h.K, h.Dim, c.k, c.dim)
	case h.Covariance != c.covCode():
		return fmt.Errorf("gmm: load: state has covariance code %d, configured %d (0 full, 1 diag)", h.Covariance, c.covCode())
	}
	m := newMixture(c.k, c.dim, c.diag)
	body := int64(len(m.weights)+len(m.means)+len(m.cov)) * 8
	if int64(r.Len()) != body {
		return fmt.Errorf("gmm: load: state body has %d bytes, want %d", r.Len(), body)
	}
	for _, part := range []any{m.weights, m.means, m.cov} {
		if err := binary.Read(r, binary.LittleEndian, part); err != nil {
			return fmt.Errorf("gmm: load: %w", err)
		}
	}
	var total float64
	for j, w := range m.weights {
		if !(w >= 0) || math.IsInf(w, 0) {
			return fmt.Errorf("gmm: load: weight %d is %v", j, w)
		}
		total += w
	}
	if math.Abs(total-1) > 1e-9 {
		return fmt.Errorf("gmm: load: weights sum to %v, want 1", total)
	}
	for i, v := range m.means {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("gmm: load: mean value %d is %v", i, v)
		}
	}
	if !c.diag {
		d := c.dim
		for j := range c.k {
			cov := m.cov[j*d*d : (j+1)*d*d]
			for s := range d {
				for t := s + 1; t < d; t++ {
					if cov[s*d+t] != cov[t*d+s] {
						return fmt.Errorf("gmm: load: covariance %d is not symmetric at (%d, %d)", j, s, t)
					}
				}
			}
		}
	}
	if err := m.factor(); err != nil {
		return fmt.Errorf("gmm: load: %w", err)
	}
	c.mix, c.last = m, emResult{}
	return nil
}
