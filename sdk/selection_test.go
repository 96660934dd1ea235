package sdk

import (
	"encoding/json"
	"math"
	"reflect"
	"strings"
	"testing"
)

func gammaSelection() ParamSelection {
	return ParamSelection{Param: "gamma", Criterion: "modularity of its own affinity", Best: "max", Chosen: 1.3,
		Candidates: []float64{1.3, 1.5, 2, 3, 5}, Values: []float64{0.88312, 0.87241, 0.865, 0.853, 0.839}}
}

// TestParamSelectionValidate accepts consistent records (ties, "min") and
// refuses every inconsistency a plugin could report, naming it.
func TestParamSelectionValidate(t *testing.T) {
	if err := gammaSelection().Validate(); err != nil {
		t.Fatalf("valid selection refused: %v", err)
	}
	tie := gammaSelection()
	tie.Values[2] = tie.Values[0]
	tie.Chosen = 2
	if err := tie.Validate(); err != nil {
		t.Errorf("a tied best refused: %v", err)
	}
	low := ParamSelection{Param: "k", Criterion: "bic", Best: "min", Chosen: 3, Candidates: []float64{2, 3, 4}, Values: []float64{10, -5, 7}}
	if err := low.Validate(); err != nil {
		t.Errorf("valid min selection refused: %v", err)
	}
	for _, tc := range []struct {
		name string
		edit func(*ParamSelection)
		want string
	}{
		{"no param", func(s *ParamSelection) { s.Param = "" }, "without a param name"},
		{"no criterion", func(s *ParamSelection) { s.Criterion = "" }, `"gamma": no criterion`},
		{"best", func(s *ParamSelection) { s.Best = "up" }, `best "up"`},
		{"no candidates", func(s *ParamSelection) { s.Candidates, s.Values = nil, nil }, "no candidates"},
		{"lengths", func(s *ParamSelection) { s.Values = s.Values[:4] }, "4 values for 5 candidates"},
		{"nan candidate", func(s *ParamSelection) { s.Candidates[1] = math.NaN() }, "candidate 1 is NaN"},
		{"twice", func(s *ParamSelection) { s.Candidates[1] = 1.3 }, "candidate 1.3 is listed twice"},
		{"inf value", func(s *ParamSelection) { s.Values[3] = math.Inf(1) }, "candidate 3 is +Inf"},
		{"not a candidate", func(s *ParamSelection) { s.Chosen = 4 }, "chosen 4 is not one of the candidates [1.3 1.5 2 3 5]"},
		{"not the best", func(s *ParamSelection) { s.Chosen = 2 },
			"chosen 2 has modularity of its own affinity 0.865, but candidate 1.3 has 0.88312 and the largest wins"},
		{"min not the best", func(s *ParamSelection) { s.Best = "min" }, "candidate 5 has 0.839 and the smallest wins"},
	} {
		s := gammaSelection()
		tc.edit(&s)
		err := s.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want an error containing %q", tc.name, err, tc.want)
		}
	}
	if err := CheckParamSelections([]ParamSelection{gammaSelection(), low}); err != nil {
		t.Errorf("two valid selections refused: %v", err)
	}
	if err := CheckParamSelections([]ParamSelection{gammaSelection(), gammaSelection()}); err == nil || !strings.Contains(err.Error(), `param selection "gamma": given twice`) {
		t.Errorf("a param selected twice: got %v", err)
	}
}

// TestParamSelectionString pins the one-line form the run prints.
func TestParamSelectionString(t *testing.T) {
	want := "gamma 1.3 chosen from [1.3 1.5 2 3 5] by the largest modularity of its own affinity (0.8831 0.8724 0.865 0.853 0.839)"
	if got := gammaSelection().String(); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	k := KSelection{Criterion: "bic", Best: "min", K: 3, Ks: []int{2, 3, 4}, Values: []float64{152345.6, -1234.5678, 0.5}, Note: "3 EM runs per k"}
	want = "k 3 chosen from [2 3 4] by the smallest bic (152346 -1235 0.5); 3 EM runs per k"
	if got := k.Param().String(); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if err := k.Param().Validate(); err != nil {
		t.Errorf("the k selection as a param selection: %v", err)
	}
}

// TestParamSelectionJSON pins the JSON keys docs/protocol.md documents for
// param_selections_json.
func TestParamSelectionJSON(t *testing.T) {
	s := gammaSelection()
	s.Note = "first listed on ties"
	b, err := json.Marshal([]ParamSelection{s})
	if err != nil {
		t.Fatal(err)
	}
	want := `[{"param":"gamma","criterion":"modularity of its own affinity","best":"max","chosen":1.3,"candidates":[1.3,1.5,2,3,5],"values":[0.88312,0.87241,0.865,0.853,0.839],"note":"first listed on ties"}]`
	if string(b) != want {
		t.Errorf("got  %s\nwant %s", b, want)
	}
	var back []ParamSelection
	if err := json.Unmarshal(b, &back); err != nil || !reflect.DeepEqual(back, []ParamSelection{s}) {
		t.Errorf("round trip: %v, %+v", err, back)
	}
}
