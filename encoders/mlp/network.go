package mlp

import (
	"math"
	"math/rand/v2"

	"github.com/deepclust/deepclust/internal/kernels"
	"github.com/deepclust/deepclust/internal/nn"
)

// layer is one dense layer y = act(x·Wᵀ + b). W (out×in, row-major) starts
// at offset off of the flat parameter vector and b (out) follows it.
type layer struct {
	in, out int
	act     nn.Activation
	off     int
}

// weights returns the layer's W and b inside the flat vector p (parameters,
// gradients or optimiser slots share one layout).
func (l layer) weights(p []float32) (w, b []float32) {
	return p[l.off : l.off+l.in*l.out], p[l.off+l.in*l.out : l.off+l.in*l.out+l.out]
}

// buildLayers lays out d → hidden... → embedding → reversed hidden → d and
// returns the layers, the parameter count and the number of encoder layers
// (the embedding is the output of layer encLayers-1).
func buildLayers(d int, s settings) (layers []layer, params, encLayers int) {
	widths := []int{d}
	widths = append(widths, s.hidden...)
	widths = append(widths, s.embedding)
	for i := len(s.hidden) - 1; i >= 0; i-- {
		widths = append(widths, s.hidden[i])
	}
	widths = append(widths, d)
	encLayers = len(s.hidden) + 1
	for i := 0; i+1 < len(widths); i++ {
		act := s.hiddenAct
		switch {
		case i == encLayers-1:
			act = nn.Linear
		case i == len(widths)-2:
			act = s.outputAct
		}
		layers = append(layers, layer{in: widths[i], out: widths[i+1], act: act, off: params})
		params += widths[i]*widths[i+1] + widths[i+1]
	}
	return layers, params, encLayers
}

// initWeights fills every W from U(-a, a) (Glorot: a = sqrt(6/(in+out));
// He: a = sqrt(6/in)) in layer order and sets biases to zero.
func initWeights(layers []layer, p []float32, scheme string, rng *rand.Rand) {
	for _, l := range layers {
		w, b := l.weights(p)
		limit := math.Sqrt(6 / float64(l.in+l.out))
		if scheme == "he" {
			limit = math.Sqrt(6 / float64(l.in))
		}
		for i := range w {
			w[i] = float32((2*rng.Float64() - 1) * limit)
		}
		clear(b)
	}
}

// forwardLayer computes y = act(x·Wᵀ + b) for rows samples.
func forwardLayer(l layer, params, x, y []float32, rows int, slope float32) {
	w, b := l.weights(params)
	kernels.Gemm(false, true, rows, l.out, l.in, 1, x, l.in, w, l.in, 0, y, l.out)
	biasActivate(y[:rows*l.out], b, l.act, slope)
}

// biasActivate adds b to every row of y and applies act, in one pass.
func biasActivate(y, b []float32, act nn.Activation, slope float32) {
	cols := len(b)
	for r := 0; r+cols <= len(y); r += cols {
		row := y[r : r+cols]
		row = row[:len(b)]
		switch act {
		case nn.Linear:
			for j, bj := range b {
				row[j] += bj
			}
		case nn.ReLU:
			for j, bj := range b {
				v := row[j] + bj
				if v < 0 {
					v = 0
				}
				row[j] = v
			}
		case nn.LeakyReLU:
			for j, bj := range b {
				v := row[j] + bj
				if v < 0 {
					v *= slope
				}
				row[j] = v
			}
		case nn.Sigmoid:
			for j, bj := range b {
				row[j] = nn.SigmoidOf(row[j] + bj)
			}
		}
	}
}

// preActivationGrad turns g = ∂L/∂y into ∂L/∂(x·Wᵀ+b) using the layer
// outputs y, and writes its column sums (∂L/∂b) into gb. The result goes to
// dst (which may alias g) and is returned; for a linear layer g itself is
// returned unchanged and dst is not touched.
func preActivationGrad(dst, g, y, gb []float32, act nn.Activation, slope float32) []float32 {
	cols := len(gb)
	clear(gb)
	if act == nn.Linear {
		for r := 0; r+cols <= len(g); r += cols {
			row := g[r : r+cols]
			row = row[:len(gb)]
			for j, v := range row {
				gb[j] += v
			}
		}
		return g
	}
	dst = dst[:len(g)]
	for r := 0; r+cols <= len(g); r += cols {
		gr, yr, dr := g[r:r+cols], y[r:r+cols], dst[r:r+cols]
		gr, yr, dr = gr[:len(gb)], yr[:len(gb)], dr[:len(gb)]
		switch act {
		case nn.ReLU:
			for j, v := range gr {
				if yr[j] <= 0 {
					v = 0
				}
				dr[j] = v
				gb[j] += v
			}
		case nn.LeakyReLU:
			for j, v := range gr {
				if yr[j] <= 0 {
					v *= slope
				}
				dr[j] = v
				gb[j] += v
			}
		case nn.Sigmoid:
			for j, v := range gr {
				s := yr[j]
				v *= s * (1 - s)
				dr[j] = v
				gb[j] += v
			}
		}
	}
	return dst
}

// backwardLayer writes ∂L/∂W = gᵀ·x into grads for a layer whose
// pre-activation gradient is g (rows × out) and input x (rows × in); with dx
// non-nil it also computes ∂L/∂x = g·W into dx, added to dx's contents when
// accumulate is set.
func backwardLayer(l layer, params, grads, g, x, dx []float32, rows int, accumulate bool) {
	w, _ := l.weights(params)
	gw, _ := l.weights(grads)
	kernels.Gemm(true, false, l.out, l.in, rows, 1, g, l.out, x, l.in, 0, gw, l.in)
	if dx == nil {
		return
	}
	var beta float32
	if accumulate {
		beta = 1
	}
	kernels.Gemm(false, false, rows, l.in, l.out, 1, g, l.out, w, l.in, beta, dx, l.in)
}
