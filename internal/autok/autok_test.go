package autok_test

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/deepclust/deepclust/clusterers/gmm"
	"github.com/deepclust/deepclust/clusterers/kmeans"
	"github.com/deepclust/deepclust/clusterers/spectral"
	"github.com/deepclust/deepclust/sdk"
)

// blobs draws k isotropic Gaussian blobs (σ = 1, 80 to 160 points each) in
// 6 dimensions, with centres uniform in [−12, 12]⁶ at least 6 apart.
func blobs(seed uint64, k int) sdk.Tensor {
	const d = 6
	rng := rand.New(rand.NewPCG(seed, 42))
	var centres [][]float64
	for len(centres) < k {
		c := make([]float64, d)
		for t := range c {
			c[t] = rng.Float64()*24 - 12
		}
		ok := true
		for _, o := range centres {
			var s float64
			for t := range c {
				s += (c[t] - o[t]) * (c[t] - o[t])
			}
			ok = ok && math.Sqrt(s) >= 6
		}
		if ok {
			centres = append(centres, c)
		}
	}
	var data []float32
	for _, c := range centres {
		for range 80 + rng.IntN(81) {
			for t := range d {
				data = append(data, float32(c[t]+rng.NormFloat64()))
			}
		}
	}
	return sdk.Tensor{Shape: []int{len(data) / d, d}, Data: data}
}

// TestAutoFindsTrueK is the acceptance test: with k auto scanning
// 2–20, each clusterer finds the true k on at least 4 of 5 seeded blob
// datasets of different k, and reports the whole criterion curve.
func TestAutoFindsTrueK(t *testing.T) {
	if testing.Short() {
		t.Skip("scans 19 values of k on 5 datasets per clusterer")
	}
	trueK := []int{3, 5, 7, 10, 13}
	for _, c := range []sdk.Clusterer{kmeans.New(), gmm.New(), spectral.New()} {
		name := c.Describe().Name
		t.Run(name, func(t *testing.T) {
			hits := 0
			for i, k := range trueK {
				z := blobs(uint64(100+i), k)
				raw := map[string]any{"k": "auto"}
				if name == "spectral" {
					raw["knn"] = 15
				}
				cfg, err := sdk.ResolveConfig(c.Describe(), raw)
				if err != nil {
					t.Fatal(err)
				}
				if err := c.Configure(context.Background(), sdk.Setup{Config: cfg, EmbeddingDim: 6, Seed: 7}); err != nil {
					t.Fatal(err)
				}
				a, err := c.Fit(context.Background(), z)
				if err != nil {
					t.Fatal(err)
				}
				sel := a.Selection
				if sel == nil || len(sel.Ks) != 19 || len(sel.Values) != 19 || sel.Ks[0] != 2 || sel.Ks[18] != 20 {
					t.Fatalf("true k %d: selection %+v, want the curve over k = 2..20", k, sel)
				}
				maxLabel := int32(0)
				for _, l := range a.Labels {
					maxLabel = max(maxLabel, l)
				}
				if int(maxLabel)+1 != sel.K {
					t.Errorf("true k %d: chose %d but labels go up to %d", k, sel.K, maxLabel)
				}
				t.Logf("true k %2d: %s chose %2d", k, sel.Criterion, sel.K)
				if sel.K == k {
					hits++
				}
				// The chosen model is kept: Assign works with the chosen k.
				if b, err := c.Assign(context.Background(), z); err != nil || len(b.Labels) != z.Rows() {
					t.Fatalf("Assign after k auto: %v", err)
				}
			}
			if hits < 4 {
				t.Errorf("true k found on %d of 5 datasets, want at least 4", hits)
			}
		})
	}
}

// TestAutoSaveLoad checks that a model fitted with k auto loads back into
// a clusterer configured with k auto, and assigns as before.
func TestAutoSaveLoad(t *testing.T) {
	z := blobs(3, 4)
	for _, mk := range []func() sdk.Clusterer{func() sdk.Clusterer { return kmeans.New() }, func() sdk.Clusterer { return gmm.New() }, func() sdk.Clusterer { return spectral.New() }} {
		c := mk()
		cfg, err := sdk.ResolveConfig(c.Describe(), map[string]any{"k": "auto", "k_range": "2,6"})
		if err != nil {
			t.Fatal(err)
		}
		setup := sdk.Setup{Config: cfg, EmbeddingDim: 6, Seed: 1}
		ctx := context.Background()
		if err := c.Configure(ctx, setup); err != nil {
			t.Fatal(err)
		}
		a, err := c.Fit(ctx, z)
		if err != nil {
			t.Fatal(err)
		}
		state, err := c.Save(ctx)
		if err != nil {
			t.Fatal(err)
		}
		d := mk()
		if err := d.Configure(ctx, setup); err != nil {
			t.Fatal(err)
		}
		if err := d.Load(ctx, state); err != nil {
			t.Fatalf("%s: load after k auto: %v", c.Describe().Name, err)
		}
		b, err := d.Assign(ctx, z)
		if err != nil {
			t.Fatal(err)
		}
		same := 0
		for i := range b.Labels {
			if b.Labels[i] == a.Labels[i] {
				same++
			}
		}
		if same < len(b.Labels)*95/100 {
			t.Errorf("%s: loaded model agrees with Fit on %d of %d rows", c.Describe().Name, same, len(b.Labels))
		}
	}
}

func TestConfigValues(t *testing.T) {
	d := kmeans.New().Describe()
	for _, raw := range []any{"auto", "AUTO", 4, "7"} {
		if _, err := sdk.ResolveConfig(d, map[string]any{"k": raw}); err != nil {
			t.Errorf("k %v: %v", raw, err)
		}
	}
	for _, raw := range []any{"many", 2.5} {
		if _, err := sdk.ResolveConfig(d, map[string]any{"k": raw}); err == nil {
			t.Errorf("k %v: no error", raw)
		}
	}
	for _, raw := range []any{0, -3} {
		cfg, err := sdk.ResolveConfig(d, map[string]any{"k": raw})
		if err != nil {
			t.Fatal(err)
		}
		if err := kmeans.New().Configure(context.Background(), sdk.Setup{Config: cfg, EmbeddingDim: 2}); err == nil {
			t.Errorf("k %v: Configure accepted it", raw)
		}
	}
	if _, err := sdk.ResolveConfig(d, map[string]any{"k": "auto", "k_range": "5,3"}); err != nil {
		t.Fatal(err) // resolves; Configure rejects it
	}
	cfg, _ := sdk.ResolveConfig(d, map[string]any{"k": "auto", "k_range": "5,3"})
	if err := kmeans.New().Configure(context.Background(), sdk.Setup{Config: cfg, EmbeddingDim: 2}); err == nil {
		t.Error("k_range [5, 3]: no error")
	}
}
