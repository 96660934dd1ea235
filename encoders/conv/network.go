package conv

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"

	"github.com/deepclust/deepclust/internal/kernels"
	"github.com/deepclust/deepclust/internal/nn"
)

// layerKind is the operation of a layer.
type layerKind uint8

const (
	kindConv layerKind = iota
	kindDense
	kindDeconv
)

// layer is one layer y = act(op(x) + b). Convolutions store their weights
// OutC×InC×KH×KW (the geometry's output side is a convolution's output and
// a transposed convolution's input); a dense layer stores W out×in. W
// starts at offset off of the flat parameter vector and b follows it.
type layer struct {
	kind    layerKind
	geom    kernels.Conv2D
	in, out int // values per sample
	act     nn.Activation
	off     int
	nw, nb  int
	name    string
}

// weights returns the layer's W and b inside the flat vector p (parameters,
// gradients or optimiser slots share one layout).
func (l *layer) weights(p []float32) (w, b []float32) {
	return p[l.off : l.off+l.nw], p[l.off+l.nw : l.off+l.nw+l.nb]
}

// fans returns the fan-in and fan-out of the layer's weights: kernel taps ×
// input and output channels for convolutions, widths for dense layers.
func (l *layer) fans() (in, out int) {
	g := l.geom
	switch l.kind {
	case kindConv:
		return g.KH * g.KW * g.InC, g.KH * g.KW * g.OutC
	case kindDeconv:
		return g.KH * g.KW * g.OutC, g.KH * g.KW * g.InC
	}
	return l.in, l.out
}

// architecture is the layer stack of an encoder.
type architecture struct {
	layers    []layer
	encLayers int // layers up to and including the embedding layer
	params    int
}

// String lists the layers, e.g. "conv 1×28×28→32×14×14 k5×5 s2,2 p1,1 relu | …".
func (a *architecture) String() string {
	names := make([]string, len(a.layers))
	for i := range a.layers {
		names[i] = a.layers[i].name
	}
	return strings.Join(names, " | ")
}

// buildArchitecture lays out the convolutions, the dense embedding, the
// decoder's dense layer and the transposed convolutions for samples of
// shape c×h×w. A convolution whose kernel does not fit its input is an
// error naming the layer.
func buildArchitecture(c, h, w int, s settings) (*architecture, error) {
	a := &architecture{}
	add := func(l layer) {
		l.off = a.params
		switch l.kind {
		case kindDense:
			l.nw, l.nb = l.in*l.out, l.out
		case kindConv:
			l.nw, l.nb = l.geom.WeightSize(), l.geom.OutC
		case kindDeconv:
			l.nw, l.nb = l.geom.WeightSize(), l.geom.InC
		}
		switch l.kind {
		case kindConv:
			l.name = fmt.Sprintf("conv %v %s", l.geom, l.act)
		case kindDeconv:
			l.name = fmt.Sprintf("deconv %v %s", l.geom, l.act)
		default:
			l.name = fmt.Sprintf("dense %d→%d %s", l.in, l.out, l.act)
		}
		a.params += l.nw + l.nb
		a.layers = append(a.layers, l)
	}
	geoms := make([]kernels.Conv2D, len(s.filters))
	for i, f := range s.filters {
		k, st := s.kernels[i], s.strides[i]
		g := kernels.Conv2D{InC: c, InH: h, InW: w, OutC: f, KH: k, KW: k, StrideH: st, StrideW: st}
		pad := "valid"
		if s.same[i] {
			pad = "same"
			g.OutH, g.PadH = kernels.SamePadding(h, k, st)
			g.OutW, g.PadW = kernels.SamePadding(w, k, st)
		} else {
			g.OutH, g.OutW = kernels.ValidOutput(h, k, st), kernels.ValidOutput(w, k, st)
		}
		if g.OutH == 0 || g.OutW == 0 {
			return nil, fmt.Errorf("encoder \"conv\": layer %d (conv %d %d×%d stride %d %s): input %d×%d×%d is smaller than the kernel", i+1, f, k, k, st, pad, c, h, w)
		}
		if err := g.Validate(); err != nil {
			return nil, fmt.Errorf("encoder \"conv\": layer %d (conv %d %d×%d stride %d %s): %w", i+1, f, k, k, st, pad, err)
		}
		geoms[i] = g
		add(layer{kind: kindConv, geom: g, in: g.InSize(), out: g.OutSize(), act: s.hiddenAct})
		c, h, w = f, g.OutH, g.OutW
	}
	flat := c * h * w
	add(layer{kind: kindDense, in: flat, out: s.embedding, act: nn.Linear})
	a.encLayers = len(a.layers)
	add(layer{kind: kindDense, in: s.embedding, out: flat, act: s.hiddenAct})
	for i := len(geoms) - 1; i >= 0; i-- {
		g := geoms[i]
		g.OutC = c // the decoder's channels at this depth
		act := s.hiddenAct
		if i == 0 {
			act = s.outputAct
		} else if len(s.decoderFilters) > 0 {
			g.InC = s.decoderFilters[len(geoms)-1-i]
		}
		add(layer{kind: kindDeconv, geom: g, in: g.OutSize(), out: g.InSize(), act: act})
		c = g.InC
	}
	return a, nil
}

// initWeights fills every W from U(−a, a) (glorot: a = √(6/(fan_in+fan_out));
// he: a = √(6/fan_in)) in layer order and sets biases to zero.
func initWeights(a *architecture, p []float32, scheme string, rng *rand.Rand) {
	for i := range a.layers {
		l := &a.layers[i]
		w, b := l.weights(p)
		fin, fout := l.fans()
		limit := math.Sqrt(6 / float64(fin+fout))
		if scheme == "he" {
			limit = math.Sqrt(6 / float64(fin))
		}
		for j := range w {
			w[j] = float32((2*rng.Float64() - 1) * limit)
		}
		clear(b)
	}
}

// forward computes y = act(op(x) + b) for n samples.
func (l *layer) forward(params, x, y []float32, n int, slope float32, ws *kernels.ConvWorkspace) {
	w, b := l.weights(params)
	switch l.kind {
	case kindConv:
		kernels.Conv2DForward(l.geom, n, x, w, b, y, ws)
	case kindDeconv:
		kernels.ConvTranspose2DForward(l.geom, n, x, w, b, y, ws)
	case kindDense:
		kernels.Gemm(false, true, n, l.out, l.in, 1, x, l.in, w, l.in, 0, y, l.out)
		for r := range n {
			row := y[r*l.out : (r+1)*l.out]
			for j, bj := range b {
				row[j] += bj
			}
		}
	}
	l.act.Apply(y[:n*l.out], slope)
}

// backward takes g = ∂L/∂y for the layer's output y and input x, writes
// ∂L/∂W and ∂L/∂b into grads and, when dx is not nil, ∂L/∂x into dx (added
// to its contents when accumulate is set; dense layers only). pre is
// scratch for the pre-activation gradient.
func (l *layer) backward(params, grads, x, y, g, pre, dx []float32, n int, accumulate bool, slope float32, ws *kernels.ConvWorkspace) {
	pre = pre[:n*l.out]
	l.act.Backprop(pre, g[:n*l.out], y, slope)
	w, _ := l.weights(params)
	gw, gb := l.weights(grads)
	switch l.kind {
	case kindConv:
		kernels.Conv2DBackward(l.geom, n, x, w, pre, dx, gw, gb, ws)
	case kindDeconv:
		kernels.ConvTranspose2DBackward(l.geom, n, x, w, pre, dx, gw, gb, ws)
	case kindDense:
		kernels.Gemm(true, false, l.out, l.in, n, 1, pre, l.out, x, l.in, 0, gw, l.in)
		clear(gb)
		for r := range n {
			for j, v := range pre[r*l.out : (r+1)*l.out] {
				gb[j] += v
			}
		}
		if dx != nil {
			var beta float32
			if accumulate {
				beta = 1
			}
			kernels.Gemm(false, false, n, l.in, l.out, 1, pre, l.out, w, l.in, beta, dx, l.in)
		}
	}
}
