package kernels

// panelPacker copies kb steps of up to width lanes of a row-major matrix
// into a packed panel, scaling by alpha and zero-filling lanes past lanes:
//
//	strided: dst[p·width + r] = alpha·src[r·ld + p]
//	contig:  dst[p·width + r] = alpha·src[p·ld + r]
//
// for 0 ≤ p < kb, 0 ≤ r < lanes ≤ width.
type panelPacker func(dst, src []float32, ld, lanes, kb, width int, alpha float32)

// packStridedGo is the portable strided panelPacker.
func packStridedGo(dst, src []float32, ld, lanes, kb, width int, alpha float32) {
	dst = dst[:kb*width]
	for r := range lanes {
		for p, v := range src[r*ld:][:kb] {
			dst[p*width+r] = alpha * v
		}
	}
	for r := lanes; r < width; r++ {
		for p := range kb {
			dst[p*width+r] = 0
		}
	}
}

// packContigGo is the portable contiguous panelPacker.
func packContigGo(dst, src []float32, ld, lanes, kb, width int, alpha float32) {
	for p := range kb {
		d := dst[p*width : p*width+width]
		for r, v := range src[p*ld:][:lanes] {
			d[r] = alpha * v
		}
		clear(d[lanes:])
	}
}

// packA copies the mb×kb block of op(A) starting at row i0, column p0 into
// dst as consecutive mr-row panels, each kb steps of mr values, scaled by
// alpha. Rows past mb in the last panel are zero, so the micro-kernel can run
// a full tile there. op(A)[i][p] is a[i·lda+p], or a[p·lda+i] when trans.
func (k *microKernel) packA(dst, a []float32, lda int, trans bool, i0, mb, p0, kb int, alpha float32) {
	ks := k.steps(kb)
	for ip := 0; ip < mb; ip += k.mr {
		panel := dst[ip*ks:][:k.mr*ks]
		rows := min(k.mr, mb-ip)
		if trans {
			k.contig(panel, a[p0*lda+i0+ip:], lda, rows, kb, k.mr, alpha)
		} else {
			k.strided(panel, a[(i0+ip)*lda+p0:], lda, rows, kb, k.mr, alpha)
		}
	}
}

// packBPanel copies the kb×cols block of op(B) at row p0, column j0 into one
// nr-column panel, zero-filling columns past cols. op(B)[p][j] is
// b[p·ldb+j], or b[j·ldb+p] when trans.
func (k *microKernel) packBPanel(panel, b []float32, ldb int, trans bool, p0, kb, j0, cols int) {
	strided, contig := k.packersB()
	if trans {
		strided(panel, b[j0*ldb+p0:], ldb, cols, kb, k.nr, 1)
	} else {
		contig(panel, b[p0*ldb+j0:], ldb, cols, kb, k.nr, 1)
	}
}

// packB copies the kb×nb block of op(B) at row p0, column j0 into dst as
// consecutive nr-column panels.
func (k *microKernel) packB(dst, b []float32, ldb int, trans bool, p0, kb, j0, nb int) {
	ks := k.steps(kb)
	for jp := 0; jp < nb; jp += k.nr {
		k.packBPanel(dst[jp*ks:][:k.nr*ks], b, ldb, trans, p0, kb, j0+jp, min(k.nr, nb-jp))
	}
}
