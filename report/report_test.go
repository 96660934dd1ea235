package report

import (
	"bytes"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/deepclust/deepclust/model"
	"github.com/deepclust/deepclust/pipeline"
	"github.com/deepclust/deepclust/sdk"
	"github.com/deepclust/deepclust/validity"
)

// blobs returns n rows of 3 well-separated clusters in d dimensions.
func blobs(n, d int) (sdk.Tensor, []int32) {
	rng := rand.New(rand.NewPCG(1, 2))
	x := sdk.NewTensor(n, d)
	labels := make([]int32, n)
	for i := range n {
		c := i % 3
		labels[i] = int32(c)
		for t := range d {
			x.Data[i*d+t] = float32(5*float64(c*(t%2)) + rng.NormFloat64())
		}
	}
	return x, labels
}

func sections(html string) map[string]bool {
	out := map[string]bool{}
	for _, part := range strings.Split(html, `<section id="`)[1:] {
		out[part[:strings.IndexByte(part, '"')]] = true
	}
	return out
}

func TestSectionsByDataKind(t *testing.T) {
	z, labels := blobs(300, 4)
	ix, err := validity.Compute(z, labels, 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	img := sdk.NewTensor(300, 1, 6, 6)
	for i := range img.Data {
		img.Data[i] = float32(i % 7)
	}
	fit := &model.Report{Stages: []model.StageReport{{Name: "s", PretrainHistory: []float64{3, 2, 1},
		History: []pipeline.Epoch{{Epoch: 0}, {Epoch: 1, Loss: 1, LabelChange: 0.1}, {Epoch: 2, Loss: 0.5}}}}}
	fit.KSelection = &sdk.KSelection{Criterion: "silhouette", Best: "max", K: 3, Ks: []int{2, 3, 4}, Values: []float64{0.5, 0.7, 0.6}}
	fit.Stages[0].ParamSelections = []sdk.ParamSelection{{Param: "gamma", Criterion: "modularity of its own affinity", Best: "max", Chosen: 2,
		Candidates: []float64{5, 1.3, 2}, Values: []float64{0.5, 0.6, 0.7}}}
	for _, tc := range []struct {
		name       string
		run        Run
		want, none []string
	}{
		{"images", Run{Clusters: labels, Z: z, Truth: labels, X: img, Indices: &ix, Fit: fit, Config: "seed: 1"},
			[]string{"summary", "indices", "k-selection", "param-selection", "sizes", "map", "images", "training", "confusion", "config"}, []string{"profile"}},
		{"table", Run{Clusters: labels, Z: z, X: z, Features: []string{"a", "b", "c", "d"}},
			[]string{"summary", "sizes", "map", "profile"}, []string{"images", "confusion", "training", "k-selection", "param-selection", "indices", "config"}},
	} {
		var buf bytes.Buffer
		if err := Write(&buf, tc.run); err != nil {
			t.Fatal(err)
		}
		got := sections(buf.String())
		for _, s := range tc.want {
			if !got[s] {
				t.Errorf("%s: no section %q", tc.name, s)
			}
		}
		for _, s := range tc.none {
			if got[s] {
				t.Errorf("%s: section %q does not apply", tc.name, s)
			}
		}
		for _, bad := range []string{"http://", "https://", "<script", "src=\"//"} {
			if strings.Contains(buf.String(), bad) {
				t.Errorf("%s: the page contains %q", tc.name, bad)
			}
		}
		if tc.name == "images" {
			for _, want := range []string{"stage s: <b>gamma = 2</b>, the largest modularity of its own affinity of 3 candidates",
				"<tr><td><b>2</b></td><td><b>0.7</b></td></tr>", `aria-label="modularity of its own affinity by gamma"`} {
				if !strings.Contains(buf.String(), want) {
					t.Errorf("the param selection section lacks %q", want)
				}
			}
		}
	}
}

func TestBadInput(t *testing.T) {
	z, labels := blobs(10, 2)
	if err := Write(&bytes.Buffer{}, Run{Clusters: labels[:5], Z: z}); err == nil {
		t.Error("5 clusters for 10 rows: no error")
	}
	if err := Write(&bytes.Buffer{}, Run{Clusters: labels, Z: z, Truth: labels[:3]}); err == nil {
		t.Error("3 labels for 10 rows: no error")
	}
}

// TestMapSampleBoundsSize checks that the map draws at most MaxPoints
// points, so a large run's report stays small.
func TestMapSampleBoundsSize(t *testing.T) {
	z, labels := blobs(30000, 10)
	var buf bytes.Buffer
	if err := Write(&buf, Run{Clusters: labels, Z: z, Truth: labels, MaxPoints: 1000}); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(buf.String(), "h0"); n > 2*1000+10 {
		t.Errorf("%d points drawn, want at most 2×1000", n)
	}
	if buf.Len() > 200_000 {
		t.Errorf("report of 30,000 rows is %d bytes", buf.Len())
	}
}
