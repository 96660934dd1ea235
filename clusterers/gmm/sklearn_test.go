package gmm

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"math"
	"os"
	"strconv"
	"testing"

	"github.com/deepclust/deepclust/internal/metrics"
	"github.com/deepclust/deepclust/sdk"
)

// The reference values in testdata/sklearn_reference.json come from
// scikit-learn 1.2.1's GaussianMixture, written by
// testdata/sklearn_reference.py (see there) from the 150 float32 rows of
// testdata/blobs.csv (three overlapping 2-D Gaussian blobs of 60, 50 and 40
// rows) and of testdata/separated.csv (the same blobs far apart).

// relTol is the tolerance of the EM comparison: |got − want| ≤ relTol·|want|
// for weights, means, covariances, lower bound and log-densities, and
// |got − want| ≤ relTol·|want| + absTol for posteriors (probabilities that
// are tiny in both are equal in effect).
const (
	relTol = 1e-6
	absTol = 1e-12
)

type emCase struct {
	Covariance      string      `json:"covariance"`
	Tol             float64     `json:"tol"`
	RegCovar        float64     `json:"reg_covar"`
	MaxIter         int         `json:"max_iter"`
	WeightsInit     []float64   `json:"weights_init"`
	MeansInit       [][]float64 `json:"means_init"`
	CovInit         []any       `json:"covariances_init"`
	Weights         []float64   `json:"weights"`
	Means           [][]float64 `json:"means"`
	Covariances     []any       `json:"covariances"`
	LowerBound      float64     `json:"lower_bound"`
	NIter           int         `json:"n_iter"`
	Converged       bool        `json:"converged"`
	PredictProba    [][]float64 `json:"predict_proba"`
	ScoreSamples    []float64   `json:"score_samples"`
	PredictProbaNew [][]float64 `json:"predict_proba_new"`
	ScoreSamplesNew []float64   `json:"score_samples_new"`
}

type defaultCase struct {
	Covariance string  `json:"covariance"`
	Labels     []int32 `json:"labels"`
	LowerBound float64 `json:"lower_bound"`
}

type reference struct {
	Sklearn     string      `json:"sklearn"`
	NewPoints   [][]float64 `json:"new_points"`
	EMFull      emCase      `json:"em_full"`
	EMDiag      emCase      `json:"em_diag"`
	DefaultFull defaultCase `json:"default_full"`
	DefaultDiag defaultCase `json:"default_diag"`
	SepFull     defaultCase `json:"separated_full"`
	SepDiag     defaultCase `json:"separated_diag"`
}

func readReference(t *testing.T) reference {
	t.Helper()
	raw, err := os.ReadFile("testdata/sklearn_reference.json")
	if err != nil {
		t.Fatal(err)
	}
	var r reference
	if err := json.Unmarshal(raw, &r); err != nil {
		t.Fatal(err)
	}
	return r
}

// readBlobs reads a CSV file of testdata as float32, as the script does.
func readBlobs(t *testing.T, name string) sdk.Tensor {
	t.Helper()
	f, err := os.Open("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	recs = recs[1:]
	x := sdk.NewTensor(len(recs), len(recs[0]))
	for i, rec := range recs {
		for j, s := range rec {
			v, err := strconv.ParseFloat(s, 32)
			if err != nil {
				t.Fatal(err)
			}
			x.Data[i*x.Cols()+j] = float32(v)
		}
	}
	return x
}

// flatten turns nested JSON arrays of numbers into one slice, row-major.
func flatten(v any) []float64 {
	switch x := v.(type) {
	case float64:
		return []float64{x}
	case []any:
		var out []float64
		for _, e := range x {
			out = append(out, flatten(e)...)
		}
		return out
	case [][]float64:
		var out []float64
		for _, e := range x {
			out = append(out, e...)
		}
		return out
	}
	panic("flatten: unexpected JSON value")
}

func near(got, want, rel, abs float64) bool {
	return math.Abs(got-want) <= rel*math.Abs(want)+abs
}

func compare(t *testing.T, what string, got, want []float64, rel, abs float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, scikit-learn %d", what, len(got), len(want))
	}
	worst := 0.0
	for i := range got {
		if !near(got[i], want[i], rel, abs) {
			t.Errorf("%s[%d] = %.17g, scikit-learn %.17g (tolerance %g relative + %g)", what, i, got[i], want[i], rel, abs)
			return
		}
		if want[i] != 0 {
			worst = max(worst, math.Abs(got[i]-want[i])/math.Abs(want[i]))
		}
	}
	t.Logf("%s: largest relative difference %.2g", what, worst)
}

// TestEMMatchesScikitLearn runs EM from the start scikit-learn was given
// (weights_init, means_init, precisions_init = inverse covariances) and
// compares the converged parameters, lower bound, iteration count,
// posteriors and log-densities (on the data and on new points) within
// relTol.
func TestEMMatchesScikitLearn(t *testing.T) {
	ref := readReference(t)
	x := readBlobs(t, "blobs.csv")
	a := &data{x: x.Data, n: x.Rows(), d: x.Cols()}
	newPts := sdk.NewTensor(len(ref.NewPoints), 2)
	for i, p := range ref.NewPoints {
		for j, v := range p {
			newPts.Data[i*2+j] = float32(v)
			if float64(float32(v)) != v {
				t.Fatalf("new point %v is not exact in float32", p)
			}
		}
	}
	b := &data{x: newPts.Data, n: newPts.Rows(), d: 2}
	for _, tc := range []emCase{ref.EMFull, ref.EMDiag} {
		t.Run(tc.Covariance, func(t *testing.T) {
			k := len(tc.WeightsInit)
			m := newMixture(k, 2, tc.Covariance == CovarianceDiag)
			copy(m.weights, tc.WeightsInit)
			copy(m.means, flatten(tc.MeansInit))
			copy(m.cov, flatten(tc.CovInit))
			if err := m.factor(); err != nil {
				t.Fatal(err)
			}
			res, err := em(context.Background(), a, m, tc.MaxIter, tc.Tol, tc.RegCovar, make([]float64, a.n*k))
			if err != nil {
				t.Fatal(err)
			}
			if res.iterations != tc.NIter || res.converged != tc.Converged {
				t.Fatalf("%d iterations (converged %v), scikit-learn %d (%v)", res.iterations, res.converged, tc.NIter, tc.Converged)
			}
			compare(t, "lower bound", []float64{res.lowerBound}, []float64{tc.LowerBound}, relTol, 0)
			compare(t, "weights", m.weights, tc.Weights, relTol, 0)
			compare(t, "means", m.means, flatten(tc.Means), relTol, 0)
			compare(t, "covariances", m.cov, flatten(tc.Covariances), relTol, 0)
			for _, set := range []struct {
				name  string
				a     *data
				proba [][]float64
				score []float64
			}{{"data", a, tc.PredictProba, tc.ScoreSamples}, {"new points", b, tc.PredictProbaNew, tc.ScoreSamplesNew}} {
				resp := make([]float64, set.a.n*k)
				logp := make([]float64, set.a.n)
				if _, err := m.eStep(set.a, resp, logp, nil); err != nil {
					t.Fatal(err)
				}
				compare(t, set.name+" predict_proba", resp, flatten(set.proba), relTol, absTol)
				compare(t, set.name+" score_samples", logp, set.score, relTol, 0)
			}
		})
	}
}

// TestDefaultFitMatchesScikitLearn compares a default Fit (k=3,
// init=kmeans, n_init=1, tol 1e-3) with scikit-learn's
// GaussianMixture(3, random_state=0).fit_predict for three seeds. On the
// separated blobs the labels must agree exactly up to a permutation of the
// components. On the overlapping blobs the k-means starts differ (different
// random generators) and EM stops at tol 1e-3 on different paths, so labels
// of rows between blobs may differ; there the mean log-likelihood reached
// must be within 1e-3 relative of scikit-learn's lower bound.
func TestDefaultFitMatchesScikitLearn(t *testing.T) {
	ref := readReference(t)
	sets := []struct {
		file  string
		cases []defaultCase
		exact bool
	}{{"separated.csv", []defaultCase{ref.SepFull, ref.SepDiag}, true}, {"blobs.csv", []defaultCase{ref.DefaultFull, ref.DefaultDiag}, false}}
	for _, set := range sets {
		x := readBlobs(t, set.file)
		for _, tc := range set.cases {
			for _, seed := range []uint64{0, 1, 2} {
				c := configured(t, 2, seed, map[string]any{"k": 3, "covariance": tc.Covariance})
				got, err := c.Fit(context.Background(), x)
				if err != nil {
					t.Fatal(err)
				}
				acc, err := metrics.ACC(tc.Labels, got.Labels)
				if err != nil {
					t.Fatal(err)
				}
				if set.exact && acc != 1 {
					t.Errorf("%s %s, seed %d: labels agree with scikit-learn's on %.4f of rows up to permutation, want all", set.file, tc.Covariance, seed, acc)
				}
				if !near(-got.Objective, tc.LowerBound, 1e-3, 0) {
					t.Errorf("%s %s, seed %d: mean log-likelihood %v, scikit-learn's lower bound %v (tolerance 1e-3 relative)", set.file, tc.Covariance, seed, -got.Objective, tc.LowerBound)
				}
				t.Logf("%s %s, seed %d: label agreement %.4f, mean log-likelihood %.10g (scikit-learn lower bound %.10g)", set.file, tc.Covariance, seed, acc, -got.Objective, tc.LowerBound)
			}
		}
	}
}
