package sparse

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/mat"
)

// pcgStream is the second PCG word of the eigensolver's random source.
const pcgStream = 0x65696773796d // "eigsym"

// vecChunk is the fixed number of vector entries per parallel work item.
const vecChunk = 4096

// Operator is a symmetric linear operator of order Dim: MulVec sets
// y = A x. *CSR implements it.
type Operator interface {
	Dim() int
	MulVec(y, x []float64)
}

// EigOptions tunes EigSymTop; zero fields take the defaults named.
type EigOptions struct {
	// Block is the block size b, the largest eigenvalue multiplicity the
	// method resolves; default k.
	Block int
	// MaxBasis is the largest basis m; default max(2k + 3b, 30), at least
	// k + b and at most the order of A.
	MaxBasis int
	// Tol is the convergence bound: ‖A y − θ y‖₂ ≤ Tol·max|θ|; default 1e-8.
	Tol float64
	// MaxRestarts bounds the restart cycles; default 1000.
	MaxRestarts int
	// Seed fixes the random start block.
	Seed uint64
}

// Eigen is the result of EigSymTop.
type Eigen struct {
	// Values holds the k largest eigenvalues, in decreasing order.
	Values []float64
	// Vectors holds the matching orthonormal eigenvectors.
	Vectors [][]float64
	// Residuals holds ‖A y − θ y‖₂ for every pair.
	Residuals []float64
	// Restarts and MatVecs count the restart cycles and products with A.
	Restarts, MatVecs int
}

// EigSymTop returns the k algebraically largest eigenpairs of the
// symmetric operator a by the block Krylov–Schur method described in the
// package documentation. It fails if the pairs have not converged after
// MaxRestarts cycles or if ctx is cancelled.
func EigSymTop(ctx context.Context, a Operator, k int, opt EigOptions) (Eigen, error) {
	n := a.Dim()
	if k < 1 || k > n {
		return Eigen{}, fmt.Errorf("sparse: %d eigenpairs requested of an operator of order %d", k, n)
	}
	s := newKrylov(a, k, opt)
	if err := s.appendBlock(s.randomBlock(s.block)); err != nil {
		return Eigen{}, err
	}
	for restarts := 0; ; restarts++ {
		if err := ctx.Err(); err != nil {
			return Eigen{}, fmt.Errorf("sparse: eigensolver: %w", err)
		}
		for len(s.v) < s.m {
			next := s.nextBlock(min(s.block, s.m-len(s.v)))
			if err := s.appendBlock(next); err != nil {
				return Eigen{}, err
			}
		}
		theta, y, ay, err := s.ritz()
		if err != nil {
			return Eigen{}, err
		}
		res, worst := s.residuals(theta, y, ay)
		if worst <= s.tol*maxAbs(theta) {
			return Eigen{Values: theta[:k], Vectors: y[:k], Residuals: res, Restarts: restarts, MatVecs: s.matvecs}, nil
		}
		if restarts == s.maxRestarts {
			return Eigen{}, fmt.Errorf("sparse: eigensolver: largest residual %.3g above tolerance %.3g after %d restarts (%d products with A)",
				worst, s.tol*maxAbs(theta), restarts, s.matvecs)
		}
		// The continuation block (I − V Vᵀ) A V_last, against the whole
		// basis before it is truncated; a collapsed vector becomes zero
		// and is replaced by a random one in appendBlock.
		next := s.nextBlock(s.lastBlock)
		for _, x := range next {
			if !s.orthonormalise(x) {
				clear(x)
			}
		}
		s.restart(theta, y, ay)
		if err := s.appendBlock(next); err != nil {
			return Eigen{}, err
		}
	}
}

// krylov is the state of one EigSymTop run: the orthonormal basis v, the
// products av = A v, the projection h = vᵀ A v (m×m, row-major) and the
// size of the most recently appended block.
type krylov struct {
	a                    Operator
	n, k, block, m, keep int
	tol                  float64
	maxRestarts, matvecs int
	rng                  *rand.Rand
	v, av                [][]float64
	h                    []float64
	lastBlock            int
	coef                 []float64
}

func newKrylov(a Operator, k int, opt EigOptions) *krylov {
	n := a.Dim()
	s := &krylov{a: a, n: n, k: k, block: opt.Block, m: opt.MaxBasis, tol: opt.Tol, maxRestarts: opt.MaxRestarts}
	if s.block < 1 {
		s.block = k
	}
	if s.m < 1 {
		s.m = max(2*k+3*s.block, 30)
	}
	s.block = min(s.block, n)
	s.m = min(max(s.m, k+s.block), n)
	if s.tol <= 0 {
		s.tol = 1e-8
	}
	if s.maxRestarts < 1 {
		s.maxRestarts = 1000
	}
	// Keep k Ritz vectors and half the rest, leaving room for a block. When
	// m = n < k + b the first cycle spans the whole space and converges.
	s.keep = max(k, min(k+(s.m-k)/2, s.m-s.block))
	s.rng = rand.New(rand.NewPCG(opt.Seed, pcgStream))
	s.h = make([]float64, s.m*s.m)
	s.coef = make([]float64, s.m)
	return s
}

// randomBlock returns size vectors of independent standard normal entries.
func (s *krylov) randomBlock(size int) [][]float64 {
	out := make([][]float64, size)
	for i := range out {
		out[i] = s.randomVector()
	}
	return out
}

func (s *krylov) randomVector() []float64 {
	x := make([]float64, s.n)
	for i := range x {
		x[i] = s.rng.NormFloat64()
	}
	return x
}

// nextBlock returns copies of the products A v of the last size basis
// vectors: the next Krylov block before orthogonalisation.
func (s *krylov) nextBlock(size int) [][]float64 {
	out := make([][]float64, size)
	for i := range out {
		out[i] = slices.Clone(s.av[len(s.av)-size+i])
	}
	return out
}

// appendBlock orthonormalises the vectors of w against the basis and each
// other (replacing collapsed ones by random vectors), appends them, and
// extends av and h.
func (s *krylov) appendBlock(w [][]float64) error {
	for _, x := range w {
		for try := 0; ; try++ {
			if s.orthonormalise(x) {
				break
			}
			if try == 10 {
				return fmt.Errorf("sparse: eigensolver: cannot extend a basis of %d vectors in dimension %d", len(s.v), s.n)
			}
			copy(x, s.randomVector())
		}
		ax := make([]float64, s.n)
		s.a.MulVec(ax, x)
		s.matvecs++
		q := len(s.v)
		s.v = append(s.v, x)
		s.av = append(s.av, ax)
		Parallel(q+1, func(i int) { s.coef[i] = floats.Dot(s.v[i], ax) })
		for i := range q + 1 {
			s.h[i*s.m+q] = s.coef[i]
			s.h[q*s.m+i] = s.coef[i]
		}
	}
	s.lastBlock = len(w)
	return nil
}

// orthonormalise makes x orthogonal to the basis by classical Gram–Schmidt
// applied twice ("twice is enough", Giraud et al. 2005) and scales it to
// unit length. It reports false when x lost all but a 1e-10 fraction of its
// norm, i.e. lay (numerically) in the span of the basis.
func (s *krylov) orthonormalise(x []float64) bool {
	norm0 := floats.Norm(x, 2)
	if norm0 == 0 {
		return false
	}
	q := len(s.v)
	for range 2 {
		if q == 0 {
			break
		}
		Parallel(q, func(i int) { s.coef[i] = floats.Dot(s.v[i], x) })
		ForEachChunk(s.n, vecChunk, func(lo, hi int) {
			for i := range q {
				floats.AddScaled(x[lo:hi], -s.coef[i], s.v[i][lo:hi])
			}
		})
	}
	norm := floats.Norm(x, 2)
	if !(norm > 1e-10*norm0) {
		return false
	}
	floats.Scale(1/norm, x)
	return true
}

// ritz computes the eigenpairs of the projection h and returns the keep
// leading Ritz values θ (decreasing), vectors y = V s and products A y.
func (s *krylov) ritz() (theta []float64, y, ay [][]float64, err error) {
	p := len(s.v)
	sym := mat.NewSymDense(p, nil)
	for i := range p {
		for j := i; j < p; j++ {
			sym.SetSym(i, j, s.h[i*s.m+j])
		}
	}
	var es mat.EigenSym
	if !es.Factorize(sym, true) {
		return nil, nil, nil, fmt.Errorf("sparse: eigensolver: the %d×%d projected matrix has no eigen decomposition (non-finite products with A?)", p, p)
	}
	vals := es.Values(nil)
	var vecs mat.Dense
	es.VectorsTo(&vecs)
	l := min(s.keep, p)
	theta = make([]float64, l)
	cols := make([][]float64, l)
	for t := range l {
		src := p - 1 - t // Values are ascending.
		theta[t] = vals[src]
		cols[t] = mat.Col(nil, src, &vecs)
	}
	return theta, s.combine(s.v, cols), s.combine(s.av, cols), nil
}

// combine returns the vectors Σ_i basis_i c_t[i] for every coefficient
// vector c_t.
func (s *krylov) combine(basis [][]float64, coefs [][]float64) [][]float64 {
	out := make([][]float64, len(coefs))
	for t := range out {
		out[t] = make([]float64, s.n)
	}
	ForEachChunk(s.n, vecChunk, func(lo, hi int) {
		for t, c := range coefs {
			dst := out[t][lo:hi]
			for i, b := range basis {
				floats.AddScaled(dst, c[i], b[lo:hi])
			}
		}
	})
	return out
}

// residuals returns ‖A y_t − θ_t y_t‖₂ for the k leading pairs and their
// maximum.
func (s *krylov) residuals(theta []float64, y, ay [][]float64) (res []float64, worst float64) {
	res = make([]float64, s.k)
	Parallel(s.k, func(t int) {
		var sum float64
		for i, v := range ay[t] {
			r := v - theta[t]*y[t][i]
			sum += r * r
		}
		res[t] = math.Sqrt(sum)
	})
	return res, slices.Max(res)
}

// restart replaces the basis by the Ritz vectors y (whose projection is
// diag(θ)).
func (s *krylov) restart(theta []float64, y, ay [][]float64) {
	s.v, s.av = y, ay
	clear(s.h)
	for t, th := range theta {
		s.h[t*s.m+t] = th
	}
}

func maxAbs(x []float64) float64 {
	m := 0.0
	for _, v := range x {
		m = max(m, math.Abs(v))
	}
	return m
}
