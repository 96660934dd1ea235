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

// kernelAct maps an activation to the kernels' epilogue activation.
func kernelAct(a nn.Activation) kernels.Act {
	switch a {
	case nn.ReLU:
		return kernels.ActReLU
	case nn.LeakyReLU:
		return kernels.ActLeakyReLU
	case nn.Sigmoid:
		return kernels.ActSigmoid
	}
	return kernels.ActLinear
}

// forwardLayer computes y = act(x·Wᵀ + b) for rows samples, the bias and
// activation fused into the GEMM's output pass. ep is scratch for the
// epilogue (kept by the caller so that nothing is allocated).
func forwardLayer(l layer, params, x, y []float32, rows int, slope float32, prec kernels.Precision, ep *kernels.Epilogue) {
	w, b := l.weights(params)
	*ep = kernels.Epilogue{Bias: b, Act: kernelAct(l.act), Slope: slope}
	kernels.GemmFused(prec, false, true, rows, l.out, l.in, 1, x, l.in, w, l.in, 0, y, l.out, ep)
}

// outputGrad writes g·act'(y) into dst for the top layer's gradient g
// (the layers below get theirs fused into the GEMM that produces them),
// with the derivative in terms of the outputs y as in kernels.Epilogue.
func outputGrad(dst, g, y []float32, act nn.Activation, slope float32) {
	dst, y = dst[:len(g)], y[:len(g)]
	for j, v := range g {
		switch act {
		case nn.ReLU:
			if y[j] <= 0 {
				v = 0
			}
		case nn.LeakyReLU:
			if y[j] <= 0 {
				v *= slope
			}
		case nn.Sigmoid:
			s := y[j]
			v *= s * (1 - s)
		}
		dst[j] = v
	}
}

// backwardLayer writes ∂L/∂W = gᵀ·x and ∂L/∂b = Σ_rows g (summed while gᵀ
// is packed) into grads, for a layer whose pre-activation gradient is g
// (rows × out) and input x (rows × in). With dx non-nil it also computes
// ∂L/∂x = g·W into dx (added to dx's contents when accumulate is set) and
// multiplies it, in the same output pass, by the derivative of below, the
// activation that produced x: dx is then the pre-activation gradient of
// the layer below.
func backwardLayer(l layer, params, grads, g, x, dx []float32, rows int, accumulate bool, below nn.Activation, slope float32, prec kernels.Precision, ep *kernels.Epilogue) {
	w, _ := l.weights(params)
	gw, gb := l.weights(grads)
	*ep = kernels.Epilogue{RowSumsA: gb}
	kernels.GemmFused(prec, true, false, l.out, l.in, rows, 1, g, l.out, x, l.in, 0, gw, l.in, ep)
	if dx == nil {
		return
	}
	var beta float32
	if accumulate {
		beta = 1
	}
	*ep = kernels.Epilogue{Y: x, LDY: l.in, Act: kernelAct(below), Slope: slope}
	kernels.GemmFused(prec, false, false, rows, l.in, l.out, 1, g, l.out, w, l.in, beta, dx, l.in, ep)
}
