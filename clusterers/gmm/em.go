package gmm

import (
	"context"
	"fmt"
	"math"
	"sync"
	"sync/atomic"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/mat"
)

const (
	// chunkRows is the fixed number of rows per parallel work item of the
	// E-step and the loss. Results depend on it (per-chunk partial sums are
	// added in chunk order), never on the number of goroutines.
	chunkRows = 512
	// workers is the number of goroutines sharing the chunks of the E-step
	// and the components of the M-step.
	workers = 2
	// nkFloor is what scikit-learn adds to every component's total
	// responsibility n_j (10·ε of float64) so that an empty component
	// divides by a positive number.
	nkFloor = 10 * 0x1p-52
	// respFloor is the smallest responsibility the M-step sums. Smaller
	// ones together weigh less than n·1e-200, far below the float64
	// resolution of n_j ≥ nkFloor (and of the means and covariances they
	// scale), so leaving them out changes nothing representable; it
	// avoids subnormal arithmetic, which is very slow, and skips the rows
	// a component does not take part in.
	respFloor = 1e-200
)

// log2Pi is log(2π).
var log2Pi = math.Log(2 * math.Pi)

// data is a row-major n×d float32 matrix; values are widened to float64 as
// they are read.
type data struct {
	x    []float32
	n, d int
}

func (a *data) row(i int) []float32 { return a.x[i*a.d : (i+1)*a.d] }

func numChunks(n int) int { return (n + chunkRows - 1) / chunkRows }

// parallel calls f(item) for item in [0, items) from up to workers
// goroutines. f must write only to memory owned by its item.
func parallel(items int, f func(item int)) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(workers, items) {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= items {
					return
				}
				f(i)
			}
		})
	}
	wg.Wait()
}

// forEachChunk calls f(chunk, lo, hi) for every chunk of rows [lo, hi) of n.
func forEachChunk(n int, f func(chunk, lo, hi int)) {
	parallel(numChunks(n), func(c int) { f(c, c*chunkRows, min(n, (c+1)*chunkRows)) })
}

// mixture holds the parameters of a k-component Gaussian mixture in d
// dimensions, with the Cholesky factors of the precisions that the E-step
// uses.
type mixture struct {
	k, d int
	diag bool
	// weights are the mixing proportions π_j, summing to 1.
	weights []float64
	// means are the μ_j, row-major k × d.
	means []float64
	// cov holds the Σ_j: k row-major d × d matrices (full) or k × d
	// variances (diag).
	cov []float64
	// precChol holds U_j with Σ_j⁻¹ = U_j U_jᵀ: the upper-triangular
	// L_j^{−T} of the Cholesky factor Σ_j = L_j L_jᵀ, k row-major d × d
	// matrices (full; the strict lower triangle is zero), or 1/σ_jt, k × d
	// (diag). scikit-learn's precisions_cholesky_.
	precChol []float64
	// logDet is Σ_t log U_j,tt = −½ log det Σ_j.
	logDet []float64
}

// covLen is the number of covariance values per component.
func covLen(d int, diag bool) int {
	if diag {
		return d
	}
	return d * d
}

func newMixture(k, d int, diag bool) *mixture {
	c := covLen(d, diag)
	return &mixture{k: k, d: d, diag: diag, weights: make([]float64, k), means: make([]float64, k*d),
		cov: make([]float64, k*c), precChol: make([]float64, k*c), logDet: make([]float64, k)}
}

func (m *mixture) clone() *mixture {
	return &mixture{k: m.k, d: m.d, diag: m.diag, weights: clone(m.weights), means: clone(m.means),
		cov: clone(m.cov), precChol: clone(m.precChol), logDet: clone(m.logDet)}
}

func clone[T any](s []T) []T { return append([]T(nil), s...) }

// errIllDefined is returned when a covariance is not positive definite.
type errIllDefined struct{ component int }

func (e errIllDefined) Error() string {
	return fmt.Sprintf("component %d has an ill-defined covariance (not positive definite, e.g. collapsed "+
		"or singleton samples): decrease k or increase reg_covar", e.component)
}

// factor computes precChol and logDet from cov, as scikit-learn's
// _compute_precision_cholesky: full, the Cholesky factor L_j of Σ_j
// (gonum's mat.Cholesky) and U_j = L_j^{−T} by a triangular solve; diag,
// 1/σ_jt. A covariance that is not positive definite (or not finite) is an
// errIllDefined error.
func (m *mixture) factor() error {
	d, c := m.d, covLen(m.d, m.diag)
	for j := range m.k {
		cov, prec := m.cov[j*c:(j+1)*c], m.precChol[j*c:(j+1)*c]
		for _, v := range cov {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return errIllDefined{j}
			}
		}
		var logDet float64
		if m.diag {
			for t, v := range cov {
				if !(v > 0) {
					return errIllDefined{j}
				}
				prec[t] = 1 / math.Sqrt(v)
				logDet += math.Log(prec[t])
			}
			m.logDet[j] = logDet
			continue
		}
		var ch mat.Cholesky
		if !ch.Factorize(mat.NewSymDense(d, clone(cov))) {
			return errIllDefined{j}
		}
		var l mat.TriDense
		ch.LTo(&l)
		// X = L⁻¹ from L·X = I; U = Xᵀ.
		inv := make([]float64, d*d)
		for t := range d {
			inv[t*d+t] = 1
		}
		raw := l.RawTriangular()
		blas64.Trsm(blas.Left, blas.NoTrans, 1, raw, blas64.General{Rows: d, Cols: d, Stride: d, Data: inv})
		for s := range d {
			for t := range d {
				prec[s*d+t] = 0
				if s <= t {
					prec[s*d+t] = inv[t*d+s]
				}
			}
			if !(prec[s*d+s] > 0) || math.IsInf(prec[s*d+s], 0) {
				return errIllDefined{j}
			}
			logDet += math.Log(prec[s*d+s])
		}
		m.logDet[j] = logDet
	}
	return nil
}

// whiten sets y (rows × d, row-major) to the whitened differences
// y_r = (x_{lo+r} − μ_j)ᵀ U_j for rows [lo, lo+rows), so that
// ‖y_r‖² = (x − μ_j)ᵀ Σ_j⁻¹ (x − μ_j).
func (m *mixture) whiten(a *data, lo, rows, j int, y []float64) {
	d := m.d
	mu := m.means[j*d : (j+1)*d]
	for r := range rows {
		yr := y[r*d : (r+1)*d]
		for t, v := range a.row(lo + r) {
			yr[t] = float64(v) - mu[t]
		}
	}
	if m.diag {
		p := m.precChol[j*d : (j+1)*d]
		for r := range rows {
			yr := y[r*d : (r+1)*d]
			for t := range yr {
				yr[t] *= p[t]
			}
		}
		return
	}
	u := blas64.Triangular{Uplo: blas.Upper, Diag: blas.NonUnit, N: d, Stride: d, Data: m.precChol[j*d*d : (j+1)*d*d]}
	blas64.Trmm(blas.Right, blas.NoTrans, 1, u, blas64.General{Rows: rows, Cols: d, Stride: d, Data: y[:rows*d]})
}

// unwhiten turns whitened rows y into Σ_j⁻¹(x − μ_j) = U_j y in place.
func (m *mixture) unwhiten(rows, j int, y []float64) {
	d := m.d
	if m.diag {
		p := m.precChol[j*d : (j+1)*d]
		for r := range rows {
			yr := y[r*d : (r+1)*d]
			for t := range yr {
				yr[t] *= p[t]
			}
		}
		return
	}
	u := blas64.Triangular{Uplo: blas.Upper, Diag: blas.NonUnit, N: d, Stride: d, Data: m.precChol[j*d*d : (j+1)*d*d]}
	blas64.Trmm(blas.Right, blas.Trans, 1, u, blas64.General{Rows: rows, Cols: d, Stride: d, Data: y[:rows*d]})
}

// logSumExp turns the weighted log-densities ℓ_j of one row (in place) into
// log responsibilities ℓ_j − log p and returns log p = log Σ_j exp ℓ_j.
func logSumExp(l []float64) float64 {
	hi := math.Inf(-1)
	for _, v := range l {
		hi = max(hi, v)
	}
	if math.IsInf(hi, -1) || math.IsNaN(hi) {
		return hi
	}
	var s float64
	for _, v := range l {
		s += math.Exp(v - hi)
	}
	lp := hi + math.Log(s)
	for j := range l {
		l[j] -= lp
	}
	return lp
}

// errUnderflow reports a row whose density is 0 (or NaN) under every
// component.
type errUnderflow struct{ row int }

func (e errUnderflow) Error() string {
	return fmt.Sprintf("row %d has zero density under every component (log-likelihood −Inf): "+
		"the embeddings are too far from every component for float64; increase reg_covar", e.row)
}

// eStep computes, for rows [0, n) of a, the responsibilities γ_ij into
// resp (n × k; nil to skip), log p(x_i) into logp (nil to skip), and, when
// grad is non-nil (n × d), grad_i = Σ_j γ_ij Σ_j⁻¹(x_i − μ_j). It returns
// Σ_i log p(x_i), summed per chunk and then over chunks in order; a row
// with a non-finite log-likelihood is an errUnderflow.
func (m *mixture) eStep(a *data, resp, logp, grad []float64) (float64, error) {
	k, d := m.k, m.d
	parts := make([]float64, numChunks(a.n))
	bad := make([]int, numChunks(a.n))
	logW := make([]float64, k)
	for j, w := range m.weights {
		logW[j] = math.Log(w)
	}
	norm := -0.5 * float64(d) * log2Pi
	forEachChunk(a.n, func(ch, lo, hi int) {
		rows := hi - lo
		l := make([]float64, rows*k)
		// ys[j] holds component j's whitened rows; the gradient needs all
		// of them, the rest one at a time.
		ys := make([][]float64, k)
		for j := range k {
			if j == 0 || grad != nil {
				ys[j] = make([]float64, rows*d)
			} else {
				ys[j] = ys[0]
			}
			y := ys[j]
			m.whiten(a, lo, rows, j, y)
			for r := range rows {
				var sq float64
				for _, v := range y[r*d : (r+1)*d] {
					sq += v * v
				}
				l[r*k+j] = norm - 0.5*sq + m.logDet[j] + logW[j]
			}
		}
		bad[ch] = -1
		var sum float64
		for r := range rows {
			lp := logSumExp(l[r*k : (r+1)*k])
			if math.IsInf(lp, 0) || math.IsNaN(lp) {
				if bad[ch] < 0 {
					bad[ch] = lo + r
				}
				continue
			}
			sum += lp
			if logp != nil {
				logp[lo+r] = lp
			}
			if resp != nil {
				for j, v := range l[r*k : (r+1)*k] {
					resp[(lo+r)*k+j] = math.Exp(v)
				}
			}
		}
		parts[ch] = sum
		if grad == nil || bad[ch] >= 0 {
			return
		}
		g := grad[lo*d : hi*d]
		clear(g)
		for j := range k {
			m.unwhiten(rows, j, ys[j])
			for r := range rows {
				gamma := math.Exp(l[r*k+j])
				if gamma < respFloor {
					continue
				}
				gr, yr := g[r*d:(r+1)*d], ys[j][r*d:(r+1)*d]
				for t, v := range yr {
					gr[t] += gamma * v
				}
			}
		}
	})
	var total float64
	for ch, s := range parts {
		if bad[ch] >= 0 {
			return 0, errUnderflow{bad[ch]}
		}
		total += s
	}
	return total, nil
}

// mStep sets weights, means and covariances from the responsibilities resp
// (n × k) as scikit-learn's _estimate_gaussian_parameters, then factors the
// covariances (responsibilities below respFloor are left out of the sums):
//
//	n_j = Σ_i γ_ij + 10ε,  μ_j = Σ_i γ_ij x_i / n_j,
//	Σ_j = Σ_i γ_ij (x_i − μ_j)(x_i − μ_j)ᵀ / n_j + reg·I   (diag: the diagonal only),
//
// with π_j = n_j/n when initial is set (scikit-learn's _initialize) and
// π_j = n_j/Σ_l n_l otherwise (its _m_step). Components are computed in
// parallel, each by one goroutine over all rows in order.
func (m *mixture) mStep(a *data, resp []float64, reg float64, initial bool) error {
	k, d, c := m.k, m.d, covLen(m.d, m.diag)
	nk := make([]float64, k)
	parallel(k, func(j int) {
		// The rows this component takes part in: γ_ij ≥ respFloor.
		var rows []int
		var s float64
		for i := range a.n {
			if r := resp[i*k+j]; r >= respFloor {
				rows = append(rows, i)
				s += r
			}
		}
		s += nkFloor
		nk[j] = s
		mu := m.means[j*d : (j+1)*d]
		clear(mu)
		for _, i := range rows {
			r := resp[i*k+j]
			for t, v := range a.row(i) {
				mu[t] += r * float64(v)
			}
		}
		for t := range mu {
			mu[t] /= s
		}
		cov := m.cov[j*c : (j+1)*c]
		clear(cov)
		if m.diag {
			for _, i := range rows {
				r := resp[i*k+j]
				for t, v := range a.row(i) {
					dv := float64(v) - mu[t]
					cov[t] += r * dv * dv
				}
			}
			for t := range cov {
				cov[t] = cov[t]/s + reg
			}
			return
		}
		// Σ_i (√γ_ij (x_i − μ_j))(√γ_ij (x_i − μ_j))ᵀ, upper triangle, by
		// rank updates (gonum's Dsyrk) with blocks of covRows(d) rows in
		// row order; the lower triangle is then mirrored, so Σ_j is
		// exactly symmetric.
		block := covRows(d)
		w := make([]float64, min(len(rows), block)*d)
		sym := blas64.Symmetric{Uplo: blas.Upper, N: d, Stride: d, Data: cov}
		for lo := 0; lo < len(rows); lo += block {
			n := min(len(rows)-lo, block)
			for b, i := range rows[lo : lo+n] {
				sr := math.Sqrt(resp[i*k+j])
				wb := w[b*d : (b+1)*d]
				for t, v := range a.row(i) {
					wb[t] = sr * (float64(v) - mu[t])
				}
			}
			blas64.Syrk(blas.Trans, 1, blas64.General{Rows: n, Cols: d, Stride: d, Data: w[:n*d]}, 1, sym)
		}
		for s1 := range d {
			for t := s1; t < d; t++ {
				v := cov[s1*d+t] / s
				cov[s1*d+t], cov[t*d+s1] = v, v
			}
			cov[s1*d+s1] += reg
		}
	})
	setWeights(m.weights, nk, int64(a.n), initial)
	return m.factor()
}

// setWeights sets the mixing proportions from the components' total
// responsibilities nk: π_j = n_j / Σ_l n_l, or n_j / n (n rows) for the
// initial M-step of a run.
func setWeights(weights, nk []float64, n int64, initial bool) {
	var total float64
	for _, v := range nk {
		total += v
	}
	if initial {
		total = float64(n)
	}
	for j, v := range nk {
		weights[j] = v / total
	}
}

// covRows is the number of rows per rank update of a full covariance: a
// block of about 32 KiB (4096 float64), so that it stays in cache while
// Dsyrk sweeps it once per covariance row.
func covRows(d int) int { return min(max(4096/d, 16), 256) }

// emResult is what one EM run reports.
type emResult struct {
	// lowerBound is the mean log-likelihood (1/N) Σ_i log p(x_i) computed
	// by the last E-step, i.e. under the parameters before the last
	// M-step, as scikit-learn's lower_bound_.
	lowerBound float64
	// iterations is the number of E+M steps run.
	iterations int
	// converged says |Δ lowerBound| < tol was reached.
	converged bool
}

// em runs EM from the parameters in m (updated in place) as scikit-learn's
// fit loop: at most maxIter rounds of E-step then M-step, stopping when the
// change of the lower bound (the E-step's mean log-likelihood) is below
// tol in absolute value; the first round compares with −∞. resp is
// scratch space of n × k.
func em(ctx context.Context, a *data, m *mixture, maxIter int, tol, reg float64, resp []float64) (emResult, error) {
	res := emResult{lowerBound: math.Inf(-1)}
	for res.iterations < maxIter {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		res.iterations++
		prev := res.lowerBound
		sum, err := m.eStep(a, resp, nil, nil)
		if err != nil {
			return res, err
		}
		if err := m.mStep(a, resp, reg, false); err != nil {
			return res, err
		}
		res.lowerBound = sum / float64(a.n)
		if math.Abs(res.lowerBound-prev) < tol {
			res.converged = true
			break
		}
	}
	return res, nil
}
