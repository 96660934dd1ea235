package sparse

import (
	"context"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// randomGraph returns a symmetric n-vertex graph: a ring (so it is
// connected) plus extra random edges, each with weight in (0, 1].
func randomGraph(t *testing.T, seed uint64, n, extra int) *CSR {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 1))
	var e []Entry
	add := func(i, j int, w float64) {
		e = append(e, Entry{int32(i), int32(j), w}, Entry{int32(j), int32(i), w})
	}
	for i := range n {
		add(i, (i+1)%n, 0.1+0.9*rng.Float64())
	}
	for range extra {
		i, j := rng.IntN(n), rng.IntN(n)
		if i != j {
			add(i, j, 0.1+0.9*rng.Float64())
		}
	}
	m, err := FromEntries(n, e)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// normalised returns D^{-1/2} A D^{-1/2}.
func normalised(a *CSR) *CSR {
	d := a.RowSums()
	for i, v := range d {
		d[i] = 1 / math.Sqrt(v)
	}
	return a.ScaleSym(d)
}

// isSymmetric reports whether A_ij == A_ji exactly for every entry.
func isSymmetric(m *CSR) bool {
	for i := range m.N {
		for p := m.RowPtr[i]; p < m.RowPtr[i+1]; p++ {
			j := int(m.Col[p])
			q, ok := slices.BinarySearch(m.Col[m.RowPtr[j]:m.RowPtr[j+1]], int32(i))
			if !ok || m.Val[m.RowPtr[j]+q] != m.Val[p] {
				return false
			}
		}
	}
	return true
}

func dense(a *CSR) *mat.SymDense {
	s := mat.NewSymDense(a.N, nil)
	for i := range a.N {
		for p := a.RowPtr[i]; p < a.RowPtr[i+1]; p++ {
			if j := int(a.Col[p]); j >= i {
				s.SetSym(i, j, a.Val[p])
			}
		}
	}
	return s
}

// denseTop returns all eigenvalues of a in decreasing order and the
// eigenvectors of the k largest as the columns of an n×k matrix, from
// gonum's dense mat.EigenSym (LAPACK dsyev algorithm), the reference.
func denseTop(t *testing.T, a *CSR, k int) ([]float64, *mat.Dense) {
	t.Helper()
	var es mat.EigenSym
	if !es.Factorize(dense(a), true) {
		t.Fatal("dense eigen decomposition failed")
	}
	vals := es.Values(nil)
	var vecs mat.Dense
	es.VectorsTo(&vecs)
	n := a.N
	u := mat.NewDense(n, k, nil)
	for c := range k {
		for i := range n {
			u.Set(i, c, vecs.At(i, n-1-c))
		}
	}
	slices.Reverse(vals)
	return vals, u
}

// subspaceSin returns ‖(I − U Uᵀ) Y‖_F = (Σ sin² θ_i)^{1/2} over the
// principal angles θ_i between span(U) and span(Y), for orthonormal U and Y.
func subspaceSin(u *mat.Dense, y [][]float64) float64 {
	n, _ := u.Dims()
	ym := mat.NewDense(n, len(y), nil)
	for c, v := range y {
		ym.SetCol(c, v)
	}
	var uty, proj, diff mat.Dense
	uty.Mul(u.T(), ym)
	proj.Mul(u, &uty)
	diff.Sub(ym, &proj)
	return mat.Norm(&diff, 2)
}

// checkEigen compares EigSymTop with the dense reference: eigenvalues to
// 1e-8 absolute; when the k-th eigenvalue is separated from the (k+1)-th
// by gap, the subspaces to sin θ ≤ 1e-6 (Davis–Kahan: sin θ ≤ ‖R‖/gap with
// residuals ≤ tol = 1e-10 and gap ≥ 1e-3); every returned vector must be
// unit-length, mutually orthogonal and satisfy ‖A y − θ y‖ ≤ 1e-9.
func checkEigen(t *testing.T, name string, a *CSR, k int, opt EigOptions) {
	t.Helper()
	opt.Tol = 1e-10
	got, err := EigSymTop(context.Background(), a, k, opt)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	want, u := denseTop(t, a, k)
	for i := range k {
		if math.Abs(got.Values[i]-want[i]) > 1e-8 {
			t.Errorf("%s: eigenvalue %d = %.12f, dense %.12f", name, i, got.Values[i], want[i])
		}
	}
	ay := make([]float64, a.N)
	for i, y := range got.Vectors {
		for j, z := range got.Vectors {
			var dot float64
			for r := range y {
				dot += y[r] * z[r]
			}
			if want := float64(boolInt(i == j)); math.Abs(dot-want) > 1e-10 {
				t.Errorf("%s: y_%d·y_%d = %g, want %g", name, i, j, dot, want)
			}
		}
		a.MulVec(ay, y)
		var r2 float64
		for r := range y {
			d := ay[r] - got.Values[i]*y[r]
			r2 += d * d
		}
		if math.Sqrt(r2) > 1e-9 {
			t.Errorf("%s: residual of pair %d is %g", name, i, math.Sqrt(r2))
		}
	}
	if k < a.N && want[k-1]-want[k] < 1e-3 {
		t.Fatalf("%s: test graph has no gap after eigenvalue %d (%g, %g); pick another k", name, k, want[k-1], want[k])
	}
	if s := subspaceSin(u, got.Vectors); s > 1e-6 {
		t.Errorf("%s: subspaces differ: (Σ sin²θ)^½ = %g", name, s)
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func TestEigSymTopMatchesDense(t *testing.T) {
	for _, tc := range []struct {
		name          string
		seed          uint64
		n, extra, k   int
		block, mBasis int
	}{
		{"n=60 k=4", 1, 60, 60, 4, 0, 0},
		{"n=300 k=10", 2, 300, 600, 10, 0, 0},
		{"n=500 k=6 block=2", 3, 500, 1500, 6, 2, 24},
		{"n=40 k=40 whole spectrum", 4, 40, 80, 40, 0, 0},
	} {
		a := normalised(randomGraph(t, tc.seed, tc.n, tc.extra))
		if !isSymmetric(a) {
			t.Fatalf("%s: test matrix is not symmetric", tc.name)
		}
		checkEigen(t, tc.name, a, tc.k, EigOptions{Block: tc.block, MaxBasis: tc.mBasis, Seed: 7})
	}
}

// TestEigSymTopDegenerate checks eigenvalues of multiplicity > 1, which a
// single-vector Lanczos cannot resolve: the ring C_n has eigenvalues
// cos(2πj/n), all but ±1 double, and a graph of c disconnected rings has
// eigenvalue 1 with multiplicity c.
func TestEigSymTopDegenerate(t *testing.T) {
	ring := func(n, copies int) *CSR {
		var e []Entry
		for c := range copies {
			for i := range n {
				a, b := int32(c*n+i), int32(c*n+(i+1)%n)
				e = append(e, Entry{a, b, 1}, Entry{b, a, 1})
			}
		}
		m, err := FromEntries(n*copies, e)
		if err != nil {
			t.Fatal(err)
		}
		return normalised(m)
	}
	// C_50: 1, then cos(2π/50) twice, cos(4π/50) twice: k = 5 closes a pair.
	checkEigen(t, "ring n=50", ring(50, 1), 5, EigOptions{Block: 2, Seed: 3})
	// Four rings of 30: eigenvalue 1 four times, then cos(2π/30) eight times.
	four := ring(30, 4)
	if c, _ := four.Components(); c != 4 {
		t.Fatalf("four rings: %d components, want 4", c)
	}
	checkEigen(t, "4 rings", four, 4, EigOptions{Block: 4, Seed: 3})
	checkEigen(t, "4 rings k=12", four, 12, EigOptions{Seed: 3})
}

func TestEigSymTopDeterministic(t *testing.T) {
	a := normalised(randomGraph(t, 5, 3000, 6000))
	opt := EigOptions{Seed: 11, Tol: 1e-6, Block: 2}
	first, err := EigSymTop(context.Background(), a, 4, opt)
	if err != nil {
		t.Fatal(err)
	}
	for _, procs := range []int{1, runtime.GOMAXPROCS(0)} {
		prev := runtime.GOMAXPROCS(procs)
		again, err := EigSymTop(context.Background(), a, 4, opt)
		runtime.GOMAXPROCS(prev)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(first.Values, again.Values) {
			t.Fatalf("GOMAXPROCS=%d: values differ between runs: %v vs %v", procs, first.Values, again.Values)
		}
		for i := range first.Vectors {
			if !slices.Equal(first.Vectors[i], again.Vectors[i]) {
				t.Fatalf("GOMAXPROCS=%d: vector %d differs between runs", procs, i)
			}
		}
	}
}

func TestEigSymTopErrors(t *testing.T) {
	a := normalised(randomGraph(t, 6, 400, 400))
	if _, err := EigSymTop(context.Background(), a, 0, EigOptions{}); err == nil {
		t.Error("k=0 accepted")
	}
	if _, err := EigSymTop(context.Background(), a, 401, EigOptions{}); err == nil {
		t.Error("k > n accepted")
	}
	_, err := EigSymTop(context.Background(), a, 10, EigOptions{MaxRestarts: 1, Tol: 1e-14, MaxBasis: 22})
	if err == nil || !strings.Contains(err.Error(), "after 1 restarts") {
		t.Errorf("unconverged run: error %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := EigSymTop(ctx, a, 3, EigOptions{}); err == nil || !strings.Contains(err.Error(), "canceled") {
		t.Errorf("cancelled context: error %v", err)
	}
}

func TestCSRBasics(t *testing.T) {
	m, err := FromEntries(4, []Entry{{0, 1, 2}, {1, 0, 2}, {0, 1, 1}, {1, 0, 1}, {2, 3, 5}, {3, 2, 5}, {2, 2, 1}, {2, 2, -1}})
	if err != nil {
		t.Fatal(err)
	}
	// (2,2) sums to zero and is dropped; (0,1) sums to 3.
	if !slices.Equal(m.RowPtr, []int{0, 1, 2, 3, 4}) || !slices.Equal(m.Col, []int32{1, 0, 3, 2}) || !slices.Equal(m.Val, []float64{3, 3, 5, 5}) {
		t.Fatalf("CSR = %+v", m)
	}
	if !isSymmetric(m) {
		t.Error("symmetric matrix reported asymmetric")
	}
	y := make([]float64, 4)
	m.MulVec(y, []float64{1, 2, 3, 4})
	if !slices.Equal(y, []float64{6, 3, 20, 15}) {
		t.Errorf("MulVec = %v", y)
	}
	if c, lab := m.Components(); c != 2 || !slices.Equal(lab, []int32{0, 0, 1, 1}) {
		t.Errorf("Components = %d %v", c, lab)
	}
	if _, err := FromEntries(2, []Entry{{0, 2, 1}}); err == nil || !strings.Contains(err.Error(), "outside a 2×2") {
		t.Errorf("out-of-range entry: %v", err)
	}
	if _, err := FromEntries(2, []Entry{{0, 1, math.NaN()}}); err == nil {
		t.Error("NaN entry accepted")
	}
}
