package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// taps calls fn for every multiply of the direct convolution of g on n
// samples, with the flat indices of the output value (n×OutC×OutH×OutW), the
// input value (n×InC×InH×InW) and the weight (OutC×InC×KH×KW): the
// textbook seven nested loops that the reference implementations share.
func taps(g Conv2D, n int, fn func(out, in, w int)) {
	for s := range n {
		for k := range g.OutC {
			for oh := range g.OutH {
				for ow := range g.OutW {
					out := ((s*g.OutC+k)*g.OutH+oh)*g.OutW + ow
					for c := range g.InC {
						for i := range g.KH {
							ih := oh*g.StrideH - g.PadH + i
							if ih < 0 || ih >= g.InH {
								continue
							}
							for j := range g.KW {
								iw := ow*g.StrideW - g.PadW + j
								if iw < 0 || iw >= g.InW {
									continue
								}
								in := ((s*g.InC+c)*g.InH+ih)*g.InW + iw
								fn(out, in, (k*g.InC+c)*g.KH*g.KW+i*g.KW+j)
							}
						}
					}
				}
			}
		}
	}
}

// refSum is a float64 accumulator of the reference results, with the sum of
// magnitudes that bounds the float32 rounding error of any summation order.
type refSum struct {
	val, mag []float64
	terms    int // summands per value, at most
}

func newRefSum(size int) *refSum {
	return &refSum{val: make([]float64, size), mag: make([]float64, size)}
}

func (r *refSum) add(i int, a, b float32) {
	v := float64(a) * float64(b)
	r.val[i] += v
	r.mag[i] += math.Abs(v)
}

// addBias adds b[ch] to every value of channel ch of r (n×len(b)×plane).
func (r *refSum) addBias(b []float32, plane int) {
	for i := range r.val {
		v := float64(b[(i/plane)%len(b)])
		r.val[i] += v
		r.mag[i] += math.Abs(v)
	}
	r.terms++
}

// channelSums is Σ over samples and pixels of each channel of t (n×ch×plane).
func channelSums64(t []float32, ch, plane int) *refSum {
	r := newRefSum(ch)
	for i, v := range t {
		r.add((i/plane)%ch, v, 1)
	}
	r.terms = len(t) / ch
	return r
}

// check compares got with r: |got − val| ≤ 2·terms·eps32·mag + 1e-30, the
// textbook bound γ_n·Σ|x_i| on float32 summation of n terms, doubled for the
// rounding of the products.
func (r *refSum) check(t *testing.T, what string, got []float32) {
	t.Helper()
	if len(got) != len(r.val) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(r.val))
	}
	bound := 2 * float64(r.terms+1) * eps32
	for i, v := range r.val {
		if d := math.Abs(float64(got[i]) - v); d > bound*r.mag[i]+1e-30 {
			t.Fatalf("%s[%d] = %.8g, want %.8g (error %.3g > %.3g)", what, i, got[i], v, d, bound*r.mag[i])
		}
	}
}

// refConv is the direct convolution of x (InC side) plus b.
func refConv(g Conv2D, n int, x, w, b []float32) *refSum {
	r := newRefSum(n * g.OutSize())
	taps(g, n, func(out, in, wi int) { r.add(out, w[wi], x[in]) })
	r.terms = g.patch()
	if b != nil {
		r.addBias(b, g.OutH*g.OutW)
	}
	return r
}

// refConvT is the direct transposed convolution of x (OutC side) plus b.
func refConvT(g Conv2D, n int, x, w, b []float32) *refSum {
	r := newRefSum(n * g.InSize())
	taps(g, n, func(out, in, wi int) { r.add(in, w[wi], x[out]) })
	r.terms = g.OutC * ceilDiv(g.KH, g.StrideH) * ceilDiv(g.KW, g.StrideW)
	if b != nil {
		r.addBias(b, g.InH*g.InW)
	}
	return r
}

// refWeightGrad is Σ out[s,k,oh,ow]·in[s,c,ih,iw] over the taps of weight (k,c,i,j).
func refWeightGrad(g Conv2D, n int, in, out []float32) *refSum {
	r := newRefSum(g.WeightSize())
	taps(g, n, func(o, i, wi int) { r.add(wi, out[o], in[i]) })
	r.terms = n * g.OutH * g.OutW
	return r
}

func randSlice(rng *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = 2*rng.Float32() - 1
	}
	return s
}

// testGeometries returns convolutions over odd and even sizes, kernels 3
// and 5, strides 1 and 2, symmetric padding 0, 1, 2 (PyTorch style), TF
// "same" padding and a transposed geometry with output padding.
func testGeometries(rng *rand.Rand) []Conv2D {
	var gs []Conv2D
	for _, k := range []int{3, 5} {
		for _, s := range []int{1, 2} {
			for _, p := range []int{0, 1, 2} {
				h, w := 5+rng.IntN(6), 5+rng.IntN(6)
				gs = append(gs, Conv2D{InC: 1 + rng.IntN(3), InH: h, InW: w, OutC: 1 + rng.IntN(4),
					OutH: (h+2*p-k)/s + 1, OutW: (w+2*p-k)/s + 1, KH: k, KW: k, StrideH: s, StrideW: s, PadH: p, PadW: p})
			}
		}
	}
	oh, ph := SamePadding(28, 5, 2)
	ow, pw := SamePadding(13, 3, 2)
	gs = append(gs,
		Conv2D{InC: 2, InH: 28, InW: 13, OutC: 3, OutH: oh, OutW: ow, KH: 5, KW: 3, StrideH: 2, StrideW: 2, PadH: ph, PadW: pw},
		// ConvTranspose2d(k=3, s=2, padding=1, output_padding=1): 4×5 → 8×10.
		Conv2D{InC: 2, InH: TransposedOutput(4, 3, 2, 1, 1), InW: TransposedOutput(5, 3, 2, 1, 1), OutC: 3, OutH: 4, OutW: 5, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadH: 1, PadW: 1},
	)
	return gs
}

// TestConvMatchesReference checks all four passes against the direct
// nested-loop references (float64 accumulation) on random geometries and
// batches, with the float32 summation bound of refSum.check.
func TestConvMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var ws ConvWorkspace
	for _, g := range testGeometries(rng) {
		if err := g.Validate(); err != nil {
			t.Fatal(err)
		}
		for _, n := range []int{1, 3, 11} {
			t.Run(fmt.Sprintf("%v/n%d", g, n), func(t *testing.T) {
				x, w, b := randSlice(rng, n*g.InSize()), randSlice(rng, g.WeightSize()), randSlice(rng, g.OutC)
				dy := randSlice(rng, n*g.OutSize())
				y := make([]float32, n*g.OutSize())
				Conv2DForward(g, n, x, w, b, y, &ws)
				refConv(g, n, x, w, b).check(t, "conv y", y)

				dx, dw, db := make([]float32, len(x)), make([]float32, len(w)), make([]float32, g.OutC)
				Conv2DBackward(g, n, x, w, dy, dx, dw, db, &ws)
				refConvT(g, n, dy, w, nil).check(t, "conv dx", dx)
				refWeightGrad(g, n, x, dy).check(t, "conv dw", dw)
				channelSums64(dy, g.OutC, g.OutH*g.OutW).check(t, "conv db", db)

				// Transposed: input on the OutC side, output on the InC side.
				bt, dyt := randSlice(rng, g.InC), randSlice(rng, n*g.InSize())
				yt := make([]float32, n*g.InSize())
				ConvTranspose2DForward(g, n, dy, w, bt, yt, &ws)
				refConvT(g, n, dy, w, bt).check(t, "convT y", yt)

				dxt, dbt := make([]float32, n*g.OutSize()), make([]float32, g.InC)
				ConvTranspose2DBackward(g, n, dy, w, dyt, dxt, dw, dbt, &ws)
				refConv(g, n, dyt, w, nil).check(t, "convT dx", dxt)
				refWeightGrad(g, n, dyt, dy).check(t, "convT dw", dw)
				channelSums64(dyt, g.InC, g.InH*g.InW).check(t, "convT db", dbt)
			})
		}
	}
}

// TestConvFiniteDifferences checks the backward passes against central
// differences of L = Σ a⊙f(x, w, b), evaluated in float64 from float32
// outputs. f is affine in each argument, so the differences are exact up
// to rounding: with h = 1e-2 and outputs of magnitude ~1 the error of a
// quotient is ~1e-5; each element must satisfy |num − ana| ≤ 1e-3·(1+|ana|).
func TestConvFiniteDifferences(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	g := Conv2D{InC: 2, InH: 7, InW: 6, OutC: 3, OutH: 4, OutW: 3, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadH: 1, PadW: 1}
	const n = 2
	var ws ConvWorkspace
	for _, transposed := range []bool{false, true} {
		inLen, outLen, bLen := n*g.InSize(), n*g.OutSize(), g.OutC
		if transposed {
			inLen, outLen, bLen = outLen, inLen, g.InC
		}
		x, w, b, a := randSlice(rng, inLen), randSlice(rng, g.WeightSize()), randSlice(rng, bLen), randSlice(rng, outLen)
		y := make([]float32, outLen)
		loss := func() float64 {
			if transposed {
				ConvTranspose2DForward(g, n, x, w, b, y, &ws)
			} else {
				Conv2DForward(g, n, x, w, b, y, &ws)
			}
			s := 0.0
			for i, v := range y {
				s += float64(a[i]) * float64(v)
			}
			return s
		}
		dx, dw, db := make([]float32, inLen), make([]float32, len(w)), make([]float32, bLen)
		if transposed {
			ConvTranspose2DBackward(g, n, x, w, a, dx, dw, db, &ws)
		} else {
			Conv2DBackward(g, n, x, w, a, dx, dw, db, &ws)
		}
		for _, p := range []struct {
			name      string
			val, grad []float32
		}{{"x", x, dx}, {"w", w, dw}, {"b", b, db}} {
			for i := range p.val {
				v := p.val[i]
				p.val[i] = v + 1e-2
				lp := loss()
				p.val[i] = v - 1e-2
				lm := loss()
				p.val[i] = v
				num := (lp - lm) / 2e-2
				if ana := float64(p.grad[i]); math.Abs(num-ana) > 1e-3*(1+math.Abs(ana)) {
					t.Errorf("transposed=%v ∂L/∂%s[%d]: analytic %.6g, numeric %.6g", transposed, p.name, i, ana, num)
				}
			}
		}
	}
}

// TestConvDeterministicAcrossThreads runs the passes on a batch large enough
// for several chunks with GOMAXPROCS 1 (sequential chunks, parallel Gemm)
// and with the current setting (chunks shared by workers): results must be
// bit-identical.
func TestConvDeterministicAcrossThreads(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	oh, ph := SamePadding(14, 5, 2)
	g := Conv2D{InC: 8, InH: 14, InW: 14, OutC: 16, OutH: oh, OutW: oh, KH: 5, KW: 5, StrideH: 2, StrideW: 2, PadH: ph, PadW: ph}
	const n = 37
	x, w, b, dy := randSlice(rng, n*g.InSize()), randSlice(rng, g.WeightSize()), randSlice(rng, g.OutC), randSlice(rng, n*g.OutSize())
	run := func() [][]float32 {
		var ws ConvWorkspace
		y, dx, dw, db := make([]float32, n*g.OutSize()), make([]float32, n*g.InSize()), make([]float32, len(w)), make([]float32, g.OutC)
		Conv2DForward(g, n, x, w, b, y, &ws)
		Conv2DBackward(g, n, x, w, dy, dx, dw, db, &ws)
		yt, dxt, dwt := make([]float32, n*g.InSize()), make([]float32, n*g.OutSize()), make([]float32, len(w))
		ConvTranspose2DForward(g, n, dy, w, x[:g.InC], yt, &ws)
		ConvTranspose2DBackward(g, n, dy, w, x, dxt, dwt, nil, &ws)
		return [][]float32{y, dx, dw, db, yt, dxt, dwt}
	}
	if chunkSamples(&g, n) >= n {
		t.Fatal("test batch fits one chunk")
	}
	prev := runtime.GOMAXPROCS(1)
	one := run()
	runtime.GOMAXPROCS(max(prev, 2))
	many := run()
	runtime.GOMAXPROCS(prev)
	for i := range one {
		if !slices.Equal(one[i], many[i]) {
			t.Errorf("output %d differs between 1 and %d threads", i, max(prev, 2))
		}
	}
}

// TestConvShapeHelpers checks the size formulas against the layer sizes of
// DCEC (Guo et al. 2017) on MNIST, 28 → 14 → 7 → 3 and back, and PyTorch's
// ConvTranspose2d documentation formula.
func TestConvShapeHelpers(t *testing.T) {
	for _, c := range []struct{ in, k, s, out, before int }{{28, 5, 2, 14, 1}, {14, 5, 2, 7, 1}, {7, 3, 1, 7, 1}, {5, 1, 1, 5, 0}} {
		if out, before := SamePadding(c.in, c.k, c.s); out != c.out || before != c.before {
			t.Errorf("SamePadding(%d, %d, %d) = %d, %d; want %d, %d", c.in, c.k, c.s, out, before, c.out, c.before)
		}
	}
	if got := ValidOutput(7, 3, 2); got != 3 {
		t.Errorf("ValidOutput(7, 3, 2) = %d, want 3", got)
	}
	if got := ValidOutput(2, 3, 1); got != 0 {
		t.Errorf("ValidOutput(2, 3, 1) = %d, want 0", got)
	}
	if got := TransposedOutput(3, 3, 2, 0, 0); got != 7 {
		t.Errorf("TransposedOutput(3, 3, 2, 0, 0) = %d, want 7", got)
	}
	if got := TransposedOutput(7, 5, 2, 2, 1); got != 14 {
		t.Errorf("TransposedOutput(7, 5, 2, 2, 1) = %d, want 14", got)
	}
}

func TestConvValidate(t *testing.T) {
	ok := Conv2D{InC: 1, InH: 7, InW: 7, OutC: 2, OutH: 3, OutW: 3, KH: 3, KW: 3, StrideH: 2, StrideW: 2}
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]struct {
		edit func(*Conv2D)
		want string
	}{
		"channels": {func(g *Conv2D) { g.InC = 0 }, "InC is 0"},
		"stride":   {func(g *Conv2D) { g.StrideW = -1 }, "StrideW is -1"},
		"pad":      {func(g *Conv2D) { g.PadH = 3 }, "height padding 3"},
		"too big":  {func(g *Conv2D) { g.OutW = 5 }, "implies padding 4 after"},
		"unread":   {func(g *Conv2D) { g.InH = 9 }, "implies padding -2 after"},
	} {
		g := ok
		c.edit(&g)
		if err := g.Validate(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want an error containing %q", name, err, c.want)
		}
	}
	defer func() {
		if r := recover(); r == nil || !strings.Contains(fmt.Sprint(r), "x has 10 values") {
			t.Errorf("short x: recovered %v", r)
		}
	}()
	Conv2DForward(ok, 1, make([]float32, 10), make([]float32, ok.WeightSize()), nil, make([]float32, ok.OutSize()), &ConvWorkspace{})
}

// TestConvAllocatesNothing checks the steady state of all four passes.
func TestConvAllocatesNothing(t *testing.T) {
	if convRaceEnabled {
		t.Skip("the race detector's instrumentation allocates")
	}
	rng := rand.New(rand.NewPCG(7, 8))
	g := Conv2D{InC: 3, InH: 9, InW: 9, OutC: 4, OutH: 5, OutW: 5, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadH: 1, PadW: 1}
	const n = 16
	x, w, b, dy := randSlice(rng, n*g.InSize()), randSlice(rng, g.WeightSize()), randSlice(rng, g.OutC), randSlice(rng, n*g.OutSize())
	y, dx, dw, db := make([]float32, len(dy)), make([]float32, len(x)), make([]float32, len(w)), make([]float32, g.OutC)
	var ws ConvWorkspace
	step := func() {
		Conv2DForward(g, n, x, w, b, y, &ws)
		Conv2DBackward(g, n, x, w, dy, dx, dw, db, &ws)
		ConvTranspose2DForward(g, n, dy, w, x[:g.InC], dx, &ws)
		ConvTranspose2DBackward(g, n, dy, w, x, y, dw, nil, &ws)
	}
	step()
	if allocs := testing.AllocsPerRun(20, step); allocs != 0 {
		t.Errorf("conv passes allocate %v times per run", allocs)
	}
}
