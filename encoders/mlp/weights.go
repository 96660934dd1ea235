package mlp

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"

	"github.com/deepclust/deepclust/internal/nn"
)

// Weights are the trainable numbers of a saved mlp encoder state (what
// Save writes), decoded: what model averaging (local SGD, FedAvg) adds up.
type Weights struct {
	// Params holds every layer's weights W (out × in, row-major) then its
	// bias b, layer by layer from the input to the reconstruction.
	Params []float32
	// Slots holds the optimiser's per-parameter state in Params' layout:
	// Adam's first and second moments m and v, or SGD's momentum.
	Slots [][]float32
	// Steps are the optimiser steps taken by the encoder and decoder
	// halves (Adam's bias correction depends on them).
	Steps [2]uint64
	// Adam says the optimiser is Adam (else SGD).
	Adam bool
}

// stateLayout locates the parts of a saved state: the offset of the
// optimiser code and the parameter count.
func stateLayout(state []byte) (optAt, params int, err error) {
	if !bytes.HasPrefix(state, []byte(stateMagic)) {
		return 0, 0, fmt.Errorf("not an mlp encoder state (bad magic)")
	}
	sr := nn.NewStateReader(state[len(stateMagic):])
	var version, dim, nLayers uint32
	var slope float32
	sr.Read(&version)
	if sr.Err == nil && version != stateVersion {
		return 0, 0, fmt.Errorf("state version %d, this build reads %d", version, stateVersion)
	}
	sr.Read(&dim)
	sr.Read(&nLayers)
	sr.Read(&slope)
	if sr.Err != nil {
		return 0, 0, sr.Err
	}
	if nLayers > 1<<16 {
		return 0, 0, fmt.Errorf("state declares %d layers", nLayers)
	}
	for range nLayers {
		var in, out uint32
		var act uint8
		sr.Read(&in)
		sr.Read(&out)
		sr.Read(&act)
		if sr.Err != nil {
			return 0, 0, sr.Err
		}
		n := int64(in)*int64(out) + int64(out)
		if n > int64(len(state))/4 || int64(params)+n > int64(len(state))/4 {
			return 0, 0, fmt.Errorf("state declares more parameters than its %d bytes hold", len(state))
		}
		params += int(n)
	}
	return len(state) - sr.R.Len(), params, nil
}

// ReadWeights decodes the parameters, optimiser slots and step counts of
// a saved mlp encoder state.
func ReadWeights(state []byte) (Weights, error) {
	at, n, err := stateLayout(state)
	if err != nil {
		return Weights{}, fmt.Errorf("encoder \"mlp\": reading weights: %w", err)
	}
	sr := nn.NewStateReader(state[at:])
	var code uint8
	var w Weights
	sr.Read(&code)
	sr.Read(&w.Steps)
	sr.Bytes("noise generator state", 1<<10)
	if sr.Err != nil {
		return Weights{}, fmt.Errorf("encoder \"mlp\": reading weights: %w", sr.Err)
	}
	slots := 1
	switch code {
	case 0:
		w.Adam, slots = true, 2
	case 1:
	default:
		return Weights{}, fmt.Errorf("encoder \"mlp\": reading weights: unknown optimiser code %d", code)
	}
	if int64(sr.R.Len()) != int64(1+slots)*int64(n)*4 {
		return Weights{}, fmt.Errorf("encoder \"mlp\": reading weights: %d bytes of parameters and optimiser state, want %d", sr.R.Len(), (1+slots)*n*4)
	}
	w.Params = make([]float32, n)
	sr.Read(w.Params)
	for range slots {
		s := make([]float32, n)
		sr.Read(s)
		w.Slots = append(w.Slots, s)
	}
	if sr.Err != nil {
		return Weights{}, fmt.Errorf("encoder \"mlp\": reading weights: %w", sr.Err)
	}
	return w, nil
}

// WriteWeights returns a copy of state with w's parameters, optimiser
// slots and step counts in place of its own; the architecture and the
// noise generator stay. w must have state's parameter count and
// optimiser.
func WriteWeights(state []byte, w Weights) ([]byte, error) {
	old, err := ReadWeights(state)
	if err != nil {
		return nil, err
	}
	switch {
	case len(w.Params) != len(old.Params):
		return nil, fmt.Errorf("encoder \"mlp\": writing weights: %d parameters, the state has %d", len(w.Params), len(old.Params))
	case w.Adam != old.Adam || len(w.Slots) != len(old.Slots):
		return nil, fmt.Errorf("encoder \"mlp\": writing weights: another optimiser than the state's")
	}
	for _, s := range w.Slots {
		if len(s) != len(w.Params) {
			return nil, fmt.Errorf("encoder \"mlp\": writing weights: an optimiser slot of %d values for %d parameters", len(s), len(w.Params))
		}
	}
	at, _, _ := stateLayout(state)
	le := binary.LittleEndian
	out := make([]byte, 0, len(state))
	out = append(out, state[:at+1]...)
	out = le.AppendUint64(out, w.Steps[0])
	out = le.AppendUint64(out, w.Steps[1])
	noise := state[at+17:]
	nlen := le.Uint32(noise)
	out = append(out, noise[:4+nlen]...)
	for _, s := range append([][]float32{w.Params}, w.Slots...) {
		for _, v := range s {
			out = le.AppendUint32(out, math.Float32bits(v))
		}
	}
	return out, nil
}
