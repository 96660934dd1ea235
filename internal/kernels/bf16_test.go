package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestToBF16HandValues checks the rounding against values worked out by
// hand from the bfloat16 definition (upper 16 bits of a float32) and the
// conversion Intel specifies for VCVTNE2PS2BF16 (Intel SDM vol. 2,
// convert_fp32_to_bfloat16): round to nearest with ties to even, zeros and
// subnormals to a zero of the same sign, NaNs quieted (bit 6 set).
func TestToBF16HandValues(t *testing.T) {
	for _, tc := range []struct {
		in   uint32
		want uint16
		why  string
	}{
		{0x3f800000, 0x3f80, "1 is exact"},
		{0xbfc00000, 0xbfc0, "-1.5 is exact"},
		{0x3f808000, 0x3f80, "1 + 2⁻⁸ is a tie: to even 0x3f80"},
		{0x3f818000, 0x3f82, "1 + 3·2⁻⁸ is a tie: to even 0x3f82"},
		{0x3f808001, 0x3f81, "just above the tie rounds up"},
		{0x3f807fff, 0x3f80, "just below the tie rounds down"},
		{0x3f7fffff, 0x3f80, "the float below 1 rounds up to 1"},
		{0x7f7fffff, 0x7f80, "the largest float rounds to +Inf"},
		{0x7f7f7fff, 0x7f7f, "below the half-way point stays finite"},
		{0x7f800000, 0x7f80, "+Inf stays"},
		{0xff800000, 0xff80, "-Inf stays"},
		{0x00000000, 0x0000, "+0"},
		{0x80000000, 0x8000, "-0"},
		{0x00000001, 0x0000, "the smallest subnormal flushes to +0"},
		{0x807fffff, 0x8000, "a negative subnormal flushes to -0"},
		{0x00800000, 0x0080, "the smallest normal is exact"},
		{0x7fc00000, 0x7fc0, "quiet NaN"},
		{0x7f800001, 0x7fc0, "signalling NaN with a low payload is quieted"},
		{0xff812345, 0xffc1, "negative NaN keeps its top bits, quieted"},
	} {
		if got := ToBF16(math.Float32frombits(tc.in)); got != tc.want {
			t.Errorf("ToBF16(%#08x) = %#04x, want %#04x (%s)", tc.in, got, tc.want, tc.why)
		}
	}
	if got := FromBF16(0x3fc0); got != 1.5 {
		t.Errorf("FromBF16(0x3fc0) = %g, want 1.5", got)
	}
}

// withBF16Kernel runs f with kern as GemmBF16's kernel.
func withBF16Kernel(kern *microKernel, f func()) {
	saved := bf16Kernel()
	bf16Once.kern = kern
	defer func() { bf16Once.kern = saved }()
	f()
}

// roundedArgs returns g with A and B rounded to bf16 after scaling A by
// alpha (alpha then 1), so that a float64 reference sees exactly the
// values the bf16 kernels multiply.
func roundedArgs(g *gemmArgs) *gemmArgs {
	h := g.clone()
	h.a = make([]float32, len(g.a))
	for i, v := range g.a {
		h.a[i] = FromBF16(ToBF16(g.alpha * v))
	}
	h.b = make([]float32, len(g.b))
	for i, v := range g.b {
		h.b[i] = FromBF16(ToBF16(v))
	}
	h.alpha = 1
	return h
}

func (g *gemmArgs) callBF16() {
	GemmBF16(g.transA, g.transB, g.m, g.n, g.k, g.alpha, g.a, g.lda, g.b, g.ldb, g.beta, g.c, g.ldc)
}

// TestGemmBF16MatchesReference compares every bf16 kernel with a float64
// GEMM of the bf16-rounded operands: the products are then exact, and only
// the float32 accumulation rounds, so the float32 bound of
// checkAgainstRef (4·√(k+2)·eps32·Σ|terms|) applies, doubled for the AMX
// unit's unspecified accumulation order.
func TestGemmBF16MatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 0x9e3779b97f4a7c15))
	coefs := [][2]float32{{1, 0}, {1, 1}, {-0.5, 2.5}, {2, -1}, {0.75, 0}}
	shapes := append(testShapes[:len(testShapes):len(testShapes)], [3]int{70, 40, 1100}, [3]int{33, 65, 64}, [3]int{64, 96, 96})
	for _, kern := range availableBF16Kernels() {
		t.Run(kern.name, func(t *testing.T) {
			for _, l := range layouts {
				for si, s := range shapes {
					co := coefs[si%len(coefs)]
					g := randomArgs(rng, l.transA, l.transB, s[0], s[1], s[2], co[0], co[1])
					ref := roundedArgs(g)
					want, scale := refGemm(ref)
					before := append([]float32(nil), g.c...)
					withBF16Kernel(kern, g.callBF16)
					for i := range scale {
						scale[i] *= 2
					}
					checkAgainstRef(t, g, before, want, scale)
				}
			}
		})
	}
}

// TestGemmBF16KernelsBitIdentical requires the AVX512_BF16 kernel to give
// the portable kernel's results bit for bit: both perform VDPBF16PS's FMA
// sequence in the same order, with the same depth chunks.
func TestGemmBF16KernelsBitIdentical(t *testing.T) {
	var asm *microKernel
	for _, k := range availableBF16Kernels() {
		if k.name == "avx512bf16" {
			asm = k
		}
	}
	if asm == nil {
		t.Skip("no AVX512_BF16 on this machine")
	}
	rng := rand.New(rand.NewPCG(12, 0x9e3779b97f4a7c15))
	for _, l := range layouts {
		for si, s := range [][3]int{{61, 75, 300}, {13, 33, 9}, {40, 50, 1100}, {256, 100, 784}} {
			beta := []float32{0, 1, 0.5}[si%3]
			g := randomArgs(rng, l.transA, l.transB, s[0], s[1], s[2], 1, beta)
			// Wide magnitudes exercise rounding in every FMA.
			for i := range g.a {
				g.a[i] *= float32(math.Exp2(float64(rng.IntN(20) - 10)))
			}
			ref := g.clone()
			withBF16Kernel(&genericBF16, ref.callBF16)
			h := g.clone()
			withBF16Kernel(asm, h.callBF16)
			if i := firstDifference(ref.c, h.c); i >= 0 {
				t.Fatalf("%s %v: element %d = %g (%#x), generic %g (%#x)", l.name, g, i, h.c[i], math.Float32bits(h.c[i]), ref.c[i], math.Float32bits(ref.c[i]))
			}
		}
	}
}

// TestGemmBF16Deterministic requires bit-identical results for any
// participant count and split, per bf16 kernel.
func TestGemmBF16Deterministic(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 0x9e3779b97f4a7c15))
	for _, kern := range availableBF16Kernels() {
		for _, l := range layouts {
			for si, s := range [][3]int{{131, 67, 530}, {19, 2100, 40}, {256, 10, 300}} {
				g := randomArgs(rng, l.transA, l.transB, s[0], s[1], s[2], 1, float32(si%2))
				serial := g.clone()
				runThreads(kern, serial, 1, false)
				for _, threads := range []int{2, 3} {
					for _, rows := range []bool{false, true} {
						if rows && threads > ceilDiv(g.m, kern.mr) || !rows && threads > ceilDiv(g.n, kern.nr) {
							continue
						}
						h := g.clone()
						runThreads(kern, h, threads, rows)
						if i := firstDifference(serial.c, h.c); i >= 0 {
							t.Fatalf("%s %v: %d threads (rows %v) differ from serial at %d", kern.name, g, threads, rows, i)
						}
					}
				}
			}
		}
	}
}

// TestBF16PackersMatchGo checks each bf16 kernel's panel packers bit for
// bit against the portable loops, with special values (ties, NaN, Inf,
// subnormals) in the source, partial panels, odd depths and padding.
func TestBF16PackersMatchGo(t *testing.T) {
	rng := rand.New(rand.NewPCG(14, 0x9e3779b97f4a7c15))
	const ld = 200
	src := make([]float32, 200*ld)
	special := []uint32{0x3f808000, 0x3f818000, 0x7f7fffff, 0x7f800001, 0xff800000, 0x00000001, 0x80000000}
	for i := range src {
		src[i] = 2*rng.Float32() - 1
		if i%13 == 0 {
			src[i] = math.Float32frombits(special[i/13%len(special)])
		}
	}
	bitsEqual := func(a, b []float32) int { return firstDifference(a, b) }
	for _, kern := range availableBF16Kernels() {
		bs, bc := kern.packersB()
		packers := []struct {
			name      string
			width     int
			got, want panelPacker
		}{
			{"A strided", kern.mr, kern.strided, packStridedPairsGo},
			{"A contig", kern.mr, kern.contig, packContigPairsGo},
			{"B strided", kern.nr, bs, packStridedPairsGo},
			{"B contig", kern.nr, bc, packContigPairsGo},
		}
		if kern.name == "amx" {
			packers[0].want, packers[1].want = packStridedRowsGo, packContigRowsGo
		}
		for _, p := range packers {
			for _, lanes := range []int{1, p.width - 1, p.width} {
				for _, kb := range []int{1, 2, 31, 32, 33, 64, 95, 160} {
					for _, alpha := range []float32{1, -0.5} {
						steps := kern.steps(kb)
						got := make([]float32, steps*p.width)
						want := make([]float32, steps*p.width)
						for i := range got {
							got[i], want[i] = 7, 7
						}
						p.got(got, src, ld, lanes, kb, p.width, alpha)
						p.want(want, src, ld, lanes, kb, p.width, alpha)
						if i := bitsEqual(got, want); i >= 0 {
							t.Fatalf("%s %s lanes %d kb %d alpha %g: word %d = %#x, want %#x", kern.name, p.name, lanes, kb, alpha, i,
								math.Float32bits(got[i]), math.Float32bits(want[i]))
						}
					}
				}
			}
		}
	}
}

// TestRowsLayoutIsPairsRearranged checks the portable rows-layout packers
// against the pairs-layout ones: the same words, moved by rowsOffset.
func TestRowsLayoutIsPairsRearranged(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 0x9e3779b97f4a7c15))
	const ld, width = 70, 32
	src := make([]float32, 70*ld)
	for i := range src {
		src[i] = 2*rng.Float32() - 1
	}
	for _, kb := range []int{5, 32, 63} {
		steps := roundUp(ceilDiv(kb, 2), 16)
		for _, pk := range [][2]panelPacker{{packStridedPairsGo, packStridedRowsGo}, {packContigPairsGo, packContigRowsGo}} {
			pairs := make([]float32, steps*width)
			rows := make([]float32, steps*width)
			pk[0](pairs, src, ld, 20, kb, width, 1)
			pk[1](rows, src, ld, 20, kb, width, 1)
			for q := range steps {
				for r := range width {
					if math.Float32bits(pairs[q*width+r]) != math.Float32bits(rows[rowsOffset(q, r, width)]) {
						t.Fatalf("kb %d: pair %d lane %d differs", kb, q, r)
					}
				}
			}
		}
	}
}

// TestDotStepFlushes checks dotStep's subnormal flush and exactness.
func TestDotStepFlushes(t *testing.T) {
	tiny := math.Float32frombits(0x20000000) // 2⁻⁶³: the square 2⁻¹²⁶ is normal
	if got := dotStep(0, tiny, tiny); math.Float32bits(got) != 0x00800000 {
		t.Errorf("2⁻⁶³·2⁻⁶³ = %#x, want the smallest normal 0x00800000", math.Float32bits(got))
	}
	tinier := math.Float32frombits(0x1f800000) // 2⁻⁶⁴: the square 2⁻¹²⁸ is subnormal
	if got := dotStep(0, tinier, -tinier); math.Float32bits(got) != 0x80000000 {
		t.Errorf("-2⁻¹²⁸ = %#x, want -0 (flushed)", math.Float32bits(got))
	}
	// 1 + 2⁻²⁴·(1+2⁻⁷) is just above the half-way point between 1 and the
	// next float32: it must round up (dropping the product's low bits
	// would give the tie, and round to even, 1).
	x := FromBF16(0x3380) // 2⁻²⁴
	y := FromBF16(0x3f81) // 1 + 2⁻⁷
	if got := dotStep(1, x, y); got != math.Nextafter32(1, 2) {
		t.Errorf("1 + 2⁻²⁴(1+2⁻⁷) = %g, want %g", got, math.Nextafter32(1, 2))
	}
}
