package gmm

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
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
// covariance type must match the configured ones (with k auto, the saved
// k is taken); the weights must be finite, non-negative and sum to 1
// (within 1e-9), the means finite and every covariance symmetric positive
// definite. Truncated, oversized or corrupt states are errors, and leave
// the clusterer as it was.
func (c *Clusterer) Load(_ context.Context, state []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.configured {
		return fmt.Errorf("gmm: load before Configure")
	}
	p, m, err := parseState(state)
	if err != nil {
		return fmt.Errorf("gmm: load: %w", err)
	}
	switch {
	case (p.K != c.k && !c.auto.Auto) || p.Dim != c.dim:
		return fmt.Errorf("gmm: load: state has k=%d and width %d, configured k=%d and width %d", p.K, p.Dim, c.k, c.dim)
	case p.Diag != c.diag:
		return fmt.Errorf("gmm: load: state has covariance code %d, configured %d (0 full, 1 diag)", p.covCode(), c.covCode())
	}
	c.k, c.mix, c.last = p.K, m, emResult{}
	return nil
}

func (p Params) covCode() uint32 {
	if p.Diag {
		return codeDiag
	}
	return codeFull
}

// State encodes p in Save's format, which Load of a Clusterer configured
// with the same k, width and covariance type restores.
func (p Params) State() ([]byte, error) {
	if _, err := p.mixture(); err != nil {
		return nil, fmt.Errorf("gmm: %w", err)
	}
	h := stateHeader{Version: stateVersion, K: uint32(p.K), Dim: uint32(p.Dim), Covariance: p.covCode()}
	copy(h.Magic[:], stateMagic)
	var buf bytes.Buffer
	for _, part := range []any{h, p.Weights, p.Means, p.Cov} {
		if err := binary.Write(&buf, binary.LittleEndian, part); err != nil {
			return nil, fmt.Errorf("gmm: encoding state: %w", err)
		}
	}
	return buf.Bytes(), nil
}

// ParseState decodes a state written by Save (or Params.State) without a
// configured Clusterer: k, width and covariance type come from the state.
// It checks what Load checks.
func ParseState(state []byte) (Params, error) {
	p, _, err := parseState(state)
	if err != nil {
		return Params{}, fmt.Errorf("gmm: %w", err)
	}
	return p, nil
}

// parseState decodes and checks a saved state.
func parseState(state []byte) (Params, *mixture, error) {
	r := bytes.NewReader(state)
	var h stateHeader
	if err := binary.Read(r, binary.LittleEndian, &h); err != nil {
		return Params{}, nil, fmt.Errorf("reading header of %d-byte state: %w", len(state), err)
	}
	switch {
	case string(h.Magic[:]) != stateMagic:
		return Params{}, nil, fmt.Errorf("state does not start with %q", stateMagic)
	case h.Version != stateVersion:
		return Params{}, nil, fmt.Errorf("state version %d, this build reads %d", h.Version, stateVersion)
	case h.Covariance != codeFull && h.Covariance != codeDiag:
		return Params{}, nil, fmt.Errorf("state has covariance code %d, want 0 (full) or 1 (diag)", h.Covariance)
	case h.K < 1 || h.Dim < 1 || h.K > 1<<20 || h.Dim > 1<<16:
		return Params{}, nil, fmt.Errorf("state has k=%d and width %d", h.K, h.Dim)
	}
	p := Params{K: int(h.K), Dim: int(h.Dim), Diag: h.Covariance == codeDiag}
	c := covLen(p.Dim, p.Diag)
	if body := int64(p.K) * int64(1+p.Dim+c) * 8; int64(r.Len()) != body {
		return Params{}, nil, fmt.Errorf("state body has %d bytes, want %d", r.Len(), body)
	}
	p.Weights, p.Means, p.Cov = make([]float64, p.K), make([]float64, p.K*p.Dim), make([]float64, p.K*c)
	for _, part := range []any{p.Weights, p.Means, p.Cov} {
		if err := binary.Read(r, binary.LittleEndian, part); err != nil {
			return Params{}, nil, fmt.Errorf("reading state: %w", err)
		}
	}
	m, err := p.mixture()
	if err != nil {
		return Params{}, nil, err
	}
	return p, m, nil
}
