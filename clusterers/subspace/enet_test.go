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
