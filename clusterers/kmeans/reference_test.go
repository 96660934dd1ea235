package kmeans

import (
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/deepclust/deepclust/dataset"
	"github.com/deepclust/deepclust/internal/kernels"
	"github.com/deepclust/deepclust/sdk"
)

// The reference k-means below is the plain algorithm the fast one must
// reproduce bit for bit: every round scores every row against every centre
// by refDist (float64, feature order), ties to the lower index; cluster
// sums are per chunk of chunkRows rows in row order, then over chunks in
// order; empty clusters take the farthest rows; the seeding computes every
// distance with ‖x‖² − 2x·y + ‖y‖² (x·y from one GEMM over all rows).
// It is written without the package's helpers so that it can catch them.

func refDist(x []float32, mu []float64) float64 {
	var s float64
	for t, v := range x {
		dv := float64(v) - mu[t]
		s += dv * dv
	}
	return s
}

func refNearest(x []float32, centres []float64, k, d int) int {
	best, bestD := 0, math.Inf(1)
	for j := range k {
		if dist := refDist(x, centres[j*d:(j+1)*d]); dist < bestD {
			best, bestD = j, dist
		}
	}
	return best
}

func refInertia(x []float32, n, d int, centres []float64, labels []int32) float64 {
	var total float64
	for lo := 0; lo < n; lo += chunkRows {
		var s float64
		for i := lo; i < min(n, lo+chunkRows); i++ {
			s += refDist(x[i*d:(i+1)*d], centres[int(labels[i])*d:][:d])
		}
		total += s
	}
	return total
}

// refLloyd is scikit-learn's _kmeans_single_lloyd with the label rule
// above, from centres init (k × d, not modified).
func refLloyd(x []float32, n, d int, init []float64, k, maxIter int, tolAbs float64) (labels []int32, centres []float64, obj float64, rounds int) {
	centres = slices.Clone(init)
	labels = make([]int32, n)
	old := make([]int32, n)
	for i := range old {
		old[i] = -1
	}
	strict := false
	for rounds < maxIter {
		rounds++
		for i := range n {
			labels[i] = int32(refNearest(x[i*d:(i+1)*d], centres, k, d))
		}
		sums := make([]float64, k*d)
		sizes := make([]int64, k)
		for lo := 0; lo < n; lo += chunkRows {
			part := make([]float64, k*d)
			for i := lo; i < min(n, lo+chunkRows); i++ {
				j := int(labels[i])
				sizes[j]++
				for t, v := range x[i*d : (i+1)*d] {
					part[j*d+t] += float64(v)
				}
			}
			for t, v := range part {
				sums[t] += v
			}
		}
		// Empty clusters, in index order, take the rows farthest from
		// their centres, farthest first, ties to the lower row.
		var empty []int
		for j, s := range sizes {
			if s == 0 {
				empty = append(empty, j)
			}
		}
		if len(empty) > 0 {
			order := make([]int, n)
			dist := make([]float64, n)
			for i := range n {
				order[i] = i
				dist[i] = refDist(x[i*d:(i+1)*d], centres[int(labels[i])*d:][:d])
			}
			slices.SortStableFunc(order, func(p, q int) int { return cmp.Compare(dist[q], dist[p]) })
			for e, j := range empty {
				far := order[e]
				from := int(labels[far])
				for t, v := range x[far*d : (far+1)*d] {
					sums[from*d+t] -= float64(v)
					sums[j*d+t] = float64(v)
				}
				sizes[j] = 1
				sizes[from]--
			}
		}
		var shift float64
		for j := range k {
			scale := 1.0
			if sizes[j] > 0 {
				scale = 1 / float64(sizes[j])
			}
			for t := range d {
				v := sums[j*d+t] * scale
				shift += (v - centres[j*d+t]) * (v - centres[j*d+t])
				centres[j*d+t] = v
			}
		}
		if slices.Equal(labels, old) {
			strict = true
			break
		}
		if shift <= tolAbs {
			break
		}
		copy(old, labels)
	}
	if !strict {
		for i := range n {
			labels[i] = int32(refNearest(x[i*d:(i+1)*d], centres, k, d))
		}
	}
	return labels, centres, refInertia(x, n, d, centres, labels), rounds
}

// refPlusPlus is greedy k-means++ (scikit-learn's _kmeans_plusplus) with
// every distance to every candidate computed over all rows.
func refPlusPlus(x []float32, n, d, k int, rng *rand.Rand) []float64 {
	sq := make([]float64, n)
	for i := range n {
		for _, v := range x[i*d : (i+1)*d] {
			sq[i] += float64(v) * float64(v)
		}
	}
	distTo := func(id int) []float64 {
		dots := make([]float32, n)
		kernels.Gemm(false, true, n, 1, d, 1, x, d, x[id*d:(id+1)*d], d, 0, dots, 1)
		out := make([]float64, n)
		for i := range n {
			out[i] = max(sq[i]-2*float64(dots[i])+sq[id], 0)
		}
		return out
	}
	potential := func(dist []float64) float64 {
		var total float64
		for lo := 0; lo < n; lo += chunkRows {
			var s float64
			for _, v := range dist[lo:min(n, lo+chunkRows)] {
				s += v
			}
			total += s
		}
		return total
	}
	trials := 2 + int(math.Log(float64(k)))
	first := rng.IntN(n)
	chosen := []int{first}
	closest := distTo(first)
	pot := potential(closest)
	for len(chosen) < k {
		cum := make([]float64, n)
		var run float64
		for i, v := range closest {
			run += v
			cum[i] = run
		}
		ids := make([]int, trials)
		for t := range ids {
			r := rng.Float64() * pot
			ids[t] = n - 1
			for i, v := range cum {
				if v >= r {
					ids[t] = i
					break
				}
			}
		}
		var bestDist []float64
		bestPot, best := math.Inf(1), -1
		for _, id := range ids {
			dist := distTo(id)
			for i := range dist {
				dist[i] = min(dist[i], closest[i])
			}
			if p := potential(dist); p < bestPot {
				bestPot, best, bestDist = p, id, dist
			}
		}
		chosen = append(chosen, best)
		closest, pot = bestDist, bestPot
	}
	out := make([]float64, 0, k*d)
	for _, id := range chosen {
		for _, v := range x[id*d : (id+1)*d] {
			out = append(out, float64(v))
		}
	}
	return out
}

// refCluster is Cluster by the reference: nInit seedings and Lloyd runs
// from one random stream, the lowest inertia (the earliest on ties) wins.
func refCluster(x []float32, n, d, k, nInit, maxIter int, tolAbs float64, seed uint64) (labels []int32, centres []float64, obj float64) {
	rng := rand.New(rand.NewPCG(seed, pcgStream))
	for r := range nInit {
		init := refPlusPlus(x, n, d, k, rng)
		l, c, o, _ := refLloyd(x, n, d, init, k, maxIter, tolAbs)
		if r == 0 || o < obj {
			labels, centres, obj = l, c, o
		}
	}
	return labels, centres, obj
}

// quantised is n×d data on a grid of 1/64 in [0, 4): float64 sums of it are
// exact, so the fast path updates sums with the rows that change cluster.
func quantised(seed uint64, n, d, k int) []float32 {
	rng := rand.New(rand.NewPCG(seed, 7))
	centres := make([]float64, k*d)
	for i := range centres {
		centres[i] = 0.5 + 3*rng.Float64()
	}
	x := make([]float32, n*d)
	for i := range n {
		j := rng.IntN(k)
		for t := range d {
			v := centres[j*d+t] + rng.NormFloat64()*0.6
			x[i*d+t] = float32(min(max(math.Round(v*64)/64, 0), 4-1.0/64))
		}
	}
	return x
}

// ties is data on a coarse integer grid with many duplicate rows, so that
// rows are often exactly equidistant from two centres.
func ties(seed uint64, n, d int) []float32 {
	rng := rand.New(rand.NewPCG(seed, 8))
	x := make([]float32, n*d)
	for i := range x {
		x[i] = float32(rng.IntN(4))
	}
	return x
}

type refCase struct {
	name         string
	x            []float32
	n, d, k      int
	wantExact    bool
	nInit, iters int
}

func refCases(t *testing.T) []refCase {
	blobs, _ := lcgBlobs(21, 1800, 7, 6, 14)
	wide, _ := lcgBlobs(22, 700, 60, 9, 30)
	// A tiny first row makes float64 sums of these inexact, so the fast
	// path recomputes them per chunk.
	tiny := func(x []float32, d int) []float32 {
		x = slices.Clone(x)
		for t := range d {
			x[t] *= 1e-7
		}
		return x
	}
	cases := []refCase{
		{"blobs 1800×7 k=6", tiny(blobs.Data, 7), 1800, 7, 6, false, 3, 300},
		{"blobs 700×60 k=9", tiny(wide.Data, 60), 700, 60, 9, false, 2, 300},
		{"blobs 1800×7 k=6 exact sums", blobs.Data, 1800, 7, 6, true, 2, 300},
		{"quantised 2500×12 k=8", quantised(3, 2500, 12, 8), 2500, 12, 8, true, 3, 300},
		{"quantised 1200×5 k=25", quantised(4, 1200, 5, 25), 1200, 5, 25, true, 2, 300},
		{"ties 900×3 k=7", ties(5, 900, 3), 900, 3, 7, true, 3, 300},
		{"blobs 1800×7 k=6 max_iter=3", tiny(blobs.Data, 7), 1800, 7, 6, false, 2, 3},
	}
	if ds, err := dataset.Load("", dataset.Options{}); err == nil {
		// Built-in MNIST pixels (k/255 in float32): exact sums, d = 784.
		const n = 1500
		cases = append(cases, refCase{"MNIST 1500×784 k=10", ds.X.Data[:n*784], n, 784, 10, true, 1, 300})
	} else {
		t.Logf("built-in MNIST not loaded: %v", err)
	}
	return cases
}

// TestMatchesReferenceLloyd checks that Cluster (bounded rounds, GEMM
// scoring, incremental or chunked sums, parallel chunks) gives exactly the
// reference's labels, centres and inertia, with Elkan's bounds and with
// Hamerly's, each with and without the centre-separation test.
func TestMatchesReferenceLloyd(t *testing.T) {
	modes := []struct {
		name              string
		minK, elkan, pair int
	}{
		{"elkan", 0, elkanBounds, pairBudget},
		{"hamerly", 0, 0, pairBudget},
		{"elkan without separation", 0, elkanBounds, 0},
		{"hamerly without separation", 0, 0, 0},
	}
	for _, tc := range refCases(t) {
		a := newData(tc.x, tc.n, tc.d)
		if got := a.exactSums(); got != tc.wantExact {
			t.Fatalf("%s: exactSums %v, want %v", tc.name, got, tc.wantExact)
		}
		tolAbs := tolerance(a, 1e-4)
		for _, seed := range []uint64{1, 2} {
			wantL, wantC, wantObj := refCluster(tc.x, tc.n, tc.d, tc.k, tc.nInit, tc.iters, tolAbs, seed)
			for _, m := range modes {
				t.Run(fmt.Sprintf("%s/seed %d/%s", tc.name, seed, m.name), func(t *testing.T) {
					defer func(m, e, p int) { elkanMinK, elkanBounds, pairBudget = m, e, p }(elkanMinK, elkanBounds, pairBudget)
					elkanMinK, elkanBounds, pairBudget = m.minK, m.elkan, m.pair
					got, err := Cluster(sdk.Tensor{Shape: []int{tc.n, tc.d}, Data: tc.x}, tc.k, tc.nInit, tc.iters, 1e-4, seed)
					if err != nil {
						t.Fatal(err)
					}
					if !slices.Equal(got.Labels, wantL) || !slices.Equal(got.Centroids, wantC) || got.Inertia != wantObj {
						diff := 0
						for i := range wantL {
							if got.Labels[i] != wantL[i] {
								diff++
							}
						}
						t.Fatalf("differs from the reference: %d labels differ, inertia %.17g vs %.17g", diff, got.Inertia, wantObj)
					}
				})
			}
		}
	}
}

// TestLloydRoundsMatchReference checks single Lloyd runs from given
// centres, including the number of rounds, and an empty cluster.
func TestLloydRoundsMatchReference(t *testing.T) {
	for _, tc := range refCases(t) {
		a := newData(tc.x, tc.n, tc.d)
		tolAbs := tolerance(a, 1e-4)
		// Start from rows 0..k−1 (some duplicates in the tie data), and
		// with the last centre far away so that its cluster is empty.
		init := make([]float64, tc.k*tc.d)
		for i, v := range tc.x[:tc.k*tc.d] {
			init[i] = float64(v)
		}
		far := slices.Clone(init)
		for t := range tc.d {
			far[(tc.k-1)*tc.d+t] = 1e3
		}
		for _, start := range [][]float64{init, far} {
			wantL, wantC, wantObj, wantRounds := refLloyd(tc.x, tc.n, tc.d, start, tc.k, tc.iters, tolAbs)
			c := newCentres(slices.Clone(start), tc.k, tc.d)
			l, obj, rounds := lloyd(a, c, tc.iters, tolAbs)
			if rounds != wantRounds || !slices.Equal(l, wantL) || !slices.Equal(c.f64, wantC) || obj != wantObj {
				t.Errorf("%s: %d rounds, inertia %.17g; reference %d rounds, %.17g", tc.name, rounds, obj, wantRounds, wantObj)
			}
		}
	}
}

// TestAssignMatchesReference checks the unbounded assignment (Assign,
// Update with assign) against argmin R_j, on centres close to the rows so
// that the GEMM estimate is often ambiguous.
func TestAssignMatchesReference(t *testing.T) {
	for _, tc := range refCases(t) {
		a := newData(tc.x, tc.n, tc.d)
		rng := rand.New(rand.NewPCG(9, 9))
		centres := make([]float64, tc.k*tc.d)
		for j := range tc.k {
			i := rng.IntN(tc.n)
			for t, v := range a.row(i) {
				centres[j*tc.d+t] = float64(v) + 1e-7*rng.NormFloat64()
			}
		}
		labels := make([]int32, tc.n)
		assign(a, newCentres(centres, tc.k, tc.d), labels)
		for i := range tc.n {
			if want := refNearest(a.row(i), centres, tc.k, tc.d); int(labels[i]) != want {
				t.Fatalf("%s: row %d labelled %d, reference %d", tc.name, i, labels[i], want)
			}
		}
	}
}

// TestErrorBoundHolds checks |D̃_j − R_j| ≤ E_j ≤ E (distance.go) on rows
// and centres of very different norms, and that E_j is not vacuous.
func TestErrorBoundHolds(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 11))
	for _, d := range []int{1, 3, 50, 784, 2000} {
		const n, k = 300, 7
		x := make([]float32, n*d)
		for i := range n {
			scale := math.Pow(10, float64(rng.IntN(7)-3))
			for t := range d {
				x[i*d+t] = float32(scale * rng.NormFloat64())
			}
		}
		a := newData(x, n, d)
		mu := make([]float64, k*d)
		for i := range mu {
			mu[i] = math.Pow(10, float64(rng.IntN(5)-2)) * rng.NormFloat64()
		}
		c := newCentres(mu, k, d)
		m := newErrModel(d)
		s := newScratch(c, blockRows(c.kp, d))
		idx := make([]int32, n)
		for i := range idx {
			idx[i] = int32(i)
		}
		worst := 0.0
		for len(idx) > 0 {
			var b block
			b, idx = nextBlock(idx, blockRows(c.kp, d), n)
			dots := products(a, c, &b, s)
			for q, i := range b.rows {
				nearest(a, c, &m, int(i), dots, b.width, b.col(q), s)
				for j := range k {
					r := refDist(a.row(int(i)), c.row(j))
					bound := m.errBound(a.norm[i], c.norm[j])
					if bound > s.err {
						t.Fatalf("d=%d row %d: the row's E %g is below E_%d = %g", d, i, s.err, j, bound)
					}
					if e := math.Abs(s.dist[j] - r); e > bound {
						t.Fatalf("d=%d row %d centre %d: |D̃−R| = %g > E_j = %g", d, i, j, e, bound)
					} else if bound > 0 {
						worst = max(worst, e/bound)
					}
				}
			}
		}
		if worst < 1e-4 {
			t.Errorf("d=%d: largest |D̃−R|/E %g: E looks far too loose", d, worst)
		}
	}
}

func TestRoundDown32AndLowestBit(t *testing.T) {
	rng := rand.New(rand.NewPCG(12, 12))
	for range 10000 {
		v := math.Exp(rng.NormFloat64() * 20)
		f := roundDown32(v)
		if float64(f) > v || float64(math.Nextafter32(f, float32(math.Inf(1)))) <= v {
			t.Fatalf("roundDown32(%v) = %v is not the largest float32 ≤ it", v, f)
		}
	}
	for _, c := range []struct {
		v    float32
		want int32
	}{{1, 0}, {0.5, -1}, {3, 0}, {6, 1}, {0.75, -2}, {-0.75, -2}, {1.0 / 255, -31}, {math.SmallestNonzeroFloat32, -149}, {0x1p-130, -130}} {
		if got := lowestBit(c.v); got != c.want {
			t.Errorf("lowestBit(%v) = %d, want %d", c.v, got, c.want)
		}
	}
	// Values on a 2⁻²³ grid summing to 4 need 25 bits: exact. 2⁻³⁰ and
	// 2²⁴ need 54: not.
	if !newData([]float32{1 + 0x1p-23, 3}, 2, 1).exactSums() {
		t.Error("two values on a 2⁻²³ grid: sums not exact")
	}
	if newData([]float32{0x1p-30, 1 << 24}, 2, 1).exactSums() {
		t.Error("2⁻³⁰ and 2²⁴ in one feature: sums reported exact")
	}
}
