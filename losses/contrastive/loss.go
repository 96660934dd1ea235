package contrastive

import (
	"context"
	"fmt"
	"math"

	"github.com/deepclust/deepclust/sdk"
)

// Version is the plugin version reported by Describe.
const Version = "0.1.0"

var description = sdk.Description{
	Name:    "contrastive",
	Kind:    sdk.KindLoss,
	Version: Version,
	Doc: "Contrastive loss of a Siamese network (Hadsell, Chopra & LeCun 2006; SpectralNet's affinity net): " +
		"mean over pairs of y·d² + (1−y)·max(m − d, 0)², d the embedding distance; positives are each anchor " +
		"and its input-space neighbour, negatives each anchor and other anchors' neighbours. Needs " +
		"train.pretrain_sampler: neighbors, so pretrain stage only.",
	Fields: []sdk.Field{
		{Name: "margin", Type: sdk.TypeFloat, Default: 1.0, Doc: "margin m > 0: negative pairs closer than m are pushed apart"},
		{Name: "positive_margin", Type: sdk.TypeFloat, Default: 0.0, Doc: "margin m_p ≥ 0 of the positive pairs: neighbours closer than m_p are not pulled closer, max(d − m_p, 0)² (SpectralNet's code uses 0.2; 0 is Hadsell et al.'s d²)"},
		{Name: "negatives", Type: sdk.TypeInt, Default: 1, Doc: "negative pairs per anchor ≥ 0 (at most pairs − 1 are used): anchor i against the neighbours of anchors i+1 … i+negatives (mod pairs); 0 = positives only, which alone collapses the embeddings"},
	},
}

// Loss is the contrastive loss. It is not safe for concurrent use.
type Loss struct {
	margin    float64 // m; 0 until configured
	posMargin float64 // m_p
	negatives int     // negative pairs per anchor asked for
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
	margin, posMargin, negatives := c.Float("margin"), c.Float("positive_margin"), c.Int("negatives")
	if !(margin > 0) || math.IsInf(margin, 0) {
		return fmt.Errorf("loss \"contrastive\": config key \"margin\" is %v, want a finite number > 0", margin)
	}
	if !(posMargin >= 0) || math.IsInf(posMargin, 0) {
		return fmt.Errorf("loss \"contrastive\": config key \"positive_margin\" is %v, want a finite number ≥ 0", posMargin)
	}
	if negatives < 0 {
		return fmt.Errorf("loss \"contrastive\": config key \"negatives\" is %d, want ≥ 0", negatives)
	}
	l.margin, l.posMargin, l.negatives = margin, posMargin, negatives
	return nil
}

// Eval returns the mean contrastive loss over the neighbour pairs of the
// batch in.Z (in.Pairs anchors, then their neighbours) and its gradient
// with respect to Z; rows from 2·in.Pairs on get a zero gradient.
func (l *Loss) Eval(ctx context.Context, in sdk.LossInput) (sdk.LossOutput, error) {
	if err := ctx.Err(); err != nil {
		return sdk.LossOutput{}, err
	}
	if l.margin == 0 {
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
	value := objective(z, dim, h, min(l.negatives, h-1), l.margin, l.posMargin, gz)
	out := sdk.LossOutput{Value: value, GradZ: sdk.NewTensor(n, dim)}
	for i, g := range gz {
		out.GradZ.Data[i] = float32(g)
	}
	return out, nil
}

// objective returns the contrastive loss of the rows of z (rows × dim)
// holding h anchors and then their h neighbours, with shifts negatives per
// anchor (anchor i against neighbour h + (i+s) mod h, s = 1..shifts),
// margin m and positive margin mp:
//
//	L = (1/P) [ Σ_i max(d_i − mp, 0)² + Σ_{i,s} max(m − d_is, 0)² ],  P = h(1+shifts),
//
// and writes ∂L/∂z into gz (overwriting) when it is not nil; rows from 2h
// on get 0. A pair at distance 0 contributes no gradient (a negative one
// adds m²/P to L).
func objective(z []float64, dim, h, shifts int, m, mp float64, gz []float64) float64 {
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
			// w makes ∂ℓ/∂z_a = w·(z_a − z_b) = −∂ℓ/∂z_b for this pair's term ℓ.
			var w float64
			if s == 0 {
				d := math.Sqrt(d2)
				if d <= mp {
					continue
				}
				sum += (d - mp) * (d - mp)
				w = 2 * (d - mp) / d
			} else {
				d := math.Sqrt(d2)
				if d >= m {
					continue
				}
				sum += (m - d) * (m - d)
				if d == 0 {
					continue
				}
				w = -2 * (m - d) / d
			}
			if gz == nil {
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
