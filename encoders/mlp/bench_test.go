package mlp

import (
	"context"
	"testing"

	"github.com/deepclust/deepclust/sdk"
)

// benchEncoder configures the usual DEC autoencoder 784-500-500-2000-10 and
// a batch of rows synthetic inputs.
func benchEncoder(b *testing.B, rows int, cfg sdk.Config) (*Encoder, sdk.Tensor) {
	b.Helper()
	e := New()
	if err := e.Configure(context.Background(), sdk.Setup{Config: cfg, InputShape: []int{784}, Seed: 1}); err != nil {
		b.Fatal(err)
	}
	x := sdk.NewTensor(rows, 784)
	for i := range x.Data {
		x.Data[i] = float32(i%255) / 255
	}
	return e, x
}

// BenchmarkTrainStep_784_500_500_2000_10_b256 measures one Adam training
// step (training Forward + Backward of ∂L/∂x̂) on a batch of 256.
func BenchmarkTrainStep_784_500_500_2000_10_b256(b *testing.B) {
	benchTrainStep(b, nil)
}

// BenchmarkTrainStepBF16_784_500_500_2000_10_b256 is the same step with
// precision: bf16.
func BenchmarkTrainStepBF16_784_500_500_2000_10_b256(b *testing.B) {
	benchTrainStep(b, sdk.Config{"precision": "bf16"})
}

// benchTrainStep times training steps of the default network with cfg.
func benchTrainStep(b *testing.B, cfg sdk.Config) {
	ctx := context.Background()
	e, x := benchEncoder(b, 256, cfg)
	grad := sdk.NewTensor(256, 784)
	for i := range grad.Data {
		grad.Data[i] = float32(i%7-3) * 1e-6
	}
	step := func() {
		if _, err := e.Forward(ctx, x, true); err != nil {
			b.Fatal(err)
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

// BenchmarkForward_784_500_500_2000_10_b256 measures an evaluation Forward
// on a batch of 256.
func BenchmarkForward_784_500_500_2000_10_b256(b *testing.B) {
	ctx := context.Background()
	e, x := benchEncoder(b, 256, nil)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.Forward(ctx, x, false); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*256)/b.Elapsed().Seconds(), "samples/s")
}
