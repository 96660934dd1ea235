package knn

import (
	"cmp"
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// bruteNeighbours sorts all other rows of x by float64 squared distance
// (ties: lower index) and keeps k: the reference for Search.
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

// TestSearchMatchesBruteForce compares the tiled GEMM search
// with brute force over 1,100 points (three tiles of 512, so every kind
// of tile pair occurs), with points offset far from the origin (where
// ‖a‖² − 2a·b + ‖b‖² in float32 cancels badly) and duplicated rows (ties
// at distance 0). Indices must agree exactly, distances to 1e-12 relative.
func TestSearchMatchesBruteForce(t *testing.T) {
	const n, d, k = 1100, 13, 9
	rng := rand.New(rand.NewPCG(4, 5))
	x := make([]float32, n*d)
	for i := range x {
		x[i] = float32(100 + rng.NormFloat64())
	}
	for _, dup := range [][2]int{{10, 700}, {11, 701}, {600, 1099}} {
		copy(x[dup[1]*d:(dup[1]+1)*d], x[dup[0]*d:(dup[0]+1)*d])
	}
	got, err := Search(context.Background(), x, n, d, k)
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

// TestSearchRejectsBadArguments checks the argument errors.
func TestSearchRejectsBadArguments(t *testing.T) {
	x := []float32{0, 1, 2, 3}
	for _, tc := range []struct{ n, d, k int }{{4, 1, 4}, {4, 1, 0}, {3, 1, 1}, {2, 3, 1}, {4, 0, 1}} {
		if _, err := Search(context.Background(), x, tc.n, tc.d, tc.k); err == nil {
			t.Errorf("Search(n=%d, d=%d, k=%d) on 4 values succeeded", tc.n, tc.d, tc.k)
		}
	}
}
