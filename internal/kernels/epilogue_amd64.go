//go:build amd64 && !noasm

package kernels

import "golang.org/x/sys/cpu"

// epiParams is an Epilogue block as epilogue512 reads it (field offsets are
// fixed in epilogue_amd64.s).
type epiParams struct {
	bias  *float32 // Bias at the block's first column (mode 1)
	y     *float32 // Y at the block's first element (mode 3)
	ldy   int      // Y's row stride in bytes
	mode  int      // 1 bias + act, 2 act without bias, 3 gradient
	act   int      // Act
	slope float32
}

// epilogue512 applies p to rows rows of up to 32 columns (epilogue_amd64.s).
//
//go:noescape
func epilogue512(c *float32, ldc, rows int, mask0, mask1 uint16, p *epiParams)

// addRow512 adds row to sums, n (a multiple of 16) elements.
//
//go:noescape
func addRow512(sums, row *float32, n int)

func init() {
	if !cpu.X86.HasAVX512F {
		return
	}
	epilogueAsm = applyAVX512
	addRow = func(sums, row []float32) {
		row = row[:len(sums)]
		n := len(sums) &^ 15
		if n > 0 {
			addRow512(&sums[0], &row[0], n)
		}
		for r := n; r < len(sums); r++ {
			sums[r] += row[r]
		}
	}
}

// applyAVX512 is epilogueAsm on AVX-512: every case but the forward
// sigmoid (exp in float64 stays in Go), 32 columns per call.
func applyAVX512(e *Epilogue, c []float32, ldc, rows, cols, i0, j0 int) bool {
	if e.Y == nil && e.Act == ActSigmoid {
		return false
	}
	if rows == 0 || cols == 0 {
		return true
	}
	_ = c[(rows-1)*ldc+cols-1]
	p := epiParams{act: int(e.Act), slope: e.Slope, mode: 2}
	switch {
	case e.Y != nil:
		_ = e.Y[(i0+rows-1)*e.LDY+j0+cols-1]
		p.mode, p.ldy = 3, e.LDY*4
	case e.Bias != nil:
		_ = e.Bias[j0+cols-1]
		p.mode = 1
	}
	for x := 0; x < cols; x += 32 {
		w := min(32, cols-x)
		if p.mode == 3 {
			p.y = &e.Y[i0*e.LDY+j0+x]
		} else if p.mode == 1 {
			p.bias = &e.Bias[j0+x]
		}
		m0, m1, _, _ := laneMasks(w, w)
		epilogue512(&c[x], ldc, rows, m0, m1, &p)
	}
	return true
}
