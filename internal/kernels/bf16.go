package kernels

import (
	"math"
	"sync"
)

// bfloat16 GEMM.
//
// A bfloat16 is the upper half of a float32: sign, the 8 exponent bits and
// 7 fraction bits. ToBF16 rounds a float32 to it as Intel's VCVTNE2PS2BF16
// does (Intel SDM vol. 2, convert_fp32_to_bfloat16): round to nearest, ties
// to even, by adding 0x7FFF plus the lowest kept bit to the bit pattern;
// zeros and subnormals become a zero of the same sign; infinities stay;
// NaNs keep their top bits with the quiet bit (bit 6 of the bf16) set.
//
// Packed panels hold pairs of bf16 values along the depth in 32-bit words
// (stored in []float32 as bit patterns, never as arithmetic values): the
// lower half is depth 2q, the upper half depth 2q+1, zero past the end.
// Two layouts exist:
//
//	pairs: step q of a width-w panel is w words, lane r at q·w + r
//	       (the AVX512_BF16 kernel's A and B, and the AMX kernel's B);
//	rows:  16-step blocks, row r of block t at t·16·w + r·16 + q%16
//	       (the AMX kernel's A: one tile row is 16 pairs of one row).
//
// The portable kernel (genericBF16) and the AVX512_BF16 kernel compute
// each element as VDPBF16PS defines it: for each pair, in depth order,
// acc ← acc + a₂q₊₁·b₂q₊₁ then acc ← acc + a₂q·b₂q, each a float32 FMA
// rounded to nearest even with subnormal results flushed to zero (Intel
// SDM vol. 2, VDPBF16PS), so the two give bit-identical results. The AMX
// kernel (TDPBF16PS) accumulates inside the tile unit in an order Intel
// does not specify; it matches within float32 rounding.

// ToBF16 returns the bfloat16 nearest to f (ties to even), as the bit
// pattern of the upper 16 bits of a float32.
func ToBF16(f float32) uint16 {
	u := math.Float32bits(f)
	switch {
	case u&0x7f800000 == 0: // zero or subnormal
		return uint16(u>>16) & 0x8000
	case u&0x7fffffff > 0x7f800000: // NaN
		return uint16(u>>16) | 0x40
	}
	return uint16((u + 0x7fff + (u>>16)&1) >> 16)
}

// FromBF16 returns the float32 equal to the bfloat16 h.
func FromBF16(h uint16) float32 { return math.Float32frombits(uint32(h) << 16) }

// bf16Pair packs the bf16 roundings of lo and hi into one word.
func bf16Pair(lo, hi float32) float32 {
	return math.Float32frombits(uint32(ToBF16(lo)) | uint32(ToBF16(hi))<<16)
}

// pairAt returns the packed pair of depths 2q and 2q+1 of a lane whose
// depth p is at x[p·stride] (depth kb and beyond read as zero), scaled by
// alpha before rounding.
func pairAt(x []float32, stride, q, kb int, alpha float32) float32 {
	lo := alpha * x[2*q*stride]
	var hi float32
	if 2*q+1 < kb {
		hi = alpha * x[(2*q+1)*stride]
	}
	return bf16Pair(lo, hi)
}

// packStridedPairsGo packs lanes rows of src (depth along a row) into the
// pairs layout: dst[q·width + r] = pair(src[r·ld + 2q], src[r·ld + 2q+1]),
// for the len(dst)/width steps of dst; lanes past lanes and steps past
// ⌈kb/2⌉ are zero.
func packStridedPairsGo(dst, src []float32, ld, lanes, kb, width int, alpha float32) {
	steps, pairs := len(dst)/width, ceilDiv(kb, 2)
	clear(dst[:steps*width])
	for r := range lanes {
		row := src[r*ld:][:kb]
		for q := range pairs {
			dst[q*width+r] = pairAt(row, 1, q, kb, alpha)
		}
	}
}

// packContigPairsGo packs lanes columns of src (depth down a column) into
// the pairs layout: dst[q·width + r] = pair(src[2q·ld + r], src[(2q+1)·ld + r]).
func packContigPairsGo(dst, src []float32, ld, lanes, kb, width int, alpha float32) {
	steps, pairs := len(dst)/width, ceilDiv(kb, 2)
	clear(dst[:steps*width])
	for r := range lanes {
		col := src[r:]
		for q := range pairs {
			dst[q*width+r] = pairAt(col, ld, q, kb, alpha)
		}
	}
}

// rowsOffset is where pair q of row r sits in a rows-layout panel of the
// given width.
func rowsOffset(q, r, width int) int { return q/16*16*width + r*16 + q%16 }

// packStridedRowsGo is packStridedPairsGo into the rows layout.
func packStridedRowsGo(dst, src []float32, ld, lanes, kb, width int, alpha float32) {
	steps, pairs := len(dst)/width, ceilDiv(kb, 2)
	clear(dst[:steps*width])
	for r := range lanes {
		row := src[r*ld:][:kb]
		for q := range pairs {
			dst[rowsOffset(q, r, width)] = pairAt(row, 1, q, kb, alpha)
		}
	}
}

// packContigRowsGo is packContigPairsGo into the rows layout.
func packContigRowsGo(dst, src []float32, ld, lanes, kb, width int, alpha float32) {
	steps, pairs := len(dst)/width, ceilDiv(kb, 2)
	clear(dst[:steps*width])
	for r := range lanes {
		col := src[r:]
		for q := range pairs {
			dst[rowsOffset(q, r, width)] = pairAt(col, ld, q, kb, alpha)
		}
	}
}

// Chunking of the bf16 kernels' depth: up to 512 (the packed panels then
// take as many bytes as float32 panels of 256).
const (
	kcMaxBF16  = 512
	kcMultBF16 = 2
)

// Tile of the portable bf16 kernel.
const (
	genericBF16MR = 4
	genericBF16NR = 8
)

// genericBF16 is the portable bf16 micro-kernel: the reference for the
// assembly ones, and GemmBF16's kernel where they cannot run.
var genericBF16 = microKernel{name: "generic", mr: genericBF16MR, nr: genericBF16NR, run: genericBF16Tile,
	strided: packStridedPairsGo, contig: packContigPairsGo, kstep: 2, kcMax: kcMaxBF16, kcMult: kcMultBF16}

// dotStep is one float32 FMA acc + x·y of bf16 values x and y, rounded
// to nearest even, with a subnormal result flushed to a zero of its sign
// (VDPBF16PS's arithmetic). x·y is exact in float64, and acc + x·y rounds
// correctly through float64: when the exact sum needs more than 53 bits the
// smaller term is below 2⁻⁵ of the larger's float32 ulp and cannot move
// the float32 rounding.
func dotStep(acc, x, y float32) float32 {
	s := float32(float64(acc) + float64(x)*float64(y))
	if math.Float32bits(s)&0x7f800000 == 0 {
		return math.Float32frombits(math.Float32bits(s) & 0x80000000)
	}
	return s
}

// genericBF16Tile is the portable bf16 microKernel.run for a
// genericBF16MR×genericBF16NR tile: C = acc + float32(beta·C), or acc when
// beta is 0.
func genericBF16Tile(k int, a, b, c []float32, ldc int, beta float32) {
	var acc [genericBF16MR][genericBF16NR]float32
	ks := ceilDiv(k, 2)
	a = a[:ks*genericBF16MR]
	b = b[:ks*genericBF16NR]
	for q := range ks {
		ap := (*[genericBF16MR]float32)(a[q*genericBF16MR:])
		bp := (*[genericBF16NR]float32)(b[q*genericBF16NR:])
		for i, av := range ap {
			au := math.Float32bits(av)
			a0, a1 := math.Float32frombits(au<<16), math.Float32frombits(au&0xffff0000)
			row := &acc[i]
			for j, bv := range bp {
				bu := math.Float32bits(bv)
				v := dotStep(row[j], a1, math.Float32frombits(bu&0xffff0000))
				row[j] = dotStep(v, a0, math.Float32frombits(bu<<16))
			}
		}
	}
	_ = c[(genericBF16MR-1)*ldc+genericBF16NR-1]
	for i := range acc {
		row := c[i*ldc : i*ldc+genericBF16NR]
		if beta == 0 {
			copy(row, acc[i][:])
			continue
		}
		for j, v := range acc[i] {
			row[j] = v + float32(beta*row[j])
		}
	}
}

var bf16Once struct {
	sync.Once
	kern *microKernel
}

// bf16Kernel returns the bf16 micro-kernel GemmBF16 uses, choosing it on
// first use (enabling AMX asks the OS for permission once).
func bf16Kernel() *microKernel {
	bf16Once.Do(func() { bf16Once.kern = bestBF16Kernel() })
	return bf16Once.kern
}

// HasBF16 reports whether bf16 products run in hardware here (AMX-BF16 or
// AVX512_BF16). Without it GemmBF16 still works, on the portable Go
// kernel, which is far slower than Gemm.
func HasBF16() bool { return bf16Kernel() != &genericBF16 }

// BF16Info names the kernel GemmBF16 runs on this machine: "amx",
// "avx512bf16" or "generic".
func BF16Info() string { return bf16Kernel().name }

// GemmBF16 computes C = alpha·op(A)·op(B) + beta·C like Gemm, but with
// op(A) and op(B) rounded to bfloat16 (after scaling A by alpha) and the
// products accumulated in float32. C stays float32. Results do not depend
// on the thread count. See the package comment for the kernels and their
// arithmetic.
func GemmBF16(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	GemmFused(BF16, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, nil)
}
