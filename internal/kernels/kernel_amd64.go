//go:build amd64 && !noasm

package kernels

import "golang.org/x/sys/cpu"

// kernel12x32AVX512 is the AVX-512 microKernel body for a 12×32 tile
// (kernel_amd64.s); pointers are to the first element of each operand.
//
//go:noescape
func kernel12x32AVX512(k int, a, b, c *float32, ldc int, beta float32)

// kernel6x16AVX2 is the AVX2+FMA microKernel body for a 6×16 tile.
//
//go:noescape
func kernel6x16AVX2(k int, a, b, c *float32, ldc int, beta float32)

// packContigAVX512 is the contiguous panelPacker body for widths up to 32
// (kernel_amd64.s).
//
//go:noescape
func packContigAVX512(dst, src *float32, ld, kb int, lmask0, lmask1, smask0, smask1 uint16, dstStride int, alpha float32)

// transpose16AVX512 transposes blocks of 16 steps of 12 or 16 rows into
// packed panel rows (kernel_amd64.s).
//
//go:noescape
func transpose16AVX512(dst, src *float32, ld, blocks, nrows, dstStride int, smask uint16)

var avx512Kernel = microKernel{name: "avx512", mr: 12, nr: 32, run: func(k int, a, b, c []float32, ldc int, beta float32) {
	_, _, _ = a[k*12-1], b[k*32-1], c[11*ldc+31]
	kernel12x32AVX512(k, &a[0], &b[0], &c[0], ldc, beta)
}, strided: packStrided512, contig: packContig512}

var avx2Kernel = microKernel{name: "avx2", mr: 6, nr: 16, run: func(k int, a, b, c []float32, ldc int, beta float32) {
	_, _, _ = a[k*6-1], b[k*16-1], c[5*ldc+15]
	kernel6x16AVX2(k, &a[0], &b[0], &c[0], ldc, beta)
}, strided: packStridedGo, contig: packContigGo}

// laneMasks returns the AVX-512 lane masks for lanes loaded lanes and width
// stored lanes, split into lanes 0-15 and 16-31.
func laneMasks(lanes, width int) (l0, l1, s0, s1 uint16) {
	bits := func(n int) uint16 { return uint16(1<<min(n, 16) - 1) }
	return bits(lanes), bits(max(lanes-16, 0)), bits(width), bits(max(width-16, 0))
}

// packStrided512 is the AVX-512 strided panelPacker: full 12-lane (A) and
// 32-lane (B) panels with alpha = 1 go through 16×16 register transposes,
// 16 steps at a time; the rest goes to packStridedGo.
func packStrided512(dst, src []float32, ld, lanes, kb, width int, alpha float32) {
	blocks := kb / 16
	if alpha != 1 || lanes != width || (width != 12 && width != 32) || blocks == 0 {
		packStridedGo(dst, src, ld, lanes, kb, width, alpha)
		return
	}
	groups, nrows, smask := 2, 16, uint16(0xffff)
	if width == 12 {
		groups, nrows, smask = 1, 12, 0xfff
	}
	_, _ = dst[kb*width-1], src[(lanes-1)*ld+kb-1]
	for g := range groups {
		transpose16AVX512(&dst[16*g], &src[16*g*ld], ld, blocks, nrows, width*4, smask)
	}
	if done := blocks * 16; done < kb {
		packStridedGo(dst[done*width:], src[done:], ld, lanes, kb-done, width, alpha)
	}
}

// packContig512 is the AVX-512 contiguous panelPacker (masked row loads).
func packContig512(dst, src []float32, ld, lanes, kb, width int, alpha float32) {
	if width > 32 || lanes == 0 {
		packContigGo(dst, src, ld, lanes, kb, width, alpha)
		return
	}
	_, _ = dst[kb*width-1], src[(kb-1)*ld+lanes-1]
	l0, l1, s0, s1 := laneMasks(lanes, width)
	packContigAVX512(&dst[0], &src[0], ld, kb, l0, l1, s0, s1, width*4, alpha)
}

// bestKernel picks the widest micro-kernel the CPU and OS support.
func bestKernel() *microKernel {
	switch {
	case cpu.X86.HasAVX512F:
		return &avx512Kernel
	case cpu.X86.HasAVX2 && cpu.X86.HasFMA:
		return &avx2Kernel
	}
	return &genericKernel
}

// availableKernels lists every micro-kernel this CPU can run, best first.
func availableKernels() []*microKernel {
	var ks []*microKernel
	if cpu.X86.HasAVX512F {
		ks = append(ks, &avx512Kernel)
	}
	if cpu.X86.HasAVX2 && cpu.X86.HasFMA {
		ks = append(ks, &avx2Kernel)
	}
	return append(ks, &genericKernel)
}
