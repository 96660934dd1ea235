package mlp

import (
	"bytes"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/deepclust/deepclust/internal/kernels"
	"github.com/deepclust/deepclust/internal/nn"
	"github.com/deepclust/deepclust/sdk"
)

// The unfused reference: the encoder's training step as it was before the
// bias, activation and their derivatives moved into the GEMMs' output
// passes (separate sweeps after plain kernels.Gemm calls).

// refBiasActivate adds b to every row of y and applies act.
func refBiasActivate(y, b []float32, act nn.Activation, slope float32) {
	cols := len(b)
	for r := 0; r+cols <= len(y); r += cols {
		row := y[r : r+cols]
		for j, bj := range b {
			v := row[j] + bj
			switch act {
			case nn.ReLU:
				if v < 0 {
					v = 0
				}
			case nn.LeakyReLU:
				if v < 0 {
					v *= slope
				}
			case nn.Sigmoid:
				v = nn.SigmoidOf(v)
			}
			row[j] = v
		}
	}
}

// refPreActivationGrad returns g·act'(y) in a new slice and writes its
// column sums into gb.
func refPreActivationGrad(g, y, gb []float32, act nn.Activation, slope float32) []float32 {
	cols := len(gb)
	clear(gb)
	out := make([]float32, len(g))
	for r := 0; r+cols <= len(g); r += cols {
		for j := range cols {
			v, s := g[r+j], y[r+j]
			switch act {
			case nn.ReLU:
				if s <= 0 {
					v = 0
				}
			case nn.LeakyReLU:
				if s <= 0 {
					v *= slope
				}
			case nn.Sigmoid:
				v *= s * (1 - s)
			}
			out[r+j] = v
			gb[j] += v
		}
	}
	return out
}

// refTrainStep runs one unfused training step on e: forward, the MSE
// gradient of the reconstruction plus gz at the embedding, backward, and
// the optimiser steps of Backward. It returns the forward's z.
func refTrainStep(e *Encoder, x []float32, n int, gz []float32) []float32 {
	slope := e.set.slope
	acts := [][]float32{append([]float32(nil), x...)}
	for _, l := range e.layers {
		w, b := l.weights(e.params)
		y := make([]float32, n*l.out)
		kernels.Gemm(false, true, n, l.out, l.in, 1, acts[len(acts)-1], l.in, w, l.in, 0, y, l.out)
		refBiasActivate(y, b, l.act, slope)
		acts = append(acts, y)
	}
	g := make([]float32, n*e.dim)
	mseGrad(x, acts[len(e.layers)], g)
	for i := len(e.layers) - 1; i >= 0; i-- {
		l := e.layers[i]
		w, _ := l.weights(e.params)
		gw, gb := l.weights(e.grads)
		pre := refPreActivationGrad(g, acts[i+1], gb, l.act, slope)
		kernels.Gemm(true, false, l.out, l.in, n, 1, pre, l.out, acts[i], l.in, 0, gw, l.in)
		if i == 0 {
			break
		}
		dx := make([]float32, n*l.in)
		var beta float32
		if i == e.encLayers {
			copy(dx, gz)
			beta = 1
		}
		kernels.Gemm(false, false, n, l.in, l.out, 1, pre, l.out, w, l.in, beta, dx, l.in)
		g = dx
	}
	dec := e.decoderOffset()
	e.step(0, 0, dec, e.set.opt.LR)
	e.step(1, dec, len(e.params), e.set.opt.LR)
	return acts[e.encLayers]
}

// TestFusedMatchesUnfused requires float32 training with the fused
// epilogues to give the unfused step's weights, z and optimiser state bit
// for bit, over several Adam steps with both ∂L/∂z and ∂L/∂x̂, for each
// hidden and output activation.
func TestFusedMatchesUnfused(t *testing.T) {
	for _, cfg := range []sdk.Config{
		{"hidden": []int{40, 33}, "embedding": 5},
		{"hidden": []int{40, 33}, "embedding": 5, "activation": "leaky_relu", "output": "sigmoid"},
	} {
		rng := rand.New(rand.NewPCG(3, 4))
		x := randTensor(rng, 0, 1, 37, 50)
		gz := randTensor(rng, -0.1, 0.1, 37, 5)
		fused := newTestEncoder(t, cfg, []int{50}, 7)
		ref := newTestEncoder(t, cfg, []int{50}, 7)
		grad := sdk.NewTensor(37, 50)
		for step := range 4 {
			f, err := fused.Forward(ctx, x, true)
			if err != nil {
				t.Fatal(err)
			}
			mseGrad(x.Data, f.XHat.Data, grad.Data)
			z := append([]float32(nil), f.Z.Data...)
			if err := fused.Backward(ctx, sdk.BackwardRequest{GradZ: gz, GradXHat: grad}); err != nil {
				t.Fatal(err)
			}
			zRef := refTrainStep(ref, x.Data, 37, gz.Data)
			for i := range z {
				if math.Float32bits(z[i]) != math.Float32bits(zRef[i]) {
					t.Fatalf("%v step %d: z[%d] = %g, unfused %g", cfg, step, i, z[i], zRef[i])
				}
			}
			for i := range fused.params {
				if math.Float32bits(fused.params[i]) != math.Float32bits(ref.params[i]) {
					t.Fatalf("%v step %d: parameter %d = %g, unfused %g", cfg, step, i, fused.params[i], ref.params[i])
				}
			}
		}
	}
}

// TestBF16Training trains the same network in bf16 and float32: the bf16
// weights must stay close (products of bf16-rounded operands, relative
// error about 2⁻⁸ per product, float32 accumulation) and the loss must
// fall as fast within 5%. Where the processor has no bf16 hardware the
// encoder must fall back to float32 and say so once.
func TestBF16Training(t *testing.T) {
	cfg := func(p string) sdk.Config {
		return sdk.Config{"hidden": []int{64, 48}, "embedding": 6, "precision": p}
	}
	x := randTensor(rand.New(rand.NewPCG(5, 6)), 0, 1, 64, 40)
	var log bytes.Buffer
	saved := fallbackLog
	fallbackLog = &log
	defer func() { fallbackLog = saved }()
	bf := newTestEncoder(t, cfg("bf16"), []int{40}, 3)
	if !kernels.HasBF16() {
		if bf.prec != kernels.Float32 || strings.Count(log.String(), "\n") != 1 || !strings.Contains(log.String(), "float32") {
			t.Fatalf("without bf16 hardware: precision %v, log %q; want float32 and one line", bf.prec, log.String())
		}
		newTestEncoder(t, cfg("bf16"), []int{40}, 3)
		if strings.Count(log.String(), "\n") != 1 {
			t.Fatalf("the fallback was logged again: %q", log.String())
		}
		return
	}
	if bf.prec != kernels.BF16 || log.Len() != 0 {
		t.Fatalf("precision %v, log %q; want bf16 and no log", bf.prec, log.String())
	}
	f32 := newTestEncoder(t, cfg("float32"), []int{40}, 3)
	lossBF := trainSteps(t, bf, x, 30)
	lossF32 := trainSteps(t, f32, x, 30)
	if math.Abs(lossBF-lossF32) > 0.05*lossF32 {
		t.Errorf("loss after 30 steps: bf16 %g, float32 %g", lossBF, lossF32)
	}
	var d2, n2 float64
	for i := range bf.params {
		d := float64(bf.params[i] - f32.params[i])
		d2 += d * d
		n2 += float64(f32.params[i]) * float64(f32.params[i])
	}
	rel := math.Sqrt(d2 / n2)
	t.Logf("after 30 steps: loss bf16 %g float32 %g, weights relative L2 difference %.3g", lossBF, lossF32, rel)
	if rel > 0.02 {
		t.Errorf("bf16 weights differ from float32 by %.3g (relative L2), want ≤ 0.02", rel)
	}
}
