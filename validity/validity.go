package validity

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"sync"

	"github.com/deepclust/deepclust/internal/kernels"
	"github.com/deepclust/deepclust/sdk"
)

// DefaultSilhouetteRows is the number of rows up to which Compute's
// silhouette is exact; larger inputs use a seeded sample of this size.
const DefaultSilhouetteRows = 10000

// Indices are the three internal validity indices of one clustering.
type Indices struct {
	// Silhouette is the mean silhouette, over SilhouetteRows rows: all of
	// them, or a seeded sample when Sampled.
	Silhouette     float64 `json:"silhouette"`
	SilhouetteRows int     `json:"silhouette_rows"`
	Sampled        bool    `json:"silhouette_sampled"`
	// DaviesBouldin and CalinskiHarabasz use every row.
	DaviesBouldin    float64 `json:"davies_bouldin"`
	CalinskiHarabasz float64 `json:"calinski_harabasz"`
}

// Compute returns the three indices of the rows of x (n × d) labelled by
// labels, the silhouette exact up to maxRows rows (≤ 0: DefaultSilhouetteRows)
// and on a sample of maxRows rows drawn with seed beyond.
func Compute(x sdk.Tensor, labels []int32, maxRows int, seed uint64) (Indices, error) {
	if maxRows <= 0 {
		maxRows = DefaultSilhouetteRows
	}
	var ix Indices
	var err error
	if ix.Silhouette, ix.SilhouetteRows, err = SilhouetteSample(x, labels, maxRows, seed); err != nil {
		return ix, err
	}
	ix.Sampled = ix.SilhouetteRows < len(labels)
	if ix.DaviesBouldin, err = DaviesBouldin(x, labels); err != nil {
		return ix, err
	}
	if ix.CalinskiHarabasz, err = CalinskiHarabasz(x, labels); err != nil {
		return ix, err
	}
	return ix, nil
}

// clusters maps the labels to dense cluster indices 0 … k−1 and checks the
// shapes and 2 ≤ k ≤ n−1.
func clusters(x sdk.Tensor, labels []int32) (idx []int, sizes []int, err error) {
	if len(x.Shape) != 2 {
		return nil, nil, fmt.Errorf("validity: rows of shape %v, want n × d", x.Shape)
	}
	n := x.Rows()
	if len(labels) != n {
		return nil, nil, fmt.Errorf("validity: %d labels for %d rows", len(labels), n)
	}
	of := map[int32]int{}
	idx = make([]int, n)
	for i, l := range labels {
		j, ok := of[l]
		if !ok {
			j = len(of)
			of[l] = j
			sizes = append(sizes, 0)
		}
		idx[i] = j
		sizes[j]++
	}
	if k := len(sizes); k < 2 || k > n-1 {
		return nil, nil, fmt.Errorf("validity: %d clusters of %d rows; the indices need 2 ≤ k ≤ n−1", k, n)
	}
	return idx, sizes, nil
}

// SilhouetteSamples returns the silhouette s_i of every row (see the
// package doc), exactly.
func SilhouetteSamples(x sdk.Tensor, labels []int32) ([]float64, error) {
	idx, sizes, err := clusters(x, labels)
	if err != nil {
		return nil, err
	}
	n, d, k := x.Rows(), x.Cols(), len(sizes)
	s := make([]float64, n)
	if d >= gemmWidth {
		silhouetteGEMM(x, idx, sizes, s)
		return s, nil
	}
	workers := max(1, min(runtime.GOMAXPROCS(0), n/64))
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sums := make([]float64, k)
			for i := w; i < n; i += workers {
				clear(sums)
				xi := x.Data[i*d : (i+1)*d]
				for j := range n {
					xj := x.Data[j*d : (j+1)*d]
					var q float64
					for t, v := range xi {
						e := float64(v) - float64(xj[t])
						q += e * e
					}
					sums[idx[j]] += math.Sqrt(q)
				}
				c := idx[i]
				if sizes[c] == 1 {
					continue
				}
				a := sums[c] / float64(sizes[c]-1)
				b := math.Inf(1)
				for l, v := range sums {
					if l != c {
						b = min(b, v/float64(sizes[l]))
					}
				}
				if m := max(a, b); m > 0 {
					s[i] = (b - a) / m
				}
			}
		}()
	}
	wg.Wait()
	return s, nil
}

// gemmWidth is the width from which SilhouetteSamples computes distances
// as sqrt(‖x‖² + ‖y‖² − 2x·y) with x·y from the float32 GEMM of
// internal/kernels (norms and sums in float64): much faster for wide
// inputs, with float32 rounding in the dot products.
const gemmWidth = 32

// silhouetteGEMM is SilhouetteSamples' loop for wide rows.
func silhouetteGEMM(x sdk.Tensor, idx, sizes []int, s []float64) {
	n, d, k := x.Rows(), x.Cols(), len(sizes)
	norms := make([]float64, n)
	for i := range n {
		var q float64
		for _, v := range x.Data[i*d : (i+1)*d] {
			q += float64(v) * float64(v)
		}
		norms[i] = q
	}
	const block = 128
	dots := make([]float32, block*n)
	sums := make([]float64, k)
	for lo := 0; lo < n; lo += block {
		m := min(block, n-lo)
		kernels.Gemm(false, true, m, n, d, 1, x.Data[lo*d:(lo+m)*d], d, x.Data, d, 0, dots[:m*n], n)
		for r := range m {
			i := lo + r
			clear(sums)
			row := dots[r*n : (r+1)*n]
			for j, dot := range row {
				if j == i {
					continue
				}
				sums[idx[j]] += math.Sqrt(max(0, norms[i]+norms[j]-2*float64(dot)))
			}
			c := idx[i]
			if sizes[c] == 1 {
				continue
			}
			a := sums[c] / float64(sizes[c]-1)
			b := math.Inf(1)
			for l, v := range sums {
				if l != c {
					b = min(b, v/float64(sizes[l]))
				}
			}
			if mx := max(a, b); mx > 0 {
				s[i] = (b - a) / mx
			}
		}
	}
}

// Silhouette returns the mean silhouette of all rows, exactly: n²·d work.
func Silhouette(x sdk.Tensor, labels []int32) (float64, error) {
	s, err := SilhouetteSamples(x, labels)
	if err != nil {
		return 0, err
	}
	var sum float64
	for _, v := range s {
		sum += v
	}
	return sum / float64(len(s)), nil
}

// SilhouetteSample returns the mean silhouette of all rows when there are
// at most size of them, and otherwise that of size rows drawn uniformly
// without replacement with seed (the silhouette of the sample alone), with
// the number of rows it averages over.
func SilhouetteSample(x sdk.Tensor, labels []int32, size int, seed uint64) (float64, int, error) {
	if size < 3 {
		return 0, 0, fmt.Errorf("validity: silhouette sample of %d rows, want at least 3", size)
	}
	if len(x.Shape) != 2 || x.Rows() <= size {
		v, err := Silhouette(x, labels)
		return v, len(labels), err
	}
	if len(labels) != x.Rows() {
		return 0, 0, fmt.Errorf("validity: %d labels for %d rows", len(labels), x.Rows())
	}
	rows := Sample(x.Rows(), size, seed)
	sx, sl := Take(x, labels, rows)
	v, err := Silhouette(sx, sl)
	if err != nil {
		return 0, 0, fmt.Errorf("validity: silhouette of a sample of %d rows: %w", size, err)
	}
	return v, size, nil
}

// Sample returns size distinct row numbers of [0, n), drawn uniformly with
// seed and sorted; all rows when size ≥ n.
func Sample(n, size int, seed uint64) []int {
	if size >= n {
		rows := make([]int, n)
		for i := range rows {
			rows[i] = i
		}
		return rows
	}
	rng := rand.New(rand.NewPCG(seed, 0x76616c6964)) // "valid"
	// Floyd's algorithm, then sorted.
	chosen := make(map[int]bool, size)
	for j := n - size; j < n; j++ {
		t := rng.IntN(j + 1)
		if chosen[t] {
			t = j
		}
		chosen[t] = true
	}
	rows := make([]int, 0, size)
	for i := range n {
		if chosen[i] {
			rows = append(rows, i)
		}
	}
	return rows
}

// Take returns the given rows of x and of labels (labels may be nil).
func Take(x sdk.Tensor, labels []int32, rows []int) (sdk.Tensor, []int32) {
	d := x.Cols()
	out := sdk.NewTensor(len(rows), d)
	var ls []int32
	if labels != nil {
		ls = make([]int32, len(rows))
	}
	for r, i := range rows {
		copy(out.Data[r*d:(r+1)*d], x.Data[i*d:(i+1)*d])
		if labels != nil {
			ls[r] = labels[i]
		}
	}
	return out, ls
}

// centroids returns the k cluster means (k × d).
func centroids(x sdk.Tensor, idx, sizes []int) []float64 {
	d, k := x.Cols(), len(sizes)
	mu := make([]float64, k*d)
	for i, c := range idx {
		row := x.Data[i*d : (i+1)*d]
		m := mu[c*d : (c+1)*d]
		for t, v := range row {
			m[t] += float64(v)
		}
	}
	for c, n := range sizes {
		for t := range d {
			mu[c*d+t] /= float64(n)
		}
	}
	return mu
}

// DaviesBouldin returns the Davies–Bouldin index (see the package doc).
func DaviesBouldin(x sdk.Tensor, labels []int32) (float64, error) {
	idx, sizes, err := clusters(x, labels)
	if err != nil {
		return 0, err
	}
	d, k := x.Cols(), len(sizes)
	mu := centroids(x, idx, sizes)
	spread := make([]float64, k)
	for i, c := range idx {
		spread[c] += dist(x.Data[i*d:(i+1)*d], mu[c*d:(c+1)*d])
	}
	allZero := true
	for c := range spread {
		spread[c] /= float64(sizes[c])
		allZero = allZero && math.Abs(spread[c]) <= 1e-8
	}
	cd := make([]float64, k*k)
	centresZero := true
	for a := range k {
		for b := range k {
			if a != b {
				cd[a*k+b] = dist64(mu[a*d:(a+1)*d], mu[b*d:(b+1)*d])
				centresZero = centresZero && cd[a*k+b] <= 1e-8
			}
		}
	}
	if allZero || centresZero {
		return 0, nil
	}
	var db float64
	for a := range k {
		worst := 0.0
		for b := range k {
			if a == b || cd[a*k+b] == 0 {
				continue
			}
			worst = max(worst, (spread[a]+spread[b])/cd[a*k+b])
		}
		db += worst
	}
	return db / float64(k), nil
}

// CalinskiHarabasz returns the Calinski–Harabasz index (see the package
// doc).
func CalinskiHarabasz(x sdk.Tensor, labels []int32) (float64, error) {
	idx, sizes, err := clusters(x, labels)
	if err != nil {
		return 0, err
	}
	n, d, k := x.Rows(), x.Cols(), len(sizes)
	mu := centroids(x, idx, sizes)
	mean := make([]float64, d)
	for c, m := range sizes {
		for t := range d {
			mean[t] += float64(m) * mu[c*d+t]
		}
	}
	for t := range mean {
		mean[t] /= float64(n)
	}
	var between, within float64
	for c, m := range sizes {
		q := dist64(mu[c*d:(c+1)*d], mean)
		between += float64(m) * q * q
	}
	for i, c := range idx {
		q := dist(x.Data[i*d:(i+1)*d], mu[c*d:(c+1)*d])
		within += q * q
	}
	if within == 0 {
		return 1, nil
	}
	return between * float64(n-k) / (within * float64(k-1)), nil
}

// dist is ‖a − b‖ for a float32 row and a float64 point.
func dist(a []float32, b []float64) float64 {
	var s float64
	for t, v := range a {
		e := float64(v) - b[t]
		s += e * e
	}
	return math.Sqrt(s)
}

// dist64 is ‖a − b‖.
func dist64(a, b []float64) float64 {
	var s float64
	for t, v := range a {
		e := v - b[t]
		s += e * e
	}
	return math.Sqrt(s)
}

// errNoClusters is returned by Best for empty input.
var errNoClusters = errors.New("validity: no criterion values to choose from")

// Best returns the position of the best value: the largest when best is
// "max", the smallest when "min"; the first on ties, skipping NaNs.
func Best(values []float64, best string) (int, error) {
	if best != "max" && best != "min" {
		return 0, fmt.Errorf("validity: best %q, want max or min", best)
	}
	pos := -1
	for i, v := range values {
		if math.IsNaN(v) {
			continue
		}
		if pos < 0 || (best == "max" && v > values[pos]) || (best == "min" && v < values[pos]) {
			pos = i
		}
	}
	if pos < 0 {
		return 0, errNoClusters
	}
	return pos, nil
}
