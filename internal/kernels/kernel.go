package kernels

// microKernel is a register-blocked routine that computes one mr×nr tile
//
//	C[i][j] = Σ_p a[p·mr+i]·b[p·nr+j] + beta·C[i][j]
//
// from a packed A panel (k steps of mr values) and a packed B panel (k steps
// of nr values). C is row-major with row stride ldc and is not read when
// beta == 0. k is at least 1. strided and contig pack panels of width mr
// or nr for it.
type microKernel struct {
	name            string
	mr, nr          int
	run             func(k int, a, b, c []float32, ldc int, beta float32)
	strided, contig panelPacker
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
