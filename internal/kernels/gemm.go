package kernels

import "fmt"

// Cache blocking, in elements. One rank-kc update streams a kc×nr B
// micro-panel (32 KiB for the AVX-512 tile) through L1 while the mc×kc packed
// A block (384 KiB) stays in a core's 1 MiB L2 and the kc×nc packed B block
// sits in the shared L3. mcMax and ncMax are multiples of every kernel's mr
// and nr so that blocks start on the global tile grid.
const (
	kcMax = 256
	mcMax = 384
	ncMax = 2048
)

// active is the micro-kernel Gemm uses; tests swap it to compare paths.
var active = bestKernel()

// GemmInfo names the micro-kernel Gemm runs on this machine: "avx512",
// "avx2" or "generic".
func GemmInfo() string { return active.name }

// Gemm computes C = alpha·op(A)·op(B) + beta·C for row-major matrices, where
// op(X) is X or Xᵀ as transA/transB say. op(A) is m×k, op(B) is k×n and C is
// m×n; lda, ldb and ldc are the row strides of A, B and C as stored.
//
// When beta is 0, C is overwritten without being read (NaN in C does not
// propagate); when k is 0 or alpha is 0, A and B are not read and C = beta·C.
// The result for every element depends only on the shapes and values, not
// on GOMAXPROCS or scheduling: each element is summed in the same order by
// whichever goroutine computes it. Gemm panics, like gonum's BLAS, on
// negative sizes, strides shorter than a row or slices too short.
func Gemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	g := gemmArgs{transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc}
	if err := g.check(); err != nil {
		panic(err.Error())
	}
	if m == 0 || n == 0 {
		return
	}
	if k == 0 || alpha == 0 {
		scaleRows(c, ldc, m, n, beta)
		return
	}
	gemm(active, &g)
}

// gemmArgs carries one Gemm call's operands.
type gemmArgs struct {
	transA, transB bool
	m, n, k        int
	alpha, beta    float32
	a, b, c        []float32
	lda, ldb, ldc  int
	epi            *Epilogue // fused work, or nil
}

// check reports the first inconsistent size, stride or slice length.
func (g *gemmArgs) check() error {
	if g.m < 0 || g.n < 0 || g.k < 0 {
		return fmt.Errorf("kernels: Gemm sizes m=%d n=%d k=%d must not be negative", g.m, g.n, g.k)
	}
	ar, ac := g.m, g.k
	if g.transA {
		ar, ac = ac, ar
	}
	br, bc := g.k, g.n
	if g.transB {
		br, bc = bc, br
	}
	if err := checkMatrix("A", ar, ac, g.a, g.lda); err != nil {
		return err
	}
	if err := checkMatrix("B", br, bc, g.b, g.ldb); err != nil {
		return err
	}
	return checkMatrix("C", g.m, g.n, g.c, g.ldc)
}

// checkMatrix reports whether a rows×cols row-major matrix with stride ld
// fits in s.
func checkMatrix(name string, rows, cols int, s []float32, ld int) error {
	if ld < max(1, cols) {
		return fmt.Errorf("kernels: Gemm ld%s=%d is less than its %d columns", name, ld, cols)
	}
	if rows > 0 && cols > 0 && len(s) < (rows-1)*ld+cols {
		return fmt.Errorf("kernels: Gemm %s has %d elements, %d×%d with stride %d needs %d", name, len(s), rows, cols, ld, (rows-1)*ld+cols)
	}
	return nil
}

// scaleRows sets the m×n matrix c to beta·c, writing zeros when beta is 0.
func scaleRows(c []float32, ldc, m, n int, beta float32) {
	if beta == 1 {
		return
	}
	for i := range m {
		row := c[i*ldc:][:n]
		if beta == 0 {
			clear(row)
			continue
		}
		for j := range row {
			row[j] *= beta
		}
	}
}

// kcFor splits a depth of k into equal rank-kc updates of at most kcMax. The
// split depends on k alone, so every element is summed in the same order
// whatever the thread count.
func kcFor(k int) int {
	chunks := ceilDiv(k, kcMax)
	return ceilDiv(k, chunks)
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }

func roundUp(a, b int) int { return ceilDiv(a, b) * b }
