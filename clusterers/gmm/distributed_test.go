package gmm

import (
	"context"
	"math"
	"slices"
	"testing"

	"github.com/deepclust/deepclust/clusterers/kmeans"
	"github.com/deepclust/deepclust/sdk"
)

// distributedEM runs iters EM iterations from p the distributed way: the
// rows split into uneven parts, each part's statistics from its own
// E-step, merged in reverse order, then one M-step.
func distributedEM(t *testing.T, p Params, x sdk.Tensor, iters int, reg float64) Params {
	t.Helper()
	d := x.Cols()
	cuts := []int{0, 7, 300, 301, x.Rows()}
	for range iters {
		e, err := NewEStep(p)
		if err != nil {
			t.Fatal(err)
		}
		var parts []Stats
		for i := len(cuts) - 2; i >= 0; i-- {
			s := e.NewStats()
			lo, hi := cuts[i], cuts[i+1]
			if err := e.Add(x.Data[lo*d:hi*d], hi-lo, &s); err != nil {
				t.Fatal(err)
			}
			parts = append(parts, s)
		}
		var total Stats
		for _, s := range parts {
			if err := total.Merge(s); err != nil {
				t.Fatal(err)
			}
		}
		if total.N != int64(x.Rows()) {
			t.Fatalf("merged %d rows, want %d", total.N, x.Rows())
		}
		if p, err = MStep(total, reg, false); err != nil {
			t.Fatal(err)
		}
	}
	return p
}

// closeParams fails unless a and b agree to tol, relative to 1 + |value|.
func closeParams(t *testing.T, what string, a, b Params, tol float64) {
	t.Helper()
	if a.K != b.K || a.Dim != b.Dim || a.Diag != b.Diag {
		t.Fatalf("%s: shapes differ: %+v vs %+v", what, a, b)
	}
	for _, pair := range [][3]any{{"weights", a.Weights, b.Weights}, {"means", a.Means, b.Means}, {"covariances", a.Cov, b.Cov}} {
		u, v := pair[1].([]float64), pair[2].([]float64)
		if len(u) != len(v) {
			t.Fatalf("%s: %d %s, want %d", what, len(u), pair[0], len(v))
		}
		for i := range u {
			if math.Abs(u[i]-v[i]) > tol*(1+math.Abs(v[i])) {
				t.Fatalf("%s: %s[%d] = %.17g, single-process %.17g", what, pair[0], i, u[i], v[i])
			}
		}
	}
}

// TestDistributedEMMatchesUpdate checks N EM iterations by merged
// sufficient statistics against N single-process iterations (Update with
// max_iter N and tol 0, warm-started by Load from the same parameters), to
// 1e-12 relative: the sums run in another order and about other centres,
// so they may differ in the last bits.
func TestDistributedEMMatchesUpdate(t *testing.T) {
	ctx := context.Background()
	x, _ := gaussBlobs(3, 900, 5, 4, 2.5)
	for _, cov := range []string{CovarianceFull, CovarianceDiag} {
		start := configured(t, 5, 7, map[string]any{"k": 4, "covariance": cov, "init": InitKMeansPlusPlus, "max_iter": 1})
		if _, err := start.Fit(ctx, x); err != nil {
			t.Fatal(err)
		}
		p0, err := start.Params()
		if err != nil {
			t.Fatal(err)
		}
		const iters = 4
		ref := configured(t, 5, 7, map[string]any{"k": 4, "covariance": cov, "max_iter": iters, "tol": 0.0})
		state, err := p0.State()
		if err != nil {
			t.Fatal(err)
		}
		if err := ref.Load(ctx, state); err != nil {
			t.Fatal(err)
		}
		if _, err := ref.Update(ctx, x); err != nil {
			t.Fatal(err)
		}
		want, err := ref.Params()
		if err != nil {
			t.Fatal(err)
		}
		got := distributedEM(t, p0, x, iters, 1e-6)
		closeParams(t, cov, got, want, 1e-12)
		closeParams(t, cov+" (the iterations moved)", p0, want, math.Inf(1))
		if slices.Equal(p0.Means, want.Means) {
			t.Fatalf("%s: %d iterations did not move the means", cov, iters)
		}
	}
}

// TestDistributedStartMatchesFit checks the hard start (AddHard and an
// initial M-step from the nearest k-means++ centre, seeded by
// RestartSeed) followed by two distributed EM iterations against Fit with
// init kmeans++, n_init 1, max_iter 2 and tol 0.
func TestDistributedStartMatchesFit(t *testing.T) {
	ctx := context.Background()
	x, _ := gaussBlobs(5, 700, 3, 3, 3)
	const seed, reg = 11, 1e-6
	for _, cov := range []string{CovarianceFull, CovarianceDiag} {
		c := configured(t, 3, seed, map[string]any{"k": 3, "covariance": cov, "init": InitKMeansPlusPlus, "max_iter": 2, "tol": 0.0})
		if _, err := c.Fit(ctx, x); err != nil {
			t.Fatal(err)
		}
		want, err := c.Params()
		if err != nil {
			t.Fatal(err)
		}
		centres, err := kmeans.PlusPlus(x, 3, RestartSeed(seed, 0))
		if err != nil {
			t.Fatal(err)
		}
		a := &data{x: x.Data, n: x.Rows(), d: 3}
		labels := nearest(a, centres, 3)
		s := NewStats(3, 3, cov == CovarianceDiag, centres)
		if err := AddHard(x.Data[:300*3], labels[:300], &s); err != nil {
			t.Fatal(err)
		}
		rest := NewStats(3, 3, cov == CovarianceDiag, centres)
		if err := AddHard(x.Data[300*3:], labels[300:], &rest); err != nil {
			t.Fatal(err)
		}
		if err := s.Merge(rest); err != nil {
			t.Fatal(err)
		}
		p0, err := MStep(s, reg, true)
		if err != nil {
			t.Fatal(err)
		}
		closeParams(t, cov, distributedEM(t, p0, x, 2, reg), want, 1e-12)
	}
}

// TestStateRoundTrip checks that ParseState reads what Save writes, that
// Params.State is Save's encoding, and that bad states and statistics are
// refused.
func TestStateRoundTrip(t *testing.T) {
	ctx := context.Background()
	x, _ := gaussBlobs(1, 200, 2, 2, 3)
	c := configured(t, 2, 1, map[string]any{"k": 2})
	if _, err := c.Fit(ctx, x); err != nil {
		t.Fatal(err)
	}
	saved, err := c.Save(ctx)
	if err != nil {
		t.Fatal(err)
	}
	p, err := ParseState(saved)
	if err != nil {
		t.Fatal(err)
	}
	again, err := p.State()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(saved, again) {
		t.Fatal("Params.State differs from Save")
	}
	for _, bad := range [][]byte{nil, saved[:10], saved[:len(saved)-1], append(slices.Clone(saved), 0)} {
		if _, err := ParseState(bad); err == nil {
			t.Errorf("a %d-byte state parsed", len(bad))
		}
	}
	neg := p
	neg.Weights = []float64{1.5, -0.5}
	if _, err := neg.State(); err == nil {
		t.Error("negative weights encoded")
	}
	a, b := NewStats(2, 2, false, []float64{0, 0, 1, 1}), NewStats(2, 2, false, []float64{0, 0, 1, 2})
	if err := a.Merge(b); err == nil {
		t.Error("statistics about different shifts merged")
	}
	if _, err := MStep(NewStats(2, 2, false, p.Means), 1e-6, false); err == nil {
		t.Error("an M-step on no rows succeeded")
	}
	e, err := NewEStep(p)
	if err != nil {
		t.Fatal(err)
	}
	s := e.NewStats()
	if err := e.Add([]float32{1, 2, 3}, 2, &s); err == nil {
		t.Error("a batch of the wrong width was added")
	}
	if err := AddHard([]float32{1, 2}, []int32{2}, &s); err == nil {
		t.Error("a label out of range was added")
	}
}
