package validity

import (
	"math"
	"math/rand/v2"
	"testing"
)

// modularityDense is the textbook definition (Newman 2006, eq. 2),
// Q = (1/2m) Σ_ij [W_ij − d_i d_j/2m] δ(c_i, c_j), over the dense W = N + Nᵀ.
func modularityDense(index []int32, n, k int, labels []int32) float64 {
	w := make([]float64, n*n)
	for i := range n {
		for _, j := range index[i*k : (i+1)*k] {
			w[i*n+int(j)]++
			w[int(j)*n+i]++
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
