package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"
)

// eps32 is the float32 unit round-off, 2⁻²⁴.
const eps32 = 1.0 / (1 << 24)

// refGemm is the textbook triple loop C = alpha·op(A)·op(B) + beta·C with
// float64 accumulation (the reference). It also returns, per element, the
// magnitude |alpha|·Σ_p|op(A)_ip|·|op(B)_pj| + |beta|·|C_ij| that scales
// the float32 rounding error of any summation order.
func refGemm(g *gemmArgs) (want, scale []float64) {
	want = make([]float64, g.m*g.n)
	scale = make([]float64, g.m*g.n)
	opA := func(i, p int) float64 {
		if g.transA {
			return float64(g.a[p*g.lda+i])
		}
		return float64(g.a[i*g.lda+p])
	}
	opB := func(p, j int) float64 {
		if g.transB {
			return float64(g.b[j*g.ldb+p])
		}
		return float64(g.b[p*g.ldb+j])
	}
	for i := range g.m {
		for j := range g.n {
			var sum, mag float64
			if g.alpha != 0 {
				for p := range g.k {
					x := opA(i, p) * opB(p, j)
					sum += x
					mag += math.Abs(x)
				}
			}
			sum *= float64(g.alpha)
			mag *= math.Abs(float64(g.alpha))
			if g.beta != 0 {
				c := float64(g.c[i*g.ldc+j])
				sum += float64(g.beta) * c
				mag += math.Abs(float64(g.beta) * c)
			}
			want[i*g.n+j] = sum
			scale[i*g.n+j] = mag
		}
	}
	return want, scale
}

// randomArgs builds a Gemm call with uniform(-1, 1) operands and strides
// padded by up to 3 elements beyond the stored width.
func randomArgs(rng *rand.Rand, transA, transB bool, m, n, k int, alpha, beta float32) *gemmArgs {
	fill := func(rows, cols int) ([]float32, int) {
		ld := max(1, cols) + rng.IntN(4)
		s := make([]float32, max(0, (rows-1)*ld+cols))
		for i := range s {
			s[i] = 2*rng.Float32() - 1
		}
		return s, ld
	}
	g := &gemmArgs{transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, beta: beta}
	if transA {
		g.a, g.lda = fill(k, m)
	} else {
		g.a, g.lda = fill(m, k)
	}
	if transB {
		g.b, g.ldb = fill(n, k)
	} else {
		g.b, g.ldb = fill(k, n)
	}
	g.c, g.ldc = fill(m, n)
	return g
}

// clone copies g with its own C.
func (g *gemmArgs) clone() *gemmArgs {
	h := *g
	h.c = append([]float32(nil), g.c...)
	return &h
}

func (g *gemmArgs) call() {
	Gemm(g.transA, g.transB, g.m, g.n, g.k, g.alpha, g.a, g.lda, g.b, g.ldb, g.beta, g.c, g.ldc)
}

func (g *gemmArgs) String() string {
	return fmt.Sprintf("transA=%v transB=%v m=%d n=%d k=%d alpha=%g beta=%g lda=%d ldb=%d ldc=%d",
		g.transA, g.transB, g.m, g.n, g.k, g.alpha, g.beta, g.lda, g.ldb, g.ldc)
}

// checkAgainstRef compares got (g after the call) with the float64
// reference computed before it: |got − want| ≤ 4·√(k+2)·eps32·scale + 1e-30,
// where scale is |alpha|·Σ|a||b| + |beta||c| for that element. A float32
// sum of k terms has a worst-case error of k·eps32·Σ|terms|; random
// rounding errors grow like √k, and the factor 4 covers alpha's rounding in
// packing and the final beta update. Padding between rows of C must stay
// untouched.
func checkAgainstRef(t *testing.T, g *gemmArgs, before []float32, want, scale []float64) {
	t.Helper()
	tol := 4 * math.Sqrt(float64(g.k+2)) * eps32
	for i := range g.m {
		for j := range g.n {
			got := float64(g.c[i*g.ldc+j])
			w := want[i*g.n+j]
			if d := math.Abs(got - w); !(d <= tol*scale[i*g.n+j]+1e-30) {
				t.Fatalf("%v: C[%d][%d] = %g, want %g (|diff| %g > tol %g)", g, i, j, got, w, d, tol*scale[i*g.n+j])
			}
		}
		for j := g.n; j < g.ldc && i*g.ldc+j < len(g.c); j++ {
			if math.Float32bits(g.c[i*g.ldc+j]) != math.Float32bits(before[i*g.ldc+j]) {
				t.Fatalf("%v: padding C[%d][%d] changed", g, i, j)
			}
		}
	}
}

var layouts = []struct {
	name           string
	transA, transB bool
}{{"NN", false, false}, {"NT", false, true}, {"TN", true, false}, {"TT", true, true}}

// testShapes covers single elements, sizes around every kernel's mr and nr,
// more than one kc chunk (k > kcMax), more than one mc block (m > mcMax)
// and more than one nc block (n > ncMax).
var testShapes = [][3]int{
	{1, 1, 1}, {1, 17, 3}, {3, 1, 33}, {3, 17, 33}, {17, 33, 3}, {33, 3, 17},
	{12, 32, 8}, {13, 33, 9}, {6, 16, 5}, {24, 64, 7}, {257, 65, 129},
	{40, 50, 600}, {33, 17, 257}, {400, 40, 20}, {9, 2060, 5}, {100, 100, 513},
}

func TestGemmMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 0x9e3779b97f4a7c15))
	coefs := [][2]float32{{1, 0}, {1, 1}, {-0.5, 2.5}, {2, -1}, {0.75, 0}}
	for _, kern := range availableKernels() {
		for _, l := range layouts {
			for si, s := range testShapes {
				co := coefs[si%len(coefs)]
				g := randomArgs(rng, l.transA, l.transB, s[0], s[1], s[2], co[0], co[1])
				want, scale := refGemm(g)
				before := append([]float32(nil), g.c...)
				withKernel(kern, g.call)
				checkAgainstRef(t, g, before, want, scale)
			}
		}
	}
}

// withKernel runs f with kern as the active micro-kernel.
func withKernel(kern *microKernel, f func()) {
	saved := active
	active = kern
	defer func() { active = saved }()
	f()
}

func TestGemmSpecialCoefficients(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 0x9e3779b97f4a7c15))
	nan := float32(math.NaN())
	for _, l := range layouts {
		// beta = 0 overwrites C even where it holds NaN.
		g := randomArgs(rng, l.transA, l.transB, 29, 37, 41, 1.5, 0)
		for i := range g.c {
			g.c[i] = nan
		}
		want, scale := refGemm(g)
		before := append([]float32(nil), g.c...)
		g.call()
		checkAgainstRef(t, g, before, want, scale)

		// k = 0 scales C by beta, and alpha = 0 must not read A or B.
		for _, tc := range []struct {
			k     int
			alpha float32
		}{{0, 1}, {5, 0}} {
			for _, beta := range []float32{0, 1, -3} {
				g := randomArgs(rng, l.transA, l.transB, 7, 9, tc.k, tc.alpha, beta)
				for i := range g.a {
					g.a[i] = nan
				}
				orig := append([]float32(nil), g.c...)
				g.call()
				for i := range 7 {
					for j := range 9 {
						w := beta * orig[i*g.ldc+j]
						if got := g.c[i*g.ldc+j]; got != w {
							t.Fatalf("%v: C[%d][%d] = %g, want beta·C = %g", g, i, j, got, w)
						}
					}
				}
			}
		}
	}
}

func TestGemmEmptyAndBadArguments(t *testing.T) {
	Gemm(false, false, 0, 5, 3, 1, nil, 3, make([]float32, 15), 5, 0, nil, 5)
	for _, tc := range []struct {
		name string
		call func()
	}{
		{"negative m", func() { Gemm(false, false, -1, 1, 1, 1, []float32{1}, 1, []float32{1}, 1, 0, []float32{1}, 1) }},
		{"short lda", func() {
			Gemm(false, false, 2, 2, 3, 1, make([]float32, 6), 2, make([]float32, 6), 2, 0, make([]float32, 4), 2)
		}},
		{"short B", func() {
			Gemm(false, true, 2, 2, 3, 1, make([]float32, 6), 3, make([]float32, 5), 3, 0, make([]float32, 4), 2)
		}},
		{"short C", func() {
			Gemm(true, false, 2, 2, 3, 1, make([]float32, 6), 2, make([]float32, 6), 2, 0, make([]float32, 3), 2)
		}},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: Gemm did not panic", tc.name)
				}
			}()
			tc.call()
		}()
	}
}

// TestKernelsAgree checks every assembly micro-kernel against the portable
// Go one: both sum the same products, so they differ only by float32
// rounding (same bound as the reference test, doubled).
func TestKernelsAgree(t *testing.T) {
	kerns := availableKernels()
	if len(kerns) == 1 {
		t.Skip("only the generic kernel is built")
	}
	rng := rand.New(rand.NewPCG(3, 0x9e3779b97f4a7c15))
	for _, l := range layouts {
		g := randomArgs(rng, l.transA, l.transB, 61, 75, 300, 1, 0.5)
		_, scale := refGemm(g)
		ref := g.clone()
		withKernel(&genericKernel, ref.call)
		for _, kern := range kerns[:len(kerns)-1] {
			h := g.clone()
			withKernel(kern, h.call)
			tol := 8 * math.Sqrt(float64(g.k+2)) * eps32
			for i := range g.m {
				for j := range g.n {
					x, y := h.c[i*g.ldc+j], ref.c[i*g.ldc+j]
					if d := math.Abs(float64(x - y)); d > tol*scale[i*g.n+j] {
						t.Fatalf("%s %s: C[%d][%d] = %g, generic %g", kern.name, l.name, i, j, x, y)
					}
				}
			}
		}
	}
}

// runThreads computes g with exactly threads participants, each on its own
// goroutine, bypassing the helper pool so that any count can be tested.
func runThreads(kern *microKernel, g *gemmArgs, threads int, splitRows bool) {
	j := newJob()
	j.prepare(kern, g, threads, splitRows)
	var wg sync.WaitGroup
	for tid := range threads {
		wg.Add(1)
		go func() {
			defer wg.Done()
			j.work(tid)
		}()
	}
	wg.Wait()
}

// TestGemmDeterministic requires bit-identical C for any participant count,
// either split direction, and GOMAXPROCS 1 or 2 through the public API.
func TestGemmDeterministic(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 0x9e3779b97f4a7c15))
	for _, kern := range availableKernels() {
		for _, l := range layouts {
			for si, s := range [][3]int{{131, 67, 530}, {19, 2100, 40}, {256, 10, 300}} {
				g := randomArgs(rng, l.transA, l.transB, s[0], s[1], s[2], float32(1+si%2)/2+0.5, -0.5)
				serial := g.clone()
				runThreads(kern, serial, 1, false)
				for _, threads := range []int{2, 3, 5} {
					for _, rows := range []bool{false, true} {
						if rows && threads > ceilDiv(g.m, kern.mr) || !rows && threads > ceilDiv(g.n, kern.nr) {
							continue
						}
						h := g.clone()
						runThreads(kern, h, threads, rows)
						if i := firstDifference(serial.c, h.c); i >= 0 {
							t.Fatalf("%s %v: %d threads (rows %v) differ from serial at %d: %g vs %g", kern.name, g, threads, rows, i, h.c[i], serial.c[i])
						}
					}
				}
			}
		}
	}
	g := randomArgs(rng, false, true, 256, 500, 784, 1, 0)
	results := map[int][]float32{}
	for _, procs := range []int{1, 2} {
		prev := runtime.GOMAXPROCS(procs)
		h := g.clone()
		h.call()
		runtime.GOMAXPROCS(prev)
		results[procs] = h.c
	}
	if i := firstDifference(results[1], results[2]); i >= 0 {
		t.Fatalf("GOMAXPROCS 1 and 2 differ at %d: %g vs %g", i, results[1][i], results[2][i])
	}
}

// firstDifference returns the first index where a and b differ bitwise, or -1.
func firstDifference(a, b []float32) int {
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return i
		}
	}
	return -1
}

// TestPackersMatchGo checks each kernel's panel packers bit for bit against
// the portable loops (packStridedGo, packContigGo), on full and partial
// panels, depths that are and are not multiples of 16, and alpha ≠ 1.
func TestPackersMatchGo(t *testing.T) {
	rng := rand.New(rand.NewPCG(6, 0x9e3779b97f4a7c15))
	src := make([]float32, 64*80)
	for i := range src {
		src[i] = 2*rng.Float32() - 1
	}
	const ld = 80
	for _, kern := range availableKernels() {
		for _, width := range []int{kern.mr, kern.nr} {
			for _, lanes := range []int{1, width - 1, width} {
				for _, kb := range []int{1, 15, 16, 37, 64} {
					for _, alpha := range []float32{1, -0.5} {
						for _, p := range []struct {
							name      string
							got, want panelPacker
						}{{"strided", kern.strided, packStridedGo}, {"contig", kern.contig, packContigGo}} {
							got := make([]float32, kb*width)
							want := make([]float32, kb*width)
							for i := range got {
								got[i], want[i] = 7, 7
							}
							p.got(got, src, ld, lanes, kb, width, alpha)
							p.want(want, src, ld, lanes, kb, width, alpha)
							if i := firstDifference(got, want); i >= 0 {
								t.Fatalf("%s %s width %d lanes %d kb %d alpha %g: element %d = %g, want %g",
									kern.name, p.name, width, lanes, kb, alpha, i, got[i], want[i])
							}
						}
					}
				}
			}
		}
	}
}
