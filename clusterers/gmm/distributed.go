package gmm

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
)

// Params are the parameters of a k-component Gaussian mixture in Dim
// dimensions: what Save writes and Load reads, as numbers. They let EM run
// outside one process (e.g. on Apache Beam, cmd/deepclust-beam): an E-step
// over each part of the rows (NewEStep, EStep.Add) gives sufficient
// statistics (Stats), which merge (Stats.Merge) into one M-step (MStep).
type Params struct {
	K, Dim int
	// Diag says the covariances are diagonal.
	Diag bool
	// Weights are the mixing proportions π_j (K, summing to 1).
	Weights []float64
	// Means are the μ_j, row-major K × Dim.
	Means []float64
	// Cov holds the Σ_j: K row-major Dim × Dim matrices (full) or K × Dim
	// variances (Diag).
	Cov []float64
}

// RestartSeed is the seed Fit gives the initialisation of its run-th EM
// run (counting from 0) when configured with seed: the seed its k-means++
// seeding (kmeans.PlusPlus, init kmeans++) or k-means run (init kmeans)
// uses.
func RestartSeed(seed uint64, run int) uint64 {
	rng := rand.New(rand.NewPCG(seed, pcgStream))
	var s uint64
	for range run + 1 {
		s = rng.Uint64()
	}
	return s
}

// Params returns a copy of the fitted (or loaded) parameters.
func (c *Clusterer) Params() (Params, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.fitted("params"); err != nil {
		return Params{}, err
	}
	m := c.mix
	return Params{K: m.k, Dim: m.d, Diag: m.diag, Weights: clone(m.weights), Means: clone(m.means), Cov: clone(m.cov)}, nil
}

// mixture returns p as a factored mixture, or an error for parameters of
// the wrong shape, or weights, means or covariances that Load refuses.
func (p Params) mixture() (*mixture, error) {
	if p.K < 1 || p.Dim < 1 {
		return nil, fmt.Errorf("parameters with k=%d and width %d", p.K, p.Dim)
	}
	m := newMixture(p.K, p.Dim, p.Diag)
	if len(p.Weights) != len(m.weights) || len(p.Means) != len(m.means) || len(p.Cov) != len(m.cov) {
		return nil, fmt.Errorf("parameters of k=%d and width %d hold %d weights, %d means and %d covariance values, want %d, %d and %d",
			p.K, p.Dim, len(p.Weights), len(p.Means), len(p.Cov), len(m.weights), len(m.means), len(m.cov))
	}
	copy(m.weights, p.Weights)
	copy(m.means, p.Means)
	copy(m.cov, p.Cov)
	var total float64
	for j, w := range m.weights {
		if !(w >= 0) || math.IsInf(w, 0) {
			return nil, fmt.Errorf("weight %d is %v", j, w)
		}
		total += w
	}
	if math.Abs(total-1) > 1e-9 {
		return nil, fmt.Errorf("weights sum to %v, want 1", total)
	}
	for i, v := range m.means {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("mean value %d is %v", i, v)
		}
	}
	if !p.Diag {
		d := p.Dim
		for j := range p.K {
			cov := p.Cov[j*d*d : (j+1)*d*d]
			for s := range d {
				for t := s + 1; t < d; t++ {
					if cov[s*d+t] != cov[t*d+s] {
						return nil, fmt.Errorf("covariance %d is not symmetric at (%d, %d)", j, s, t)
					}
				}
			}
		}
	}
	if err := m.factor(); err != nil {
		return nil, err
	}
	return m, nil
}

// Stats are the sufficient statistics of one M-step over some rows, kept
// about a shift c_j per component (the means of the E-step's parameters,
// so that the second moments do not cancel):
//
//	S0_j = Σ_i γ_ij,   S1_j = Σ_i γ_ij (z_i − c_j),   S2_j = Σ_i γ_ij (z_i − c_j)(z_i − c_j)ᵀ,
//
// over the γ_ij ≥ 1e-200 (as the single-process M-step), with the row
// count N and Σ_i log p(z_i). Statistics of disjoint rows with the same
// shift add (Merge); MStep turns them into parameters.
type Stats struct {
	K, Dim int
	Diag   bool
	// N is the number of rows; LogLik is Σ_i log p(z_i) under the E-step's
	// parameters (0 for hard statistics).
	N      int64
	LogLik float64
	// Shift holds the c_j, row-major K × Dim.
	Shift []float64
	// Resp holds S0_j (K), First S1_j (K × Dim) and Second S2_j: K
	// row-major Dim × Dim matrices of which only the upper triangle is
	// kept (full), or K × Dim diagonals (Diag).
	Resp, First, Second []float64
}

// NewStats returns empty statistics about shift (K × Dim, copied).
func NewStats(k, dim int, diag bool, shift []float64) Stats {
	return Stats{K: k, Dim: dim, Diag: diag, Shift: slices.Clone(shift), Resp: make([]float64, k),
		First: make([]float64, k*dim), Second: make([]float64, k*covLen(dim, diag))}
}

// Merge adds the statistics o of other rows to s. Both must have the same
// shape and shift; empty statistics (K = 0) merge as nothing.
func (s *Stats) Merge(o Stats) error {
	switch {
	case o.K == 0:
		return nil
	case s.K == 0:
		*s = o.clone()
		return nil
	case s.K != o.K || s.Dim != o.Dim || s.Diag != o.Diag:
		return fmt.Errorf("gmm: merging statistics of k=%d, width %d, diag %v with k=%d, width %d, diag %v",
			s.K, s.Dim, s.Diag, o.K, o.Dim, o.Diag)
	case !slices.Equal(s.Shift, o.Shift):
		return fmt.Errorf("gmm: merging statistics about different shifts")
	}
	s.N += o.N
	s.LogLik += o.LogLik
	for _, p := range [][2][]float64{{s.Resp, o.Resp}, {s.First, o.First}, {s.Second, o.Second}} {
		for i, v := range p[1] {
			p[0][i] += v
		}
	}
	return nil
}

func (s Stats) clone() Stats {
	s.Shift, s.Resp, s.First, s.Second = slices.Clone(s.Shift), slices.Clone(s.Resp), slices.Clone(s.First), slices.Clone(s.Second)
	return s
}

// EStep is the E-step under fixed parameters, applied to any number of
// row batches.
type EStep struct {
	m *mixture
}

// NewEStep checks and factors p.
func NewEStep(p Params) (*EStep, error) {
	m, err := p.mixture()
	if err != nil {
		return nil, fmt.Errorf("gmm: %w", err)
	}
	return &EStep{m: m}, nil
}

// NewStats returns empty statistics about the E-step's means.
func (e *EStep) NewStats() Stats { return NewStats(e.m.k, e.m.d, e.m.diag, e.m.means) }

// Add runs the E-step on the n rows of x (row-major n × Dim) and adds
// their statistics to s, which must be about the E-step's means
// (EStep.NewStats). The responsibilities are those of the single-process
// E-step, row for row. A row whose density is 0 under every component is
// an error naming its index in x.
func (e *EStep) Add(x []float32, n int, s *Stats) error {
	m := e.m
	if len(x) != n*m.d {
		return fmt.Errorf("gmm: %d values for %d rows of width %d", len(x), n, m.d)
	}
	if s.K != m.k || s.Dim != m.d || s.Diag != m.diag || !slices.Equal(s.Shift, m.means) {
		return fmt.Errorf("gmm: statistics not about the E-step's parameters")
	}
	if n == 0 {
		return nil
	}
	a := &data{x: x, n: n, d: m.d}
	resp := make([]float64, n*m.k)
	sum, err := m.eStep(a, resp, nil, nil)
	if err != nil {
		return err
	}
	s.N += int64(n)
	s.LogLik += sum
	accumulate(a, resp, s)
	return nil
}

// AddHard adds rows with hard responsibilities, γ_ij = [labels_i = j], to
// s: the start of an EM run (scikit-learn's _initialize), whose M-step is
// MStep with initial set.
func AddHard(x []float32, labels []int32, s *Stats) error {
	n := len(labels)
	if len(x) != n*s.Dim {
		return fmt.Errorf("gmm: %d values for %d rows of width %d", len(x), n, s.Dim)
	}
	resp := make([]float64, n*s.K)
	for i, l := range labels {
		if l < 0 || int(l) >= s.K {
			return fmt.Errorf("gmm: label %d of row %d, want 0 to %d", l, i, s.K-1)
		}
		resp[i*s.K+int(l)] = 1
	}
	s.N += int64(n)
	accumulate(&data{x: x, n: n, d: s.Dim}, resp, s)
	return nil
}

// accumulate adds the shifted moments of the rows of a with
// responsibilities resp (n × K) to s.
func accumulate(a *data, resp []float64, s *Stats) {
	k, d, c := s.K, s.Dim, covLen(s.Dim, s.Diag)
	parallel(k, func(j int) {
		var rows []int
		for i := range a.n {
			if r := resp[i*k+j]; r >= respFloor {
				rows = append(rows, i)
				s.Resp[j] += r
			}
		}
		shift, first, second := s.Shift[j*d:(j+1)*d], s.First[j*d:(j+1)*d], s.Second[j*c:(j+1)*c]
		if s.Diag {
			for _, i := range rows {
				r := resp[i*k+j]
				for t, v := range a.row(i) {
					dv := float64(v) - shift[t]
					first[t] += r * dv
					second[t] += r * dv * dv
				}
			}
			return
		}
		block := covRows(d)
		w := make([]float64, min(len(rows), block)*d)
		sym := blas64.Symmetric{Uplo: blas.Upper, N: d, Stride: d, Data: second}
		for lo := 0; lo < len(rows); lo += block {
			nb := min(len(rows)-lo, block)
			for b, i := range rows[lo : lo+nb] {
				r := resp[i*k+j]
				sr := math.Sqrt(r)
				wb := w[b*d : (b+1)*d]
				for t, v := range a.row(i) {
					dv := float64(v) - shift[t]
					first[t] += r * dv
					wb[t] = sr * dv
				}
			}
			blas64.Syrk(blas.Trans, 1, blas64.General{Rows: nb, Cols: d, Stride: d, Data: w[:nb*d]}, 1, sym)
		}
	})
}

// MStep turns merged statistics into parameters, as the single-process
// M-step (scikit-learn's _estimate_gaussian_parameters) with reg =
// reg_covar: with n_j = S0_j + 10ε,
//
//	μ_j = (S1_j + S0_j c_j) / n_j,   e_j = μ_j − c_j,
//	Σ_j = (S2_j − e_j S1_jᵀ − S1_j e_jᵀ + S0_j e_j e_jᵀ) / n_j + reg·I,
//
// which is Σ_i γ_ij (z_i − μ_j)(z_i − μ_j)ᵀ / n_j + reg·I (the diagonal of
// the centred sum, ≥ 0 exactly, is floored at 0 against rounding); diag
// keeps the diagonal only. The weights are π_j = n_j / N when initial is
// set (the first M-step of a run) and n_j / Σ_l n_l otherwise. The result
// equals the single-process M-step on the same rows and responsibilities
// up to float64 rounding (the order of the sums differs).
func MStep(s Stats, reg float64, initial bool) (Params, error) {
	if s.K < 1 || s.Dim < 1 || s.N < 1 {
		return Params{}, fmt.Errorf("gmm: M-step on statistics of %d rows, k=%d, width %d", s.N, s.K, s.Dim)
	}
	if !(reg >= 0) || math.IsInf(reg, 0) {
		return Params{}, fmt.Errorf("gmm: reg_covar %v, want a finite number ≥ 0", reg)
	}
	k, d, c := s.K, s.Dim, covLen(s.Dim, s.Diag)
	p := Params{K: k, Dim: d, Diag: s.Diag, Weights: make([]float64, k), Means: make([]float64, k*d), Cov: make([]float64, k*c)}
	nk := make([]float64, k)
	e := make([]float64, d)
	for j := range k {
		s0 := s.Resp[j]
		n := s0 + nkFloor
		nk[j] = n
		shift, first, second := s.Shift[j*d:(j+1)*d], s.First[j*d:(j+1)*d], s.Second[j*c:(j+1)*c]
		mu, cov := p.Means[j*d:(j+1)*d], p.Cov[j*c:(j+1)*c]
		for t := range d {
			mu[t] = (first[t] + s0*shift[t]) / n
			e[t] = mu[t] - shift[t]
		}
		if s.Diag {
			for t := range d {
				v := second[t] - 2*e[t]*first[t] + s0*e[t]*e[t]
				cov[t] = max(v, 0)/n + reg
			}
			continue
		}
		for a := range d {
			for b := a; b < d; b++ {
				v := second[a*d+b] - e[a]*first[b] - first[a]*e[b] + s0*e[a]*e[b]
				if a == b {
					v = max(v, 0)
				}
				v /= n
				cov[a*d+b], cov[b*d+a] = v, v
			}
			cov[a*d+a] += reg
		}
	}
	setWeights(p.Weights, nk, s.N, initial)
	m := newMixture(k, d, s.Diag)
	copy(m.cov, p.Cov)
	if err := m.factor(); err != nil {
		return Params{}, fmt.Errorf("gmm: %w", err)
	}
	return p, nil
}
