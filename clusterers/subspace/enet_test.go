package subspace

import (
	"context"
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"testing"
)

// TestElasticNetMatchesScikitLearn solves the problems of
// testdata/sklearn_enet.json (made by testdata/sklearn_enet.py with
// scikit-learn 1.2.1's ElasticNet at tol 1e-12) and compares the
// coefficients: within 1e-7 absolute.
func TestElasticNetMatchesScikitLearn(t *testing.T) {
	raw, err := os.ReadFile("testdata/sklearn_enet.json")
	if err != nil {
		t.Fatal(err)
	}
	var ref struct {
		Cases []struct {
			Name   string
			Atoms  [][]float64
			Y      []float64
			L1, L2 float64
			Coef   []float64
		}
	}
	if err := json.Unmarshal(raw, &ref); err != nil {
		t.Fatal(err)
	}
	if len(ref.Cases) == 0 {
		t.Fatal("no cases")
	}
	for _, c := range ref.Cases {
		t.Run(c.Name, func(t *testing.T) {
			atoms := make([][]float32, len(c.Atoms))
			for j, a := range c.Atoms {
				atoms[j] = make([]float32, len(a))
				for u, v := range a {
					atoms[j][u] = float32(v) // exact: the script rounded them to float32
				}
			}
			e := enet{l1: c.L1, l2: c.L2, tol: 1e-14, maxSweeps: 1000000}
			r := e.solve(c.Y, len(atoms), func(j int) []float32 { return atoms[j] }, nil, nil)
			var worst float64
			for j, want := range c.Coef {
				worst = max(worst, math.Abs(r.c[j]-want))
			}
			t.Logf("%d atoms, %d sweeps, gap %.3g, largest |c − c_sklearn| %.3g", len(atoms), r.sweeps, r.gap, worst)
			if worst > 1e-7 {
				t.Errorf("largest coefficient difference %.3g, want ≤ 1e-7", worst)
			}
		})
	}
}

// TestActiveSetMatchesFullProblem checks the oracle-guided active set on
// 400 random unit vectors in ℝ³⁰: with a support of 10 it needs several
// rounds, and every point's coefficients must match the elastic net solved
// over all 399 other points directly (within 1e-6), and satisfy the
// optimality condition |x_jᵀδ| ≤ τ(1 + kktTol) off the support.
func TestActiveSetMatchesFullProblem(t *testing.T) {
	const n, d = 400, 30
	rng := rand.New(rand.NewPCG(3, 4))
	x := make([]float32, n*d)
	for i := range n {
		var s float64
		row := make([]float64, d)
		for u := range row {
			row[u] = rng.NormFloat64()
			s += row[u] * row[u]
		}
		for u := range row {
			x[i*d+u] = float32(row[u] / math.Sqrt(s))
		}
	}
	self := make([]int32, n)
	for i := range self {
		self[i] = int32(i)
	}
	o := expressOptions{gamma: 20, tau: 0.9, support: 10, rounds: 40, nonzero: n, tol: 1e-12, maxSweeps: 100000}
	e, err := express(context.Background(), x, n, x, n, d, self, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d rounds, %d unconverged, %d nonzeros", e.Rounds, e.Unconverged, len(e.Val))
	if e.Rounds < 2 || e.Unconverged != 0 {
		t.Fatalf("%d rounds, %d unconverged: want several rounds, all converged", e.Rounds, e.Unconverged)
	}
	var worst float64
	for _, i := range []int{0, 1, 57, 199, 399} {
		others := make([]int, 0, n-1)
		var mu float64
		for j := range n {
			if j != i {
				others = append(others, j)
				mu = max(mu, math.Abs(dot64(x[i*d:(i+1)*d], x[j*d:(j+1)*d])))
			}
		}
		alpha := mu / (o.gamma * o.tau)
		full := enet{l1: alpha * o.tau, l2: alpha * (1 - o.tau), tol: 1e-14, maxSweeps: 1000000}
		r := full.solve(widen(x[i*d:(i+1)*d]), len(others), func(t int) []float32 { j := others[t]; return x[j*d : (j+1)*d] }, nil, nil)
		got := make(map[int]float64)
		for p := e.RowPtr[i]; p < e.RowPtr[i+1]; p++ {
			got[int(e.Col[p])] = e.Val[p]
		}
		for t2, j := range others {
			worst = max(worst, math.Abs(r.c[t2]-got[j]))
		}
	}
	t.Logf("largest difference from the full problem: %.3g", worst)
	if worst > 1e-6 {
		t.Errorf("active set differs from the full problem by %.3g, want ≤ 1e-6", worst)
	}
}

// TestPolishReachesKKT solves elastic nets whose nonzero atoms are
// linearly dependent (60 tightly clustered unit atoms in ℝ⁸, a small ℓ2 share),
// where coordinate descent alone converges at the rate l2/G_jj, and checks
// the solution against the elastic net's optimality conditions recomputed
// in float64 from the atoms: a_jᵀr − l2·c_j = l1·sign(c_j) for c_j ≠ 0 and
// |a_jᵀr| ≤ l1 for c_j = 0, to 1e-8.
func TestPolishReachesKKT(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 9))
	const d, m = 8, 60
	centre := make([]float64, d)
	for u := range centre {
		centre[u] = rng.NormFloat64()
	}
	atoms := make([][]float32, m)
	for j := range atoms {
		v := make([]float64, d)
		var n float64
		for u := range v {
			v[u] = centre[u] + 0.1*rng.NormFloat64()
			n += v[u] * v[u]
		}
		a := make([]float32, d)
		for u := range a {
			a[u] = float32(v[u] / math.Sqrt(n))
		}
		atoms[j] = a
	}
	dependent := 0
	for trial := range 5 {
		y := make([]float64, d)
		for u := range y {
			y[u] = centre[u] + 0.1*rng.NormFloat64()
		}
		var mu float64
		for _, a := range atoms {
			var s float64
			for u, v := range a {
				s += float64(v) * y[u]
			}
			mu = max(mu, math.Abs(s))
		}
		alpha := mu / (50 * 0.9)
		e := enet{l1: 0.9 * alpha, l2: 0.1 * alpha, tol: 1e-14, maxSweeps: 100000}
		r := e.solve(y, m, func(j int) []float32 { return atoms[j] }, nil, nil)
		res := append([]float64(nil), y...)
		nnz := 0
		for j, c := range r.c {
			if c == 0 {
				continue
			}
			nnz++
			for u, v := range atoms[j] {
				res[u] -= c * float64(v)
			}
		}
		var worst float64
		for j, c := range r.c {
			var g float64
			for u, v := range atoms[j] {
				g += float64(v) * res[u]
			}
			if c != 0 {
				worst = max(worst, math.Abs(g-e.l2*c-e.l1*math.Copysign(1, c)))
			} else {
				worst = max(worst, g-e.l1, -g-e.l1)
			}
		}
		t.Logf("trial %d: %d nonzeros in ℝ^%d, %d sweeps, worst KKT violation %.2g", trial, nnz, d, r.sweeps, worst)
		if nnz > d {
			dependent++
		}
		if worst > 1e-8 {
			t.Errorf("trial %d: KKT violated by %g, want ≤ 1e-8", trial, worst)
		}
	}
	if dependent < 3 {
		t.Errorf("%d of 5 trials have more nonzeros than dimensions, want at least 3 (the case polish is for)", dependent)
	}
}
