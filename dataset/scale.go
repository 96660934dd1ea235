package dataset

import (
	"errors"
	"fmt"
	"math"

	"github.com/deepclust/deepclust/sdk"
)

// Scaler is a per-feature affine map fitted on training samples and
// applied to them and to every later sample, x'_ij = (x_ij − Shift_j)·Mul_j
// over the flattened features j of a sample:
//
//	minmax:    Shift_j = min_j,  Mul_j = 1/(max_j − min_j)
//	standard:  Shift_j = μ_j,    Mul_j = 1/σ_j,  σ_j² = (1/N) Σ_i (x_ij − μ_j)²
//
// with Mul_j = 0 for a constant feature (which then maps to 0).
type Scaler struct {
	Kind  string    `json:"kind"`
	Shift []float64 `json:"shift"`
	Mul   []float64 `json:"mul"`
}

// ScalerFit accumulates the statistics of a Scaler batch by batch, in
// float64: minima and maxima, or counts, means and sums of squared
// deviations merged across batches (Chan, Golub & LeVeque 1979), which is
// the two-pass formula when all samples come in one batch.
type ScalerFit struct {
	kind   string
	n      float64
	lo, hi []float64
	mean   []float64
	m2     []float64
}

// NewScalerFit starts fitting a scaler of the given kind (ScaleMinMax or
// ScaleStandard).
func NewScalerFit(kind string) (*ScalerFit, error) {
	if kind != ScaleMinMax && kind != ScaleStandard {
		return nil, fmt.Errorf("scaler kind %q: want %s or %s", kind, ScaleMinMax, ScaleStandard)
	}
	return &ScalerFit{kind: kind}, nil
}

// Add takes a batch of samples (rows × features) into the statistics.
func (f *ScalerFit) Add(x sdk.Tensor) error {
	cols, rows := x.Cols(), x.Rows()
	if rows == 0 {
		return nil
	}
	if f.n == 0 {
		f.lo, f.hi = make([]float64, cols), make([]float64, cols)
		f.mean, f.m2 = make([]float64, cols), make([]float64, cols)
		for j := range f.lo {
			f.lo[j], f.hi[j] = math.Inf(1), math.Inf(-1)
		}
	}
	if len(f.lo) != cols {
		return fmt.Errorf("scaler: a batch of %d features after batches of %d", cols, len(f.lo))
	}
	nb := float64(rows)
	mean := make([]float64, cols)
	for r := 0; r < len(x.Data); r += cols {
		for j, v := range x.Data[r : r+cols] {
			mean[j] += float64(v)
			f.lo[j] = min(f.lo[j], float64(v))
			f.hi[j] = max(f.hi[j], float64(v))
		}
	}
	for j := range mean {
		mean[j] /= nb
	}
	m2 := make([]float64, cols)
	for r := 0; r < len(x.Data); r += cols {
		for j, v := range x.Data[r : r+cols] {
			d := float64(v) - mean[j]
			m2[j] += d * d
		}
	}
	n := f.n + nb
	for j := range mean {
		delta := mean[j] - f.mean[j]
		f.m2[j] += m2[j] + delta*delta*f.n*nb/n
		f.mean[j] += delta * nb / n
	}
	f.n = n
	return nil
}

// Scaler returns the fitted scaler.
func (f *ScalerFit) Scaler() (*Scaler, error) {
	if f.n == 0 {
		return nil, errors.New("scaler: no samples to fit")
	}
	s := &Scaler{Kind: f.kind, Shift: make([]float64, len(f.mean)), Mul: make([]float64, len(f.mean))}
	for j := range s.Shift {
		if f.kind == ScaleMinMax {
			s.Shift[j] = f.lo[j]
			if f.hi[j] > f.lo[j] {
				s.Mul[j] = 1 / (f.hi[j] - f.lo[j])
			}
			continue
		}
		s.Shift[j] = f.mean[j]
		if sd := math.Sqrt(f.m2[j] / f.n); sd > 0 {
			s.Mul[j] = 1 / sd
		}
	}
	return s, nil
}

// Apply scales the samples of x (rows × features) in place.
func (s *Scaler) Apply(x sdk.Tensor) error {
	cols := x.Cols()
	if cols != len(s.Shift) || len(s.Mul) != len(s.Shift) {
		return fmt.Errorf("scaler: fitted on %d features, the samples have %d", len(s.Shift), cols)
	}
	for r := 0; r < len(x.Data); r += cols {
		for j, v := range x.Data[r : r+cols] {
			x.Data[r+j] = float32((float64(v) - s.Shift[j]) * s.Mul[j])
		}
	}
	return nil
}
