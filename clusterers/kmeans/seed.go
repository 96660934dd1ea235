package kmeans

import (
	"math"
	"math/rand/v2"
	"slices"
)

// plusPlus picks k initial centres by greedy k-means++ as scikit-learn's
// _kmeans_plusplus does (its default for KMeans): the first centre
// uniformly at random, then for each further centre 2+⌊ln k⌋ candidates
// sampled with probability proportional to D² (the squared distance to the
// nearest centre chosen so far), keeping the candidate that lowers the
// potential Σ D² most (the first on ties).
//
// D²_i is computed as max(‖x_i‖² − 2x_i·y + ‖y‖², 0) with x_i·y from a
// float32 GEMM, and kept in one array lowered in place: each step scores
// the rows against that step's candidates only. Rows that no candidate
// can come closer to are not scored at all (see seeder.try), which leaves
// every D²_i and potential exactly as scoring all rows would.
func plusPlus(a *data, k int, rng *rand.Rand) *centres {
	trials := 2 + int(math.Log(float64(k)))
	d := a.d
	chosen := make([]float64, 0, k*d)
	take := func(i int) {
		for _, v := range a.row(i) {
			chosen = append(chosen, float64(v))
		}
	}
	s := newSeeder(a, trials)
	first := rng.IntN(a.n)
	take(first)
	pot := s.start(first)
	cumsum := make([]float64, a.n)
	ids := make([]int, trials)
	for len(chosen) < k*d {
		var run float64
		for i, v := range s.closest {
			run += v
			cumsum[i] = run
		}
		for t := range ids {
			r := rng.Float64() * pot
			ids[t] = min(searchSorted(cumsum, r), a.n-1)
		}
		pots := s.try(ids, chosen)
		best := 0
		for t := range pots {
			if pots[t] < pots[best] {
				best = t
			}
		}
		pot = pots[best]
		s.accept(best, len(chosen)/d)
		take(ids[best])
	}
	return newCentres(chosen, k, d)
}

// searchSorted is numpy's searchsorted(side='left'): the first index whose
// cumulative sum is ≥ r (len(cumsum) if none).
func searchSorted(cumsum []float64, r float64) int {
	i, _ := slices.BinarySearch(cumsum, r)
	return i
}

// seeder holds the k-means++ state: D²_i (closest), the chosen centre it
// was computed against (near), and each step's candidate distances for
// the rows scored (cand[t][i], valid where the row is in its chunk's
// scored list).
type seeder struct {
	a       *data
	m       errModel
	maxNorm float64
	closest []float64
	near    []int32
	cand    [][]float64
	scored  []int32 // the rows scored in chunk ch are scored[lo : lo+count[ch]]
	count   []int
	part    []float64
	rows    int
	pool    [workers]*scratch
	// probe holds the candidate rows as the GEMM operand (only its f32
	// rows are used).
	probe *centres
}

func newSeeder(a *data, trials int) *seeder {
	s := &seeder{a: a, m: newErrModel(a.d), closest: make([]float64, a.n), near: make([]int32, a.n),
		scored: make([]int32, a.n), count: make([]int, numChunks(a.n)), part: make([]float64, numChunks(a.n)*trials)}
	for _, v := range a.norm {
		s.maxNorm = max(s.maxNorm, v)
	}
	s.cand = make([][]float64, trials)
	for t := range s.cand {
		s.cand[t] = make([]float64, a.n)
	}
	s.probe = newCentres(make([]float64, trials*a.d), trials, a.d)
	s.rows = blockRows(s.probe.kp, a.d)
	return s
}

// start makes row first the only centre: D²_i is the distance to it for
// every row. It returns the potential Σ_i D²_i.
func (s *seeder) start(first int) float64 {
	s.score([]int{first}, nil)
	copy(s.closest, s.cand[0])
	clear(s.near)
	return s.potentials(1)[0]
}

// try scores the candidate rows ids against the rows and returns each
// candidate's potential Σ_i min(D²_i, d²(x_i, candidate)), summed per
// chunk in row order, then over chunks in order.
//
// Row i is scored only if a candidate c may lower D²_i. With μ the chosen
// centre D²_i was computed against and E the GEMM error bound of
// distance.go (for ‖x_i‖ and the largest row norm), ‖x_i − μ‖ ≤
// √(D²_i + E), so ‖x_i − c‖ ≥ ‖c − μ‖ − √(D²_i + E), and when ‖c − μ‖ ≥
// 2√(D²_i + E) the computed d²(x_i, c) is at least ‖x_i − c‖² − E ≥ D²_i:
// the minimum is D²_i, as if the row had been scored.
func (s *seeder) try(ids []int, chosen []float64) []float64 {
	d := s.a.d
	nc := len(chosen) / d
	// sep[n] is a lower bound on the distance from chosen centre n to the
	// nearest candidate.
	sep := make([]float64, nc)
	for n := range sep {
		sep[n] = math.Inf(1)
		for _, id := range ids {
			m := sqDist(s.a.row(id), chosen[n*d:(n+1)*d])
			sep[n] = min(sep[n], down(math.Sqrt(down(m*(1-2*s.m.eta)))))
		}
	}
	s.score(ids, sep)
	return s.potentials(len(ids))
}

// score computes cand[t][i] = min(D²_i, d²(x_i, x_{ids[t]})) (without the
// minimum when sep is nil: every row then) for the rows sep does not rule
// out, recording them in scored, and each chunk's per-candidate sums in
// part.
func (s *seeder) score(ids []int, sep []float64) {
	a, m := s.a, len(ids)
	p := s.probe
	clear(p.f32)
	for t, id := range ids {
		for q, v := range a.row(id) {
			p.f32[t*a.d+q] = v
		}
	}
	forEachChunkW(a.n, func(w, ch, lo, hi int) {
		sc := s.pool[w]
		if sc == nil {
			sc = newScratch(p, s.rows)
			s.pool[w] = sc
		}
		list := s.scored[lo:lo:hi]
		for i := lo; i < hi; i++ {
			if sep != nil {
				e := s.m.errBound(a.norm[i], s.maxNorm)
				if sep[s.near[i]] >= up(2*up(math.Sqrt(up(s.closest[i]+e)))) {
					continue
				}
			}
			list = append(list, int32(i))
		}
		s.count[ch] = len(list)
		for len(list) > 0 {
			var b block
			b, list = nextBlock(list, s.rows, a.n)
			dots := products(a, p, &b, sc)
			for t, id := range ids {
				out := s.cand[t]
				row := dots[t*b.width : (t+1)*b.width]
				for q, i32 := range b.rows {
					i := int(i32)
					dist := max(a.sqNorm[i]-2*float64(row[b.col(q)])+a.sqNorm[id], 0)
					if sep != nil {
						dist = min(dist, s.closest[i])
					}
					out[i] = dist
				}
			}
		}
		// Per-candidate sums in row order, D²_i for rows not scored.
		scored := s.scored[lo : lo+s.count[ch]]
		for t := range m {
			var sum float64
			next := 0
			for i := lo; i < hi; i++ {
				if next < len(scored) && int(scored[next]) == i {
					sum += s.cand[t][i]
					next++
				} else {
					sum += s.closest[i]
				}
			}
			s.part[ch*m+t] = sum
		}
	})
}

// potentials adds the chunks' per-candidate sums in chunk order.
func (s *seeder) potentials(m int) []float64 {
	pots := make([]float64, m)
	for ch := range s.count {
		for t := range m {
			pots[t] += s.part[ch*m+t]
		}
	}
	return pots
}

// accept makes candidate t of the last try the chosen centre number n.
func (s *seeder) accept(t, n int) {
	out := s.cand[t]
	forEachChunk(s.a.n, func(ch, lo, _ int) {
		for _, i := range s.scored[lo : lo+s.count[ch]] {
			if v := out[i]; v < s.closest[i] {
				s.closest[i] = v
				s.near[i] = int32(n)
			}
		}
	})
}
