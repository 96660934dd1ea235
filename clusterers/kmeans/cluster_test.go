package kmeans

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/deepclust/deepclust/sdk"
)

// TestClusterMatchesFit checks that the exported Cluster gives bit-identical
// centroids, labels and inertia to Clusterer.Fit with the same seed.
func TestClusterMatchesFit(t *testing.T) {
	x, _ := lcgBlobs(5, 600, 3, 4, 6.0)
	c := configured(t, 3, 7, map[string]any{"k": 4, "n_init": 3})
	fit, err := c.Fit(context.Background(), x)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Cluster(x, 4, 3, 300, 1e-4, 7)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got.Centroids, c.centroids) || !slices.Equal(got.Labels, fit.Labels) || got.Inertia != fit.Objective {
		t.Fatalf("Cluster differs from Fit: inertia %v vs %v", got.Inertia, fit.Objective)
	}
}

func TestClusterBadInput(t *testing.T) {
	two := sdk.Tensor{Shape: []int{2, 2}, Data: []float32{0, 0, 1, 1}}
	cases := []struct {
		name        string
		k, nInit    int
		maxIter     int
		z           sdk.Tensor
		wantMessage string
	}{
		{"k > n", 3, 1, 1, two, "need at least 3"},
		{"k = 0", 0, 1, 1, two, "k is 0"},
		{"n_init = 0", 1, 0, 1, two, "n_init is 0"},
		{"3-D", 1, 1, 1, sdk.Tensor{Shape: []int{1, 1, 2}, Data: []float32{0, 0}}, "shape"},
	}
	for _, tc := range cases {
		if _, err := Cluster(tc.z, tc.k, tc.nInit, tc.maxIter, 1e-4, 0); err == nil || !strings.Contains(err.Error(), tc.wantMessage) {
			t.Errorf("%s: error %v, want one mentioning %q", tc.name, err, tc.wantMessage)
		}
	}
}

// TestPlusPlusIsClusterStart checks that PlusPlus returns rows of z, and
// exactly the centres from which Cluster's single run (n_init=1) starts:
// Lloyd from them gives Cluster's result bit for bit.
func TestPlusPlusIsClusterStart(t *testing.T) {
	x, _ := lcgBlobs(6, 500, 3, 4, 6.0)
	got, err := PlusPlus(x, 4, 11)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 4*3 {
		t.Fatalf("%d centre values, want 12", len(got))
	}
	for j := range 4 {
		found := false
		for i := range x.Rows() {
			row := x.Row(i)
			if float64(row[0]) == got[j*3] && float64(row[1]) == got[j*3+1] && float64(row[2]) == got[j*3+2] {
				found = true
				break
			}
		}
		if !found {
			t.Fatalf("centre %d %v is not a row of z", j, got[j*3:j*3+3])
		}
	}
	a := newData(x.Data, 500, 3)
	labels, obj, _ := lloyd(a, newCentres(slices.Clone(got), 4, 3), 300, tolerance(a, 1e-4))
	want, err := Cluster(x, 4, 1, 300, 1e-4, 11)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(labels, want.Labels) || obj != want.Inertia {
		t.Fatalf("Lloyd from PlusPlus's centres: inertia %v, Cluster %v", obj, want.Inertia)
	}
	if _, err := PlusPlus(x, 0, 1); err == nil || !strings.Contains(err.Error(), "k is 0") {
		t.Errorf("k=0: %v", err)
	}
	if _, err := PlusPlus(sdk.Tensor{Shape: []int{2, 1}, Data: []float32{0, 1}}, 3, 1); err == nil || !strings.Contains(err.Error(), "need at least 3") {
		t.Errorf("k > n: %v", err)
	}
}
