package selfexpressive

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/deepclust/deepclust/sdk"
	"github.com/deepclust/deepclust/sdk/sdktest"
	"gonum.org/v1/gonum/mat"
)

// dense computes, the direct way with B×B matrices, C* = I − diag(P)⁻¹P
// with P = (ZZᵀ + μI)⁻¹, and f(C, Z) = (1/B)[λ₁‖C‖²_F + (λ₂/2)‖Z − CZ‖²_F].
func dense(z []float64, b, d int, l1, l2 float64) (cstar *mat.Dense, f func(c *mat.Dense, z []float64) float64) {
	zm := mat.NewDense(b, d, z)
	var k mat.Dense
	k.Mul(zm, zm.T())
	for i := range b {
		k.Set(i, i, k.At(i, i)+2*l1/l2)
	}
	var p mat.Dense
	if err := p.Inverse(&k); err != nil {
		panic(err)
	}
	cstar = mat.NewDense(b, b, nil)
	for i := range b {
		for j := range b {
			v := -p.At(i, j) / p.At(i, i)
			if i == j {
				v = 0
			}
			cstar.Set(i, j, v)
		}
	}
	f = func(c *mat.Dense, z []float64) float64 {
		zm := mat.NewDense(b, d, z)
		var cz mat.Dense
		cz.Mul(c, zm)
		var rr, cc float64
		for i := range b {
			for t := range d {
				r := zm.At(i, t) - cz.At(i, t)
				rr += r * r
			}
			for j := range b {
				cc += c.At(i, j) * c.At(i, j)
			}
		}
		return (l1*cc + l2/2*rr) / float64(b)
	}
	return cstar, f
}

func randomZ(seed uint64, b, d int) []float64 {
	rng := rand.New(rand.NewPCG(seed, 9))
	z := make([]float64, b*d)
	for i := range z {
		z[i] = rng.NormFloat64()
	}
	return z
}

// TestClosedFormAndGradients checks, for batches taller and wider than
// the width and for several μ = 2λ₁/λ₂:
//   - the value equals f(C*, Z) computed with dense B×B matrices (relative
//     1e-10), and C* has a zero diagonal;
//   - C* is a minimiser: the central difference of f along every
//     off-diagonal C_ij at C* is ≤ 1e-7 (the gradient that reaches the
//     coefficients vanishes there), and f grows along random directions;
//   - ∂L/∂Z matches central differences of L (step 1e-5, |err| ≤
//     1e-6·(1 + |g|)), which by Danskin's theorem is ∂f/∂Z at C*.
func TestClosedFormAndGradients(t *testing.T) {
	for _, tc := range []struct {
		b, d   int
		l1, l2 float64
	}{{12, 3, 1, 1}, {7, 10, 1, 4}, {20, 5, 0.05, 2}, {9, 9, 3, 0.5}} {
		z := randomZ(uint64(tc.b*100+tc.d), tc.b, tc.d)
		g := make([]float64, len(z))
		got, err := objective(z, tc.b, tc.d, tc.l1, tc.l2, g)
		if err != nil {
			t.Fatal(err)
		}
		cstar, f := dense(z, tc.b, tc.d, tc.l1, tc.l2)
		want := f(cstar, z)
		if math.Abs(got-want) > 1e-10*math.Abs(want) {
			t.Errorf("B=%d d=%d: value %.15g, dense %.15g", tc.b, tc.d, got, want)
		}
		const h = 1e-5
		var worstC float64
		for i := range tc.b {
			for j := range tc.b {
				if i == j {
					continue
				}
				c := mat.DenseCopyOf(cstar)
				c.Set(i, j, cstar.At(i, j)+h)
				up := f(c, z)
				c.Set(i, j, cstar.At(i, j)-h)
				worstC = max(worstC, math.Abs(up-f(c, z))/(2*h))
			}
		}
		if worstC > 1e-7 {
			t.Errorf("B=%d d=%d: ∂f/∂C at C* up to %.3g, want ≈ 0", tc.b, tc.d, worstC)
		}
		rng := rand.New(rand.NewPCG(5, 6))
		for range 5 {
			c := mat.DenseCopyOf(cstar)
			for i := range tc.b {
				for j := range tc.b {
					if i != j {
						c.Set(i, j, c.At(i, j)+0.01*rng.NormFloat64())
					}
				}
			}
			if f(c, z) <= want {
				t.Errorf("B=%d d=%d: a perturbed C gives %.12g ≤ f(C*) = %.12g", tc.b, tc.d, f(c, z), want)
			}
		}
		var worstZ float64
		for k := range z {
			zp := append([]float64(nil), z...)
			zp[k] += h
			up, _ := objective(zp, tc.b, tc.d, tc.l1, tc.l2, make([]float64, len(z)))
			zp[k] -= 2 * h
			down, _ := objective(zp, tc.b, tc.d, tc.l1, tc.l2, make([]float64, len(z)))
			fd := (up - down) / (2 * h)
			err := math.Abs(fd-g[k]) / (1 + math.Abs(g[k]))
			worstZ = max(worstZ, err)
		}
		t.Logf("B=%d d=%d λ₁=%g λ₂=%g: L=%.6g, max|∂f/∂C| at C* %.2g, ∂L/∂Z finite-difference error %.2g", tc.b, tc.d, tc.l1, tc.l2, got, worstC, worstZ)
		if worstZ > 1e-6 {
			t.Errorf("B=%d d=%d: ∂L/∂Z differs from central differences by %.3g", tc.b, tc.d, worstZ)
		}
	}
}

func TestConformance(t *testing.T) {
	sdktest.Loss(t, func() sdk.Loss { return New() }, sdktest.LossOptions{Seed: 2})
}

func TestErrors(t *testing.T) {
	ctx := context.Background()
	l := New()
	if _, err := l.Eval(ctx, sdk.LossInput{Z: sdk.NewTensor(4, 2)}); err == nil {
		t.Error("Eval before Configure succeeded")
	}
	for _, raw := range []map[string]any{{"lambda1": 0.0}, {"lambda2": -1.0}, {"nope": 1}} {
		cfg, err := sdk.ResolveConfig(description, raw)
		if err == nil {
			err = New().Configure(ctx, sdk.Setup{Config: cfg})
		}
		if err == nil {
			t.Errorf("config %v accepted", raw)
		}
	}
	if err := l.Configure(ctx, sdk.Setup{}); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Eval(ctx, sdk.LossInput{Z: sdk.NewTensor(1, 2)}); err == nil {
		t.Error("a batch of one row accepted")
	}
	bad := sdk.NewTensor(3, 2)
	bad.Data[1] = float32(math.NaN())
	if _, err := l.Eval(ctx, sdk.LossInput{Z: bad}); err == nil {
		t.Error("NaN accepted")
	}
}
