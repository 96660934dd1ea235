package main

import (
	"context"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/deepclust/deepclust/clusterers/gmm"
	"github.com/deepclust/deepclust/sdk"
)

// configuredGMM is a gmm clusterer of the given config.
func configuredGMM(t *testing.T, dim int, seed uint64, raw map[string]any) *gmm.Clusterer {
	t.Helper()
	c := gmm.New()
	cfg, err := sdk.ResolveConfig(c.Describe(), raw)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Configure(context.Background(), sdk.Setup{Config: cfg, EmbeddingDim: dim, Seed: seed}); err != nil {
		t.Fatal(err)
	}
	return c
}

// gmmClose fails unless the result's parameters agree with p to 1e-12,
// relative to 1 + |value|: the distributed sums run in another order (and
// about the previous means), so they may differ in the last bits.
func gmmClose(t *testing.T, what string, got GMMResult, p gmm.Params) {
	t.Helper()
	if got.K != p.K || got.D != p.Dim {
		t.Fatalf("%s: k=%d d=%d, want %d and %d", what, got.K, got.D, p.K, p.Dim)
	}
	for _, pair := range []struct {
		name string
		a, b []float64
	}{{"weights", got.Weights, p.Weights}, {"means", got.Means, p.Means}, {"covariances", got.Cov, p.Cov}} {
		if len(pair.a) != len(pair.b) {
			t.Fatalf("%s: %d %s, want %d", what, len(pair.a), pair.name, len(pair.b))
		}
		for i := range pair.a {
			if math.Abs(pair.a[i]-pair.b[i]) > 1e-12*(1+math.Abs(pair.b[i])) {
				t.Fatalf("%s: %s[%d] = %.17g, single-process %.17g", what, pair.name, i, pair.a[i], pair.b[i])
			}
		}
	}
}

// TestGMMMatchesClusterer runs the gmm command on Prism and checks it
// against the gmm clusterer in one process:
//   - full covariances, init kmeans++ on a sample holding every row, 3 EM
//     iterations with tol 0: Fit with init kmeans++, n_init 1, max_iter 3,
//     tol 0 and the same seed;
//   - diagonal covariances from --init-state (a 1-iteration fit), with
//     tol 1e9, which stops EM after its second iteration (the first is
//     compared with −∞): Load and Update with the same tol;
//
// and that gmm.state loads into the clusterer.
func TestGMMMatchesClusterer(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	lake := filepath.Join(dir, "lake")
	rows := writeLake(t, lake, kmeansLake)
	z := features(rows)
	d := z.Cols()
	const k, seed = 3, 5

	ref := configuredGMM(t, d, seed, map[string]any{"k": k, "init": gmm.InitKMeansPlusPlus, "max_iter": 3, "tol": 0.0})
	if _, err := ref.Fit(ctx, z); err != nil {
		t.Fatal(err)
	}
	want, err := ref.Params()
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "full")
	opt := GMMOptions{Data: lake, K: k, Iters: 3, Tol: 0, Reg: 1e-6, Covariance: gmm.CovarianceFull, Init: gmm.InitKMeansPlusPlus,
		Sample: 100000, Seed: seed, BatchRows: 23, Out: out, Runner: "prism"}
	if err := GMM(ctx, opt, io.Discard); err != nil {
		t.Fatal(err)
	}
	var got GMMResult
	readJSON(t, filepath.Join(out, GMMFile), &got)
	gmmClose(t, "full, kmeans++ start", got, want)
	if got.Iterations != 3 || got.Converged || got.Rows != int64(len(rows)) {
		t.Fatalf("%d iterations (converged %v) over %d rows, want 3 over %d", got.Iterations, got.Converged, got.Rows, len(rows))
	}
	state, err := os.ReadFile(filepath.Join(out, GMMStateFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := configuredGMM(t, d, seed, map[string]any{"k": k}).Load(ctx, state); err != nil {
		t.Fatalf("gmm.state does not load: %v", err)
	}

	start := configuredGMM(t, d, seed, map[string]any{"k": k, "covariance": gmm.CovarianceDiag, "max_iter": 1})
	if _, err := start.Fit(ctx, z); err != nil {
		t.Fatal(err)
	}
	initState, err := start.Save(ctx)
	if err != nil {
		t.Fatal(err)
	}
	initPath := filepath.Join(dir, "init.state")
	if err := os.WriteFile(initPath, initState, 0o644); err != nil {
		t.Fatal(err)
	}
	ref = configuredGMM(t, d, seed, map[string]any{"k": k, "covariance": gmm.CovarianceDiag, "max_iter": 5, "tol": 1e9})
	if err := ref.Load(ctx, initState); err != nil {
		t.Fatal(err)
	}
	if _, err := ref.Update(ctx, z); err != nil {
		t.Fatal(err)
	}
	if want, err = ref.Params(); err != nil {
		t.Fatal(err)
	}
	out = filepath.Join(dir, "diag")
	opt.Covariance, opt.InitState, opt.Iters, opt.Tol, opt.Out = gmm.CovarianceDiag, initPath, 5, 1e9, out
	if err := GMM(ctx, opt, io.Discard); err != nil {
		t.Fatal(err)
	}
	readJSON(t, filepath.Join(out, GMMFile), &got)
	gmmClose(t, "diag, from --init-state", got, want)
	if got.Iterations != 2 || !got.Converged {
		t.Fatalf("%d iterations (converged %v), want 2 and converged", got.Iterations, got.Converged)
	}

	opt.InitState, opt.Covariance = initPath, gmm.CovarianceFull
	opt.Out = filepath.Join(dir, "mismatch")
	if err := GMM(ctx, opt, io.Discard); err == nil || !strings.Contains(err.Error(), "init-state") {
		t.Fatalf("a diag state for full covariances: %v", err)
	}
	if _, err := os.Stat(opt.Out); !os.IsNotExist(err) {
		t.Fatalf("a failed gmm left %s: %v", opt.Out, err)
	}
}
