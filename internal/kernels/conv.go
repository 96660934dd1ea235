package kernels

import "fmt"

// Conv2D is the geometry of a 2-D convolution of NCHW tensors: an input of
// InC channels of InH×InW maps to an output of OutC channels of OutH×OutW
// with a kernel of KH×KW, strides StrideH, StrideW and PadH zero rows above
// and PadW zero columns left of the input. Output pixel (oh, ow) reads input
// pixels (oh·StrideH − PadH + i, ow·StrideW − PadW + j), i < KH, j < KW;
// pixels outside the input read as zero, so the padding below and right of
// the input is implied by the output size (it may differ from PadH, PadW as
// with TensorFlow's "same" padding, or be negative by less than a stride when
// trailing input rows are never read, as with PyTorch's output_padding).
//
// Weights are stored OutC×InC×KH×KW for the convolution and its transpose
// alike (PyTorch's ConvTranspose2d weight is in_channels×out_channels×kh×kw,
// and a transposed convolution's input is this geometry's output side).
type Conv2D struct {
	InC, InH, InW    int
	OutC, OutH, OutW int
	KH, KW           int
	StrideH, StrideW int
	PadH, PadW       int
}

// SamePadding returns TensorFlow's "same" output size ceil(in/stride) and
// the padding before the input, half of the total (the extra one goes
// after): total = max((out−1)·stride + k − in, 0).
func SamePadding(in, k, stride int) (out, before int) {
	out = ceilDiv(in, stride)
	return out, max((out-1)*stride+k-in, 0) / 2
}

// ValidOutput returns the output size of an unpadded convolution,
// ⌊(in − k)/stride⌋ + 1, or 0 when the kernel does not fit.
func ValidOutput(in, k, stride int) int {
	if in < k {
		return 0
	}
	return (in-k)/stride + 1
}

// TransposedOutput returns PyTorch's ConvTranspose2d output size
// (in − 1)·stride − 2·pad + k + outputPadding. A transposed convolution of
// that size is described by the Conv2D whose input side has this size and
// whose output side has size in, with padding pad before.
func TransposedOutput(in, k, stride, pad, outputPadding int) int {
	return (in-1)*stride - 2*pad + k + outputPadding
}

// padAfter is the implied padding after the input along one axis.
func padAfter(in, out, k, stride, before int) int {
	return (out-1)*stride + k - in - before
}

// Validate reports the first inconsistent value: every size and stride must
// be positive, 0 ≤ pad before < kernel, and the implied padding after must
// lie in (−stride, kernel), so that every output window overlaps the input
// and every input row or column below a stride of the last window is read.
func (g Conv2D) Validate() error {
	for _, v := range []struct {
		name string
		v    int
	}{{"InC", g.InC}, {"InH", g.InH}, {"InW", g.InW}, {"OutC", g.OutC}, {"OutH", g.OutH}, {"OutW", g.OutW},
		{"KH", g.KH}, {"KW", g.KW}, {"StrideH", g.StrideH}, {"StrideW", g.StrideW}} {
		if v.v <= 0 {
			return fmt.Errorf("conv %v: %s is %d, want > 0", g, v.name, v.v)
		}
	}
	for _, a := range []struct {
		axis                       string
		in, out, k, stride, before int
	}{{"height", g.InH, g.OutH, g.KH, g.StrideH, g.PadH}, {"width", g.InW, g.OutW, g.KW, g.StrideW, g.PadW}} {
		if a.before < 0 || a.before >= a.k {
			return fmt.Errorf("conv %v: %s padding %d, want in [0, %d)", g, a.axis, a.before, a.k)
		}
		if after := padAfter(a.in, a.out, a.k, a.stride, a.before); after <= -a.stride || after >= a.k {
			return fmt.Errorf("conv %v: %s %d → %d with kernel %d, stride %d, padding %d implies padding %d after, want in (%d, %d)",
				g, a.axis, a.in, a.out, a.k, a.stride, a.before, after, -a.stride, a.k)
		}
	}
	return nil
}

// String formats g as InC×InH×InW→OutC×OutH×OutW k KH×KW s SH,SW p PH,PW.
func (g Conv2D) String() string {
	return fmt.Sprintf("%d×%d×%d→%d×%d×%d k%d×%d s%d,%d p%d,%d", g.InC, g.InH, g.InW, g.OutC, g.OutH, g.OutW,
		g.KH, g.KW, g.StrideH, g.StrideW, g.PadH, g.PadW)
}

// InSize is the number of values of one input sample, InC·InH·InW.
func (g Conv2D) InSize() int { return g.InC * g.InH * g.InW }

// OutSize is the number of values of one output sample, OutC·OutH·OutW.
func (g Conv2D) OutSize() int { return g.OutC * g.OutH * g.OutW }

// WeightSize is the number of weights, OutC·InC·KH·KW.
func (g Conv2D) WeightSize() int { return g.OutC * g.patch() }

// patch is the length of one im2col column, InC·KH·KW.
func (g Conv2D) patch() int { return g.InC * g.KH * g.KW }

// convOperand names one slice argument of a convolution for check.
type convOperand struct {
	name     string
	s        []float32
	want     int
	optional bool // nil stands for "absent"
}

// check panics, like Gemm, when g is invalid, n is negative or an operand
// is too short (optional operands may be nil).
func (g Conv2D) check(n int, ops ...convOperand) {
	if err := g.Validate(); err != nil {
		panic("kernels: " + err.Error())
	}
	if n < 0 {
		panic(fmt.Sprintf("kernels: conv %v: batch size %d is negative", g, n))
	}
	for _, o := range ops {
		if (o.s != nil || !o.optional) && len(o.s) < o.want {
			panic(fmt.Sprintf("kernels: conv %v: %s has %d values, batch %d needs %d", g, o.name, len(o.s), n, o.want))
		}
	}
}

// Conv2DForward computes y = conv(x, w) + b for a batch of n samples: x is
// n×InC×InH×InW, w is OutC×InC×KH×KW, b (OutC values, or nil for none) and
// y is n×OutC×OutH×OutW, overwritten:
//
//	y[s,k,oh,ow] = b[k] + Σ_{c,i,j} w[k,c,i,j]·x[s,c,oh·SH−PH+i,ow·SW−PW+j].
//
// It panics, like Gemm, on an invalid geometry or slices too short.
func Conv2DForward(g Conv2D, n int, x, w, b, y []float32, ws *ConvWorkspace) {
	g.check(n, convOperand{"x", x, n * g.InSize(), false}, convOperand{"w", w, g.WeightSize(), false}, convOperand{"b", b, g.OutC, true}, convOperand{"y", y, n * g.OutSize(), false})
	ws.run(convOp{kind: opConvForward, g: g, n: n, x: x, w: w, b: b, y: y})
}

// Conv2DBackward computes, from the input x and the output gradient dy =
// ∂L/∂y of Conv2DForward, the weight gradient dw (overwritten), the bias
// gradient db (OutC values, overwritten; nil to skip) and, when dx is not
// nil, the input gradient dx (n×InC×InH×InW, overwritten):
//
//	dw[k,c,i,j] = Σ_{s,oh,ow} dy[s,k,oh,ow]·x[s,c,oh·SH−PH+i,ow·SW−PW+j],
//	db[k] = Σ_{s,oh,ow} dy[s,k,oh,ow],
//	dx = convᵀ(dy, w)  (col2im of wᵀ·dy: the adjoint of the convolution).
func Conv2DBackward(g Conv2D, n int, x, w, dy, dx, dw, db []float32, ws *ConvWorkspace) {
	g.check(n, convOperand{"x", x, n * g.InSize(), false}, convOperand{"w", w, g.WeightSize(), false}, convOperand{"dy", dy, n * g.OutSize(), false},
		convOperand{"dx", dx, n * g.InSize(), true}, convOperand{"dw", dw, g.WeightSize(), false}, convOperand{"db", db, g.OutC, true})
	ws.run(convOp{kind: opConvBackward, g: g, n: n, x: x, w: w, y: dy, dx: dx, dw: dw, db: db})
}

// ConvTranspose2DForward computes the transposed convolution of g: x is
// n×OutC×OutH×OutW (g's output side), w is OutC×InC×KH×KW, b has InC values
// (or is nil) and y is n×InC×InH×InW, overwritten:
//
//	y[s,c,h,w'] = b[c] + Σ w[k,c,i,j]·x[s,k,oh,ow] over h = oh·SH−PH+i, w' = ow·SW−PW+j,
//
// the input gradient of Conv2DForward (PyTorch's ConvTranspose2d with
// padding PH, PW and the output padding implied by InH, InW).
func ConvTranspose2DForward(g Conv2D, n int, x, w, b, y []float32, ws *ConvWorkspace) {
	g.check(n, convOperand{"x", x, n * g.OutSize(), false}, convOperand{"w", w, g.WeightSize(), false}, convOperand{"b", b, g.InC, true}, convOperand{"y", y, n * g.InSize(), false})
	ws.run(convOp{kind: opTransposeForward, g: g, n: n, x: x, w: w, b: b, y: y})
}

// ConvTranspose2DBackward is the backward pass of ConvTranspose2DForward:
// from its input x (n×OutC×OutH×OutW) and output gradient dy
// (n×InC×InH×InW) it computes dw (overwritten), db (InC values,
// overwritten; nil to skip) and, when dx is not nil, dx = conv(dy, w)
// without bias (n×OutC×OutH×OutW, overwritten):
//
//	dw[k,c,i,j] = Σ_{s,oh,ow} x[s,k,oh,ow]·dy[s,c,oh·SH−PH+i,ow·SW−PW+j],
//	db[c] = Σ_{s,h,w} dy[s,c,h,w].
func ConvTranspose2DBackward(g Conv2D, n int, x, w, dy, dx, dw, db []float32, ws *ConvWorkspace) {
	g.check(n, convOperand{"x", x, n * g.OutSize(), false}, convOperand{"w", w, g.WeightSize(), false}, convOperand{"dy", dy, n * g.InSize(), false},
		convOperand{"dx", dx, n * g.OutSize(), true}, convOperand{"dw", dw, g.WeightSize(), false}, convOperand{"db", db, g.InC, true})
	ws.run(convOp{kind: opTransposeBackward, g: g, n: n, x: x, w: w, y: dy, dx: dx, dw: dw, db: db})
}
