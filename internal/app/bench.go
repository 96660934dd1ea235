package app

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/deepclust/deepclust/encoders/conv"
	"github.com/deepclust/deepclust/encoders/mlp"
	"github.com/deepclust/deepclust/internal/kernels"
	"github.com/deepclust/deepclust/losses/reconstruction"
	"github.com/deepclust/deepclust/sdk"
)

// BenchOptions control the bench command.
type BenchOptions struct {
	// Runs is the number of repetitions; the median is reported.
	Runs int
	// JSON prints the results as a JSON object instead of a table.
	JSON bool
}

// gemmShape is one GEMM measured by the bench command.
type gemmShape struct {
	name           string
	transA, transB bool
	m, n, k        int
}

// benchShapes are 1024³ and the GEMMs of one training step of the default
// d-500-500-2000-10 autoencoder at batch 256 (Y = X·Wᵀ forward, dX = dY·W
// and dW = dYᵀ·X backward), in the layouts the MLP encoder uses.
func benchShapes() []gemmShape {
	shapes := []gemmShape{{name: "1024x1024x1024 NN", m: 1024, n: 1024, k: 1024}}
	layers := [][2]int{{784, 500}, {500, 500}, {500, 2000}, {2000, 10}}
	for _, l := range layers {
		in, out := l[0], l[1]
		shapes = append(shapes,
			gemmShape{fmt.Sprintf("fwd 256x%d->%d NT", in, out), false, true, 256, out, in},
			gemmShape{fmt.Sprintf("dX 256x%d<-%d NN", in, out), false, false, 256, in, out},
			gemmShape{fmt.Sprintf("dW %dx%d TN", out, in), true, false, out, in, 256},
		)
	}
	return shapes
}

// Bench measures GEMM GFLOP/s and autoencoder training throughput.
func Bench(ctx context.Context, env Env, opt BenchOptions) error {
	if opt.Runs <= 0 {
		opt.Runs = 5
	}
	type row struct {
		Name   string  `json:"name"`
		GFLOPS float64 `json:"gflops"`
	}
	var rows []row
	rng := rand.New(rand.NewPCG(1, 2))
	for _, s := range benchShapes() {
		a, b, c := randSlice(rng, s.m*s.k), randSlice(rng, s.k*s.n), make([]float32, s.m*s.n)
		lda, ldb := s.k, s.n
		if s.transA {
			lda = s.m
		}
		if s.transB {
			ldb = s.k
		}
		sec := medianSeconds(opt.Runs, 0.2, func() {
			kernels.Gemm(s.transA, s.transB, s.m, s.n, s.k, 1, a, lda, b, ldb, 0, c, s.n)
		})
		rows = append(rows, row{s.name, 2 * float64(s.m) * float64(s.n) * float64(s.k) / sec / 1e9})
		if err := ctx.Err(); err != nil {
			return err
		}
	}
	ae, err := aeThroughput(ctx, mlp.New(), []int{784}, opt.Runs, rng)
	if err != nil {
		return err
	}
	cae, err := aeThroughput(ctx, conv.New(), []int{1, 28, 28}, opt.Runs, rng)
	if err != nil {
		return err
	}
	bf, err := benchBF16(ctx, opt.Runs, rng)
	if err != nil {
		return err
	}
	kb, err := benchKNN(ctx, opt.Runs)
	if err != nil {
		return err
	}
	km, err := benchKMeans(ctx, opt.Runs)
	if err != nil {
		return err
	}
	if opt.JSON {
		enc := json.NewEncoder(env.Stdout)
		enc.SetIndent("", "  ")
		out := map[string]any{
			"kernels":                 kernels.GemmInfo(),
			"gemm_1024_gflops":        rows[0].GFLOPS,
			"gemm":                    rows,
			"ae_train_samples_per_s":  ae,
			"cae_train_samples_per_s": cae,
			"runs":                    opt.Runs,
		}
		bf.addJSON(out)
		kb.addJSON(out)
		km.addJSON(out)
		return enc.Encode(out)
	}
	w := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(w, "kernels: %s (median of %d runs)\n", kernels.GemmInfo(), opt.Runs)
	fmt.Fprintln(w, "GEMM\tGFLOP/s")
	for _, r := range rows {
		fmt.Fprintf(w, "%s\t%.1f\n", r.Name, r.GFLOPS)
	}
	fmt.Fprintf(w, "autoencoder d-500-500-2000-10, batch 256, Adam, MSE\t%.0f samples/s\n", ae)
	fmt.Fprintf(w, "conv autoencoder (DCEC) 28x28, batch 256, Adam, MSE\t%.0f samples/s\n", cae)
	bf.text(w, rows[0].GFLOPS)
	kb.text(w)
	km.text(w)
	return w.Flush()
}

// aeThroughput trains an autoencoder with its default config on random
// data in [0,1] of the given sample shape, batch 256, with the MSE
// reconstruction loss, and returns training samples per second.
func aeThroughput(ctx context.Context, enc sdk.Encoder, shape []int, runs int, rng *rand.Rand) (float64, error) {
	return aeThroughputWith(ctx, enc, nil, shape, runs, rng)
}

// aeThroughputWith is aeThroughput with the encoder config raw (nil for
// the defaults).
func aeThroughputWith(ctx context.Context, enc sdk.Encoder, raw sdk.Config, shape []int, runs int, rng *rand.Rand) (float64, error) {
	const batch = 256
	d := 1
	for _, s := range shape {
		d *= s
	}
	loss := reconstruction.New()
	encCfg, err := sdk.ResolveConfig(enc.Describe(), raw)
	if err != nil {
		return 0, err
	}
	lossCfg, err := sdk.ResolveConfig(loss.Describe(), nil)
	if err != nil {
		return 0, err
	}
	if err := enc.Configure(ctx, sdk.Setup{Config: encCfg, InputShape: shape, Seed: 1}); err != nil {
		return 0, err
	}
	if err := loss.Configure(ctx, sdk.Setup{Config: lossCfg, InputShape: shape, Seed: 1}); err != nil {
		return 0, err
	}
	x := sdk.Tensor{Shape: append([]int{batch}, shape...), Data: randSlice(rng, batch*d)}
	var stepErr error
	step := func() {
		fwd, err := enc.Forward(ctx, x, true)
		if err == nil {
			var out sdk.LossOutput
			if out, err = loss.Eval(ctx, sdk.LossInput{X: x, XHat: fwd.XHat, Z: fwd.Z}); err == nil {
				err = enc.Backward(ctx, sdk.BackwardRequest{GradXHat: out.GradXHat})
			}
		}
		if err != nil && stepErr == nil {
			stepErr = err
		}
	}
	sec := medianSeconds(runs, 1, step)
	if stepErr != nil {
		return 0, fmt.Errorf("autoencoder bench (%s): %w", enc.Describe().Name, stepErr)
	}
	return batch / sec, nil
}

// medianSeconds runs f repeatedly for at least minSec per run, runs times,
// and returns the median seconds per call. One warm-up call comes first.
func medianSeconds(runs int, minSec float64, f func()) float64 {
	f()
	per := make([]float64, runs)
	for r := range per {
		n := 0
		begin := time.Now()
		for time.Since(begin).Seconds() < minSec || n == 0 {
			f()
			n++
		}
		per[r] = time.Since(begin).Seconds() / float64(n)
	}
	slices.Sort(per)
	return per[runs/2]
}

func randSlice(rng *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = rng.Float32()
	}
	return s
}
