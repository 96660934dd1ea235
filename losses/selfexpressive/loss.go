package selfexpressive

import (
	"context"
	"fmt"
	"math"

	"github.com/deepclust/deepclust/sdk"
	"gonum.org/v1/gonum/mat"
)

// Version is the plugin version reported by Describe.
const Version = "0.1.0"

var description = sdk.Description{
	Name:    "selfexpressive",
	Kind:    sdk.KindLoss,
	Version: Version,
	Doc: "DSC-Net's self-expressive layer (Ji, Zhang, Li, Salzmann & Reid 2017) on each batch of B embeddings, " +
		"with the Frobenius regulariser (DSC-Net-L2): L = min over C with diag(C) = 0 of " +
		"(1/B)[λ₁‖C‖²_F + (λ₂/2)‖Z − CZ‖²_F], C eliminated in closed form through the d×d matrix (ZᵀZ + μI)⁻¹, " +
		"μ = 2λ₁/λ₂, so memory and time are O(B·d + d²) per batch, never B×B; gradient ∂L/∂Z at the optimal C",
	Fields: []sdk.Field{
		{Name: "lambda1", Type: sdk.TypeFloat, Default: 1.0, Doc: "λ₁ > 0: weight of ‖C‖²_F (DSC-Net's λ₁, which it sets to 1)"},
		{Name: "lambda2", Type: sdk.TypeFloat, Default: 1.0, Doc: "λ₂ > 0: weight of ½‖Z − CZ‖²_F (DSC-Net's λ₂); only μ = 2λ₁/λ₂ shapes C"},
	},
}

// Loss is the self-expressive loss. It holds no per-sample state and is
// safe for concurrent use once configured.
type Loss struct {
	lambda1, lambda2 float64 // 0 until configured
}

// New returns an unconfigured self-expressive loss.
func New() *Loss { return &Loss{} }

// Describe returns the plugin's name, kind, version and config fields.
func (l *Loss) Describe() sdk.Description { return description }

// Configure reads lambda1 and lambda2 (a partial config gets the defaults).
func (l *Loss) Configure(ctx context.Context, s sdk.Setup) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c, err := sdk.ResolveConfig(description, s.Config)
	if err != nil {
		return fmt.Errorf("loss \"selfexpressive\": %w", err)
	}
	for _, key := range []string{"lambda1", "lambda2"} {
		if v := c.Float(key); !(v > 0) || math.IsInf(v, 0) {
			return fmt.Errorf("loss \"selfexpressive\": config key %q is %v, want a finite number > 0", key, v)
		}
	}
	l.lambda1, l.lambda2 = c.Float("lambda1"), c.Float("lambda2")
	return nil
}

// Eval returns the self-expressive loss of the batch in.Z and ∂L/∂Z.
func (l *Loss) Eval(ctx context.Context, in sdk.LossInput) (sdk.LossOutput, error) {
	if err := ctx.Err(); err != nil {
		return sdk.LossOutput{}, err
	}
	if l.lambda1 == 0 {
		return sdk.LossOutput{}, fmt.Errorf("loss \"selfexpressive\": Eval before Configure")
	}
	if len(in.Z.Shape) != 2 || in.Z.Rows() < 2 || in.Z.Cols() == 0 {
		return sdk.LossOutput{}, fmt.Errorf("loss \"selfexpressive\": Z shape %v, want rows × width with at least 2 rows and 1 column", in.Z.Shape)
	}
	if err := in.Z.Validate(); err != nil {
		return sdk.LossOutput{}, fmt.Errorf("loss \"selfexpressive\": Z: %w", err)
	}
	b, d := in.Z.Rows(), in.Z.Cols()
	z := make([]float64, b*d)
	for i, v := range in.Z.Data {
		z[i] = float64(v)
	}
	g := make([]float64, b*d)
	value, err := objective(z, b, d, l.lambda1, l.lambda2, g)
	if err != nil {
		return sdk.LossOutput{}, err
	}
	out := sdk.LossOutput{Value: value, GradZ: sdk.NewTensor(b, d)}
	for i, v := range g {
		out.GradZ.Data[i] = float32(v)
	}
	return out, nil
}

// objective computes L(Z) = min_{C: diag C = 0} (1/B)[λ₁‖C‖²_F + (λ₂/2)‖Z − CZ‖²_F]
// for the b×d row-major z and writes ∂L/∂Z into g (see the package doc
// for the formulas). It works with d×d matrices and b×d ones only.
func objective(z []float64, b, d int, lambda1, lambda2 float64, g []float64) (float64, error) {
	mu := 2 * lambda1 / lambda2
	zm := mat.NewDense(b, d, z)
	// M = (ZᵀZ + μI)⁻¹ by Cholesky.
	var gram mat.SymDense
	gram.SymOuterK(1, zm.T())
	for t := range d {
		gram.SetSym(t, t, gram.At(t, t)+mu)
	}
	var chol mat.Cholesky
	if !chol.Factorize(&gram) {
		return 0, fmt.Errorf("loss \"selfexpressive\": ZᵀZ + μI is not positive definite (μ = %g)", mu)
	}
	var m mat.SymDense
	if err := chol.InverseTo(&m); err != nil {
		return 0, fmt.Errorf("loss \"selfexpressive\": inverting ZᵀZ + μI: %w", err)
	}
	// ZM (b×d): row i is z_iᵀM; s_i = z_iᵀ M z_i; μP_ii = 1 − s_i.
	var zmm mat.Dense
	zmm.Mul(zm, &m)
	p := make([]float64, b)
	for i := range b {
		s := mat.Dot(zm.RowView(i), zmm.RowView(i))
		p[i] = (1 - s) / mu
		if !(p[i] > 0) {
			return 0, fmt.Errorf("loss \"selfexpressive\": leverage of row %d is %v, want < 1 (μ = %g too small for the scale of Z)", i, s, mu)
		}
	}
	// R = Z − C*Z = D⁻¹ P Z = D⁻¹ Z M (rows r_i = z_iᵀM / P_ii), W = D⁻¹R.
	w := mat.NewDense(b, d, nil)
	var rr, cc float64
	var zmGram mat.Dense // M ZᵀZ M, for ‖P e_i‖²
	var ztz mat.Dense
	ztz.Mul(zm.T(), zm)
	zmGram.Product(&m, &ztz, &m)
	for i := range b {
		row := zmm.RawRowView(i)
		var rn float64
		for t, v := range row {
			r := v / p[i]
			rn += r * r
			w.Set(i, t, r/p[i])
		}
		rr += rn
		// ‖c_i‖² = ‖P e_i‖²/P_ii² − 1, ‖P e_i‖² = (1 − 2s_i + z_iᵀ(M ZᵀZ M)z_i)/μ².
		zi := zm.RowView(i)
		s := 1 - mu*p[i]
		q := mat.Inner(zi, &zmGram, zi)
		pe := (1 - 2*s + q) / (mu * mu)
		cc += max(pe/(p[i]*p[i])-1, 0)
	}
	value := (lambda1*cc + lambda2/2*rr) / float64(b)
	// ∂L/∂Z = (λ₂/B)(I − C*)ᵀR = (λ₂/B) P W,  P W = (W − Z M ZᵀW)/μ.
	var ztw, corr mat.Dense
	ztw.Mul(zm.T(), w)
	corr.Mul(&zmm, &ztw)
	scale := lambda2 / float64(b) / mu
	for i := range b {
		for t := range d {
			g[i*d+t] = scale * (w.At(i, t) - corr.At(i, t))
		}
	}
	return value, nil
}
