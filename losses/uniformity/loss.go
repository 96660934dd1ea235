package uniformity

import (
	"context"
	"fmt"
	"math"
	"slices"

	"github.com/deepclust/deepclust/clusterers/dec"
	"github.com/deepclust/deepclust/sdk"
)

// Version is the plugin version reported by Describe.
const Version = "0.3.0"

// priorTol is how far the prior's sum may be from 1.
const priorTol = 1e-6

var description = sdk.Description{
	Name:    "uniformity",
	Kind:    sdk.KindLoss,
	Version: Version,
	Doc: "Cluster-balance constraint KL(q̄‖π) + λ·(1/N) Σ_i H(q_i) (regularised information maximisation): " +
		"q_i are Student-t soft assignments to the clusterer's centroids, q̄ their batch mean, π a prior " +
		"(uniform by default); needs centroids, so train stage only.",
	Fields: []sdk.Field{
		{Name: "alpha", Type: sdk.TypeFloat, Default: 1.0, Doc: "degrees of freedom α > 0 of the Student-t kernel of q"},
		{Name: "confidence", Type: sdk.TypeFloat, Default: 0.5, Doc: "weight λ ≥ 0 of the mean assignment entropy (1/N) Σ_i H(q_i), which keeps q sharp and stops the embeddings collapsing to a point; 0 = balance term KL(q̄‖π) only"},
		{Name: "balance", Type: sdk.TypeString, Default: "reverse", Enum: []string{"forward", "reverse"}, Doc: "divergence of the balance term: forward = KL(r̄‖π) (IMSAT's; mild on a nearly empty cluster), reverse = KL(π‖r̄) = Σ_j π_j log(π_j/r̄_j), which grows without bound as a cluster empties"},
		{Name: "sharpness", Type: sdk.TypeFloat, Default: 10.0, Doc: "power s ≥ 1 of the assignments the balance term averages, r_ij ∝ q_ij^s: 1 = q itself; larger values make q̄ follow the hard cluster sizes, which the heavy-tailed q hides"},
		{Name: "prior", Type: sdk.TypeFloats, Default: []float64{}, Doc: "cluster prior π: k positive entries summing to 1; empty = uniform 1/k"},
	},
}

// Loss is the cluster-balance loss. It is not safe for concurrent use.
type Loss struct {
	alpha      float64
	confidence float64   // λ, weight of the mean assignment entropy
	sharpness  float64   // s, power of the assignments the balance term averages
	reverse    bool      // balance term KL(π‖r̄) instead of KL(r̄‖π)
	prior      []float64 // nil = uniform
}

// New returns an unconfigured uniformity loss.
func New() *Loss { return &Loss{} }

// Describe returns the plugin's name, kind, version and config fields.
func (l *Loss) Describe() sdk.Description { return description }

// Configure reads alpha, confidence, balance, sharpness and prior (a partial config gets the defaults). The
// prior's length is checked against the number of centroids in Eval.
func (l *Loss) Configure(ctx context.Context, s sdk.Setup) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c, err := sdk.ResolveConfig(description, s.Config)
	if err != nil {
		return err
	}
	alpha, confidence, sharpness, prior := c.Float("alpha"), c.Float("confidence"), c.Float("sharpness"), c.Floats("prior")
	if !(alpha > 0) || math.IsInf(alpha, 0) {
		return fmt.Errorf("loss \"uniformity\": config key \"alpha\" is %v, want a finite number > 0", alpha)
	}
	if !(confidence >= 0) || math.IsInf(confidence, 0) {
		return fmt.Errorf("loss \"uniformity\": config key \"confidence\" is %v, want a finite number ≥ 0", confidence)
	}
	if !(sharpness >= 1) || math.IsInf(sharpness, 0) {
		return fmt.Errorf("loss \"uniformity\": config key \"sharpness\" is %v, want a finite number ≥ 1", sharpness)
	}
	var sum float64
	for i, p := range prior {
		if !(p > 0) || math.IsInf(p, 0) {
			return fmt.Errorf("loss \"uniformity\": config key \"prior\": entry %d is %v, want a finite number > 0", i, p)
		}
		sum += p
	}
	if len(prior) > 0 && math.Abs(sum-1) > priorTol {
		return fmt.Errorf("loss \"uniformity\": config key \"prior\" sums to %v, want 1", sum)
	}
	l.alpha, l.confidence, l.sharpness, l.prior = alpha, confidence, sharpness, nil
	l.reverse = c.String("balance") == "reverse"
	if len(prior) > 0 {
		l.prior = prior
	}
	return nil
}

// Eval returns KL(r̄‖π) (or KL(π‖r̄)) + λ (1/N) Σ_i H(q_i), r_ij ∝ q_ij^s, of the batch in.Z against
// in.Centroids with its gradients with respect to Z and the centroids.
func (l *Loss) Eval(ctx context.Context, in sdk.LossInput) (sdk.LossOutput, error) {
	if err := ctx.Err(); err != nil {
		return sdk.LossOutput{}, err
	}
	if l.alpha == 0 {
		return sdk.LossOutput{}, fmt.Errorf("loss \"uniformity\": Eval before Configure")
	}
	if in.Centroids.Empty() {
		return sdk.LossOutput{}, fmt.Errorf("loss \"uniformity\": needs centroids from the clusterer; it cannot run in pretraining — set its stages to [train]")
	}
	k, dim := in.Centroids.Rows(), in.Centroids.Cols()
	if err := in.Centroids.CheckShape(-1, dim); err != nil || k == 0 {
		return sdk.LossOutput{}, fmt.Errorf("loss \"uniformity\": centroids shape %v, want k × width with k ≥ 1", in.Centroids.Shape)
	}
	if err := in.Z.CheckShape(-1, dim); err != nil {
		return sdk.LossOutput{}, fmt.Errorf("loss \"uniformity\": Z: %w (centroids are %d wide)", err, dim)
	}
	if in.Z.Rows() == 0 {
		return sdk.LossOutput{}, fmt.Errorf("loss \"uniformity\": Z has no rows")
	}
	if err := in.Z.Validate(); err != nil {
		return sdk.LossOutput{}, fmt.Errorf("loss \"uniformity\": Z: %w", err)
	}
	if err := in.Centroids.Validate(); err != nil {
		return sdk.LossOutput{}, fmt.Errorf("loss \"uniformity\": centroids: %w", err)
	}
	prior := l.prior
	if prior == nil {
		prior = make([]float64, k)
		for j := range prior {
			prior[j] = 1 / float64(k)
		}
	} else if len(prior) != k {
		return sdk.LossOutput{}, fmt.Errorf("loss \"uniformity\": config key \"prior\" has %d entries for %d centroids", len(prior), k)
	}
	z, mu := widen(in.Z.Data), widen(in.Centroids.Data)
	gz, gmu := make([]float64, len(z)), make([]float64, len(mu))
	value := objective(z, mu, prior, dim, l.alpha, l.confidence, l.sharpness, l.reverse, gz, gmu)
	out := sdk.LossOutput{Value: value, GradZ: sdk.NewTensor(in.Z.Rows(), dim), GradCentroids: sdk.NewTensor(k, dim)}
	narrow(out.GradZ.Data, gz)
	narrow(out.GradCentroids.Data, gmu)
	return out, nil
}

func widen(src []float32) []float64 {
	out := make([]float64, len(src))
	for i, v := range src {
		out[i] = float64(v)
	}
	return out
}

func narrow(dst []float32, src []float64) {
	for i, v := range src {
		dst[i] = float32(v)
	}
}

// objective returns L = B + λ (1/n) Σ_i H(q_i) for the
// n rows of z (n × dim) against the centroids mu (k × dim), with Student-t q
// of degree alpha, sharpened r_ij = q_ij^s / Σ_j' q_ij'^s, r̄_j = (1/n) Σ_i r_ij
// and H(q_i) = −Σ_j q_ij log q_ij, where the balance term B is
// Σ_j r̄_j log(r̄_j/π_j) or, when reverse, Σ_j π_j log(π_j/r̄_j), and writes
// (when non-nil, overwriting)
//
//	∂L/∂z_i = −((α+1)/(α n)) Σ_j g_ij inv_ij (z_i − μ_j),
//	∂L/∂μ_j = +((α+1)/(α n)) Σ_i g_ij inv_ij (z_i − μ_j),
//
// with g_ij = s r_ij (b_j − b̄_i) + q_ij (c_ij − c̄_i), b_j = ∂B/∂r̄_j up to a
// constant (log(r̄_j/π_j), or −π_j/r̄_j when reverse),
// b̄_i = Σ_j r_ij b_j, c_ij = −λ log q_ij, c̄_i = Σ_j q_ij c_ij and
// inv_ij = 1/(1 + ‖z_i − μ_j‖²/α): n·g_ij is ∂L/∂ log q_ij through the two
// softmaxes (r is the softmax of s·log q, q that of log q).
func objective(z, mu, prior []float64, dim int, alpha, lambda, sharp float64, reverse bool, gz, gmu []float64) float64 {
	k, n := len(mu)/dim, len(z)/dim
	q, inv := make([]float64, n*k), make([]float64, n*k)
	dec.StudentT(z, mu, dim, alpha, q, inv)
	r := sharpen(q, k, sharp)
	mean := make([]float64, k)
	for i, v := range r {
		mean[i%k] += v / float64(n)
	}
	// An assignment that underflowed to 0 adds 0·log 0 = 0 to either term;
	// flooring its logarithm keeps the weights finite, and its factor
	// q_ij = 0 (or r_ij = 0) in the gradients.
	logFloor := math.Log(math.SmallestNonzeroFloat64)
	balanceGrad := make([]float64, k)
	var value float64
	for j, m := range mean {
		logRatio := max(math.Log(m), logFloor) - math.Log(prior[j])
		if reverse {
			value -= prior[j] * logRatio
			// The floor keeps −π_j/r̄_j finite for a cluster no row reaches
			// (r̄_j = 0), so its zero r_ij give zero, not NaN, gradients.
			balanceGrad[j] = -prior[j] / max(m, 1e-300)
		} else {
			value += m * logRatio
			balanceGrad[j] = logRatio
		}
	}
	c := make([]float64, n*k)
	for i, v := range q {
		logQ := max(math.Log(v), logFloor)
		value -= lambda * v * logQ / float64(n)
		c[i] = -lambda * logQ
	}
	clear(gz)
	clear(gmu)
	if gz == nil && gmu == nil {
		return value
	}
	scale := (alpha + 1) / (alpha * float64(n))
	for i := range n {
		qi, ri, ci := q[i*k:(i+1)*k], r[i*k:(i+1)*k], c[i*k:(i+1)*k]
		var bBar, cBar float64
		for j := range k {
			bBar += ri[j] * balanceGrad[j]
			cBar += qi[j] * ci[j]
		}
		zi := z[i*dim : (i+1)*dim]
		for j := range k {
			g := sharp*ri[j]*(balanceGrad[j]-bBar) + qi[j]*(ci[j]-cBar)
			w := scale * g * inv[i*k+j]
			muj := mu[j*dim : (j+1)*dim]
			for t := range dim {
				d := w * (zi[t] - muj[t])
				if gz != nil {
					gz[i*dim+t] -= d
				}
				if gmu != nil {
					gmu[j*dim+t] += d
				}
			}
		}
	}
	return value
}

// sharpenFloor is the log of the smallest power (q_ij/max_j' q_ij')^s that
// sharpen keeps: smaller ones, below 1e-300 of the row's largest, are set
// to 0 rather than computed as subnormal numbers, which are slow on x86
// and change no sum.
const sharpenFloor = -690.0

// sharpen returns r_ij = q_ij^s / Σ_j' q_ij'^s for the rows of q (k
// columns); s = 1 returns q itself. Powers are taken relative to the row's
// largest entry, so a large s cannot underflow a whole row.
func sharpen(q []float64, k int, s float64) []float64 {
	if s == 1 {
		return q
	}
	r := make([]float64, len(q))
	for i := 0; i < len(q); i += k {
		top := slices.Max(q[i : i+k])
		var sum float64
		for j := range k {
			if l := s * math.Log(q[i+j]/top); l > sharpenFloor {
				r[i+j] = math.Exp(l)
			}
			sum += r[i+j]
		}
		for j := range k {
			r[i+j] /= sum
		}
	}
	return r
}
