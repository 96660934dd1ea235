package app

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"runtime"
	"strconv"
	"strings"

	"github.com/deepclust/deepclust/encoders/mlp"
	"github.com/deepclust/deepclust/internal/kernels"
	"github.com/deepclust/deepclust/sdk"
)

// bf16Bench holds the bench command's bfloat16 measurements and the
// processor's computed peaks.
type bf16Bench struct {
	kernel    string  // kernels.BF16Info()
	gemm1024  float64 // GemmBF16 1024³ NN, GFLOP/s
	aeSamples float64 // MLP autoencoder training, precision bf16
	peak      physicalPeak
}

// benchBF16 measures GemmBF16 at 1024³ and the default MLP autoencoder's
// training throughput with precision: bf16 (float32 where the processor
// has no bf16 hardware: the encoder falls back and says so).
func benchBF16(ctx context.Context, runs int, rng *rand.Rand) (bf16Bench, error) {
	const n = 1024
	a, b, c := randSlice(rng, n*n), randSlice(rng, n*n), make([]float32, n*n)
	sec := medianSeconds(runs, 0.2, func() {
		kernels.GemmBF16(false, false, n, n, n, 1, a, n, b, n, 0, c, n)
	})
	if err := ctx.Err(); err != nil {
		return bf16Bench{}, err
	}
	ae, err := aeThroughputWith(ctx, mlp.New(), sdk.Config{"precision": "bf16"}, []int{784}, runs, rng)
	if err != nil {
		return bf16Bench{}, err
	}
	return bf16Bench{kernel: kernels.BF16Info(), gemm1024: 2 * n * n * n / sec / 1e9, aeSamples: ae, peak: computePeak()}, nil
}

// addJSON adds the bf16 fields to the bench command's JSON object.
func (b bf16Bench) addJSON(out map[string]any) {
	out["kernels_bf16"] = b.kernel
	out["gemm_1024_gflops_bf16"] = b.gemm1024
	out["ae_train_samples_per_s_bf16"] = b.aeSamples
	out["physical_peak_gflops"] = b.peak
}

// text prints the bf16 lines of the bench table, with the fraction of the
// peaks that the 1024³ GEMMs reach (gemm32 is the float32 one).
func (b bf16Bench) text(w io.Writer, gemm32 float64) {
	p := b.peak
	fmt.Fprintf(w, "GEMM 1024x1024x1024 NN bf16 (%s)\t%.1f\n", b.kernel, b.gemm1024)
	fmt.Fprintf(w, "autoencoder d-500-500-2000-10, batch 256, Adam, MSE, precision bf16\t%.0f samples/s\n", b.aeSamples)
	fmt.Fprintf(w, "physical peak, %d cores at %.0f MHz (%s)\t\n", p.Cores, p.MHz, p.Model)
	fmt.Fprintf(w, "  fp32 FMA\t%.1f GFLOP/s (1024³ float32 GEMM: %.0f%%)\n", p.FP32, 100*gemm32/p.FP32)
	if p.BF16AVX512 > 0 {
		fmt.Fprintf(w, "  bf16 VDPBF16PS\t%.1f GFLOP/s\n", p.BF16AVX512)
	}
	if p.BF16AMX > 0 {
		fmt.Fprintf(w, "  bf16 AMX TDPBF16PS\t%.1f GFLOP/s\n", p.BF16AMX)
	}
	if best := max(p.BF16AMX, p.BF16AVX512); best > 0 {
		fmt.Fprintf(w, "  1024³ bf16 GEMM\t%.0f%% of the bf16 peak of its kernel\n", 100*b.gemm1024/b.peakOf())
	}
	fmt.Fprintf(w, "  how\t%s\n", p.How)
}

// peakOf is the peak of the kernel GemmBF16 runs.
func (b bf16Bench) peakOf() float64 {
	switch b.kernel {
	case "amx":
		return b.peak.BF16AMX
	case "avx512bf16":
		return b.peak.BF16AVX512
	}
	return b.peak.FP32
}

// physicalPeak is the processor's arithmetic peak computed from its clock
// and core count (JSON field physical_peak_gflops).
type physicalPeak struct {
	Model      string  `json:"model"`
	MHz        float64 `json:"mhz"`
	Cores      int     `json:"cores"`
	FP32       float64 `json:"fp32_fma"`
	BF16AVX512 float64 `json:"bf16_avx512,omitempty"`
	BF16AMX    float64 `json:"bf16_amx,omitempty"`
	How        string  `json:"how"`
}

// Per-core, per-cycle rates behind computePeak.
const (
	// Two 512-bit FMA units (ports 0 and 5 on Xeon Scalable), 16 float32
	// lanes, 2 flops per FMA.
	fp32FlopsPerCycle = 2 * 16 * 2
	// VDPBF16PS: 16 lanes × 2 bf16 pairs × 2 flops = 64 flops per
	// instruction, at one instruction every 2 cycles: the throughput
	// measured on this Sapphire Rapids class processor with 24 independent
	// accumulators (a quarter of the VFMADD231PS instruction rate, so half
	// the float32 FMA flops). Intel does not document it.
	bf16AVX512FlopsPerCycle = 64 / 2
	// TDPBF16PS: a 16×16 float32 tile += 16×32 · 32×16 bf16 tiles, 8192
	// multiply-adds, issued once per 16 cycles: 1024 flops per cycle
	// (Intel's figure for AMX-BF16).
	bf16AMXFlopsPerCycle = 1024
)

// computePeak reads the model name and clock of the first processor in
// /proc/cpuinfo (Linux; elsewhere the clock is unknown and the peaks 0)
// and takes runtime.NumCPU() logical processors as cores.
func computePeak() physicalPeak {
	p := physicalPeak{Cores: runtime.NumCPU(), Model: "unknown"}
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			key, val, ok := strings.Cut(sc.Text(), ":")
			key, val = strings.TrimSpace(key), strings.TrimSpace(val)
			switch {
			case !ok:
			case key == "model name" && p.Model == "unknown":
				p.Model = val
			case key == "cpu MHz" && p.MHz == 0:
				p.MHz, _ = strconv.ParseFloat(val, 64)
			}
		}
		f.Close()
	}
	ghzCores := p.MHz / 1000 * float64(p.Cores)
	p.FP32 = ghzCores * fp32FlopsPerCycle
	switch kernels.BF16Info() {
	case "amx":
		p.BF16AMX = ghzCores * bf16AMXFlopsPerCycle
		p.BF16AVX512 = ghzCores * bf16AVX512FlopsPerCycle
	case "avx512bf16":
		p.BF16AVX512 = ghzCores * bf16AVX512FlopsPerCycle
	}
	p.How = fmt.Sprintf("cores × GHz × flops per cycle per core: fp32 %d (2 AVX-512 FMA units × 16 lanes × 2), "+
		"bf16 VDPBF16PS %d (64 flops per instruction, one per 2 cycles as measured here), "+
		"bf16 AMX %d (TDPBF16PS, 16384 flops per 16 cycles); the clock is /proc/cpuinfo's cpu MHz, "+
		"each logical CPU counted as a core, no turbo", fp32FlopsPerCycle, bf16AVX512FlopsPerCycle, bf16AMXFlopsPerCycle)
	return p
}
