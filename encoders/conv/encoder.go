package conv

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
	initStream  = 0x636f6e762d696e69 // "conv-ini"
	noiseStream = 0x636f6e762d6e6f69 // "conv-noi"
)

// evalChunk is the number of rows an evaluation Forward processes at a time,
// which bounds its scratch memory whatever the batch size.
const evalChunk = 256

// Encoder is the convolutional autoencoder. It is not safe for concurrent
// use.
type Encoder struct {
	set      settings
	inShape  []int // the configured input shape
	chw      [3]int
	dim      int // values per input sample
	arch     *architecture
	params   []float32
	grads    []float32
	opt      nn.Optimizer
	steps    [2]int // optimiser steps taken by the encoder and decoder halves
	noiseSrc *rand.PCG
	noise    *rand.Rand
	ws       kernels.ConvWorkspace
	train    buffers
	eval     buffers
	pending  int // rows of the training batch awaiting Backward; 0 when none
	zShape   []int
	xShape   []int
}

// buffers holds the activations of a forward pass (acts[0] is the input,
// acts[i+1] the output of layer i) and the backward scratch, sized for up
// to rows samples and reused.
type buffers struct {
	rows int
	acts [][]float32
	pre  []float32
	grad [2][]float32
}

// New returns an unconfigured convolutional autoencoder.
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
	chw, err := sampleShape(s.InputShape, set.inputShape)
	if err != nil {
		return err
	}
	arch, err := buildArchitecture(chw[0], chw[1], chw[2], set)
	if err != nil {
		return err
	}
	*e = Encoder{
		set:      set,
		inShape:  slices.Clone(s.InputShape),
		chw:      chw,
		dim:      chw[0] * chw[1] * chw[2],
		arch:     arch,
		params:   make([]float32, arch.params),
		grads:    make([]float32, arch.params),
		opt:      nn.NewOptimizer(set.opt.Adam, arch.params),
		noiseSrc: rand.NewPCG(s.Seed, noiseStream),
	}
	e.noise = rand.New(e.noiseSrc)
	initWeights(arch, e.params, set.init, rand.New(rand.NewPCG(s.Seed, initStream)))
	return nil
}

// sampleShape returns C, H, W from the input shape ([C H W], [H W] for one
// channel, or flat [C·H·W] with the input_shape config key).
func sampleShape(in, cfg []int) ([3]int, error) {
	var chw [3]int
	for _, v := range in {
		if v <= 0 {
			return chw, fmt.Errorf("encoder \"conv\": input shape %v has a non-positive dimension", in)
		}
	}
	for _, v := range cfg {
		if v <= 0 {
			return chw, fmt.Errorf("encoder \"conv\": config key \"input_shape\" %v has a non-positive dimension", cfg)
		}
	}
	switch len(in) {
	case 3:
		chw = [3]int{in[0], in[1], in[2]}
	case 2:
		chw = [3]int{1, in[0], in[1]}
	case 1:
		if len(cfg) != 3 {
			return chw, fmt.Errorf("encoder \"conv\": input shape %v is flat; set config key \"input_shape\" to C, H, W", in)
		}
		chw = [3]int{cfg[0], cfg[1], cfg[2]}
		if chw[0]*chw[1]*chw[2] != in[0] {
			return chw, fmt.Errorf("encoder \"conv\": config key \"input_shape\" %v has %d values, input shape %v has %d", cfg, chw[0]*chw[1]*chw[2], in, in[0])
		}
		return chw, nil
	default:
		return chw, fmt.Errorf("encoder \"conv\": input shape %v, want [C H W], [H W] or [C·H·W] with input_shape", in)
	}
	if len(cfg) == 3 && [3]int{cfg[0], cfg[1], cfg[2]} != chw {
		return chw, fmt.Errorf("encoder \"conv\": config key \"input_shape\" %v disagrees with input shape %v", cfg, in)
	}
	return chw, nil
}

// EmbeddingDim returns the configured embedding width.
func (e *Encoder) EmbeddingDim(ctx context.Context) (int, error) {
	if e.arch == nil {
		return 0, fmt.Errorf("encoder \"conv\": EmbeddingDim before Configure")
	}
	return e.set.embedding, ctx.Err()
}

// decoderOffset is where the decoder's parameters start in the flat vector.
func (e *Encoder) decoderOffset() int { return e.arch.layers[e.arch.encLayers].off }

// checkInput returns the number of rows of x, which must be shaped
// [N, InputShape...], [N, C, H, W] or [N, C·H·W].
func (e *Encoder) checkInput(x sdk.Tensor) (int, error) {
	if e.arch == nil {
		return 0, fmt.Errorf("encoder \"conv\": Forward before Configure")
	}
	rest := []int(nil)
	if len(x.Shape) > 0 {
		rest = x.Shape[1:]
	}
	ok := slices.Equal(rest, e.inShape) || slices.Equal(rest, e.chw[:]) || slices.Equal(rest, []int{e.dim})
	if !ok {
		return 0, fmt.Errorf("encoder \"conv\": input shape %v, want [N %d %d %d] or [N %d]", x.Shape, e.chw[0], e.chw[1], e.chw[2], e.dim)
	}
	n := x.Shape[0]
	if n < 0 || len(x.Data) != n*e.dim {
		return 0, fmt.Errorf("encoder \"conv\": input shape %v needs %d values, has %d", x.Shape, max(n, 0)*e.dim, len(x.Data))
	}
	return n, nil
}

// grow sizes b for batches of up to n rows.
func (b *buffers) grow(a *architecture, n int, backward bool) {
	if n <= b.rows {
		return
	}
	layers := a.layers
	b.acts = make([][]float32, len(layers)+1)
	b.acts[0] = make([]float32, n*layers[0].in)
	widest := 0
	for i := range layers {
		b.acts[i+1] = make([]float32, n*layers[i].out)
		widest = max(widest, layers[i].in, layers[i].out)
	}
	if backward {
		b.pre = make([]float32, n*widest)
		b.grad = [2][]float32{make([]float32, n*widest), make([]float32, n*widest)}
	}
	b.rows = n
}

// run computes every layer on the n samples in b.acts[0].
func (e *Encoder) run(b *buffers, n int) {
	for i := range e.arch.layers {
		l := &e.arch.layers[i]
		l.forward(e.params, b.acts[i][:n*l.in], b.acts[i+1][:n*l.out], n, e.set.slope, &e.ws)
	}
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
	if !train {
		return e.forwardEval(x, n), nil
	}
	if n == 0 {
		return sdk.Forward{}, fmt.Errorf("encoder \"conv\": training batch has no rows")
	}
	b := &e.train
	b.grow(e.arch, n, true)
	in := b.acts[0][:n*e.dim]
	copy(in, x.Data)
	if std := e.set.noise; std > 0 {
		for i := range in {
			in[i] += float32(std * e.noise.NormFloat64())
		}
	}
	e.run(b, n)
	e.pending = n
	e.zShape = append(e.zShape[:0], n, e.set.embedding)
	e.xShape = append(e.xShape[:0], x.Shape...)
	return sdk.Forward{
		Z:    sdk.Tensor{Shape: e.zShape, Data: b.acts[e.arch.encLayers][:n*e.set.embedding]},
		XHat: sdk.Tensor{Shape: e.xShape, Data: b.acts[len(e.arch.layers)][:n*e.dim]},
	}, nil
}

// forwardEval runs the network in chunks of evalChunk rows into fresh
// result tensors.
func (e *Encoder) forwardEval(x sdk.Tensor, n int) sdk.Forward {
	out := sdk.Forward{Z: sdk.NewTensor(n, e.set.embedding), XHat: sdk.NewTensor(x.Shape...)}
	b := &e.eval
	b.grow(e.arch, min(n, evalChunk), false)
	emb, last := e.set.embedding, len(e.arch.layers)
	for r := 0; r < n; r += evalChunk {
		rows := min(evalChunk, n-r)
		copy(b.acts[0], x.Data[r*e.dim:(r+rows)*e.dim])
		e.run(b, rows)
		copy(out.Z.Data[r*emb:], b.acts[e.arch.encLayers][:rows*emb])
		copy(out.XHat.Data[r*e.dim:], b.acts[last][:rows*e.dim])
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
	if e.arch == nil {
		return fmt.Errorf("encoder \"conv\": Backward before Configure")
	}
	n := e.pending
	if n == 0 {
		return fmt.Errorf("encoder \"conv\": Backward without a pending training Forward")
	}
	hasZ, hasX, lr, err := nn.CheckBackward("conv", req, n, e.set.embedding, e.xShape, e.dim, e.set.opt.LR)
	if err != nil {
		return err
	}
	e.pending = 0
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
// nil; then the decoder is skipped) using the cached activations.
func (e *Encoder) backprop(n int, gz, gx []float32) {
	b := &e.train
	enc := e.arch.encLayers
	buf := 0
	g := gz
	top := enc - 1
	if gx != nil {
		top = len(e.arch.layers) - 1
		g = gx
	}
	for i := top; i >= 0; i-- {
		l := &e.arch.layers[i]
		var dx []float32
		if i > 0 {
			buf = 1 - buf
			dx = b.grad[buf][:n*l.in]
		}
		accumulate := i == enc && gz != nil
		if accumulate {
			copy(dx, gz)
		}
		l.backward(e.params, e.grads, b.acts[i][:n*l.in], b.acts[i+1][:n*l.out], g, b.pre, dx, n, accumulate, e.set.slope, &e.ws)
		g = dx
	}
}

// step applies one optimiser step to params[lo:hi], the encoder (half 0)
// or decoder (half 1).
func (e *Encoder) step(half, lo, hi int, lr float64) {
	e.steps[half]++
	e.opt.Update(e.params, e.grads, lo, hi, e.set.opt.Step(lr, e.steps[half]))
}
