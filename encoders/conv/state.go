package conv

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"math"

	"github.com/deepclust/deepclust/internal/nn"
)

// The state format, little-endian throughout:
//
//	magic "DCCONVEN", version uint32,
//	architecture: length uint32 + the UTF-8 layer list (architecture.String),
//	leaky slope float32, optimiser uint8 (0 adam, 1 sgd),
//	encoder steps uint64, decoder steps uint64,
//	noise PCG state: length uint32 + bytes,
//	parameters, then the optimiser slots (adam: m, v; sgd: m), float32 each.
const (
	stateMagic   = "DCCONVEN"
	stateVersion = 1
)

// maxArchLen bounds the architecture string Load accepts.
const maxArchLen = 1 << 20

// Save serialises the architecture, weights, optimiser state and the noise
// generator, so that Load resumes training exactly.
func (e *Encoder) Save(ctx context.Context) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if e.arch == nil {
		return nil, fmt.Errorf("encoder \"conv\": Save before Configure")
	}
	arch := e.arch.String()
	buf := make([]byte, 0, 64+len(arch)+4*len(e.params)*(1+len(e.opt.Slots())))
	le := binary.LittleEndian
	buf = append(buf, stateMagic...)
	buf = le.AppendUint32(buf, stateVersion)
	buf = le.AppendUint32(buf, uint32(len(arch)))
	buf = append(buf, arch...)
	buf = le.AppendUint32(buf, math.Float32bits(e.set.slope))
	buf, err := e.training().Append(buf)
	if err != nil {
		return nil, fmt.Errorf("encoder \"conv\": %w", err)
	}
	return buf, nil
}

// training is the optimiser, noise and parameter part of the state.
func (e *Encoder) training() nn.Training {
	return nn.Training{Opt: e.opt, Steps: &e.steps, Noise: e.noiseSrc, Params: e.params}
}

// Load restores what Save produced. The saved architecture must match the
// configured one. State saved with the other optimiser loads the weights
// and starts the configured optimiser afresh.
func (e *Encoder) Load(ctx context.Context, state []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if e.arch == nil {
		return fmt.Errorf("encoder \"conv\": Load before Configure")
	}
	if err := e.decode(state); err != nil {
		return fmt.Errorf("encoder \"conv\": loading state: %w", err)
	}
	e.pending = 0
	return nil
}

func (e *Encoder) decode(state []byte) error {
	if !bytes.HasPrefix(state, []byte(stateMagic)) {
		return fmt.Errorf("not a conv encoder state (bad magic)")
	}
	sr := nn.NewStateReader(state[len(stateMagic):])
	var version uint32
	sr.Read(&version)
	if sr.Err == nil && version != stateVersion {
		return fmt.Errorf("state version %d, this build reads %d", version, stateVersion)
	}
	arch := sr.Bytes("architecture", maxArchLen)
	var slope float32
	sr.Read(&slope)
	if sr.Err != nil {
		return sr.Err
	}
	if want := e.arch.String(); string(arch) != want {
		return fmt.Errorf("saved architecture %q, configured %q", arch, want)
	}
	if slope != e.set.slope {
		return fmt.Errorf("saved leaky_slope %v, configured %v", slope, e.set.slope)
	}
	return e.training().Read(sr)
}
