package spectral

import (
	"context"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestExportedGraphMatchesFit checks that Neighbours returns the brute-force
// neighbour lists (indices exactly, distances to 1e-12 relative) and that
// Affinity returns the graph Fit builds from them, and that bad arguments
// are errors.
func TestExportedGraphMatchesFit(t *testing.T) {
	const n, d, k = 60, 4, 5
	rng := rand.New(rand.NewPCG(8, 9))
	x := make([]float32, n*d)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	ctx := context.Background()
	idx, sq, err := Neighbours(ctx, x, n, d, k)
	if err != nil {
		t.Fatal(err)
	}
	wantIdx, wantSq := bruteNeighbours(x, n, d, k)
	if !slices.Equal(idx, wantIdx) {
		t.Fatal("Neighbours indices differ from brute force")
	}
	for i := range sq {
		if diff := sq[i] - wantSq[i]; diff > 1e-12*wantSq[i] || diff < -1e-12*wantSq[i] {
			t.Fatalf("distance %d: %v, want %v", i, sq[i], wantSq[i])
		}
	}
	opt := GraphOptions{Others: 3, Affinity: AffinitySelfTune, ScaleNeighbor: 5}
	got, err := Affinity(idx, sq, n, k, opt)
	if err != nil {
		t.Fatal(err)
	}
	want, err := affinityGraph(&neighbours{n: n, k: k, Index: idx, SqDist: sq}, graphConfig{others: 3, affinity: AffinitySelfTune, scaleNeighbor: 5})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got.RowPtr, want.RowPtr) || !slices.Equal(got.Col, want.Col) || !slices.Equal(got.Val, want.Val) {
		t.Fatal("Affinity differs from the graph Fit builds")
	}
	if _, _, err := Neighbours(ctx, x, n, d, n); err == nil {
		t.Error("Neighbours with k = n succeeded")
	}
	bad := []GraphOptions{
		{Others: k + 1, Affinity: AffinityKNN},
		{Others: 2, Affinity: AffinitySelfTune, ScaleNeighbor: k + 1},
		{Others: 2, Affinity: AffinityRBF},
		{Others: 2, Affinity: "cosine"},
	}
	for _, o := range bad {
		if _, err := Affinity(idx, sq, n, k, o); err == nil {
			t.Errorf("Affinity(%+v) succeeded", o)
		}
	}
}
