package subspace

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/deepclust/deepclust/clusterers/kmeans"
	"github.com/deepclust/deepclust/clusterers/spectral"
	"github.com/deepclust/deepclust/internal/metrics"
	"github.com/deepclust/deepclust/sdk"
)

// unionOfSubspaces draws the acceptance data: s random
// dim-dimensional subspaces of ℝ^ambient (orthonormal bases from the QR of
// Gaussian matrices, by modified Gram–Schmidt), perSub points on each with
// standard normal coefficients (not normalised), plus Gaussian noise of
// standard deviation noise on every coordinate.
func unionOfSubspaces(seed uint64, s, dim, ambient, perSub int, noise float64) (sdk.Tensor, []int32) {
	rng := rand.New(rand.NewPCG(seed, 0x5b5))
	x := sdk.NewTensor(s*perSub, ambient)
	truth := make([]int32, s*perSub)
	for c := range s {
		basis := make([][]float64, dim)
		for b := range dim {
			v := make([]float64, ambient)
			for t := range v {
				v[t] = rng.NormFloat64()
			}
			for _, u := range basis[:b] {
				var p float64
				for t := range v {
					p += v[t] * u[t]
				}
				for t := range v {
					v[t] -= p * u[t]
				}
			}
			var norm float64
			for _, f := range v {
				norm += f * f
			}
			norm = math.Sqrt(norm)
			for t := range v {
				v[t] /= norm
			}
			basis[b] = v
		}
		for p := range perSub {
			i := c*perSub + p
			truth[i] = int32(c)
			row := x.Row(i)
			for _, u := range basis {
				w := rng.NormFloat64()
				for t := range row {
					row[t] += float32(w * u[t])
				}
			}
			for t := range row {
				row[t] += float32(noise * rng.NormFloat64())
			}
		}
	}
	return x, truth
}

func fitACC(t *testing.T, c sdk.Clusterer, raw map[string]any, x sdk.Tensor, truth []int32) float64 {
	t.Helper()
	cfg, err := sdk.ResolveConfig(c.Describe(), raw)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := c.Configure(ctx, sdk.Setup{Config: cfg, EmbeddingDim: x.Cols(), Seed: 1}); err != nil {
		t.Fatal(err)
	}
	a, err := c.Fit(ctx, x)
	if err != nil {
		t.Fatal(err)
	}
	acc, err := metrics.ACC(truth, a.Labels)
	if err != nil {
		t.Fatal(err)
	}
	return acc
}

// TestUnionOfSubspaces is the synthetic acceptance test: 5 random
// 6-dimensional subspaces of ℝ²⁰, 60 points each, noise σ = 0.01.
func TestUnionOfSubspaces(t *testing.T) {
	x, truth := unionOfSubspaces(1, 5, 6, 20, 60, 0.01)
	sub := fitACC(t, New(), map[string]any{"k": 5}, x, truth)
	km := fitACC(t, kmeans.New(), map[string]any{"k": 5}, x, truth)
	sp := fitACC(t, spectral.New(), map[string]any{"k": 5}, x, truth)
	t.Logf("ACC: subspace %.4f, kmeans %.4f, spectral (kNN graph) %.4f", sub, km, sp)
	if sub < 0.99 {
		t.Errorf("subspace ACC %.4f, want ≥ 0.99", sub)
	}
	if km > 0.6 || sp > 0.7 {
		t.Errorf("kmeans ACC %.4f and spectral ACC %.4f: the data should defeat both", km, sp)
	}
}
