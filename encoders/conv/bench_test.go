package conv

import (
	"context"
	"testing"

	"github.com/deepclust/deepclust/sdk"
)

// BenchmarkTrainStepDCEC_b256 measures one Adam training step of DCEC's
// autoencoder on 28×28 images (training Forward, then Backward of an
// MSE-style gradient on x̂) at batch 256.
func BenchmarkTrainStepDCEC_b256(b *testing.B) {
	ctx := context.Background()
	e := New()
	if err := e.Configure(ctx, sdk.Setup{InputShape: []int{1, 28, 28}, Seed: 1}); err != nil {
		b.Fatal(err)
	}
	x := sdk.NewTensor(256, 1, 28, 28)
	for i := range x.Data {
		x.Data[i] = float32(i%255) / 255
	}
	grad := sdk.NewTensor(256, 1, 28, 28)
	step := func() {
		f, err := e.Forward(ctx, x, true)
		if err != nil {
			b.Fatal(err)
		}
		for i, v := range f.XHat.Data {
			grad.Data[i] = 2 * (v - x.Data[i]) / float32(len(grad.Data))
		}
		if err := e.Backward(ctx, sdk.BackwardRequest{GradXHat: grad}); err != nil {
			b.Fatal(err)
		}
	}
	step() // size the buffers outside the timed loop
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		step()
	}
	b.ReportMetric(float64(b.N*256)/b.Elapsed().Seconds(), "samples/s")
}
