package kernels

import (
	"fmt"
	"math"
)

// Precision selects the arithmetic of GemmFused's products.
type Precision uint8

const (
	// Float32 multiplies and accumulates in float32 (Gemm).
	Float32 Precision = iota
	// BF16 rounds op(A) and op(B) to bfloat16 and accumulates the products
	// in float32 (GemmBF16).
	BF16
)

// String returns "float32" or "bf16".
func (p Precision) String() string {
	if p == BF16 {
		return "bf16"
	}
	return "float32"
}

// Act is an activation an Epilogue applies or differentiates.
type Act uint8

const (
	// ActLinear is the identity.
	ActLinear Act = iota
	// ActReLU is max(0, v).
	ActReLU
	// ActLeakyReLU is v for v ≥ 0 and Slope·v below.
	ActLeakyReLU
	// ActSigmoid is 1/(1+e^(−v)), evaluated in float64 and rounded.
	ActSigmoid
)

// Epilogue is elementwise work fused into a GEMM's output pass: it runs on
// each tile of C right after the tile's last depth chunk, while the tile is
// still in cache, instead of as a separate sweep over C. It has two modes.
//
// Forward (Y nil): C[i][j] ← act(C[i][j] + Bias[j]) (no add when Bias is
// nil), with exactly the operations of a separate pass: v = c + b, then
// ReLU v < 0 → +0, leaky ReLU v < 0 → Slope·v, sigmoid in float64.
//
// Backward (Y non-nil, m×n with row stride LDY, the activation's outputs):
// C[i][j] ← C[i][j]·act'(Y[i][j]) with the derivative in terms of the
// output: ReLU Y ≤ 0 → +0, leaky ReLU Y ≤ 0 → C·Slope, sigmoid
// C·(Y·(1−Y)); a linear Act leaves C as it is.
//
// RowSumsA, when non-nil (length ≥ m), is overwritten with the row sums
// Σ_p op(A)[i][p] of the float32 A as given (alpha not applied), summed in
// ascending p: with A = Gᵀ in dW = Gᵀ·X this is a bias gradient Σ_rows G,
// bit-identical to a sequential column sum over G's rows.
//
// Every element's operations are the same whatever tile or goroutine
// applies them, so fused results do not depend on the thread count.
type Epilogue struct {
	Bias     []float32
	Y        []float32
	LDY      int
	Act      Act
	Slope    float32
	RowSumsA []float32
}

// check reports an epilogue that does not fit an m×n C.
func (e *Epilogue) check(m, n int) error {
	if e == nil {
		return nil
	}
	if e.Act > ActSigmoid {
		return fmt.Errorf("kernels: epilogue activation %d is unknown", e.Act)
	}
	if e.Bias != nil && e.Y != nil {
		return fmt.Errorf("kernels: epilogue has both Bias (forward) and Y (backward)")
	}
	if e.Bias != nil && len(e.Bias) < n {
		return fmt.Errorf("kernels: epilogue Bias has %d elements, C has %d columns", len(e.Bias), n)
	}
	if e.Y != nil {
		if err := checkMatrix("Y", m, n, e.Y, e.LDY); err != nil {
			return err
		}
	}
	if e.RowSumsA != nil && len(e.RowSumsA) < m {
		return fmt.Errorf("kernels: epilogue RowSumsA has %d elements, C has %d rows", len(e.RowSumsA), m)
	}
	return nil
}

// tileWork returns e when it has elementwise work to do after the last
// depth chunk, else nil.
func (e *Epilogue) tileWork(last bool) *Epilogue {
	if e == nil || !last {
		return nil
	}
	if e.Y != nil && e.Act != ActLinear || e.Y == nil && (e.Bias != nil || e.Act != ActLinear) {
		return e
	}
	return nil
}

// epilogueAsm, when set (amd64 with AVX-512), applies the rows×cols block
// of the epilogue at (i0, j0) to c and reports true; it declines (false)
// what it does not implement. Tests clear it to compare with applyGo.
var epilogueAsm func(e *Epilogue, c []float32, ldc, rows, cols, i0, j0 int) bool

// apply runs the epilogue on the rows×cols block of C at (i0, j0), whose
// first element is c[0].
func (e *Epilogue) apply(c []float32, ldc, rows, cols, i0, j0 int) {
	if epilogueAsm != nil && epilogueAsm(e, c, ldc, rows, cols, i0, j0) {
		return
	}
	e.applyGo(c, ldc, rows, cols, i0, j0)
}

// applyGo is the portable apply, the reference for the assembly.
func (e *Epilogue) applyGo(c []float32, ldc, rows, cols, i0, j0 int) {
	for r := range rows {
		row := c[r*ldc:][:cols]
		if e.Y != nil {
			actGrad(row, e.Y[(i0+r)*e.LDY+j0:][:cols], e.Act, e.Slope)
			continue
		}
		var bias []float32
		if e.Bias != nil {
			bias = e.Bias[j0:][:cols]
		}
		biasAct(row, bias, e.Act, e.Slope)
	}
}

// biasAct sets row[j] = act(row[j] + bias[j]) (no add when bias is nil).
func biasAct(row, bias []float32, act Act, slope float32) {
	for j, v := range row {
		if bias != nil {
			v += bias[j]
		}
		switch act {
		case ActReLU:
			if v < 0 {
				v = 0
			}
		case ActLeakyReLU:
			if v < 0 {
				v *= slope
			}
		case ActSigmoid:
			v = float32(1 / (1 + math.Exp(-float64(v))))
		}
		row[j] = v
	}
}

// actGrad multiplies row by the derivative of act at outputs y.
func actGrad(row, y []float32, act Act, slope float32) {
	y = y[:len(row)]
	for j, v := range row {
		switch act {
		case ActReLU:
			if y[j] <= 0 {
				v = 0
			}
		case ActLeakyReLU:
			if y[j] <= 0 {
				v *= slope
			}
		case ActSigmoid:
			s := y[j]
			v *= s * (1 - s)
		}
		row[j] = v
	}
}

// addRowSums adds Σ_p op(A)[i0+r][p] over p in [p0, p0+kb), ascending, to
// sums[r] for r < mb. op(A)[i][p] is a[i·lda+p], or a[p·lda+i] when trans.
func addRowSums(sums, a []float32, lda int, trans bool, i0, mb, p0, kb int) {
	sums = sums[:mb]
	if !trans {
		for r := range sums {
			s := sums[r]
			for _, v := range a[(i0+r)*lda+p0:][:kb] {
				s += v
			}
			sums[r] = s
		}
		return
	}
	for p := range kb {
		addRow(sums, a[(p0+p)*lda+i0:][:mb])
	}
}

// addRow is sums[r] += row[r]; amd64 replaces it with a vector loop (the
// same additions, one per element).
var addRow = func(sums, row []float32) {
	row = row[:len(sums)]
	for r, v := range row {
		sums[r] += v
	}
}

// GemmFused computes C = alpha·op(A)·op(B) + beta·C like Gemm (prec
// Float32) or GemmBF16 (prec BF16), with the epilogue e (may be nil)
// applied to each tile of C after its last depth chunk and e.RowSumsA
// filled while op(A) is packed. With k = 0 or alpha = 0, C = beta·C and the
// epilogue still runs. The results are those of the unfused GEMM followed
// by the separate passes, bit for bit, and do not depend on the thread
// count. GemmFused panics, like Gemm, on inconsistent sizes.
func GemmFused(prec Precision, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int, e *Epilogue) {
	g := gemmArgs{transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc, epi: e}
	if err := g.check(); err != nil {
		panic(err.Error())
	}
	if err := e.check(m, n); err != nil {
		panic(err.Error())
	}
	if e != nil && e.RowSumsA != nil {
		clear(e.RowSumsA[:m])
		if k > 0 && m > 0 && (alpha == 0 || n == 0) {
			addRowSums(e.RowSumsA, a, lda, transA, 0, m, 0, k)
		}
	}
	if m == 0 || n == 0 {
		return
	}
	if k == 0 || alpha == 0 {
		scaleRows(c, ldc, m, n, beta)
		if w := e.tileWork(true); w != nil {
			w.apply(c, ldc, m, n, 0, 0)
		}
		return
	}
	kern := active
	if prec == BF16 {
		kern = bf16Kernel()
	}
	if kern.unitBeta && beta != 0 && beta != 1 {
		scaleRows(c, ldc, m, n, beta)
		g.beta = 1
	}
	gemm(kern, &g)
}
