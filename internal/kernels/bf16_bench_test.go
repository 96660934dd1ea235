package kernels

import (
	"fmt"
	"testing"
)

// benchBF16 times GemmBF16 with kern on g and reports GFLOP/s.
func benchBF16(b *testing.B, kern *microKernel, g *gemmArgs) {
	b.ReportAllocs()
	withBF16Kernel(kern, func() {
		g.callBF16()
		for b.Loop() {
			g.callBF16()
		}
	})
	flops := 2 * float64(g.m) * float64(g.n) * float64(g.k) * float64(b.N)
	b.ReportMetric(flops/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}

// BenchmarkGemmBF16_1024 runs 1024³ NN on each hardware bf16 kernel.
func BenchmarkGemmBF16_1024(b *testing.B) {
	for _, kern := range availableBF16Kernels() {
		if kern == &genericBF16 {
			continue
		}
		b.Run(kern.name, func(b *testing.B) { benchBF16(b, kern, denseArgs(false, false, 1024, 1024, 1024)) })
	}
}

// BenchmarkGemmBF16AutoencoderShapes runs the GEMMs of one training step of
// the d-500-500-2000-10 autoencoder at batch 256 with the best bf16 kernel.
func BenchmarkGemmBF16AutoencoderShapes(b *testing.B) {
	kern := bf16Kernel()
	for _, l := range [][2]int{{784, 500}, {500, 500}, {500, 2000}, {2000, 10}} {
		in, out := l[0], l[1]
		b.Run(fmt.Sprintf("fwd_%dto%d_NT", in, out), func(b *testing.B) { benchBF16(b, kern, denseArgs(false, true, 256, out, in)) })
		b.Run(fmt.Sprintf("dX_%dfrom%d_NN", in, out), func(b *testing.B) { benchBF16(b, kern, denseArgs(false, false, 256, in, out)) })
		b.Run(fmt.Sprintf("dW_%dx%d_TN", out, in), func(b *testing.B) { benchBF16(b, kern, denseArgs(true, false, out, in, 256)) })
	}
}
