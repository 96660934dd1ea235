package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

// benchGemm times Gemm, or gonum's Sgemm as the peer, on g and reports
// GFLOP/s (2·m·n·k flops per call).
func benchGemm(b *testing.B, g *gemmArgs, peer bool) {
	b.ReportAllocs()
	ta, tb := blas.NoTrans, blas.NoTrans
	if g.transA {
		ta = blas.Trans
	}
	if g.transB {
		tb = blas.Trans
	}
	var impl gonum.Implementation
	g.call() // warm up: the first call sizes the pooled packing buffers
	for b.Loop() {
		if peer {
			impl.Sgemm(ta, tb, g.m, g.n, g.k, g.alpha, g.a, g.lda, g.b, g.ldb, g.beta, g.c, g.ldc)
		} else {
			g.call()
		}
	}
	flops := 2 * float64(g.m) * float64(g.n) * float64(g.k) * float64(b.N)
	b.ReportMetric(flops/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}

// denseArgs is a call with tight strides, alpha = 1 and beta = 0.
func denseArgs(transA, transB bool, m, n, k int) *gemmArgs {
	rng := rand.New(rand.NewPCG(5, 0x9e3779b97f4a7c15))
	g := randomArgs(rng, transA, transB, m, n, k, 1, 0)
	g.lda, g.ldb, g.ldc = k, n, n
	if transA {
		g.lda = m
	}
	if transB {
		g.ldb = k
	}
	return g
}

// BenchmarkGemm1024 is the project's acceptance benchmark: 1024³, NN.
func BenchmarkGemm1024(b *testing.B) {
	benchGemm(b, denseArgs(false, false, 1024, 1024, 1024), false)
}

// BenchmarkGemm1024Layouts runs 1024³ in every layout.
func BenchmarkGemm1024Layouts(b *testing.B) {
	for _, l := range layouts {
		b.Run(l.name, func(b *testing.B) {
			benchGemm(b, denseArgs(l.transA, l.transB, 1024, 1024, 1024), false)
		})
	}
}

// BenchmarkGonumSgemm1024 is the peer: gonum's pure-Go Sgemm, 1024³, NN.
func BenchmarkGonumSgemm1024(b *testing.B) {
	benchGemm(b, denseArgs(false, false, 1024, 1024, 1024), true)
}

// aeLayers are the (in, out) layers of the d-500-500-2000-10 MLP autoencoder
// on MNIST and its mirror decoder ((500, 500) appears once).
var aeLayers = [][2]int{{784, 500}, {500, 500}, {500, 2000}, {2000, 10}, {10, 2000}, {2000, 500}, {500, 784}}

// aeBatch is the training batch size.
const aeBatch = 256

// aeCases lists, per layer with W stored out×in, the forward Y = X·Wᵀ (NT),
// the same forward with W stored in×out (NN), the input gradient
// dX = dY·W (NN) and the weight gradient dW = dYᵀ·X (TN).
func aeCases() []struct {
	name string
	g    *gemmArgs
} {
	var cases []struct {
		name string
		g    *gemmArgs
	}
	add := func(name string, g *gemmArgs) {
		cases = append(cases, struct {
			name string
			g    *gemmArgs
		}{name, g})
	}
	for _, l := range aeLayers {
		in, out := l[0], l[1]
		add(fmt.Sprintf("fwd_NT_%dx%dto%d", aeBatch, in, out), denseArgs(false, true, aeBatch, out, in))
		add(fmt.Sprintf("fwd_NN_%dx%dto%d", aeBatch, in, out), denseArgs(false, false, aeBatch, out, in))
		add(fmt.Sprintf("dX_NN_%dx%dto%d", aeBatch, out, in), denseArgs(false, false, aeBatch, in, out))
		add(fmt.Sprintf("dW_TN_%dx%d_k%d", out, in, aeBatch), denseArgs(true, false, out, in, aeBatch))
	}
	return cases
}

// BenchmarkGemmAE runs Gemm on the autoencoder's batch-256 shapes.
func BenchmarkGemmAE(b *testing.B) {
	for _, c := range aeCases() {
		b.Run(c.name, func(b *testing.B) { benchGemm(b, c.g, false) })
	}
}

// BenchmarkGonumSgemmAE is the peer on the same shapes.
func BenchmarkGonumSgemmAE(b *testing.B) {
	for _, c := range aeCases() {
		b.Run(c.name, func(b *testing.B) { benchGemm(b, c.g, true) })
	}
}
