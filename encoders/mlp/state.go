package mlp

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
//	magic "DCMLPENC", version uint32,
//	input width uint32, layer count uint32, leaky slope float32,
//	per layer: in uint32, out uint32, activation uint8,
//	optimiser uint8 (0 adam, 1 sgd), encoder steps uint64, decoder steps uint64,
//	noise PCG state: length uint32 + bytes,
//	parameters, then the optimiser slots (adam: m, v; sgd: m), float32 each.
const (
	stateMagic   = "DCMLPENC"
	stateVersion = 1
)

// Save serialises the architecture, weights, optimiser state and the
// noise generator, so that Load resumes training exactly.
func (e *Encoder) Save(ctx context.Context) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if e.layers == nil {
		return nil, fmt.Errorf("encoder \"mlp\": Save before Configure")
	}
	buf := make([]byte, 0, 64+9*len(e.layers)+4*len(e.params)*(1+len(e.opt.Slots())))
	le := binary.LittleEndian
	buf = append(buf, stateMagic...)
	buf = le.AppendUint32(buf, stateVersion)
	buf = le.AppendUint32(buf, uint32(e.dim))
	buf = le.AppendUint32(buf, uint32(len(e.layers)))
	buf = le.AppendUint32(buf, math.Float32bits(e.set.slope))
	for _, l := range e.layers {
		buf = le.AppendUint32(buf, uint32(l.in))
		buf = le.AppendUint32(buf, uint32(l.out))
		buf = append(buf, byte(l.act))
	}
	buf, err := e.training().Append(buf)
	if err != nil {
		return nil, fmt.Errorf("encoder \"mlp\": %w", err)
	}
	return buf, nil
}

// training is the optimiser, noise and parameter part of the state.
func (e *Encoder) training() nn.Training {
	return nn.Training{Opt: e.opt, Steps: &e.steps, Noise: e.noiseSrc, Params: e.params}
}

// Load restores what Save produced. The saved architecture must match the
// configured one. State saved with the other optimiser loads the weights
// and starts the configured optimiser afresh (e.g. Adam pretraining followed
// by SGD fine-tuning).
func (e *Encoder) Load(ctx context.Context, state []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if e.layers == nil {
		return fmt.Errorf("encoder \"mlp\": Load before Configure")
	}
	if err := e.decode(state); err != nil {
		return fmt.Errorf("encoder \"mlp\": loading state: %w", err)
	}
	e.train.rows = 0
	return nil
}

func (e *Encoder) decode(state []byte) error {
	if !bytes.HasPrefix(state, []byte(stateMagic)) {
		return fmt.Errorf("not an mlp encoder state (bad magic)")
	}
	sr := nn.NewStateReader(state[len(stateMagic):])
	var version, dim, nLayers uint32
	var slope float32
	sr.Read(&version)
	if sr.Err == nil && version != stateVersion {
		return fmt.Errorf("state version %d, this build reads %d", version, stateVersion)
	}
	sr.Read(&dim)
	sr.Read(&nLayers)
	sr.Read(&slope)
	if sr.Err != nil {
		return sr.Err
	}
	if nLayers > 1<<16 {
		return fmt.Errorf("state declares %d layers", nLayers)
	}
	saved := make([]layer, nLayers)
	for i := range saved {
		var in, out uint32
		var act uint8
		sr.Read(&in)
		sr.Read(&out)
		sr.Read(&act)
		saved[i] = layer{in: int(in), out: int(out), act: nn.Activation(act)}
	}
	if sr.Err != nil {
		return sr.Err
	}
	if err := e.checkArchitecture(int(dim), saved, slope); err != nil {
		return err
	}
	return e.training().Read(sr)
}

// checkArchitecture compares a saved architecture with the configured one.
func (e *Encoder) checkArchitecture(dim int, saved []layer, slope float32) error {
	if dim != e.dim {
		return fmt.Errorf("saved input width %d, configured %d (input shape %v)", dim, e.dim, e.inShape)
	}
	if len(saved) != len(e.layers) {
		return fmt.Errorf("saved network has %d layers %s, configured %d layers %s", len(saved), widths(saved), len(e.layers), widths(e.layers))
	}
	for i, l := range saved {
		c := e.layers[i]
		if l.in != c.in || l.out != c.out {
			return fmt.Errorf("saved network has layers %s, configured %s", widths(saved), widths(e.layers))
		}
		if l.act != c.act {
			return fmt.Errorf("layer %d: saved activation %s, configured %s", i, l.act, c.act)
		}
	}
	if slope != e.set.slope && e.set.hiddenAct == nn.LeakyReLU {
		return fmt.Errorf("saved leaky_slope %v, configured %v", slope, e.set.slope)
	}
	return nil
}

// widths formats the layer widths as d-h1-...-d.
func widths(layers []layer) string {
	var b bytes.Buffer
	for i, l := range layers {
		if i == 0 {
			fmt.Fprintf(&b, "%d", l.in)
		}
		fmt.Fprintf(&b, "-%d", l.out)
	}
	return b.String()
}
