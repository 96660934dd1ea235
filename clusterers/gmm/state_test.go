package gmm

import (
	"context"
	"encoding/binary"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/deepclust/deepclust/sdk"
)

func fittedState(t *testing.T, cov string) (*Clusterer, []byte, sdk.Tensor) {
	t.Helper()
	x, _ := gaussBlobs(8, 120, 3, 3, 4)
	c := configured(t, 3, 5, map[string]any{"k": 3, "covariance": cov})
	if _, err := c.Fit(context.Background(), x); err != nil {
		t.Fatal(err)
	}
	state, err := c.Save(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return c, state, x
}

func TestSaveLoadRoundTrip(t *testing.T) {
	ctx := context.Background()
	for _, cov := range []string{CovarianceFull, CovarianceDiag} {
		c, state, x := fittedState(t, cov)
		if want := 24 + 8*(3+9+3*covLen(3, cov == CovarianceDiag)); len(state) != want {
			t.Fatalf("%s: state of %d bytes, want %d", cov, len(state), want)
		}
		if string(state[:8]) != stateMagic || binary.LittleEndian.Uint32(state[8:]) != stateVersion {
			t.Fatalf("%s: header %q", cov, state[:12])
		}
		d := configured(t, 3, 0, map[string]any{"k": 3, "covariance": cov})
		if err := d.Load(ctx, state); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(d.mix.weights, c.mix.weights) || !slices.Equal(d.mix.means, c.mix.means) ||
			!slices.Equal(d.mix.cov, c.mix.cov) || !slices.Equal(d.mix.precChol, c.mix.precChol) {
			t.Fatalf("%s: Load did not restore the saved mixture", cov)
		}
		a1, err := c.Assign(ctx, x)
		if err != nil {
			t.Fatal(err)
		}
		a2, err := d.Assign(ctx, x)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(a1.Soft.Data, a2.Soft.Data) || a1.Objective != a2.Objective {
			t.Fatalf("%s: Assign after Load differs", cov)
		}
	}
}

func TestLoadRejectsMismatchAndCorruption(t *testing.T) {
	ctx := context.Background()
	_, full, _ := fittedState(t, CovarianceFull)
	_, diag, _ := fittedState(t, CovarianceDiag)
	for name, c := range map[string]*Clusterer{
		"other k":          configured(t, 3, 0, map[string]any{"k": 4}),
		"other width":      configured(t, 2, 0, map[string]any{"k": 3}),
		"other covariance": configured(t, 3, 0, map[string]any{"k": 3, "covariance": CovarianceDiag}),
	} {
		if err := c.Load(ctx, full); err == nil {
			t.Errorf("%s: loaded", name)
		}
	}
	if err := New().Load(ctx, full); err == nil {
		t.Error("Load before Configure accepted")
	}
	target := map[string]*Clusterer{
		CovarianceFull: configured(t, 3, 0, map[string]any{"k": 3}),
		CovarianceDiag: configured(t, 3, 0, map[string]any{"k": 3, "covariance": CovarianceDiag}),
	}
	for cov, state := range map[string][]byte{CovarianceFull: full, CovarianceDiag: diag} {
		c := target[cov]
		for n := range len(state) {
			if err := c.Load(ctx, state[:n]); err == nil {
				t.Fatalf("%s: state truncated to %d of %d bytes loaded", cov, n, len(state))
			}
		}
		if err := c.Load(ctx, append(slices.Clone(state), 0)); err == nil {
			t.Fatalf("%s: state with a trailing byte loaded", cov)
		}
		// Values that must be rejected: NaN mean, negative weight,
		// weights not summing to 1, non-positive variance.
		f64 := func(i int) []byte { return state[24+8*i:][:8] }
		put := func(b []byte, v float64) { binary.LittleEndian.PutUint64(b, math.Float64bits(v)) }
		bad := map[string]func([]byte){
			"bad magic":     func(s []byte) { s[0] = 'X' },
			"bad version":   func(s []byte) { s[8] = 9 },
			"NaN mean":      func(s []byte) { put(s[24+8*3:], math.NaN()) },
			"neg weight":    func(s []byte) { put(s[24:], -0.1) },
			"weights sum":   func(s []byte) { put(s[24:], 0.9*math.Float64frombits(binary.LittleEndian.Uint64(f64(0)))) },
			"zero variance": func(s []byte) { put(s[24+8*12:], 0) },
			"Inf variance":  func(s []byte) { put(s[24+8*12:], math.Inf(1)) },
		}
		if cov == CovarianceFull {
			bad["asymmetric"] = func(s []byte) { put(s[24+8*13:], 1e-3+math.Float64frombits(binary.LittleEndian.Uint64(s[24+8*13:]))) }
			bad["not positive definite"] = func(s []byte) {
				// Σ_0 = [[1, 2, 0], [2, 1, 0], [0, 0, 1]] has eigenvalue −1.
				for i, v := range []float64{1, 2, 0, 2, 1, 0, 0, 0, 1} {
					put(s[24+8*(12+i):], v)
				}
			}
		}
		for name, corrupt := range bad {
			s := slices.Clone(state)
			corrupt(s)
			if err := c.Load(ctx, s); err == nil {
				t.Errorf("%s: %s loaded", cov, name)
			}
		}
		// Random corruption must never panic; a rejected Load keeps the
		// previous mixture.
		if err := c.Load(ctx, state); err != nil {
			t.Fatal(err)
		}
		keep := c.mix
		rng := rand.New(rand.NewPCG(1, 1))
		for range 2000 {
			s := slices.Clone(state)
			for range 1 + rng.IntN(4) {
				s[rng.IntN(len(s))] ^= byte(1 + rng.IntN(255))
			}
			if err := c.Load(ctx, s); err != nil && c.mix != keep {
				t.Fatal("a rejected Load changed the mixture")
			}
			c.mix = keep
		}
	}
}
