//go:build amd64 && !noasm

package kernels

import "golang.org/x/sys/cpu"

// kernel12x32BF16 is the AVX512_BF16 micro-kernel body for a 12×32 tile,
// steps packed pairs deep (bf16_amd64.s).
//
//go:noescape
func kernel12x32BF16(steps int, a, b, c *float32, ldc int, beta float32)

// pairsTransposeBF16 packs blocks of 32 depths of up to 16 rows into the
// pairs layout (bf16_amd64.s).
//
//go:noescape
func pairsTransposeBF16(dst, src *float32, ld, blocks, nrows, dstStride int, smask uint16)

// pairsInterleaveBF16 packs pairs of rows of up to 32 lanes into the pairs
// layout (bf16_amd64.s).
//
//go:noescape
func pairsInterleaveBF16(dst, src *float32, ld, pairs int, lmask0, lmask1, smask0, smask1 uint16, dstStride int)

// rowsBF16 packs blocks of 32 depths of rows rows into the rows layout
// (bf16_amd64.s).
//
//go:noescape
func rowsBF16(dst, src *float32, ld, rows, blocks, blockStride int)

// amxGrid is the AMX grid kernel body (bf16_amd64.s).
//
//go:noescape
func amxGrid(cfg *byte, a, b, c *float32, ldc, blocks, mt, nt, load int)

// avx512BF16Kernel multiplies bf16 pairs with VDPBF16PS, bit-identical to
// genericBF16.
var avx512BF16Kernel = microKernel{name: "avx512bf16", mr: 12, nr: 32,
	run: func(k int, a, b, c []float32, ldc int, beta float32) {
		steps := ceilDiv(k, 2)
		_, _, _ = a[steps*12-1], b[steps*32-1], c[11*ldc+31]
		kernel12x32BF16(steps, &a[0], &b[0], &c[0], ldc, beta)
	},
	strided: packStridedPairs512, contig: packContigPairs512,
	kstep: 2, kcMax: kcMaxBF16, kcMult: kcMultBF16}

// amxKernel multiplies 32×32 tiles of C with AMX TDPBF16PS: A in the rows
// layout, B in the pairs layout, depth padded to 16-pair tile blocks.
var amxKernel = microKernel{name: "amx", mr: 32, nr: 32,
	strided: packStridedRowsAMX, contig: packContigRowsAMX,
	bStrided: packStridedPairs512, bContig: packContigPairs512,
	kstep: 2, kpad: 16, kcMax: kcMaxBF16, kcMult: 32,
	grid: amxGridGo, unitBeta: true}

// amxConfig is the tile configuration: palette 1, tiles 0-7 of 16 rows of
// 64 bytes.
var amxConfig = func() (cfg [64]byte) {
	cfg[0] = 1
	for t := range 8 {
		cfg[16+2*t] = 64
		cfg[48+t] = 16
	}
	return cfg
}()

// amxGridGo is amxKernel's gridKernel.
func amxGridGo(steps int, a, b, c []float32, ldc, mt, nt int, beta float32) {
	_, _, _ = a[mt*32*steps-1], b[nt*32*steps-1], c[(mt*32-1)*ldc+nt*32-1]
	load := 0
	if beta != 0 {
		load = 1
	}
	amxGrid(&amxConfig[0], &a[0], &b[0], &c[0], ldc, steps/16, mt, nt, load)
}

// packStridedPairs512 is the AVX-512 strided pairs packer: whole blocks of
// 32 depths of 12- or 32-wide panels with alpha = 1 go through register
// transposes, the rest through packStridedPairsGo.
func packStridedPairs512(dst, src []float32, ld, lanes, kb, width int, alpha float32) {
	blocks := kb / 32
	if alpha != 1 || (width != 12 && width != 32) || blocks == 0 || lanes == 0 {
		packStridedPairsGo(dst, src, ld, lanes, kb, width, alpha)
		return
	}
	_, _ = dst[blocks*16*width-1], src[(lanes-1)*ld+blocks*32-1]
	if width == 12 {
		pairsTransposeBF16(&dst[0], &src[0], ld, blocks, lanes, width*4, 0xfff)
	} else {
		pairsTransposeBF16(&dst[0], &src[0], ld, blocks, min(lanes, 16), width*4, 0xffff)
		src1 := src[min(16*ld, len(src)-1):] // rows 16-31; unread when lanes ≤ 16
		pairsTransposeBF16(&dst[16], &src1[0], ld, blocks, max(lanes-16, 0), width*4, 0xffff)
	}
	done := blocks * 16
	packPairsTail(dst[done*width:], src, ld, lanes, kb, width, alpha, done, packStridedPairsGo, false)
}

// packContigPairs512 is the AVX-512 contiguous pairs packer for widths up
// to 32 (masked row loads), alpha = 1.
func packContigPairs512(dst, src []float32, ld, lanes, kb, width int, alpha float32) {
	pairs := kb / 2
	if width > 32 || lanes == 0 || alpha != 1 || pairs == 0 {
		packContigPairsGo(dst, src, ld, lanes, kb, width, alpha)
		return
	}
	_, _ = dst[pairs*width-1], src[(2*pairs-1)*ld+lanes-1]
	l0, l1, s0, s1 := laneMasks(lanes, width)
	pairsInterleaveBF16(&dst[0], &src[0], ld, pairs, l0, l1, s0, s1, width*4)
	packPairsTail(dst[pairs*width:], src, ld, lanes, kb, width, alpha, pairs, packContigPairsGo, true)
}

// packPairsTail packs the steps from done on (and zeroes the padding) of a
// panel whose first done steps are packed: dst starts at step done.
func packPairsTail(dst, src []float32, ld, lanes, kb, width int, alpha float32, done int, pack panelPacker, contig bool) {
	rest := kb - 2*done
	if rest <= 0 {
		clear(dst)
		return
	}
	off := 2 * done
	if contig {
		off *= ld
	}
	pack(dst, src[off:], ld, lanes, rest, width, alpha)
}

// packStridedRowsAMX packs the AMX A panel (width 32, rows layout) from
// rows with the depth along them.
func packStridedRowsAMX(dst, src []float32, ld, lanes, kb, width int, alpha float32) {
	blocks := kb / 32
	if alpha != 1 || width != 32 || blocks == 0 || lanes == 0 {
		packStridedRowsGo(dst, src, ld, lanes, kb, width, alpha)
		return
	}
	_, _ = dst[blocks*16*width-1], src[(lanes-1)*ld+blocks*32-1]
	rowsBF16(&dst[0], &src[0], ld, lanes, blocks, 16*width*4)
	for t := range blocks {
		clear(dst[t*16*width+lanes*16 : (t+1)*16*width])
	}
	if rest := kb - 32*blocks; rest > 0 {
		packStridedRowsGo(dst[blocks*16*width:], src[32*blocks:], ld, lanes, rest, width, alpha)
	} else {
		clear(dst[blocks*16*width:])
	}
}

// packContigRowsAMX packs the AMX A panel (width 32, rows layout) from
// columns with the depth down them: each block of 16 pairs is interleaved
// into a pairs-layout scratch and transposed into rows.
func packContigRowsAMX(dst, src []float32, ld, lanes, kb, width int, alpha float32) {
	blocks := kb / 32
	if alpha != 1 || width != 32 || blocks == 0 || lanes == 0 {
		packContigRowsGo(dst, src, ld, lanes, kb, width, alpha)
		return
	}
	_, _ = dst[blocks*16*width-1], src[(32*blocks-1)*ld+lanes-1]
	var scratch [16 * 32]float32
	l0, l1, _, _ := laneMasks(lanes, 32)
	for t := range blocks {
		pairsInterleaveBF16(&scratch[0], &src[t*32*ld], ld, 16, l0, l1, 0xffff, 0xffff, 32*4)
		for g := range 2 {
			transpose16AVX512(&dst[t*16*width+g*16*16], &scratch[g*16], 32, 1, 16, 16*4, 0xffff)
		}
	}
	if rest := kb - 32*blocks; rest > 0 {
		packContigRowsGo(dst[blocks*16*width:], src[32*blocks*ld:], ld, lanes, rest, width, alpha)
	} else {
		clear(dst[blocks*16*width:])
	}
}

// bestBF16Kernel picks AMX when the CPU has it and the OS grants it, else
// VDPBF16PS, else the portable kernel.
func bestBF16Kernel() *microKernel {
	ks := availableBF16Kernels()
	return ks[0]
}

// availableBF16Kernels lists every bf16 micro-kernel this machine can run,
// best first.
func availableBF16Kernels() []*microKernel {
	var ks []*microKernel
	if cpu.X86.HasAVX512F && cpu.X86.HasAMXTile && cpu.X86.HasAMXBF16 && amxPermitted() {
		ks = append(ks, &amxKernel)
	}
	if cpu.X86.HasAVX512F && cpu.X86.HasAVX512BF16 && cpu.X86.HasAVX512BW {
		ks = append(ks, &avx512BF16Kernel)
	}
	return append(ks, &genericBF16)
}
