package spectral

import (
	"context"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/deepclust/deepclust/internal/knn"
)

// TestExportedAffinityMatchesFit checks that Affinity returns the graph Fit
// builds from the same neighbour lists, and that bad options are errors.
func TestExportedAffinityMatchesFit(t *testing.T) {
	const n, d, k = 60, 4, 5
	rng := rand.New(rand.NewPCG(8, 9))
	x := make([]float32, n*d)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	nb, err := knn.Search(context.Background(), x, n, d, k)
	if err != nil {
		t.Fatal(err)
	}
	idx, sq := nb.Index, nb.SqDist
	opt := GraphOptions{Others: 3, Affinity: AffinitySelfTune, ScaleNeighbor: 5}
	got, err := Affinity(idx, sq, n, k, opt)
	if err != nil {
		t.Fatal(err)
	}
	want, err := affinityGraph(&knn.Neighbours{N: n, K: k, Index: idx, SqDist: sq}, graphConfig{others: 3, affinity: AffinitySelfTune, scaleNeighbor: 5})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got.RowPtr, want.RowPtr) || !slices.Equal(got.Col, want.Col) || !slices.Equal(got.Val, want.Val) {
		t.Fatal("Affinity differs from the graph Fit builds")
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
