package validity

import (
	"encoding/csv"
	"math"
	"os"
	"strconv"
	"testing"

	"github.com/deepclust/deepclust/sdk"
)

// readBlobs reads testdata/blobs.csv: 300 rows of 5 float32 features and
// the labellings truth and noisy (see testdata/sklearn_reference.py).
func readBlobs(t *testing.T) (sdk.Tensor, map[string][]int32) {
	t.Helper()
	f, err := os.Open("testdata/blobs.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	recs = recs[1:]
	x := sdk.NewTensor(len(recs), 5)
	labels := map[string][]int32{}
	for i, r := range recs {
		for j := range 5 {
			v, err := strconv.ParseFloat(r[j], 32)
			if err != nil {
				t.Fatal(err)
			}
			x.Data[i*5+j] = float32(v)
		}
		for j, name := range []string{"truth", "noisy"} {
			l, err := strconv.Atoi(r[5+j])
			if err != nil {
				t.Fatal(err)
			}
			labels[name] = append(labels[name], int32(l))
		}
	}
	return x, labels
}

// TestMatchesScikitLearn compares with scikit-learn 1.2.1's
// silhouette_score, davies_bouldin_score and calinski_harabasz_score, the
// values printed by testdata/sklearn_reference.py.
func TestMatchesScikitLearn(t *testing.T) {
	x, labels := readBlobs(t)
	want := map[string][3]float64{
		"truth": {0.686840838229417, 0.45679288293217046, 1520.007767964522},
		"noisy": {0.1798287007163654, 1.234055000106744, 115.51076827013097},
	}
	for name, w := range want {
		sil, err := Silhouette(x, labels[name])
		if err != nil {
			t.Fatal(err)
		}
		db, err := DaviesBouldin(x, labels[name])
		if err != nil {
			t.Fatal(err)
		}
		ch, err := CalinskiHarabasz(x, labels[name])
		if err != nil {
			t.Fatal(err)
		}
		for i, got := range []float64{sil, db, ch} {
			if rel := math.Abs(got-w[i]) / math.Abs(w[i]); rel > 1e-9 {
				t.Errorf("%s index %d: got %.15g, scikit-learn %.15g (relative error %.2g)", name, i, got, w[i], rel)
			}
		}
	}
}

func TestSilhouetteSample(t *testing.T) {
	x, labels := readBlobs(t)
	exact, err := Silhouette(x, labels["truth"])
	if err != nil {
		t.Fatal(err)
	}
	v, rows, err := SilhouetteSample(x, labels["truth"], 300, 1)
	if err != nil || rows != 300 || v != exact {
		t.Fatalf("size ≥ n: got %v over %d rows (%v), want the exact %v over 300", v, rows, err, exact)
	}
	v, rows, err = SilhouetteSample(x, labels["truth"], 120, 5)
	if err != nil || rows != 120 {
		t.Fatalf("sample: %v rows, %v", rows, err)
	}
	sx, sl := Take(x, labels["truth"], Sample(300, 120, 5))
	direct, err := Silhouette(sx, sl)
	if err != nil || direct != v {
		t.Fatalf("sample: got %v, the silhouette of the sample is %v (%v)", v, direct, err)
	}
	if math.Abs(v-exact) > 0.05 {
		t.Errorf("sample silhouette %v far from the exact %v", v, exact)
	}
	again, _, _ := SilhouetteSample(x, labels["truth"], 120, 5)
	if again != v {
		t.Errorf("same seed, different sample silhouette: %v, %v", v, again)
	}
	ix, err := Compute(x, labels["truth"], 100, 2)
	if err != nil || !ix.Sampled || ix.SilhouetteRows != 100 {
		t.Errorf("Compute with 100 rows: %+v, %v", ix, err)
	}
}

func TestSampleDistinctSorted(t *testing.T) {
	rows := Sample(1000, 300, 9)
	if len(rows) != 300 {
		t.Fatalf("%d rows", len(rows))
	}
	for i := 1; i < len(rows); i++ {
		if rows[i] <= rows[i-1] {
			t.Fatalf("not sorted and distinct at %d: %v %v", i, rows[i-1], rows[i])
		}
	}
}

func TestBadInput(t *testing.T) {
	x := sdk.NewTensor(4, 2)
	for _, labels := range [][]int32{{0, 0, 0, 0}, {0, 1, 2, 3}, {0, 1}} {
		if _, err := Silhouette(x, labels); err == nil {
			t.Errorf("labels %v: no error", labels)
		}
		if _, err := DaviesBouldin(x, labels); err == nil {
			t.Errorf("labels %v: no error", labels)
		}
		if _, err := CalinskiHarabasz(x, labels); err == nil {
			t.Errorf("labels %v: no error", labels)
		}
	}
	// Identical points: scikit-learn's conventions.
	if db, err := DaviesBouldin(x, []int32{0, 0, 1, 1}); err != nil || db != 0 {
		t.Errorf("DB of identical points: %v, %v; want 0", db, err)
	}
	if ch, err := CalinskiHarabasz(x, []int32{0, 0, 1, 1}); err != nil || ch != 1 {
		t.Errorf("CH of identical points: %v, %v; want 1", ch, err)
	}
}

func TestBest(t *testing.T) {
	v := []float64{3, math.NaN(), 1, 5, 1}
	if i, _ := Best(v, "max"); i != 3 {
		t.Errorf("max at %d", i)
	}
	if i, _ := Best(v, "min"); i != 2 {
		t.Errorf("min at %d", i)
	}
	if _, err := Best([]float64{math.NaN()}, "min"); err == nil {
		t.Error("all NaN: no error")
	}
}

// TestWideRowsGEMM checks the matrix-product path (≥ gemmWidth features)
// against the direct one: the blobs padded with constant columns have the
// same distances.
func TestWideRowsGEMM(t *testing.T) {
	x, labels := readBlobs(t)
	wide := sdk.NewTensor(x.Rows(), 40)
	for i := range x.Rows() {
		copy(wide.Data[i*40:], x.Row(i))
		for j := 5; j < 40; j++ {
			wide.Data[i*40+j] = 0.5
		}
	}
	want, err := Silhouette(x, labels["noisy"])
	if err != nil {
		t.Fatal(err)
	}
	got, err := Silhouette(wide, labels["noisy"])
	if err != nil {
		t.Fatal(err)
	}
	if rel := math.Abs(got-want) / want; rel > 1e-4 {
		t.Errorf("GEMM path %v, direct %v (relative %.2g)", got, want, rel)
	}
}
