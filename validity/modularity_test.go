package validity

import (
	"math"
	"math/rand/v2"
	"testing"
)

// modularityDense is the textbook definition (Newman 2006, eq. 2),
// Q = (1/2m) Σ_ij [W_ij − d_i d_j/2m] δ(c_i, c_j), over the dense W = N + Nᵀ.
func modularityDense(index []int32, n, k int, labels []int32) float64 {
	rowPtr := make([]int, n+1)
	for i := range rowPtr {
		rowPtr[i] = i * k
	}
	return weightedDense(rowPtr, index, nil, labels)
}

// TestModularityDefinition checks the O(nk) form against the dense
// definition on random graphs and partitions, to 1e-12.
func TestModularityDefinition(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := range 20 {
		n, k, groups := 5+rng.IntN(40), 1+rng.IntN(4), 1+rng.IntN(5)
		if k >= n {
			k = n - 1
		}
		index := make([]int32, n*k)
		for i := range n {
			for t := range k {
				j := rng.IntN(n - 1)
				if j >= i {
					j++
				}
				index[i*k+t] = int32(j)
			}
		}
		labels := make([]int32, n)
		for i := range labels {
			labels[i] = int32(rng.IntN(groups)) * 7 // arbitrary label values
		}
		got, err := Modularity(index, n, k, labels)
		if err != nil {
			t.Fatal(err)
		}
		if want := modularityDense(index, n, k, labels); math.Abs(got-want) > 1e-12 {
			t.Errorf("trial %d (n=%d k=%d): Q %.15f, definition %.15f", trial, n, k, got, want)
		}
	}
}

// TestModularityKnownValues: two disjoint triangles as a 2-NN graph (every
// point's neighbours are the other two of its triangle) split into the two
// triangles give Q = 1/2 (each half holds all its edges and half the degree:
// 2·(1/2 − 1/4)); one cluster gives Q = 0 (Newman 2006: Q = 0 for the
// whole graph as one community); a split that cuts both triangles scores
// lower than the right one.
func TestModularityKnownValues(t *testing.T) {
	index := []int32{1, 2, 0, 2, 0, 1, 4, 5, 3, 5, 3, 4}
	for _, tc := range []struct {
		labels []int32
		want   float64
	}{
		{[]int32{0, 0, 0, 1, 1, 1}, 0.5},
		{[]int32{3, 3, 3, 3, 3, 3}, 0},
		// {0,1,3,4} as cluster 0 and {2,5} as cluster 1: the pairs (0,1) and
		// (3,4) weigh 2 each, counted from both ends: 8 of 2m = 24; degrees
		// D_0 = 4·4 = 16, D_1 = 2·4 = 8.
		{[]int32{0, 0, 1, 0, 0, 1}, 8.0/24 - (16.0/24)*(16.0/24) - (8.0/24)*(8.0/24)},
	} {
		got, err := Modularity(index, 6, 2, tc.labels)
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("labels %v: Q %.12f, want %.12f", tc.labels, got, tc.want)
		}
	}
}

// TestModularityBadInput: wrong lengths and out-of-range neighbours are
// errors, not panics.
func TestModularityBadInput(t *testing.T) {
	for name, f := range map[string]func() error{
		"short index":  func() error { _, err := Modularity([]int32{1}, 2, 2, []int32{0, 0}); return err },
		"short labels": func() error { _, err := Modularity([]int32{1, 0}, 2, 1, []int32{0}); return err },
		"out of range": func() error { _, err := Modularity([]int32{5, 0}, 2, 1, []int32{0, 0}); return err },
		"no points":    func() error { _, err := Modularity(nil, 0, 1, nil); return err },
	} {
		if f() == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// weightedDense is the textbook definition on the dense W = A + Aᵀ of a
// CSR matrix A (nil val: unit weights).
func weightedDense(rowPtr []int, col []int32, val []float64, labels []int32) float64 {
	n := len(rowPtr) - 1
	w := make([]float64, n*n)
	for i := range n {
		for p := rowPtr[i]; p < rowPtr[i+1]; p++ {
			v := 1.0
			if val != nil {
				v = val[p]
			}
			w[i*n+int(col[p])] += v
			w[int(col[p])*n+i] += v
		}
	}
	deg := make([]float64, n)
	twoM := 0.0
	for i := range n {
		for j := range n {
			deg[i] += w[i*n+j]
		}
		twoM += deg[i]
	}
	q := 0.0
	for i := range n {
		for j := range n {
			if labels[i] == labels[j] {
				q += w[i*n+j] - deg[i]*deg[j]/twoM
			}
		}
	}
	return q / twoM
}

// TestWeightedModularityDefinition checks the O(n + nnz) form against the
// dense definition on random weighted, non-symmetric sparse matrices (with
// repeated positions and self-loops) and partitions, to 1e-12.
func TestWeightedModularityDefinition(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for trial := range 20 {
		n, groups := 2+rng.IntN(40), 1+rng.IntN(5)
		rowPtr := make([]int, n+1)
		var col []int32
		var val []float64
		for i := range n {
			for range rng.IntN(6) {
				col = append(col, int32(rng.IntN(n)))
				val = append(val, rng.ExpFloat64())
			}
			rowPtr[i+1] = len(col)
		}
		if len(col) == 0 {
			continue
		}
		labels := make([]int32, n)
		for i := range labels {
			labels[i] = int32(rng.IntN(groups)) - 2 // arbitrary label values
		}
		got, err := WeightedModularity(rowPtr, col, val, labels)
		if err != nil {
			t.Fatal(err)
		}
		if want := weightedDense(rowPtr, col, val, labels); math.Abs(got-want) > 1e-12 {
			t.Errorf("trial %d (n=%d): Q %.15f, definition %.15f", trial, n, got, want)
		}
	}
}

// TestWeightedModularityKnownValues: Newman's example of two triangles
// joined by one edge, as a symmetric unit-weight matrix holding both
// directions: split into the triangles Q = 2·(3/7 − (7/14)²) = 5/14; all
// in one cluster Q = 0. The same graph given by its upper triangle only
// (W = A + Aᵀ) has the same Q, and so does any positive multiple of the
// weights.
func TestWeightedModularityKnownValues(t *testing.T) {
	edges := [][2]int32{{0, 1}, {1, 2}, {0, 2}, {3, 4}, {4, 5}, {3, 5}, {2, 3}}
	csr := func(both bool, w float64) ([]int, []int32, []float64) {
		rows := make([][]int32, 6)
		for _, e := range edges {
			rows[e[0]] = append(rows[e[0]], e[1])
			if both {
				rows[e[1]] = append(rows[e[1]], e[0])
			}
		}
		rowPtr := []int{0}
		var col []int32
		var val []float64
		for _, r := range rows {
			col = append(col, r...)
			for range r {
				val = append(val, w)
			}
			rowPtr = append(rowPtr, len(col))
		}
		return rowPtr, col, val
	}
	for _, tc := range []struct {
		both bool
		w    float64
	}{{true, 1}, {false, 1}, {true, 0.37}, {false, 5}} {
		rowPtr, col, val := csr(tc.both, tc.w)
		for _, c := range []struct {
			labels []int32
			want   float64
		}{{[]int32{0, 0, 0, 1, 1, 1}, 5.0 / 14}, {[]int32{0, 0, 0, 0, 0, 0}, 0}} {
			got, err := WeightedModularity(rowPtr, col, val, c.labels)
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(got-c.want) > 1e-12 {
				t.Errorf("both directions %v, weight %v, labels %v: Q %.15f, want %.15f", tc.both, tc.w, c.labels, got, c.want)
			}
		}
	}
	// No weight at all: Q = 0 by convention.
	if q, err := WeightedModularity([]int{0, 1, 1}, []int32{1}, []float64{0}, []int32{0, 1}); err != nil || q != 0 {
		t.Errorf("zero-weight graph: Q %v, error %v; want 0, nil", q, err)
	}
}

// TestWeightedModularityBadInput: malformed matrices and weights are
// errors, not panics.
func TestWeightedModularityBadInput(t *testing.T) {
	for name, f := range map[string]func() error{
		"no rows":      func() error { _, err := WeightedModularity([]int{0}, nil, nil, nil); return err },
		"short labels": func() error { _, err := WeightedModularity([]int{0, 1, 1}, []int32{1}, nil, []int32{0}); return err },
		"rowPtr end":   func() error { _, err := WeightedModularity([]int{0, 1, 3}, []int32{1}, nil, []int32{0, 0}); return err },
		"rowPtr order": func() error {
			_, err := WeightedModularity([]int{0, 2, 1, 2}, []int32{1, 0}, nil, []int32{0, 0, 0})
			return err
		},
		"weights length": func() error {
			_, err := WeightedModularity([]int{0, 1, 1}, []int32{1}, []float64{}, []int32{0, 0})
			return err
		},
		"column range": func() error { _, err := WeightedModularity([]int{0, 1, 1}, []int32{2}, nil, []int32{0, 0}); return err },
		"negative weight": func() error {
			_, err := WeightedModularity([]int{0, 1, 1}, []int32{1}, []float64{-1}, []int32{0, 0})
			return err
		},
		"NaN weight": func() error {
			_, err := WeightedModularity([]int{0, 1, 1}, []int32{1}, []float64{math.NaN()}, []int32{0, 0})
			return err
		},
		"Inf weight": func() error {
			_, err := WeightedModularity([]int{0, 1, 1}, []int32{1}, []float64{math.Inf(1)}, []int32{0, 0})
			return err
		},
	} {
		if f() == nil {
			t.Errorf("%s: no error", name)
		}
	}
}
