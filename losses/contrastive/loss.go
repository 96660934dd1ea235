package contrastive

import (
	"context"
	"fmt"
	"math"

	"github.com/deepclust/deepclust/sdk"
)

// Version is the plugin version reported by Describe.
const Version = "0.2.0"

var description = sdk.Description{
	Name:    "contrastive",
	Kind:    sdk.KindLoss,
	Version: Version,
	Doc: "Contrastive loss of a Siamese network on neighbour pairs: kind hadsell (Hadsell, Chopra & LeCun 2006; " +
		"SpectralNet's affinity net), mean over pairs of y·max(d − m_p, 0)² + (1−y)·max(m − d, 0)², or kind umap " +
		"(parametric UMAP's cross-entropy, Sainburg, McInnes & Gentner 2021), mean over pairs of " +
		"−y·log φ(d) − (1−y)·log(1 − φ(d) + ε), φ(d) = 1/(1 + a·d^2b); d the embedding distance; positives are each " +
		"anchor and its input-space neighbour, negatives each anchor and other anchors' neighbours. Needs " +
		"train.pretrain_sampler: neighbors, so pretrain stage only.",
	Fields: []sdk.Field{
		{Name: "kind", Type: sdk.TypeString, Default: "hadsell", Doc: "hadsell: margins on the distance (uses margin, positive_margin); umap: UMAP's fuzzy cross-entropy (uses a, b)", Enum: []string{"hadsell", "umap"}},
		{Name: "margin", Type: sdk.TypeFloat, Default: 1.0, Doc: "margin m > 0: negative pairs closer than m are pushed apart"},
		{Name: "positive_margin", Type: sdk.TypeFloat, Default: 0.0, Doc: "margin m_p ≥ 0 of the positive pairs: neighbours closer than m_p are not pulled closer, max(d − m_p, 0)² (SpectralNet's code uses 0.2; 0 is Hadsell et al.'s d²)"},
		{Name: "a", Type: sdk.TypeFloat, Default: 1.577, Doc: "kind umap: a > 0 of the similarity φ(d) = 1/(1 + a·d^2b); the default is umap-learn's fit for min_dist 0.1, spread 1"},
		{Name: "b", Type: sdk.TypeFloat, Default: 0.895, Doc: "kind umap: b > 0.5 of φ(d) = 1/(1 + a·d^2b); the default is umap-learn's fit for min_dist 0.1, spread 1"},
		{Name: "negatives", Type: sdk.TypeInt, Default: 1, Doc: "negative pairs per anchor ≥ 0 (at most pairs − 1 are used): anchor i against the neighbours of anchors i+1 … i+negatives (mod pairs); 0 = positives only, which alone collapses the embeddings"},
	},
}

// Loss is the contrastive loss. It is not safe for concurrent use.
type Loss struct {
	pair      pairLoss // nil until configured
	negatives int      // negative pairs per anchor asked for
}

// New returns an unconfigured contrastive loss.
func New() *Loss { return &Loss{} }

// Describe returns the plugin's name, kind, version and config fields.
func (l *Loss) Describe() sdk.Description { return description }

// Configure reads margin and negatives (a partial config gets the defaults).
func (l *Loss) Configure(ctx context.Context, s sdk.Setup) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c, err := sdk.ResolveConfig(description, s.Config)
	if err != nil {
		return err
	}
	negatives := c.Int("negatives")
	if negatives < 0 {
		return fmt.Errorf("loss \"contrastive\": config key \"negatives\" is %d, want ≥ 0", negatives)
	}
	switch c.String("kind") {
	case "umap":
		a, b := c.Float("a"), c.Float("b")
		if !(a > 0) || math.IsInf(a, 0) {
			return fmt.Errorf("loss \"contrastive\": config key \"a\" is %v, want a finite number > 0", a)
		}
		if !(b > 0.5) || math.IsInf(b, 0) {
			return fmt.Errorf("loss \"contrastive\": config key \"b\" is %v, want a finite number > 0.5", b)
		}
		l.pair = umap{a: a, b: b}
	default:
		margin, posMargin := c.Float("margin"), c.Float("positive_margin")
		if !(margin > 0) || math.IsInf(margin, 0) {
			return fmt.Errorf("loss \"contrastive\": config key \"margin\" is %v, want a finite number > 0", margin)
		}
		if !(posMargin >= 0) || math.IsInf(posMargin, 0) {
			return fmt.Errorf("loss \"contrastive\": config key \"positive_margin\" is %v, want a finite number ≥ 0", posMargin)
		}
		l.pair = hadsell{m: margin, mp: posMargin}
	}
	l.negatives = negatives
	return nil
}

// Eval returns the mean contrastive loss over the neighbour pairs of the
// batch in.Z (in.Pairs anchors, then their neighbours) and its gradient
// with respect to Z; rows from 2·in.Pairs on get a zero gradient.
func (l *Loss) Eval(ctx context.Context, in sdk.LossInput) (sdk.LossOutput, error) {
	if err := ctx.Err(); err != nil {
		return sdk.LossOutput{}, err
	}
	if l.pair == nil {
		return sdk.LossOutput{}, fmt.Errorf("loss \"contrastive\": Eval before Configure")
	}
	if len(in.Z.Shape) != 2 || in.Z.Rows() == 0 || in.Z.Cols() == 0 {
		return sdk.LossOutput{}, fmt.Errorf("loss \"contrastive\": Z shape %v, want rows × width with both ≥ 1", in.Z.Shape)
	}
	if err := in.Z.Validate(); err != nil {
		return sdk.LossOutput{}, fmt.Errorf("loss \"contrastive\": Z: %w", err)
	}
	n, dim, h := in.Z.Rows(), in.Z.Cols(), in.Pairs
	if h == 0 {
		return sdk.LossOutput{}, fmt.Errorf("loss \"contrastive\": the batch has no neighbour pairs; train with train.pretrain_sampler: neighbors and set this loss's stages to [pretrain]")
	}
	if h < 0 || 2*h > n {
		return sdk.LossOutput{}, fmt.Errorf("loss \"contrastive\": %d neighbour pairs in a batch of %d rows, want 1 ≤ pairs ≤ rows/2", h, n)
	}
	z := make([]float64, len(in.Z.Data))
	for i, v := range in.Z.Data {
		z[i] = float64(v)
	}
	gz := make([]float64, len(z))
	value := objective(z, dim, h, min(l.negatives, h-1), l.pair, gz)
	out := sdk.LossOutput{Value: value, GradZ: sdk.NewTensor(n, dim)}
	for i, g := range gz {
		out.GradZ.Data[i] = float32(g)
	}
	return out, nil
}

// objective returns the contrastive loss of the rows of z (rows × dim)
// holding h anchors and then their h neighbours, with shifts negatives per
// anchor (anchor i against neighbour h + (i+s) mod h, s = 1..shifts) and the
// pair terms of k:
//
//	L = (1/P) [ Σ_i ℓ₊(d_i²) + Σ_{i,s} ℓ₋(d_is²) ],  P = h(1+shifts),
//
// and writes ∂L/∂z into gz (overwriting) when it is not nil; rows from 2h
// on get 0.
func objective(z []float64, dim, h, shifts int, k pairLoss, gz []float64) float64 {
	clear(gz)
	p := float64(h * (1 + shifts))
	diff := make([]float64, dim)
	var sum float64
	for s := range shifts + 1 { // s = 0: the positive pairs
		for i := range h {
			a, b := i, h+(i+s)%h
			za, zb := z[a*dim:(a+1)*dim], z[b*dim:(b+1)*dim]
			var d2 float64
			for t := range dim {
				diff[t] = za[t] - zb[t]
				d2 += diff[t] * diff[t]
			}
			var v, w float64
			if s == 0 {
				v, w = k.positive(d2)
			} else {
				v, w = k.negative(d2)
			}
			sum += v
			if gz == nil || w == 0 {
				continue
			}
			w /= p
			for t := range dim {
				gz[a*dim+t] += w * diff[t]
				gz[b*dim+t] -= w * diff[t]
			}
		}
	}
	return sum / p
}

// pairLoss is the term ℓ of one pair as a function of its squared distance
// d² = ‖z_a − z_b‖². Each method returns ℓ(d²) and w with
// ∂ℓ/∂z_a = w·(z_a − z_b) = −∂ℓ/∂z_b, that is w = 2·dℓ/d(d²).
type pairLoss interface {
	positive(d2 float64) (value, w float64)
	negative(d2 float64) (value, w float64)
}

// hadsell is the margin loss of Hadsell, Chopra and LeCun:
// ℓ₊ = max(d − m_p, 0)², ℓ₋ = max(m − d, 0)². At d = 0 neither has a
// gradient (a negative pair adds m²).
type hadsell struct{ m, mp float64 }

func (k hadsell) positive(d2 float64) (float64, float64) {
	d := math.Sqrt(d2)
	if d <= k.mp {
		return 0, 0
	}
	return (d - k.mp) * (d - k.mp), 2 * (d - k.mp) / d
}

func (k hadsell) negative(d2 float64) (float64, float64) {
	d := math.Sqrt(d2)
	if d >= k.m {
		return 0, 0
	}
	if d == 0 {
		return k.m * k.m, 0
	}
	return (k.m - d) * (k.m - d), -2 * (k.m - d) / d
}

// umapEpsilon keeps the repulsive term −log(1 − φ + ε) finite at d = 0;
// parametric UMAP clips its probabilities at the same 1e-4.
const umapEpsilon = 1e-4

// umap is UMAP's fuzzy cross-entropy with φ = 1/(1 + u), u = a·(d²)^b:
// ℓ₊ = −log φ = log(1 + u), ℓ₋ = −log(1 − φ + ε) = log(1 + u) − log(u(1+ε) + ε).
// Both have a zero gradient at d = 0, their limit there for b > 1/2.
type umap struct{ a, b float64 }

func (k umap) positive(d2 float64) (float64, float64) {
	if d2 == 0 {
		return 0, 0
	}
	u := k.a * math.Pow(d2, k.b)
	// dℓ/d(d²) = (dℓ/du)·b·u/d².
	return math.Log1p(u), 2 * k.b * u / d2 / (1 + u)
}

func (k umap) negative(d2 float64) (float64, float64) {
	if d2 == 0 {
		return -math.Log(umapEpsilon), 0
	}
	u := k.a * math.Pow(d2, k.b)
	dldu := 1/(1+u) - (1+umapEpsilon)/(u*(1+umapEpsilon)+umapEpsilon)
	return math.Log1p(u) - math.Log(u*(1+umapEpsilon)+umapEpsilon), 2 * k.b * u / d2 * dldu
}
