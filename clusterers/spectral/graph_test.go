package spectral

import (
	"cmp"
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// bruteNeighbours sorts all other rows of x by float64 squared distance
// (ties: lower index) and keeps k: the reference for nearestNeighbours.
func bruteNeighbours(x []float32, n, d, k int) ([]int32, []float64) {
	idx := make([]int32, 0, n*k)
	dist := make([]float64, 0, n*k)
	type pair struct {
		d float64
		j int
	}
	for i := range n {
		all := make([]pair, 0, n-1)
		for j := range n {
			if j == i {
				continue
			}
			var s float64
			for t := range d {
				diff := float64(x[i*d+t]) - float64(x[j*d+t])
				s += diff * diff
			}
			all = append(all, pair{s, j})
		}
		slices.SortFunc(all, func(a, b pair) int {
			if c := cmp.Compare(a.d, b.d); c != 0 {
				return c
			}
			return cmp.Compare(a.j, b.j)
		})
		for _, p := range all[:k] {
			idx = append(idx, int32(p.j))
			dist = append(dist, p.d)
		}
	}
	return idx, dist
}

// TestNearestNeighboursMatchesBruteForce compares the tiled GEMM search
// with brute force over 1,100 points (three tiles of 512, so every kind
// of tile pair occurs), with points offset far from the origin (where
// ‖a‖² − 2a·b + ‖b‖² in float32 cancels badly) and duplicated rows (ties
// at distance 0). Indices must agree exactly, distances to 1e-12 relative.
func TestNearestNeighboursMatchesBruteForce(t *testing.T) {
	const n, d, k = 1100, 13, 9
	rng := rand.New(rand.NewPCG(4, 5))
	x := make([]float32, n*d)
	for i := range x {
		x[i] = float32(100 + rng.NormFloat64())
	}
	for _, dup := range [][2]int{{10, 700}, {11, 701}, {600, 1099}} {
		copy(x[dup[1]*d:(dup[1]+1)*d], x[dup[0]*d:(dup[0]+1)*d])
	}
	got, err := nearestNeighbours(context.Background(), x, n, d, k)
	if err != nil {
		t.Fatal(err)
	}
	wantIdx, wantDist := bruteNeighbours(x, n, d, k)
	for i := range n * k {
		if got.Index[i] != wantIdx[i] {
			t.Fatalf("row %d neighbour %d: index %d, brute force %d", i/k, i%k, got.Index[i], wantIdx[i])
		}
		if diff := math.Abs(got.SqDist[i] - wantDist[i]); diff > 1e-12*max(wantDist[i], 1) {
			t.Fatalf("row %d neighbour %d: distance %g, brute force %g", i/k, i%k, got.SqDist[i], wantDist[i])
		}
	}
	if got.Index[700*k] != 10 || got.SqDist[700*k] != 0 {
		t.Errorf("duplicate of row 10: nearest is %d at %g, want 10 at 0", got.Index[700*k], got.SqDist[700*k])
	}
}

// TestSelfTuneHandExample checks the self-tuning affinity (Zelnik-Manor &
// Perona 2004) on five points of a line, 0 1 3 6 10, with two neighbours
// per point and σ_i the distance to the 2nd nearest other point, worked by
// hand:
//
//	σ = (3, 2, 3, 4, 7)  (point 3's 2nd neighbour: 0 and 6 tie at 3, 0 wins)
//	W_01 = W_10 = e^{−1/6}, W_02 = W_20 = e^{−9/9}, W_12 = W_21 = e^{−4/6},
//	W_32 = e^{−9/12}, W_34 = W_43 = e^{−16/28}, W_42 = e^{−49/21},
//
// so A = (W + Wᵀ)/2 halves the one-way edges 3→2 and 4→2.
func TestSelfTuneHandExample(t *testing.T) {
	x := []float32{0, 1, 3, 6, 10}
	g := graphConfig{others: 2, affinity: AffinitySelfTune, scaleNeighbor: 2}
	nb, err := nearestNeighbours(context.Background(), x, 5, 1, g.searchK())
	if err != nil {
		t.Fatal(err)
	}
	a, err := affinityGraph(nb, g)
	if err != nil {
		t.Fatal(err)
	}
	want := [5][5]float64{}
	set := func(i, j int, v float64) { want[i][j], want[j][i] = v, v }
	set(0, 1, math.Exp(-1.0/6))
	set(0, 2, math.Exp(-1))
	set(1, 2, math.Exp(-2.0/3))
	set(2, 3, math.Exp(-3.0/4)/2)
	set(3, 4, math.Exp(-4.0/7))
	set(2, 4, math.Exp(-7.0/3)/2)
	var got [5][5]float64
	for i := range 5 {
		for p := a.RowPtr[i]; p < a.RowPtr[i+1]; p++ {
			got[i][a.Col[p]] = a.Val[p]
		}
	}
	for i := range 5 {
		for j := range 5 {
			if math.Abs(got[i][j]-want[i][j]) > 1e-15 {
				t.Errorf("A[%d][%d] = %.17g, want %.17g", i, j, got[i][j], want[i][j])
			}
		}
	}
}

// TestAffinityKinds checks the connectivity and Gaussian weights on the
// same line and the self-loop given to a vertex left without edges.
func TestAffinityKinds(t *testing.T) {
	x := []float32{0, 1, 3, 6, 10}
	nb, err := nearestNeighbours(context.Background(), x, 5, 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	// Nearest other points: 0→1, 1→0, 2→1, 3→2, 4→3.
	conn, err := affinityGraph(nb, graphConfig{others: 1, affinity: AffinityKNN})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(conn.Col, []int32{1, 0, 2, 1, 3, 2, 4, 3}) || !slices.Equal(conn.Val, []float64{1, 1, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5}) {
		t.Errorf("knn affinity: cols %v vals %v", conn.Col, conn.Val)
	}
	rbf, err := affinityGraph(nb, graphConfig{others: 1, affinity: AffinityRBF, sigma: 2})
	if err != nil {
		t.Fatal(err)
	}
	if want := math.Exp(-16.0/8) / 2; rbf.Val[6] != want {
		t.Errorf("rbf weight of 4→3 = %g, want e^{-16/8}/2 = %g", rbf.Val[6], want)
	}
	// With σ = 0.01 every weight exp(−d²/(2σ²)) ≤ e^{−5000} underflows to zero.
	tiny, err := affinityGraph(nb, graphConfig{others: 1, affinity: AffinityRBF, sigma: 0.01})
	if err != nil {
		t.Fatal(err)
	}
	if c, _ := tiny.Components(); c != 5 {
		t.Errorf("σ=0.01: %d components, want 5 (every weight underflows)", c)
	}
	if tiny.RowPtr[5]-tiny.RowPtr[4] != 1 || tiny.Col[tiny.RowPtr[4]] != 4 || tiny.Val[tiny.RowPtr[4]] != 1 {
		t.Errorf("isolated vertex 4 has no unit self-loop")
	}
}
