package conv

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"math"
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
	rng, err := e.noiseSrc.MarshalBinary()
	if err != nil {
		return nil, fmt.Errorf("encoder \"conv\": saving noise generator: %w", err)
	}
	arch := e.arch.String()
	slots := e.opt.Slots()
	buf := make([]byte, 0, 64+len(arch)+len(rng)+4*len(e.params)*(1+len(slots)))
	le := binary.LittleEndian
	buf = append(buf, stateMagic...)
	buf = le.AppendUint32(buf, stateVersion)
	buf = le.AppendUint32(buf, uint32(len(arch)))
	buf = append(buf, arch...)
	buf = le.AppendUint32(buf, math.Float32bits(e.set.slope))
	buf = append(buf, e.optimizerCode())
	buf = le.AppendUint64(buf, uint64(e.steps[0]))
	buf = le.AppendUint64(buf, uint64(e.steps[1]))
	buf = le.AppendUint32(buf, uint32(len(rng)))
	buf = append(buf, rng...)
	for _, s := range append([][]float32{e.params}, slots...) {
		for _, v := range s {
			buf = le.AppendUint32(buf, math.Float32bits(v))
		}
	}
	return buf, nil
}

// optimizerCode is the saved code of the optimiser: 0 adam, 1 sgd.
func (e *Encoder) optimizerCode() byte {
	if e.opt.Adam {
		return 0
	}
	return 1
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

// stateReader reads little-endian values and remembers the first error.
type stateReader struct {
	r   *bytes.Reader
	err error
}

func (s *stateReader) read(v any) {
	if s.err == nil {
		if err := binary.Read(s.r, binary.LittleEndian, v); err != nil {
			s.err = fmt.Errorf("truncated at byte %d: %w", s.r.Size()-int64(s.r.Len()), err)
		}
	}
}

// bytes reads a length-prefixed byte string of at most limit bytes.
func (s *stateReader) bytes(what string, limit int) []byte {
	var n uint32
	s.read(&n)
	if s.err != nil {
		return nil
	}
	if int64(n) > int64(min(limit, s.r.Len())) {
		s.err = fmt.Errorf("%s of %d bytes is truncated", what, n)
		return nil
	}
	b := make([]byte, n)
	s.read(b)
	return b
}

func (e *Encoder) decode(state []byte) error {
	if !bytes.HasPrefix(state, []byte(stateMagic)) {
		return fmt.Errorf("not a conv encoder state (bad magic)")
	}
	sr := &stateReader{r: bytes.NewReader(state[len(stateMagic):])}
	var version uint32
	sr.read(&version)
	if sr.err == nil && version != stateVersion {
		return fmt.Errorf("state version %d, this build reads %d", version, stateVersion)
	}
	arch := sr.bytes("architecture", maxArchLen)
	var slope float32
	sr.read(&slope)
	if sr.err != nil {
		return sr.err
	}
	if want := e.arch.String(); string(arch) != want {
		return fmt.Errorf("saved architecture %q, configured %q", arch, want)
	}
	if slope != e.set.slope {
		return fmt.Errorf("saved leaky_slope %v, configured %v", slope, e.set.slope)
	}
	var optCode uint8
	var steps [2]uint64
	sr.read(&optCode)
	sr.read(&steps)
	rng := sr.bytes("noise generator state", 1<<10)
	params := make([]float32, len(e.params))
	sr.read(params)
	if sr.err != nil {
		return sr.err
	}
	if optCode > 1 {
		return fmt.Errorf("unknown optimiser code %d", optCode)
	}
	var slots [][]float32
	if optCode == e.optimizerCode() {
		for range e.opt.Slots() {
			s := make([]float32, len(e.params))
			sr.read(s)
			slots = append(slots, s)
		}
	}
	if sr.err != nil {
		return sr.err
	}
	if slots != nil && sr.r.Len() != 0 {
		return fmt.Errorf("%d unexpected bytes after the optimiser state", sr.r.Len())
	}
	if err := e.noiseSrc.UnmarshalBinary(rng); err != nil {
		return fmt.Errorf("noise generator: %w", err)
	}
	copy(e.params, params)
	if slots == nil {
		e.opt.Reset()
		e.steps = [2]int{}
		return nil
	}
	for i, s := range e.opt.Slots() {
		copy(s, slots[i])
	}
	e.steps = [2]int{int(steps[0]), int(steps[1])}
	return nil
}
