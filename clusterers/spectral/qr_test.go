package spectral

import (
	"math"
	"slices"
	"testing"
)

// Reference values from SciPy 1.10.1 / scikit-learn 1.2.1 (Debian
// python3-scipy, python3-sklearn; run with /usr/bin/python3):
//
//	import numpy as np, scipy.linalg as sl
//	from sklearn.cluster._spectral import cluster_qr
//	Q, R, P = sl.qr(A, pivoting=True)   # LAPACK dgeqp3
//	cluster_qr(U)
//
// with A, B and U as below.

// TestPivotedQRMatchesLAPACK compares pivotedQR with dgeqp3 on a wide 3×8
// and a tall 5×4 matrix: the permutation exactly, R to 1e-12.
func TestPivotedQRMatchesLAPACK(t *testing.T) {
	for _, tc := range []struct {
		name  string
		m, n  int
		a     [][]float64
		perm  []int
		wantR [][]float64
	}{
		{
			name: "wide 3×8", m: 3, n: 8,
			a: [][]float64{
				{0.3, -1.2, 0.5, 2.0, -0.7, 0.1, 1.1, -0.4},
				{1.5, 0.2, -0.9, 0.4, 0.8, -1.3, 0.6, 0.9},
				{-0.6, 0.7, 1.4, -0.2, 0.3, 0.5, -1.0, 1.2},
			},
			perm: []int{3, 2, 7, 0, 4, 5, 6, 1},
			wantR: [][]float64{
				{-2.04939015319192, -0.17566201313073604, 0.3318060248025013, -0.6440940481460318, 0.556263041580664, 0.20493901531919195, -1.2881880962920635, 1.200357089726696},
				{0, 1.7289137795572276, 0.4212388858814158, -1.2453731832100234, -0.31944086559779417, 1.1313461799702522, -0.9348561700396898, 0.23763888501274064},
				{0, 0, 1.4568673800062055, 0.8568479980044245, 0.8991823852576076, -0.7924997293795862, -0.1913514303843874, 0.6875104489916924},
			},
		},
		{
			name: "tall 5×4", m: 5, n: 4,
			a: [][]float64{
				{2.0, -1.0, 0.5, 0.25},
				{0.5, 1.5, -2.0, 1.0},
				{1.0, 0.0, 1.0, -0.5},
				{-0.75, 2.5, 0.0, 1.25},
				{0.3, -0.2, 0.9, 2.2},
			},
			perm: []int{1, 3, 0, 2},
			wantR: [][]float64{
				{3.0886890422960995, 1.2740032894586115, -1.031181823869296, -1.1914439911582444},
				{0, -2.468180629218339, -0.6224135371024, -0.454951939354989},
				{0, 0, -2.1099207176937425, 0.1145842266009246},
				{0, 0, 0, -2.1024629375625903},
				{0, 0, 0, 0},
			},
		},
	} {
		cols := make([]float64, tc.m*tc.n)
		for i, row := range tc.a {
			for j, v := range row {
				cols[j*tc.m+i] = v
			}
		}
		r, perm := pivotedQR(cols, tc.m, tc.n)
		if !slices.Equal(perm, tc.perm) {
			t.Errorf("%s: permutation %v, LAPACK %v", tc.name, perm, tc.perm)
			continue
		}
		for i, row := range tc.wantR {
			for j, want := range row {
				if got := r[i*tc.n+j]; math.Abs(got-want) > 1e-12 {
					t.Errorf("%s: R[%d][%d] = %.17g, LAPACK %.17g", tc.name, i, j, got, want)
				}
			}
		}
	}
}

// TestClusterQRMatchesScikitLearn compares clusterQR with scikit-learn's
// cluster_qr on a 12×3 embedding of three noisy directions and three
// ambiguous rows.
func TestClusterQRMatchesScikitLearn(t *testing.T) {
	u := []float64{
		0.9, 0.1, 0.05, 0.85, -0.12, 0.1, 0.8, 0.2, -0.1,
		0.1, 0.95, 0.05, -0.05, 0.9, 0.2, 0.15, 0.8, -0.1,
		0.1, 0.05, 0.9, -0.1, 0.2, 0.85, 0.05, -0.15, 0.95,
		0.5, 0.5, 0.1, 0.3, 0.1, 0.6, -0.6, 0.55, 0.2,
	}
	want := []int32{2, 2, 2, 1, 1, 1, 0, 0, 0, 1, 0, 2}
	got, err := clusterQR(u, 12, 3)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, want) {
		t.Errorf("cluster_qr labels %v, scikit-learn %v", got, want)
	}
}
