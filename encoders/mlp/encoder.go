package mlp

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"

	"github.com/deepclust/deepclust/internal/kernels"
	"github.com/deepclust/deepclust/internal/nn"
	"github.com/deepclust/deepclust/sdk"
)

// PCG stream constants, one per use of Setup.Seed.
const (
	initStream  = 0x6d6c702d696e6974 // "mlp-init"
	noiseStream = 0x6d6c702d6e6f6973 // "mlp-nois"
)

// evalChunk is the number of rows an evaluation Forward processes at a time,
// which bounds its scratch memory whatever the batch size.
const evalChunk = 256

// Encoder is the MLP autoencoder. It is not safe for concurrent use.
type Encoder struct {
	set       settings
	inShape   []int
	dim       int // values per input sample
	layers    []layer
	encLayers int // layers up to and including the embedding layer
	params    []float32
	grads     []float32
	opt       nn.Optimizer
	steps     [2]int // optimiser steps taken by the encoder and decoder halves
	noiseSrc  *rand.PCG
	noise     *rand.Rand
	train     trainCache
	evalBuf   [2][]float32 // ping-pong scratch of evaluation Forward
	prec      kernels.Precision
	epi       kernels.Epilogue // scratch of the fused GEMM calls
}

// trainCache keeps the activations of the last training Forward for
// Backward. Buffers grow to the largest batch seen and are reused.
type trainCache struct {
	rows    int         // rows of the pending batch; 0 when none is pending
	acts    [][]float32 // acts[0] is the (noisy) input, acts[i+1] the output of layer i
	grad    [2][]float32
	zShape  []int
	xShape  []int
	capRows int
}

// New returns an unconfigured MLP autoencoder.
func New() *Encoder { return &Encoder{} }

// Describe returns the plugin's name, kind, version and config fields.
func (e *Encoder) Describe() sdk.Description { return description }

// Configure validates the config and input shape, builds the network and
// initialises its weights from s.Seed.
func (e *Encoder) Configure(ctx context.Context, s sdk.Setup) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	set, err := parseSettings(s.Config)
	if err != nil {
		return err
	}
	if len(s.InputShape) == 0 {
		return fmt.Errorf("encoder \"mlp\": input shape is empty")
	}
	dim := 1
	for _, v := range s.InputShape {
		if v <= 0 {
			return fmt.Errorf("encoder \"mlp\": input shape %v has a non-positive dimension", s.InputShape)
		}
		dim *= v
	}
	layers, nParams, encLayers := buildLayers(dim, set)
	*e = Encoder{
		set:       set,
		inShape:   slices.Clone(s.InputShape),
		dim:       dim,
		layers:    layers,
		encLayers: encLayers,
		params:    make([]float32, nParams),
		grads:     make([]float32, nParams),
		opt:       nn.NewOptimizer(set.opt.Adam, nParams),
		noiseSrc:  rand.NewPCG(s.Seed, noiseStream),
	}
	e.noise = rand.New(e.noiseSrc)
	e.prec = effectivePrecision(set.precision)
	initWeights(layers, e.params, set.init, rand.New(rand.NewPCG(s.Seed, initStream)))
	return nil
}

// EmbeddingDim returns the configured embedding width.
func (e *Encoder) EmbeddingDim(ctx context.Context) (int, error) {
	if e.layers == nil {
		return 0, fmt.Errorf("encoder \"mlp\": EmbeddingDim before Configure")
	}
	return e.set.embedding, ctx.Err()
}

// decoderOffset is where the decoder's parameters start in the flat vector.
func (e *Encoder) decoderOffset() int { return e.layers[e.encLayers].off }

// checkInput returns the number of rows of x, which must be shaped
// [N, InputShape...] or [N, d].
func (e *Encoder) checkInput(x sdk.Tensor) (int, error) {
	if e.layers == nil {
		return 0, fmt.Errorf("encoder \"mlp\": Forward before Configure")
	}
	flat := len(x.Shape) == 2 && x.Shape[1] == e.dim
	if !flat && (len(x.Shape) != len(e.inShape)+1 || !slices.Equal(x.Shape[1:], e.inShape)) {
		return 0, fmt.Errorf("encoder \"mlp\": input shape %v, want [N %v] or [N %d]", x.Shape, e.inShape, e.dim)
	}
	n := x.Shape[0]
	if n < 0 || len(x.Data) != n*e.dim {
		return 0, fmt.Errorf("encoder \"mlp\": input shape %v needs %d values, has %d", x.Shape, max(n, 0)*e.dim, len(x.Data))
	}
	return n, nil
}

// Forward runs the network on x. With train set, the returned tensors are
// owned by the encoder: they stay valid, and must not be modified, until the
// next training Forward. Otherwise they are freshly allocated, and the
// training caches are left untouched.
func (e *Encoder) Forward(ctx context.Context, x sdk.Tensor, train bool) (sdk.Forward, error) {
	if err := ctx.Err(); err != nil {
		return sdk.Forward{}, err
	}
	n, err := e.checkInput(x)
	if err != nil {
		return sdk.Forward{}, err
	}
	if train {
		if n == 0 {
			return sdk.Forward{}, fmt.Errorf("encoder \"mlp\": training batch has no rows")
		}
		return e.forwardTrain(x, n), nil
	}
	return e.forwardEval(x, n), nil
}

// forwardTrain runs the network keeping every activation for Backward.
func (e *Encoder) forwardTrain(x sdk.Tensor, n int) sdk.Forward {
	t := &e.train
	if n > t.capRows {
		t.grow(e.layers, n)
	}
	in := t.acts[0][:n*e.dim]
	copy(in, x.Data)
	if e.set.noise > 0 {
		std := e.set.noise
		for i := range in {
			in[i] += float32(std * e.noise.NormFloat64())
		}
	}
	for i, l := range e.layers {
		forwardLayer(l, e.params, t.acts[i][:n*l.in], t.acts[i+1][:n*l.out], n, e.set.slope, e.prec, &e.epi)
	}
	t.rows = n
	t.zShape = append(t.zShape[:0], n, e.set.embedding)
	t.xShape = append(t.xShape[:0], x.Shape...)
	return sdk.Forward{
		Z:    sdk.Tensor{Shape: t.zShape, Data: t.acts[e.encLayers][:n*e.set.embedding]},
		XHat: sdk.Tensor{Shape: t.xShape, Data: t.acts[len(e.layers)][:n*e.dim]},
	}
}

// grow sizes the training buffers for batches of up to n rows.
func (t *trainCache) grow(layers []layer, n int) {
	t.acts = make([][]float32, len(layers)+1)
	t.acts[0] = make([]float32, n*layers[0].in)
	widest := 0
	for i, l := range layers {
		t.acts[i+1] = make([]float32, n*l.out)
		widest = max(widest, l.in, l.out)
	}
	t.grad[0] = make([]float32, n*widest)
	t.grad[1] = make([]float32, n*widest)
	t.capRows = n
}

// forwardEval runs the network in chunks of evalChunk rows, writing z and x̂
// straight into fresh result tensors.
func (e *Encoder) forwardEval(x sdk.Tensor, n int) sdk.Forward {
	out := sdk.Forward{
		Z:    sdk.NewTensor(n, e.set.embedding),
		XHat: sdk.NewTensor(x.Shape...),
	}
	if e.evalBuf[0] == nil {
		widest := 0
		for _, l := range e.layers {
			widest = max(widest, l.out)
		}
		e.evalBuf[0] = make([]float32, evalChunk*widest)
		e.evalBuf[1] = make([]float32, evalChunk*widest)
	}
	last := len(e.layers) - 1
	for r := 0; r < n; r += evalChunk {
		rows := min(evalChunk, n-r)
		in := x.Data[r*e.dim : (r+rows)*e.dim]
		for i, l := range e.layers {
			var y []float32
			switch i {
			case e.encLayers - 1:
				y = out.Z.Data[r*l.out : (r+rows)*l.out]
			case last:
				y = out.XHat.Data[r*l.out : (r+rows)*l.out]
			default:
				y = e.evalBuf[i%2][:rows*l.out]
			}
			forwardLayer(l, e.params, in, y, rows, e.set.slope, e.prec, &e.epi)
			in = y
		}
	}
	return out
}

// Backward backpropagates req.GradZ (added at the embedding layer) and
// req.GradXHat through the network of the last training Forward and takes
// one optimiser step. The gradients are applied as given (losses already
// average over the batch). Without GradXHat the decoder gets no gradient
// and is left unchanged; with neither gradient nothing happens. Each
// training Forward supports one Backward.
func (e *Encoder) Backward(ctx context.Context, req sdk.BackwardRequest) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if e.layers == nil {
		return fmt.Errorf("encoder \"mlp\": Backward before Configure")
	}
	t := &e.train
	n := t.rows
	if n == 0 {
		return fmt.Errorf("encoder \"mlp\": Backward without a pending training Forward")
	}
	hasZ, hasX, lr, err := nn.CheckBackward("mlp", req, n, e.set.embedding, t.xShape, e.dim, e.set.opt.LR)
	if err != nil {
		return err
	}
	t.rows = 0
	if !hasZ && !hasX {
		return nil
	}
	e.backprop(n, req.GradZ.Data, req.GradXHat.Data)
	dec := e.decoderOffset()
	e.step(0, 0, dec, lr)
	if hasX {
		e.step(1, dec, len(e.params), lr)
	}
	return nil
}

// backprop fills e.grads from ∂L/∂z (gz, may be nil) and ∂L/∂x̂ (gx, may be
// nil; then the decoder is skipped) using the cached activations. Only
// the top layer's activation derivative is a separate pass (none for a
// linear top layer); below it, each layer's pre-activation gradient comes
// out of the GEMM that computes ∂L/∂x of the layer above.
func (e *Encoder) backprop(n int, gz, gx []float32) {
	t := &e.train
	top := e.encLayers - 1
	pre := gz // ∂L/∂(pre-activation of layer i)
	if gx != nil {
		top = len(e.layers) - 1
		pre = gx
	}
	buf := 0 // the ping-pong buffer pre is not in
	if lt := e.layers[top]; lt.act != nn.Linear {
		outputGrad(t.grad[0][:n*lt.out], pre, t.acts[top+1][:n*lt.out], lt.act, e.set.slope)
		pre, buf = t.grad[0][:n*lt.out], 1
	}
	for i := top; i >= 0; i-- {
		l := e.layers[i]
		if i == 0 {
			backwardLayer(l, e.params, e.grads, pre, t.acts[0][:n*l.in], nil, n, false, nn.Linear, e.set.slope, e.prec, &e.epi)
			break
		}
		dx := t.grad[buf][:n*l.in]
		accumulate := i == e.encLayers && gz != nil
		if accumulate {
			copy(dx, gz)
		}
		backwardLayer(l, e.params, e.grads, pre, t.acts[i][:n*l.in], dx, n, accumulate, e.layers[i-1].act, e.set.slope, e.prec, &e.epi)
		pre, buf = dx, 1-buf
	}
}

// step applies one optimiser step to params[lo:hi], the encoder (half 0)
// or decoder (half 1).
func (e *Encoder) step(half, lo, hi int, lr float64) {
	e.steps[half]++
	e.opt.Update(e.params, e.grads, lo, hi, e.set.opt.Step(lr, e.steps[half]))
}
