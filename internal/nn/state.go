package nn

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
)

// StateReader reads the little-endian values of a saved state and
// remembers the first error, so a decoder can read a run of fields and
// check once.
type StateReader struct {
	R   *bytes.Reader
	Err error
}

// NewStateReader reads state.
func NewStateReader(state []byte) *StateReader {
	return &StateReader{R: bytes.NewReader(state)}
}

// Read reads one fixed-size value (or slice of them) into v.
func (s *StateReader) Read(v any) {
	if s.Err == nil {
		if err := binary.Read(s.R, binary.LittleEndian, v); err != nil {
			s.Err = fmt.Errorf("truncated at byte %d: %w", s.R.Size()-int64(s.R.Len()), err)
		}
	}
}

// Bytes reads a uint32-length-prefixed byte string of at most limit bytes;
// what names it in the error.
func (s *StateReader) Bytes(what string, limit int) []byte {
	var n uint32
	s.Read(&n)
	if s.Err != nil {
		return nil
	}
	if int64(n) > int64(min(limit, s.R.Len())) {
		s.Err = fmt.Errorf("%s of %d bytes is truncated", what, n)
		return nil
	}
	b := make([]byte, n)
	s.Read(b)
	return b
}

// Training is the part of a gradient-trained encoder's state that follows
// its architecture in a saved state: the optimiser kind (one byte, 0 Adam,
// 1 SGD) and the step counts of the encoder and decoder halves (two
// uint64), the noise generator (uint32 length and bytes), the parameters,
// and the optimiser's slots (all float32).
type Training struct {
	Opt    Optimizer
	Steps  *[2]int
	Noise  *rand.PCG
	Params []float32
}

func (t Training) optimizerCode() byte {
	if t.Opt.Adam {
		return 0
	}
	return 1
}

// Append writes the training state after buf.
func (t Training) Append(buf []byte) ([]byte, error) {
	rng, err := t.Noise.MarshalBinary()
	if err != nil {
		return nil, fmt.Errorf("saving noise generator: %w", err)
	}
	le := binary.LittleEndian
	buf = append(buf, t.optimizerCode())
	buf = le.AppendUint64(buf, uint64(t.Steps[0]))
	buf = le.AppendUint64(buf, uint64(t.Steps[1]))
	buf = le.AppendUint32(buf, uint32(len(rng)))
	buf = append(buf, rng...)
	for _, s := range append([][]float32{t.Params}, t.Opt.Slots()...) {
		for _, v := range s {
			buf = le.AppendUint32(buf, math.Float32bits(v))
		}
	}
	return buf, nil
}

// Read reads a training state written by Append and, when it is whole,
// applies it. State saved with the other optimiser restores the weights
// and starts the configured optimiser afresh.
func (t Training) Read(sr *StateReader) error {
	var optCode uint8
	var steps [2]uint64
	sr.Read(&optCode)
	sr.Read(&steps)
	rng := sr.Bytes("noise generator state", 1<<10)
	params := make([]float32, len(t.Params))
	sr.Read(params)
	if sr.Err != nil {
		return sr.Err
	}
	if optCode > 1 {
		return fmt.Errorf("unknown optimiser code %d", optCode)
	}
	var slots [][]float32
	if optCode == t.optimizerCode() {
		for range t.Opt.Slots() {
			s := make([]float32, len(t.Params))
			sr.Read(s)
			slots = append(slots, s)
		}
	}
	if sr.Err != nil {
		return sr.Err
	}
	if slots != nil && sr.R.Len() != 0 {
		return fmt.Errorf("%d unexpected bytes after the optimiser state", sr.R.Len())
	}
	if err := t.Noise.UnmarshalBinary(rng); err != nil {
		return fmt.Errorf("noise generator: %w", err)
	}
	copy(t.Params, params)
	if slots == nil {
		t.Opt.Reset()
		*t.Steps = [2]int{}
		return nil
	}
	for i, s := range t.Opt.Slots() {
		copy(s, slots[i])
	}
	*t.Steps = [2]int{int(steps[0]), int(steps[1])}
	return nil
}
