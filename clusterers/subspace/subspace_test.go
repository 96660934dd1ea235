package subspace

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/deepclust/deepclust/internal/metrics"
	"github.com/deepclust/deepclust/sdk"
	"github.com/deepclust/deepclust/sdk/sdktest"
)

func configured(t *testing.T, dim int, raw map[string]any) *Clusterer {
	t.Helper()
	c := New()
	cfg, err := sdk.ResolveConfig(c.Describe(), raw)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Configure(context.Background(), sdk.Setup{Config: cfg, EmbeddingDim: dim, Seed: 7}); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestConformance(t *testing.T) {
	cfg, err := sdk.ResolveConfig(New().Describe(), map[string]any{"k": 3})
	if err != nil {
		t.Fatal(err)
	}
	sdktest.Clusterer(t, func() sdk.Clusterer { return New() }, sdktest.ClustererOptions{Config: cfg, Seed: 3})
}

// TestAssignNewPoints fits the synthetic union of subspaces and assigns
// fresh points drawn from the same subspaces (same seed, more points per
// subspace: the first 60 of each are the fitted ones) by self-expression
// over the dictionary.
func TestAssignNewPoints(t *testing.T) {
	ctx := context.Background()
	x, truth := unionOfSubspaces(1, 5, 6, 20, 60, 0.01)
	c := configured(t, 20, map[string]any{"k": 5, "dictionary": 150})
	fit, err := c.Fit(ctx, x)
	if err != nil {
		t.Fatal(err)
	}
	again, err := c.Assign(ctx, x)
	if err != nil {
		t.Fatal(err)
	}
	acc, err := metrics.ACC(fit.Labels, again.Labels)
	if err != nil {
		t.Fatal(err)
	}
	if acc < 0.99 {
		t.Errorf("Assign on the fitted points agrees with Fit on %.3f of them, want ≥ 0.99", acc)
	}
	accTruth, _ := metrics.ACC(truth, again.Labels)
	t.Logf("Assign over a 150-point dictionary: agreement with Fit %.4f, ACC %.4f", acc, accTruth)
}

func TestSaveLoad(t *testing.T) {
	ctx := context.Background()
	x, _ := unionOfSubspaces(2, 3, 4, 12, 40, 0.01)
	c := configured(t, 12, map[string]any{"k": 3, "dictionary": 50})
	if _, err := c.Save(ctx); err == nil {
		t.Error("Save before Fit succeeded")
	}
	if _, err := c.Fit(ctx, x); err != nil {
		t.Fatal(err)
	}
	want, err := c.Assign(ctx, x)
	if err != nil {
		t.Fatal(err)
	}
	state, err := c.Save(ctx)
	if err != nil {
		t.Fatal(err)
	}
	d := configured(t, 12, map[string]any{"k": 3})
	if err := d.Load(ctx, state); err != nil {
		t.Fatal(err)
	}
	got, err := d.Assign(ctx, x)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got.Labels, want.Labels) || got.Objective != want.Objective {
		t.Error("Assign after Load differs")
	}
	corrupt := map[string][]byte{
		"empty":     nil,
		"magic":     append([]byte("XXXXXXXX"), state[8:]...),
		"truncated": state[:len(state)-3],
		"longer":    append(slices.Clone(state), 0),
	}
	badLabel := slices.Clone(state)
	// The first sample label follows the header, config, shape and means.
	off := 8 + 4 + 4 + int(uint32(state[12])|uint32(state[13])<<8) + 4 + 8 + 8 + 3*12*8
	badLabel[off] = 9
	corrupt["label out of range"] = badLabel
	nanDict := slices.Clone(state)
	copy(nanDict[len(nanDict)-4:], []byte{0, 0, 0xc0, 0x7f})
	corrupt["NaN dictionary"] = nanDict
	for name, s := range corrupt {
		e := configured(t, 12, map[string]any{"k": 3})
		err := e.Load(ctx, s)
		if err == nil {
			t.Errorf("%s state loaded", name)
			continue
		}
		if strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: error on several lines: %v", name, err)
		}
	}
	wrongK := configured(t, 12, map[string]any{"k": 4})
	if err := wrongK.Load(ctx, state); err == nil {
		t.Error("state of k=3 loaded into k=4")
	}
}

func TestConfigErrors(t *testing.T) {
	for key, v := range map[string]any{"k": 0, "gamma": 1.0, "tau": 0.0, "support": 0, "rounds": 0, "nonzero": 0, "tol": 0.0, "assign": "x", "n_init": 0, "eig_tol": 1.0, "dictionary": 0} {
		c := New()
		cfg, err := sdk.ResolveConfig(c.Describe(), map[string]any{key: v})
		if err == nil {
			err = c.Configure(context.Background(), sdk.Setup{Config: cfg, EmbeddingDim: 3})
		}
		if err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("%s = %v: error %v, want one naming the key", key, v, err)
		}
	}
	c := configured(t, 3, map[string]any{"k": 5})
	if _, err := c.Fit(context.Background(), sdk.NewTensor(4, 3)); err == nil {
		t.Error("k=5 on 4 points accepted")
	}
	if _, err := c.Assign(context.Background(), sdk.NewTensor(4, 3)); err == nil {
		t.Error("Assign before Fit accepted")
	}
}

func TestDeterministic(t *testing.T) {
	x, _ := unionOfSubspaces(4, 4, 5, 20, 50, 0.05)
	var first []int32
	for range 2 {
		c := configured(t, 20, map[string]any{"k": 4, "tau": 0.9})
		a, err := c.Fit(context.Background(), x)
		if err != nil {
			t.Fatal(err)
		}
		if first == nil {
			first = a.Labels
		} else if !slices.Equal(first, a.Labels) {
			t.Error("two fits with one seed differ")
		}
	}
}
