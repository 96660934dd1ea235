package model

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// chosenStages: k-means with k auto on the raw features (an intermediate
// stage with a clusterer), then the subspace clusterer choosing gamma from
// a list while training jointly one epoch.
const chosenStages = `
seed: 2
progress: off
stages:
  - name: first
    train: {pretrain_epochs: 0, epochs: 0}
    encoder: {plugin: identity}
    losses: []
    clusterer:
      plugin: kmeans
      config: {k: auto, k_range: [2, 4], n_init: 2}
  - name: sub
    train: {pretrain_epochs: 0, epochs: 1, batch_size: 64}
    encoder: {plugin: identity}
    losses: []
    clusterer:
      plugin: subspace
      config: {k: 3, gamma: [5, 1.5, 3], support: 20, nonzero: 10, n_init: 2, dictionary: 50}
`

// TestSelectionsReportedPerStage checks that every stage's k and param
// selections reach its StageReport (metrics.json's stages[i]) and the
// log, one line each after the stage, that the last stage's are the
// report's own, and that a joint stage taken from the cache keeps them.
func TestSelectionsReportedPerStage(t *testing.T) {
	data := blobs(150, 5)
	set := map[string]string{"cache.dir": t.TempDir()}
	_, res, log := fit(t, load(t, chosenStages, set), data, Options{})
	r := res.Report
	if len(r.Stages) != 2 {
		t.Fatalf("%d stage reports", len(r.Stages))
	}
	first, sub := r.Stages[0], r.Stages[1]
	if first.KSelection == nil || first.ParamSelections != nil || sub.KSelection != nil || len(sub.ParamSelections) != 1 {
		t.Fatalf("selections: first %+v %v, sub %+v %v", first.KSelection, first.ParamSelections, sub.KSelection, sub.ParamSelections)
	}
	g := sub.ParamSelections[0]
	if g.Param != "gamma" || !reflect.DeepEqual(g.Candidates, []float64{5, 1.5, 3}) || len(g.Values) != 3 {
		t.Fatalf("gamma selection %+v", g)
	}
	if err := g.Validate(); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(r.ParamSelections, sub.ParamSelections) || r.KSelection != nil {
		t.Errorf("the report's own selections (%v, %v) are not the last stage's", r.KSelection, r.ParamSelections)
	}
	for _, want := range []string{
		fmt.Sprintf("stage first: k %d chosen from [2 3 4] by the largest silhouette (", first.KSelection.K),
		"stage sub: " + g.String() + "\n",
	} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Count(string(b), `"param_selections":[{"param":"gamma"`) != 2 || strings.Count(string(b), `"k_selection":{`) != 1 {
		t.Errorf("metrics JSON: %s", b)
	}
	_, again, log := fit(t, load(t, chosenStages, set), data, Options{})
	if !again.Report.Stages[1].Cached || !reflect.DeepEqual(again.Report.Stages[1].ParamSelections, sub.ParamSelections) {
		t.Errorf("cached joint stage: cached %v, selections %v", again.Report.Stages[1].Cached, again.Report.Stages[1].ParamSelections)
	}
	if !strings.Contains(log, "stage sub: "+g.String()+"\n") {
		t.Errorf("log of the cached run lacks the gamma line:\n%s", log)
	}
}
