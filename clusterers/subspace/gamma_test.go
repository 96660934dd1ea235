package subspace

import (
	"bytes"
	"context"
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/deepclust/deepclust/sdk"
)

// TestGammaListKeepsLargestModularity fits a list of candidate γ and
// checks it against fitting each γ alone (same seed, same data): the kept
// fit is the candidate of the largest Q (the first listed on ties), its
// labels, report and Assign are those of that γ's fit alone, every
// candidate's Q in the report is the Q of its fit alone, and the choice
// survives Save and Load. The list is ordered so that the best is neither
// first nor last.
func TestGammaListKeepsLargestModularity(t *testing.T) {
	ctx := context.Background()
	x, _ := unionOfSubspaces(4, 4, 5, 20, 50, 0.05)
	grid := []float64{50, 1.5, 2, 1.2, 5}
	type single struct {
		labels []int32
		q      float64
		assign []int32
	}
	alone := make([]single, len(grid))
	best := 0
	for i, g := range grid {
		c := configured(t, 20, map[string]any{"k": 4, "gamma": g, "dictionary": 100})
		a, err := c.Fit(ctx, x)
		if err != nil {
			t.Fatal(err)
		}
		as, err := c.Assign(ctx, x)
		if err != nil {
			t.Fatal(err)
		}
		alone[i] = single{a.Labels, c.LastReport().Modularity, as.Labels}
		if alone[i].q > alone[best].q {
			best = i
		}
		t.Logf("γ %v alone: Q %.5f", g, alone[i].q)
	}
	if best == 0 || best == len(grid)-1 {
		t.Fatalf("the largest Q is at γ %v, an end of the list; the data does not exercise the choice", grid[best])
	}
	c := configured(t, 20, map[string]any{"k": 4, "gamma": grid, "dictionary": 100})
	a, err := c.Fit(ctx, x)
	if err != nil {
		t.Fatal(err)
	}
	rep := c.LastReport()
	if rep.Gamma != grid[best] || !slices.Equal(a.Labels, alone[best].labels) || rep.Modularity != alone[best].q {
		t.Errorf("kept γ %v (Q %v), want γ %v of the largest Q %v with its labels", rep.Gamma, rep.Modularity, grid[best], alone[best].q)
	}
	if len(rep.Candidates) != len(grid) {
		t.Fatalf("report has %d candidates, want %d", len(rep.Candidates), len(grid))
	}
	for i, r := range rep.Candidates {
		if r.Gamma != grid[i] || r.Modularity != alone[i].q || r.Candidates != nil {
			t.Errorf("candidate %d: γ %v, Q %v, want γ %v, Q %v (its fit alone)", i, r.Gamma, r.Modularity, grid[i], alone[i].q)
		}
	}
	// The assignment says how γ was chosen, with every candidate's Q alone,
	// in a record the host accepts.
	qs := make([]float64, len(grid))
	for i := range alone {
		qs[i] = alone[i].q
	}
	wantSel := []sdk.ParamSelection{{Param: "gamma", Criterion: "modularity of its own affinity", Best: "max", Chosen: grid[best], Candidates: grid, Values: qs}}
	if !reflect.DeepEqual(a.Params, wantSel) {
		t.Errorf("Fit's param selections %v, want %v", a.Params, wantSel)
	}
	if err := sdk.CheckParamSelections(a.Params); err != nil {
		t.Errorf("the host would refuse Fit's param selection: %v", err)
	}
	t.Logf("%s", a.Params[0])
	as, err := c.Assign(ctx, x)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(as.Labels, alone[best].assign) {
		t.Error("Assign after the list's Fit differs from Assign after fitting the kept γ alone")
	}
	state, err := c.Save(ctx)
	if err != nil {
		t.Fatal(err)
	}
	d := configured(t, 20, map[string]any{"k": 4})
	if err := d.Load(ctx, state); err != nil {
		t.Fatal(err)
	}
	if d.set.Gamma != grid[best] || !slices.Equal(d.set.Gammas, grid) {
		t.Errorf("loaded γ %v of %v, want %v of %v", d.set.Gamma, d.set.Gammas, grid[best], grid)
	}
	if got, err := d.Assign(ctx, x); err != nil || !slices.Equal(got.Labels, alone[best].assign) {
		t.Errorf("Assign after Load differs (error %v)", err)
	}
	// Update on the same rows chooses again, the same γ and partition.
	u, err := c.Update(ctx, x)
	if err != nil {
		t.Fatal(err)
	}
	if c.LastReport().Gamma != grid[best] || !slices.Equal(u.Labels, a.Labels) {
		t.Errorf("Update on the fitted rows kept γ %v and changed %d labels", c.LastReport().Gamma, countDiff(u.Labels, a.Labels))
	}
	if !reflect.DeepEqual(u.Params, wantSel) {
		t.Errorf("Update's param selections %v, want %v", u.Params, wantSel)
	}
	if as.Params != nil {
		t.Errorf("Assign reports a param selection: %v", as.Params)
	}
}

func countDiff(a, b []int32) int {
	n := 0
	for i := range a {
		if a[i] != b[i] {
			n++
		}
	}
	return n
}

// TestGammaSingleUnchanged: one number, a list of one and the default
// give one fit at that γ, no candidates in the report, and the same saved
// state (no candidate list in it).
func TestGammaSingleUnchanged(t *testing.T) {
	ctx := context.Background()
	x, _ := unionOfSubspaces(2, 3, 4, 12, 40, 0.01)
	var states [][]byte
	var labels [][]int32
	for _, g := range []any{50.0, 50, []any{50.0}, "50", nil} {
		raw := map[string]any{"k": 3}
		if g != nil {
			raw["gamma"] = g
		}
		c := configured(t, 12, raw)
		if c.set.Gammas != nil || c.set.Gamma != 50 {
			t.Fatalf("gamma %v: configured γ %v, candidates %v; want 50 alone", g, c.set.Gamma, c.set.Gammas)
		}
		a, err := c.Fit(ctx, x)
		if err != nil {
			t.Fatal(err)
		}
		if r := c.LastReport(); r.Gamma != 50 || r.Candidates != nil {
			t.Errorf("gamma %v: report γ %v with %d candidates, want 50 and none", g, r.Gamma, len(r.Candidates))
		}
		if a.Params != nil {
			t.Errorf("gamma %v: one γ reports a param selection %v", g, a.Params)
		}
		s, err := c.Save(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(s, []byte("gamma_candidates")) {
			t.Errorf("gamma %v: saved state lists candidates", g)
		}
		states, labels = append(states, s), append(labels, a.Labels)
	}
	for i := 1; i < len(states); i++ {
		if !bytes.Equal(states[i], states[0]) || !slices.Equal(labels[i], labels[0]) {
			t.Errorf("form %d of gamma 50 gives another fit or state than the first", i)
		}
	}
}

// TestGammaListErrors: an empty list, a candidate ≤ 1 or not finite, and
// a repeated candidate are one-line errors naming the key; so is a loaded
// state whose γ is not among its candidates.
func TestGammaListErrors(t *testing.T) {
	for _, tc := range []struct {
		gamma any
		want  string
	}{
		{[]any{}, "empty list"},
		{[]any{1.3, 1.0}, "item 1 is 1"},
		{[]any{2.0, 0.5, 3.0}, "item 1 is 0.5"},
		{[]any{2.0, math.Inf(1)}, "item 1 is +Inf"},
		{[]any{math.NaN(), 2.0}, "item 0 is NaN"},
		{[]any{1.3, 2.0, 1.3}, "item 2 (1.3) repeats item 0"},
		{1.0, "is 1, want"},
	} {
		c := New()
		cfg, err := sdk.ResolveConfig(c.Describe(), map[string]any{"gamma": tc.gamma})
		if err == nil {
			err = c.Configure(context.Background(), sdk.Setup{Config: cfg, EmbeddingDim: 3})
		}
		if err == nil || !strings.Contains(err.Error(), `"gamma"`) || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("gamma %v: error %v, want one line naming the key and containing %q", tc.gamma, err, tc.want)
		}
	}
	s := settings{K: 2, Gamma: 4, Gammas: []float64{2, 3}, Tau: 1, Support: 1, Rounds: 1, Nonzero: 1, Tol: 0.1, Assign: "kmeans", NInit: 1, EigTol: 0.1, Dictionary: 1}
	if err := s.validate(); err == nil || !strings.Contains(err.Error(), "not one of the candidates") {
		t.Errorf("γ outside its candidates: error %v", err)
	}
}
