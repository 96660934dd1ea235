package spectral

import (
	"context"
	"math"
	"slices"
	"testing"

	"github.com/deepclust/deepclust/internal/knn"
)

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
	nb, err := knn.Search(context.Background(), x, 5, 1, g.searchK())
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
	nb, err := knn.Search(context.Background(), x, 5, 1, 1)
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
