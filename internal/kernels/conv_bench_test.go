package kernels

import (
	"math/rand/v2"
	"testing"
)

// dcecConvs are the convolutions of DCEC's autoencoder on 28×28 MNIST (Guo
// et al. 2017): conv32 5×5 s2 same, conv64 5×5 s2 same, conv128 3×3 s2
// valid; the decoder runs their transposes.
func dcecConvs() []Conv2D {
	o1, p1 := SamePadding(28, 5, 2)
	o2, p2 := SamePadding(o1, 5, 2)
	o3 := ValidOutput(o2, 3, 2)
	return []Conv2D{
		{InC: 1, InH: 28, InW: 28, OutC: 32, OutH: o1, OutW: o1, KH: 5, KW: 5, StrideH: 2, StrideW: 2, PadH: p1, PadW: p1},
		{InC: 32, InH: o1, InW: o1, OutC: 64, OutH: o2, OutW: o2, KH: 5, KW: 5, StrideH: 2, StrideW: 2, PadH: p2, PadW: p2},
		{InC: 64, InH: o2, InW: o2, OutC: 128, OutH: o3, OutW: o3, KH: 3, KW: 3, StrideH: 2, StrideW: 2},
	}
}

// BenchmarkConvDCEC_b256 runs, for each DCEC convolution at batch 256, the
// passes of one training step of the autoencoder: the encoder's forward and
// backward (with dx except for the first layer) and the decoder's transposed
// forward and backward (with dx). It reports GFLOP/s (2 flops per
// multiply-add of the GEMMs; three GEMMs per conv per direction).
func BenchmarkConvDCEC_b256(b *testing.B) {
	const n = 256
	rng := rand.New(rand.NewPCG(1, 2))
	gs := dcecConvs()
	type bufs struct{ x, w, bias, y, dy, dx, dw, db, xt, yt, dyt, dxt, bt []float32 }
	bs := make([]bufs, len(gs))
	flops := 0.0
	for i, g := range gs {
		bs[i] = bufs{
			x: randSlice(rng, n*g.InSize()), w: randSlice(rng, g.WeightSize()), bias: randSlice(rng, g.OutC),
			y: make([]float32, n*g.OutSize()), dy: randSlice(rng, n*g.OutSize()), dx: make([]float32, n*g.InSize()),
			dw: make([]float32, g.WeightSize()), db: make([]float32, g.OutC),
			xt: randSlice(rng, n*g.OutSize()), yt: make([]float32, n*g.InSize()), dyt: randSlice(rng, n*g.InSize()),
			dxt: make([]float32, n*g.OutSize()), bt: make([]float32, g.InC),
		}
		macs := float64(n * g.OutSize() * g.patch())
		flops += 2 * macs * 6
		if i == 0 {
			flops -= 2 * macs
		}
	}
	var ws ConvWorkspace
	step := func() {
		for i, g := range gs {
			p := &bs[i]
			dx := p.dx
			if i == 0 {
				dx = nil
			}
			Conv2DForward(g, n, p.x, p.w, p.bias, p.y, &ws)
			Conv2DBackward(g, n, p.x, p.w, p.dy, dx, p.dw, p.db, &ws)
			ConvTranspose2DForward(g, n, p.xt, p.w, p.bt, p.yt, &ws)
			ConvTranspose2DBackward(g, n, p.xt, p.w, p.dyt, p.dxt, p.dw, p.bt, &ws)
		}
	}
	step()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		step()
	}
	b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "samples/s")
}
