package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

// epilogueCase builds an epilogue for g's m×n C: forward with bias, forward
// without, or backward with outputs Y (including zeros, so that ReLU's
// y ≤ 0 boundary is hit), and row sums of op(A).
func epilogueCase(rng *rand.Rand, g *gemmArgs, mode int, act Act) *Epilogue {
	e := &Epilogue{Act: act, Slope: 0.1, RowSumsA: make([]float32, g.m)}
	switch mode {
	case 0:
		e.Bias = make([]float32, g.n)
		for j := range e.Bias {
			e.Bias[j] = 2*rng.Float32() - 1
		}
	case 2:
		e.LDY = g.n + rng.IntN(3)
		e.Y = make([]float32, g.m*e.LDY)
		for i := range e.Y {
			switch rng.IntN(4) {
			case 0:
				e.Y[i] = 0
			case 1:
				e.Y[i] = -rng.Float32()
			default:
				e.Y[i] = rng.Float32()
			}
		}
	}
	return e
}

// unfused computes what GemmFused must produce: the GEMM, then the
// epilogue's separate pass in Go, and sequential row sums of op(A).
func unfused(prec Precision, g *gemmArgs, e *Epilogue) (c, sums []float32) {
	h := g.clone()
	if prec == BF16 {
		h.callBF16()
	} else {
		h.call()
	}
	if w := e.tileWork(true); w != nil {
		w.applyGo(h.c, h.ldc, g.m, g.n, 0, 0)
	}
	sums = make([]float32, g.m)
	for i := range g.m {
		var s float32
		for p := range g.k {
			if g.transA {
				s += g.a[p*g.lda+i]
			} else {
				s += g.a[i*g.lda+p]
			}
		}
		sums[i] = s
	}
	return h.c, sums
}

// TestGemmFusedMatchesUnfused requires GemmFused to give the unfused
// GEMM-then-pass results bit for bit, for every kernel of both precisions,
// every layout, epilogue mode and activation, with the assembly epilogue
// and with the Go one.
func TestGemmFusedMatchesUnfused(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 0x9e3779b97f4a7c15))
	shapes := [][3]int{{13, 33, 9}, {70, 100, 300}, {256, 10, 40}, {33, 65, 530}, {40, 2100, 20}}
	type kp struct {
		prec Precision
		kern *microKernel
	}
	var kerns []kp
	for _, k := range availableKernels() {
		kerns = append(kerns, kp{Float32, k})
	}
	for _, k := range availableBF16Kernels() {
		kerns = append(kerns, kp{BF16, k})
	}
	savedAsm := epilogueAsm
	defer func() { epilogueAsm = savedAsm }()
	for _, useAsm := range []bool{true, false} {
		if !useAsm {
			epilogueAsm = nil
		} else if savedAsm == nil {
			continue
		}
		for ki, kk := range kerns {
			for li, l := range layouts {
				s := shapes[(ki+li)%len(shapes)]
				for mode := range 3 {
					for act := ActLinear; act <= ActSigmoid; act++ {
						g := randomArgs(rng, l.transA, l.transB, s[0], s[1], s[2], 1, float32((int(act)+mode)%2))
						e := epilogueCase(rng, g, mode, act)
						var want, sums []float32
						run := func() {
							want, sums = unfused(kk.prec, g, e)
							h := g.clone()
							GemmFused(kk.prec, h.transA, h.transB, h.m, h.n, h.k, h.alpha, h.a, h.lda, h.b, h.ldb, h.beta, h.c, h.ldc, e)
							if i := firstDifference(h.c, want); i >= 0 {
								t.Fatalf("%s %s %s asm %v mode %d act %d: C element %d = %g, unfused %g", kk.prec, kk.kern.name, l.name, useAsm, mode, act, i, h.c[i], want[i])
							}
							if i := firstDifference(e.RowSumsA, sums); i >= 0 {
								t.Fatalf("%s %s %s: row sum %d = %g, sequential %g", kk.prec, kk.kern.name, l.name, i, e.RowSumsA[i], sums[i])
							}
						}
						if kk.prec == BF16 {
							withBF16Kernel(kk.kern, run)
						} else {
							withKernel(kk.kern, run)
						}
					}
				}
			}
		}
	}
}

// TestEpilogueAsmMatchesGo checks the assembly epilogue against applyGo on
// blocks of every width up to 70 columns, with NaN, ±0 and ±Inf in C and
// Y.
func TestEpilogueAsmMatchesGo(t *testing.T) {
	if epilogueAsm == nil {
		t.Skip("no assembly epilogue in this build")
	}
	rng := rand.New(rand.NewPCG(22, 0x9e3779b97f4a7c15))
	specials := []float32{float32(math.NaN()), 0, float32(math.Copysign(0, -1)), float32(math.Inf(1)), float32(math.Inf(-1))}
	const rows, ldc = 5, 80
	for cols := 1; cols <= 70; cols++ {
		for mode := range 3 {
			for act := ActLinear; act <= ActSigmoid; act++ {
				g := &gemmArgs{m: rows, n: ldc}
				e := epilogueCase(rng, g, mode, act)
				c := make([]float32, rows*ldc)
				for i := range c {
					c[i] = 4*rng.Float32() - 2
					if rng.IntN(6) == 0 {
						c[i] = specials[rng.IntN(len(specials))]
					}
				}
				if e.Y != nil {
					for i := range e.Y {
						if rng.IntN(8) == 0 {
							e.Y[i] = specials[rng.IntN(len(specials))]
						}
					}
				}
				want := append([]float32(nil), c...)
				e.applyGo(want[ldc+1:], ldc, rows-1, cols, 1, 1)
				got := append([]float32(nil), c...)
				if !epilogueAsm(e, got[ldc+1:], ldc, rows-1, cols, 1, 1) {
					e.applyGo(got[ldc+1:], ldc, rows-1, cols, 1, 1)
				}
				if i := firstDifference(got, want); i >= 0 {
					t.Fatalf("cols %d mode %d act %d: element %d = %g, Go %g", cols, mode, act, i, got[i], want[i])
				}
			}
		}
	}
}

// TestGemmFusedDeterministic requires fused results (C and row sums) to be
// bit-identical for any participant count and split.
func TestGemmFusedDeterministic(t *testing.T) {
	rng := rand.New(rand.NewPCG(23, 0x9e3779b97f4a7c15))
	kerns := append(availableKernels(), availableBF16Kernels()...)
	for _, kern := range kerns {
		for _, l := range layouts {
			g := randomArgs(rng, l.transA, l.transB, 131, 67, 530, 1, 0)
			g.epi = epilogueCase(rng, g, 2, ActLeakyReLU)
			serial := g.clone()
			runThreads(kern, serial, 1, false)
			sums := append([]float32(nil), g.epi.RowSumsA...)
			for _, threads := range []int{2, 3} {
				for _, rows := range []bool{false, true} {
					clear(g.epi.RowSumsA)
					h := g.clone()
					runThreads(kern, h, threads, rows)
					if i := firstDifference(serial.c, h.c); i >= 0 {
						t.Fatalf("%s %s: %d threads (rows %v) differ at %d", kern.name, l.name, threads, rows, i)
					}
					if i := firstDifference(sums, g.epi.RowSumsA); i >= 0 {
						t.Fatalf("%s %s: %d threads (rows %v): row sum %d differs", kern.name, l.name, threads, rows, i)
					}
				}
			}
		}
	}
}

// TestGemmFusedDegenerate covers k = 0 and alpha = 0 (C = beta·C, then the
// epilogue; row sums over the k columns of A) and bad epilogues.
func TestGemmFusedDegenerate(t *testing.T) {
	c := []float32{-1, 2, 3, -4}
	a := []float32{1, 2, 3, 4, 5, 6}
	e := &Epilogue{Bias: []float32{0.5, -0.5}, Act: ActReLU, RowSumsA: make([]float32, 2)}
	GemmFused(Float32, false, false, 2, 2, 3, 0, a, 3, make([]float32, 6), 2, 2, c, 2, e)
	want := []float32{0, 3.5, 6.5, 0}
	for i := range c {
		if c[i] != want[i] {
			t.Fatalf("alpha 0: C = %v, want %v", c, want)
		}
	}
	if e.RowSumsA[0] != 6 || e.RowSumsA[1] != 15 {
		t.Fatalf("alpha 0: row sums %v, want [6 15]", e.RowSumsA)
	}
	for _, bad := range []*Epilogue{
		{Bias: []float32{1}},
		{Bias: []float32{1, 2}, Y: make([]float32, 4), LDY: 2},
		{Y: make([]float32, 3), LDY: 2},
		{RowSumsA: make([]float32, 1)},
		{Act: 9},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("epilogue %+v: GemmFused did not panic", bad)
				}
			}()
			GemmFused(Float32, false, false, 2, 2, 3, 1, a, 3, make([]float32, 6), 2, 0, make([]float32, 4), 2, bad)
		}()
	}
}
