package metrics

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// lcgLabels reproduces lcg_labels from the reference script below: a 64-bit
// linear congruential generator, label = (state >> 33) mod k.
func lcgLabels(seed uint64, n int, k uint64) []int32 {
	out := make([]int32, n)
	s := seed
	for i := range out {
		s = s*6364136223846793005 + 1442695040888963407
		out[i] = int32((s >> 33) % k)
	}
	return out
}

// Reference values from scikit-learn 1.2.1 (normalized_mutual_info_score,
// adjusted_rand_score) and SciPy (linear_sum_assignment on
// sklearn.metrics.cluster.contingency_matrix for ACC), Debian's
// python3-sklearn, computed with /usr/bin/python3 running:
//
//	import numpy as np
//	from scipy.optimize import linear_sum_assignment
//	from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score
//	from sklearn.metrics.cluster import contingency_matrix
//
//	def lcg_labels(seed, n, k):
//	    s, out = seed, []
//	    for _ in range(n):
//	        s = (s * 6364136223846793005 + 1442695040888963407) % 2**64
//	        out.append((s >> 33) % k)
//	    return out
//
//	def acc(t, p):
//	    c = contingency_matrix(t, p)
//	    r, col = linear_sum_assignment(-c)
//	    return c[r, col].sum() / len(t)
//
//	cases = {
//	    "unequal": ([0, 0, 0, 0, 0, 1, 1, 1, 2, 2, 2, 2], [1, 1, 1, 0, 3, 3, 2, 2, 2, 2, 0, 0]),
//	    "permuted": ([0, 0, 1, 1, 1, 2, 2, 3], [7, 7, 3, 3, 3, 0, 0, 5]),
//	    "single_pred": ([0, 1, 1, 2, 2, 2], [4, 4, 4, 4, 4, 4]),
//	    "single_both": ([3, 3, 3], [9, 9, 9]),
//	    "odd_values": ([-1, 5, 5, 100, 100, 100, -1], [2, 2, -3, -3, 8, 8, 8]),
//	    "random_10x7": (lcg_labels(1, 500, 10), lcg_labels(2, 500, 7)),
//	    "random_4x13": (lcg_labels(3, 400, 4), lcg_labels(4, 400, 13)),
//	}
//	for name, (t, p) in cases.items():
//	    print('{"%s", %.17g, %.17g, %.17g},' % (name, acc(t, p),
//	          normalized_mutual_info_score(t, p), adjusted_rand_score(t, p)))
var referenceScores = []struct {
	name          string
	acc, nmi, ari float64
}{
	{"unequal", 0.58333333333333337, 0.46959241954126396, 0.18417799752781211},
	{"permuted", 1, 1, 1},
	{"single_pred", 0.5, 0, 0},
	{"single_both", 1, 1, 1},
	{"odd_values", 0.5714285714285714, 0.38009201113242763, -0.050000000000000003},
	{"random_10x7", 0.16, 0.02570440312224772, -0.00011244819063899037},
	{"random_4x13", 0.13, 0.024455915516595469, -0.00088337243777615842},
}

var referenceLabels = map[string][2][]int32{
	"unequal":     {{0, 0, 0, 0, 0, 1, 1, 1, 2, 2, 2, 2}, {1, 1, 1, 0, 3, 3, 2, 2, 2, 2, 0, 0}},
	"permuted":    {{0, 0, 1, 1, 1, 2, 2, 3}, {7, 7, 3, 3, 3, 0, 0, 5}},
	"single_pred": {{0, 1, 1, 2, 2, 2}, {4, 4, 4, 4, 4, 4}},
	"single_both": {{3, 3, 3}, {9, 9, 9}},
	"odd_values":  {{-1, 5, 5, 100, 100, 100, -1}, {2, 2, -3, -3, 8, 8, 8}},
	"random_10x7": {lcgLabels(1, 500, 10), lcgLabels(2, 500, 7)},
	"random_4x13": {lcgLabels(3, 400, 4), lcgLabels(4, 400, 13)},
}

const scoreTol = 1e-9

func TestScoresMatchScikitLearn(t *testing.T) {
	for _, ref := range referenceScores {
		labels := referenceLabels[ref.name]
		truth, pred := labels[0], labels[1]
		for _, m := range []struct {
			metric string
			f      func(truth, pred []int32) (float64, error)
			want   float64
		}{{"ACC", ACC, ref.acc}, {"NMI", NMI, ref.nmi}, {"ARI", ARI, ref.ari}} {
			got, err := m.f(truth, pred)
			if err != nil {
				t.Fatalf("%s %s: %v", ref.name, m.metric, err)
			}
			if math.Abs(got-m.want) > scoreTol {
				t.Errorf("%s %s = %.17g, scikit-learn %.17g", ref.name, m.metric, got, m.want)
			}
		}
	}
}

func TestContingency(t *testing.T) {
	tab, err := Contingency([]int32{5, 5, -1, 5, -1}, []int32{0, 2, 2, 2, 0})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(tab.Classes, []int32{-1, 5}) || !slices.Equal(tab.Clusters, []int32{0, 2}) || tab.N != 5 {
		t.Fatalf("classes %v clusters %v n %d", tab.Classes, tab.Clusters, tab.N)
	}
	want := [][]int64{{1, 1}, {1, 2}}
	for i := range want {
		if !slices.Equal(tab.Counts[i], want[i]) {
			t.Fatalf("counts %v, want %v", tab.Counts, want)
		}
	}
}

func TestBadInput(t *testing.T) {
	for _, f := range []func(truth, pred []int32) (float64, error){ACC, NMI, ARI} {
		if _, err := f([]int32{1, 2}, []int32{1}); err == nil {
			t.Error("length mismatch accepted")
		}
		if _, err := f(nil, nil); err == nil {
			t.Error("empty labels accepted")
		}
	}
	if _, _, err := Hungarian([][]float64{{1, 2}, {3}}); err == nil {
		t.Error("ragged cost matrix accepted")
	}
	if _, _, err := Hungarian([][]float64{{1, math.NaN()}}); err == nil {
		t.Error("NaN cost accepted")
	}
}

// bruteForce returns the least total cost over all ways of pairing the rows
// and columns of cost min(r, c) times, by trying every permutation.
func bruteForce(cost [][]float64) float64 {
	r, c := len(cost), len(cost[0])
	best := math.Inf(1)
	var walk func(row int, used []bool, sum float64, pairs int)
	walk = func(row int, used []bool, sum float64, pairs int) {
		if pairs == min(r, c) {
			best = min(best, sum)
			return
		}
		if row == r {
			return
		}
		if r-row > min(r, c)-pairs { // this row may stay unmatched
			walk(row+1, used, sum, pairs)
		}
		for j := range c {
			if !used[j] {
				used[j] = true
				walk(row+1, used, sum+cost[row][j], pairs+1)
				used[j] = false
			}
		}
	}
	walk(0, make([]bool, c), 0, 0)
	return best
}

func TestHungarianMatchesBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 0x6d657472696373))
	for trial := range 300 {
		r, c := 1+rng.IntN(6), 1+rng.IntN(6)
		cost := make([][]float64, r)
		for i := range cost {
			cost[i] = make([]float64, c)
			for j := range cost[i] {
				if trial%2 == 0 {
					cost[i][j] = float64(rng.IntN(5)) // many ties
				} else {
					cost[i][j] = rng.NormFloat64() * 10
				}
			}
		}
		rowToCol, total, err := Hungarian(cost)
		if err != nil {
			t.Fatal(err)
		}
		seen := map[int]bool{}
		var sum float64
		matched := 0
		for i, j := range rowToCol {
			if j < 0 {
				continue
			}
			if seen[j] {
				t.Fatalf("trial %d: column %d used twice: %v", trial, j, rowToCol)
			}
			seen[j] = true
			sum += cost[i][j]
			matched++
		}
		if matched != min(r, c) {
			t.Fatalf("trial %d: %d pairs for a %dx%d matrix", trial, matched, r, c)
		}
		want := bruteForce(cost)
		if math.Abs(total-want) > 1e-9 || math.Abs(sum-total) > 1e-9 {
			t.Fatalf("trial %d (%dx%d): total %v (assignment sums to %v), brute force %v", trial, r, c, total, sum, want)
		}
	}
}

// TestCounterMatchesWholeLabellings checks that a table accumulated in
// uneven batches scores exactly like the whole labellings (the same
// scikit-learn reference cases).
func TestCounterMatchesWholeLabellings(t *testing.T) {
	for _, ref := range referenceScores {
		labels := referenceLabels[ref.name]
		truth, pred := labels[0], labels[1]
		var c Counter
		for lo := 0; lo < len(truth); lo += 3 {
			hi := min(lo+3, len(truth))
			if err := c.Add(truth[lo:hi], pred[lo:hi]); err != nil {
				t.Fatal(err)
			}
		}
		tab, err := c.Table()
		if err != nil {
			t.Fatal(err)
		}
		acc, err := tab.ACC()
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(acc-ref.acc) > scoreTol || math.Abs(tab.NMI()-ref.nmi) > scoreTol || math.Abs(tab.ARI()-ref.ari) > scoreTol {
			t.Errorf("%s: counter scores %v %v %v, want %v %v %v", ref.name, acc, tab.NMI(), tab.ARI(), ref.acc, ref.nmi, ref.ari)
		}
	}
	var empty Counter
	if _, err := empty.Table(); err == nil {
		t.Error("an empty counter must be an error")
	}
}
