package spectralnet

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"math"
)

// The state format, little-endian throughout:
//
//	magic "DCSPECNT", version uint32, k uint32,
//	the orthonormalisation matrix M, k×k float64 row-major,
//	then the state of the mlp encoder holding the network (its Save).
const (
	stateMagic   = "DCSPECNT"
	stateVersion = 1
)

// Save serialises the orthonormalisation matrix, the weights and the
// optimiser state, so that Load resumes training and embeds new points
// exactly as this encoder does.
func (e *Encoder) Save(ctx context.Context) ([]byte, error) {
	if e.net == nil {
		return nil, fmt.Errorf("encoder \"spectralnet\": Save before Configure")
	}
	net, err := e.net.Save(ctx)
	if err != nil {
		return nil, fmt.Errorf("encoder \"spectralnet\": %w", err)
	}
	le := binary.LittleEndian
	buf := make([]byte, 0, len(stateMagic)+8+8*len(e.ortho)+len(net))
	buf = append(buf, stateMagic...)
	buf = le.AppendUint32(buf, stateVersion)
	buf = le.AppendUint32(buf, uint32(e.k))
	for _, v := range e.ortho {
		buf = le.AppendUint64(buf, math.Float64bits(v))
	}
	return append(buf, net...), nil
}

// Load restores what Save produced; the saved k and network architecture
// must match the configured ones.
func (e *Encoder) Load(ctx context.Context, state []byte) error {
	if e.net == nil {
		return fmt.Errorf("encoder \"spectralnet\": Load before Configure")
	}
	if !bytes.HasPrefix(state, []byte(stateMagic)) {
		return fmt.Errorf("encoder \"spectralnet\": loading state: not a spectralnet encoder state (bad magic)")
	}
	le := binary.LittleEndian
	rest := state[len(stateMagic):]
	if len(rest) < 8 {
		return fmt.Errorf("encoder \"spectralnet\": loading state: truncated header")
	}
	if v := le.Uint32(rest); v != stateVersion {
		return fmt.Errorf("encoder \"spectralnet\": loading state: version %d, this build reads %d", v, stateVersion)
	}
	if k := int(le.Uint32(rest[4:])); k != e.k {
		return fmt.Errorf("encoder \"spectralnet\": loading state: saved k = %d, configured k = %d", k, e.k)
	}
	rest = rest[8:]
	if len(rest) < 8*e.k*e.k {
		return fmt.Errorf("encoder \"spectralnet\": loading state: truncated orthonormalisation matrix")
	}
	ortho := make([]float64, e.k*e.k)
	for i := range ortho {
		ortho[i] = math.Float64frombits(le.Uint64(rest[8*i:]))
		if math.IsNaN(ortho[i]) || math.IsInf(ortho[i], 0) {
			return fmt.Errorf("encoder \"spectralnet\": loading state: orthonormalisation matrix entry %d is %v", i, ortho[i])
		}
	}
	if err := e.net.Load(ctx, rest[8*e.k*e.k:]); err != nil {
		return fmt.Errorf("encoder \"spectralnet\": %w", err)
	}
	e.setOrtho(ortho)
	e.train.rows = 0
	return nil
}
