package kernels

// microKernel is a register-blocked routine that computes one mr×nr tile
//
//	C[i][j] = Σ_p a[p·mr+i]·b[p·nr+j] + beta·C[i][j]
//
// from a packed A panel (k steps of mr values) and a packed B panel (k steps
// of nr values). C is row-major with row stride ldc and is not read when
// beta == 0. k is at least 1. strided and contig pack panels of width mr
// or nr for it.
//
// The float32 kernels leave the fields after contig zero. A bf16 kernel packs
// kstep = 2 depths into one 32-bit step (a pair of bf16 values), pads the
// steps of a panel to a multiple of kpad, cuts the depth into chunks of at
// most kcMax that are multiples of kcMult, and may pack op(B) with its own
// bStrided/bContig. A kernel with grid computes a whole grid of full tiles
// per call instead of run (see gridKernel).
type microKernel struct {
	name            string
	mr, nr          int
	run             func(k int, a, b, c []float32, ldc int, beta float32)
	strided, contig panelPacker

	kstep, kpad       int
	kcMax, kcMult     int
	bStrided, bContig panelPacker
	grid              gridKernel
	// unitBeta kernels take beta ∈ {0, 1} only; Gemm scales C first.
	unitBeta bool
}

// gridKernel computes the mt×nt full mr×nr tiles of C at c (row stride
// ldc) from mt packed A panels at a and nt packed B panels at b, each panel
// steps packed steps deep; C is overwritten when beta is 0 and accumulated
// into when it is 1.
type gridKernel func(steps int, a, b, c []float32, ldc, mt, nt int, beta float32)

// steps returns the packed steps of a kb-deep panel.
func (k *microKernel) steps(kb int) int {
	s := kb
	if k.kstep > 1 {
		s = ceilDiv(kb, k.kstep)
	}
	if k.kpad > 1 {
		s = roundUp(s, k.kpad)
	}
	return s
}

// chunk is the depth of each rank-kc update for a total depth of k: it
// depends on k and the kernel alone, so every element is summed in the same
// order whatever the thread count.
func (k *microKernel) chunk(depth int) int {
	if k.kcMax == 0 {
		return kcFor(depth)
	}
	chunks := ceilDiv(depth, k.kcMax)
	return roundUp(ceilDiv(depth, chunks), max(k.kcMult, 1))
}

// packersB returns the strided and contiguous packers of op(B) panels.
func (k *microKernel) packersB() (strided, contig panelPacker) {
	if k.bStrided != nil {
		return k.bStrided, k.bContig
	}
	return k.strided, k.contig
}

// Tile of the portable kernel.
const (
	genericMR = 4
	genericNR = 8
)

// genericKernel is the portable micro-kernel used off amd64 and under the
// noasm build tag.
var genericKernel = microKernel{name: "generic", mr: genericMR, nr: genericNR, run: genericTile,
	strided: packStridedGo, contig: packContigGo}

// genericTile is the pure-Go microKernel.run for a genericMR×genericNR tile.
func genericTile(k int, a, b, c []float32, ldc int, beta float32) {
	var acc [genericMR][genericNR]float32
	a = a[:k*genericMR]
	b = b[:k*genericNR]
	for p := 0; p < k; p++ {
		ap := (*[genericMR]float32)(a[p*genericMR:])
		bp := (*[genericNR]float32)(b[p*genericNR:])
		for i, ai := range ap {
			row := &acc[i]
			for j, bj := range bp {
				row[j] += ai * bj
			}
		}
	}
	_ = c[(genericMR-1)*ldc+genericNR-1]
	for i := range acc {
		row := c[i*ldc : i*ldc+genericNR]
		if beta == 0 {
			copy(row, acc[i][:])
			continue
		}
		for j, v := range acc[i] {
			row[j] = v + beta*row[j]
		}
	}
}
