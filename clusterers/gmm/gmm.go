package gmm

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"

	"github.com/deepclust/deepclust/clusterers/kmeans"
	"github.com/deepclust/deepclust/internal/autok"
	"github.com/deepclust/deepclust/sdk"
)

// Covariance types: the form of every component's covariance matrix.
const (
	CovarianceFull = "full"
	CovarianceDiag = "diag"
)

// Initialisations: how each of the n_init EM runs in Fit starts.
const (
	// InitKMeans starts from the hard responsibilities of one full k-means
	// run (k-means++ seeding and Lloyd), as scikit-learn's
	// init_params="kmeans".
	InitKMeans = "kmeans"
	// InitKMeansPlusPlus starts from the hard responsibilities of the
	// nearest k-means++ centre, without Lloyd rounds.
	InitKMeansPlusPlus = "kmeans++"
)

// The k-means run behind InitKMeans uses scikit-learn's KMeans defaults,
// as GaussianMixture's KMeans(n_clusters, n_init=1, random_state) does.
const (
	kmeansMaxIter = 300
	kmeansTol     = 1e-4
)

// pcgStream is the second PCG word of Fit's random source, which draws one
// seed per restart.
const pcgStream = 0x676d6d // "gmm"

// Clusterer is a Gaussian mixture fitted by EM, N2D's clusterer. It
// implements sdk.Clusterer; methods are safe for concurrent use (calls are
// serialised).
type Clusterer struct {
	mu sync.Mutex

	configured bool
	// auto is the k field; with auto.Auto, Fit sets k.
	auto     autok.Spec
	k, nInit int
	maxIter  int
	tol, reg float64
	diag     bool
	init     string
	dim      int
	seed     uint64

	// mix is the fitted mixture; nil before Fit or Load.
	mix *mixture
	// last is what the last EM run (Fit's best restart, or Update)
	// reported; zero after Load.
	last emResult
}

// New returns an unconfigured Gaussian-mixture clusterer.
func New() *Clusterer { return &Clusterer{} }

// Describe returns the plugin's name, kind, version and config fields.
func (c *Clusterer) Describe() sdk.Description {
	return sdk.Description{
		Name:    "gmm",
		Kind:    sdk.KindClusterer,
		Version: "0.1.0",
		Doc: "Gaussian mixture fitted by EM as scikit-learn's GaussianMixture (N2D's clusterer, McConville et al. 2020); " +
			"soft assignments are the posteriors, loss the mixture negative log-likelihood (1/N)Σ −log p(z_i)",
		Fields: append(autok.Fields("number of mixture components, ≥ 1 (and ≤ the number of samples)", "the lowest BIC, −2·N·(mean log-likelihood) + (free parameters)·ln N, with at least 3 EM runs (n_init) per k"), []sdk.Field{
			{Name: "covariance", Type: sdk.TypeString, Default: CovarianceFull, Enum: []string{CovarianceFull, CovarianceDiag},
				Doc: "form of each component's covariance: full matrix or diagonal (scikit-learn's covariance_type)"},
			{Name: "n_init", Type: sdk.TypeInt, Default: 1, Doc: "EM restarts in Fit, ≥ 1; the highest lower bound wins (scikit-learn's default 1)"},
			{Name: "max_iter", Type: sdk.TypeInt, Default: 100, Doc: "most EM iterations per run, ≥ 1"},
			{Name: "tol", Type: sdk.TypeFloat, Default: 1e-3, Doc: "EM stops when the mean per-sample log-likelihood lower bound changes by less than tol, ≥ 0 (scikit-learn's meaning)"},
			{Name: "reg_covar", Type: sdk.TypeFloat, Default: 1e-6, Doc: "≥ 0, added to every covariance diagonal so covariances stay positive definite (scikit-learn's covariance floor)"},
			{Name: "init", Type: sdk.TypeString, Default: InitKMeans, Enum: []string{InitKMeans, InitKMeansPlusPlus},
				Doc: "start of each EM run: kmeans = hard responsibilities of a full k-means run (scikit-learn's init_params='kmeans'); kmeans++ = of the nearest k-means++ centre, no Lloyd rounds"},
		}...),
	}
}

// Configure reads the config and the embedding width.
func (c *Clusterer) Configure(_ context.Context, s sdk.Setup) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	cfg := s.Config
	if cfg == nil {
		var err error
		if cfg, err = sdk.ResolveConfig(c.Describe(), nil); err != nil {
			return fmt.Errorf("gmm: configure: %w", err)
		}
	}
	spec, err := autok.Read("gmm", cfg)
	if err != nil {
		return err
	}
	k, nInit, maxIter := spec.K, cfg.Int("n_init"), cfg.Int("max_iter")
	tol, reg := cfg.Float("tol"), cfg.Float("reg_covar")
	cov, init := cfg.String("covariance"), cfg.String("init")
	switch {
	case nInit < 1:
		return fmt.Errorf("gmm: config key \"n_init\" is %d, want at least 1", nInit)
	case maxIter < 1:
		return fmt.Errorf("gmm: config key \"max_iter\" is %d, want at least 1", maxIter)
	case !(tol >= 0) || math.IsInf(tol, 0):
		return fmt.Errorf("gmm: config key \"tol\" is %v, want a finite number ≥ 0", tol)
	case !(reg >= 0) || math.IsInf(reg, 0):
		return fmt.Errorf("gmm: config key \"reg_covar\" is %v, want a finite number ≥ 0", reg)
	case cov != CovarianceFull && cov != CovarianceDiag:
		return fmt.Errorf("gmm: config key \"covariance\" is %q, want %q or %q", cov, CovarianceFull, CovarianceDiag)
	case init != InitKMeans && init != InitKMeansPlusPlus:
		return fmt.Errorf("gmm: config key \"init\" is %q, want %q or %q", init, InitKMeans, InitKMeansPlusPlus)
	case s.EmbeddingDim < 1:
		return fmt.Errorf("gmm: embedding dimension is %d, want at least 1", s.EmbeddingDim)
	}
	c.configured = true
	c.auto = spec
	c.k, c.nInit, c.maxIter, c.tol, c.reg = k, nInit, maxIter, tol, reg
	c.diag, c.init, c.dim, c.seed = cov == CovarianceDiag, init, s.EmbeddingDim, s.Seed
	c.mix, c.last = nil, emResult{}
	return nil
}

// embeddings checks z (configured, N × dim, finite, at least minRows rows)
// and wraps it.
func (c *Clusterer) embeddings(op string, z sdk.Tensor, minRows int) (*data, error) {
	if !c.configured {
		return nil, fmt.Errorf("gmm: %s before Configure", op)
	}
	if err := z.CheckShape(-1, c.dim); err != nil {
		return nil, fmt.Errorf("gmm: %s: embeddings: %w", op, err)
	}
	if err := z.Validate(); err != nil {
		return nil, fmt.Errorf("gmm: %s: embeddings: %w", op, err)
	}
	if z.Rows() < minRows {
		return nil, fmt.Errorf("gmm: %s: %d embeddings (n) for k=%d components, need n ≥ k", op, z.Rows(), c.k)
	}
	return &data{x: z.Data, n: z.Rows(), d: c.dim}, nil
}

// fitted returns an error unless Fit (or Load) has run.
func (c *Clusterer) fitted(op string) error {
	if c.mix == nil {
		return fmt.Errorf("gmm: %s before Fit", op)
	}
	return nil
}

// Fit fits the mixture on all embeddings: n_init EM runs, each from the
// configured init with its own seed drawn from Setup.Seed, each at most
// max_iter E+M iterations until the lower bound changes by less than tol;
// the run with the highest lower bound wins (the earliest on ties). Soft
// holds the posteriors γ_ij under the winning parameters, Labels their
// argmax and Objective the mean negative log-likelihood
// −(1/N) Σ_i log p(z_i).
func (c *Clusterer) Fit(ctx context.Context, z sdk.Tensor) (sdk.Assignment, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return sdk.Assignment{}, fmt.Errorf("gmm: fit: %w", err)
	}
	if c.auto.Auto {
		return c.fitAuto(ctx, z)
	}
	out, best, bestRes, err := c.fitK(ctx, z, c.k)
	if err != nil {
		return sdk.Assignment{}, err
	}
	c.mix, c.last = best, bestRes
	return out, nil
}

// AutoRestarts is the least number of EM runs per k with k auto.
const AutoRestarts = 3

// fitAuto is Fit with k auto: Fit with every k of k_range, scored by the
// Bayesian information criterion of scikit-learn's GaussianMixture.bic,
//
//	BIC = −2·N·ℒ + p·ln N,   ℒ = (1/N) Σ_i log p(z_i),
//
// with p = k·d(d+1)/2 (full) or k·d (diag) covariance parameters, plus k·d
// means and k−1 weights; the lowest wins. Every k gets at least
// AutoRestarts EM runs (n_init if larger): a local optimum at one k bends
// the curve.
func (c *Clusterer) fitAuto(ctx context.Context, z sdk.Tensor) (sdk.Assignment, error) {
	nInit := c.nInit
	c.nInit = max(nInit, AutoRestarts)
	defer func() { c.nInit = nInit }()
	ks, err := c.auto.Range("gmm", z.Rows())
	if err != nil {
		return sdk.Assignment{}, err
	}
	sel := &sdk.KSelection{Criterion: "bic", Best: "min", Ks: ks, Note: fmt.Sprintf("%d EM runs per k", c.nInit)}
	type run struct {
		out sdk.Assignment
		mix *mixture
		res emResult
	}
	var runs []run
	n, d := float64(z.Rows()), z.Cols()
	for _, k := range ks {
		out, mix, res, err := c.fitK(ctx, z, k)
		if err != nil {
			return sdk.Assignment{}, fmt.Errorf("gmm: k auto: k=%d: %w", k, err)
		}
		cov := k * d * (d + 1) / 2
		if c.diag {
			cov = k * d
		}
		p := float64(cov + k*d + k - 1)
		sel.Values = append(sel.Values, 2*n*out.Objective+p*math.Log(n))
		runs = append(runs, run{out, mix, res})
	}
	if err := autok.Choose("gmm", sel); err != nil {
		return sdk.Assignment{}, err
	}
	r := runs[sel.K-ks[0]]
	c.k, c.mix, c.last = sel.K, r.mix, r.res
	r.out.Selection = sel
	return r.out, nil
}

// fitK is Fit with k components; it sets c.k and returns the assignment,
// the best mixture and its EM result.
func (c *Clusterer) fitK(ctx context.Context, z sdk.Tensor, k int) (sdk.Assignment, *mixture, emResult, error) {
	c.k = k
	a, err := c.embeddings("fit", z, c.k)
	if err != nil {
		return sdk.Assignment{}, nil, emResult{}, err
	}
	rng := rand.New(rand.NewPCG(c.seed, pcgStream))
	resp := make([]float64, a.n*c.k)
	var best *mixture
	var bestRes emResult
	for run := range c.nInit {
		m, err := c.initial(z, a, rng.Uint64(), resp)
		if err != nil {
			return sdk.Assignment{}, nil, emResult{}, fmt.Errorf("gmm: fit: initialisation %d: %w", run+1, err)
		}
		res, err := em(ctx, a, m, c.maxIter, c.tol, c.reg, resp)
		if err != nil {
			return sdk.Assignment{}, nil, emResult{}, fmt.Errorf("gmm: fit: EM run %d: %w", run+1, err)
		}
		if best == nil || res.lowerBound > bestRes.lowerBound {
			best, bestRes = m, res
		}
	}
	out, err := c.assignment(best, a)
	if err != nil {
		return sdk.Assignment{}, nil, emResult{}, fmt.Errorf("gmm: fit: %w", err)
	}
	return out, best, bestRes, nil
}

// initial builds the starting mixture of one EM run: hard responsibilities
// (the k-means labels, or the nearest k-means++ centre) turned into
// weights, means and covariances by one M-step with π_j = n_j/N, as
// scikit-learn's _initialize. resp is n × k scratch space.
func (c *Clusterer) initial(z sdk.Tensor, a *data, seed uint64, resp []float64) (*mixture, error) {
	var labels []int32
	switch c.init {
	case InitKMeansPlusPlus:
		centres, err := kmeans.PlusPlus(z, c.k, seed)
		if err != nil {
			return nil, err
		}
		labels = nearest(a, centres, c.k)
	default:
		km, err := kmeans.Cluster(z, c.k, 1, kmeansMaxIter, kmeansTol, seed)
		if err != nil {
			return nil, err
		}
		labels = km.Labels
	}
	clear(resp)
	for i, l := range labels {
		resp[i*c.k+int(l)] = 1
	}
	m := newMixture(c.k, c.dim, c.diag)
	if err := m.mStep(a, resp, c.reg, true); err != nil {
		return nil, err
	}
	return m, nil
}

// nearest labels every row with its nearest centre by squared Euclidean
// distance in float64 (ties to the lower index).
func nearest(a *data, centres []float64, k int) []int32 {
	labels := make([]int32, a.n)
	forEachChunk(a.n, func(_, lo, hi int) {
		for i := lo; i < hi; i++ {
			best, bestDist := 0, math.Inf(1)
			for j := range k {
				var s float64
				for t, v := range a.row(i) {
					dv := float64(v) - centres[j*a.d+t]
					s += dv * dv
				}
				if s < bestDist {
					best, bestDist = j, s
				}
			}
			labels[i] = int32(best)
		}
	})
	return labels
}

// assignment runs an E-step of m on a and packs the posteriors as Soft,
// their argmax as Labels and −(1/N) Σ log p(z_i) as Objective.
func (c *Clusterer) assignment(m *mixture, a *data) (sdk.Assignment, error) {
	resp := make([]float64, a.n*m.k)
	sum, err := m.eStep(a, resp, nil, nil)
	if err != nil {
		return sdk.Assignment{}, err
	}
	soft := sdk.NewTensor(a.n, m.k)
	labels := make([]int32, a.n)
	for i := range a.n {
		row := resp[i*m.k : (i+1)*m.k]
		best := 0
		for j, v := range row {
			soft.Data[i*m.k+j] = float32(v)
			if v > row[best] {
				best = j
			}
		}
		labels[i] = int32(best)
	}
	var obj float64
	if a.n > 0 {
		obj = -sum / float64(a.n)
	}
	return sdk.Assignment{Labels: labels, Soft: soft, Objective: obj}, nil
}

// Update refits the mixture on all embeddings z by EM warm-started from the
// current parameters: one run (no re-initialisation, no restarts) of at
// most max_iter E+M iterations with the same tol, whose first change is
// measured against −∞ as in a fresh run (so at least two iterations unless
// max_iter is 1). z may hold any number n ≥ k of rows. It returns the
// posteriors, labels and mean negative log-likelihood under the refitted
// parameters. If EM fails (a covariance that is not positive definite with
// reg_covar 0), the parameters are left as they were.
func (c *Clusterer) Update(ctx context.Context, z sdk.Tensor) (sdk.Assignment, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return sdk.Assignment{}, fmt.Errorf("gmm: update: %w", err)
	}
	if err := c.fitted("update"); err != nil {
		return sdk.Assignment{}, err
	}
	a, err := c.embeddings("update", z, c.k)
	if err != nil {
		return sdk.Assignment{}, err
	}
	m := c.mix.clone()
	res, err := em(ctx, a, m, c.maxIter, c.tol, c.reg, make([]float64, a.n*c.k))
	if err != nil {
		return sdk.Assignment{}, fmt.Errorf("gmm: update: %w", err)
	}
	out, err := c.assignment(m, a)
	if err != nil {
		return sdk.Assignment{}, fmt.Errorf("gmm: update: %w", err)
	}
	c.mix, c.last = m, res
	return out, nil
}

// Assign computes the posteriors of z under the current parameters
// (prediction on any rows, changing nothing): Soft is γ, Labels its argmax
// and Objective −(1/N) Σ_i log p(z_i).
func (c *Clusterer) Assign(_ context.Context, z sdk.Tensor) (sdk.Assignment, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.fitted("assign"); err != nil {
		return sdk.Assignment{}, err
	}
	a, err := c.embeddings("assign", z, 0)
	if err != nil {
		return sdk.Assignment{}, err
	}
	out, err := c.assignment(c.mix, a)
	if err != nil {
		return sdk.Assignment{}, fmt.Errorf("gmm: assign: %w", err)
	}
	return out, nil
}

// Loss returns the mixture's negative log-likelihood on the batch,
// L_c = −(1/N) Σ_i log p(z_i), with ∂L_c/∂z_i = (1/N) Σ_j γ_ij Σ_j⁻¹ (z_i −
// μ_j), the means as Centroids and the posteriors γ as Soft. The mixture
// has no per-sample state, so Indices are not used (beyond matching the
// number of rows when given) and Train keeps nothing.
func (c *Clusterer) Loss(_ context.Context, req sdk.ClusterLossRequest) (sdk.ClusterLoss, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.fitted("loss"); err != nil {
		return sdk.ClusterLoss{}, err
	}
	a, err := c.embeddings("loss", req.Z, 0)
	if err != nil {
		return sdk.ClusterLoss{}, err
	}
	if len(req.Indices) != 0 && len(req.Indices) != a.n {
		return sdk.ClusterLoss{}, fmt.Errorf("gmm: loss: %d indices for %d embeddings", len(req.Indices), a.n)
	}
	m := c.mix
	resp := make([]float64, a.n*m.k)
	grad := make([]float64, a.n*m.d)
	sum, err := m.eStep(a, resp, nil, grad)
	if err != nil {
		return sdk.ClusterLoss{}, fmt.Errorf("gmm: loss: %w", err)
	}
	out := sdk.ClusterLoss{GradZ: sdk.NewTensor(a.n, m.d), Centroids: sdk.NewTensor(m.k, m.d), Soft: sdk.NewTensor(a.n, m.k)}
	if a.n > 0 {
		out.Value = -sum / float64(a.n)
		scale := 1 / float64(a.n)
		for i, g := range grad {
			out.GradZ.Data[i] = float32(scale * g)
		}
	}
	toFloat32(out.Centroids.Data, m.means)
	toFloat32(out.Soft.Data, resp)
	return out, nil
}

func toFloat32(dst []float32, src []float64) {
	for i, v := range src {
		dst[i] = float32(v)
	}
}

// Step does nothing to the mixture: its parameters change only by EM, in
// Fit and Update. It checks that Fit has run and that centroid gradients
// from auxiliary losses, when given, are k × dim and finite; they are then
// ignored.
func (c *Clusterer) Step(_ context.Context, req sdk.ClusterStepRequest) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.fitted("step"); err != nil {
		return err
	}
	if !req.GradCentroids.Empty() {
		if err := req.GradCentroids.CheckShape(c.k, c.dim); err != nil {
			return fmt.Errorf("gmm: step: centroid gradient: %w", err)
		}
		if err := req.GradCentroids.Validate(); err != nil {
			return fmt.Errorf("gmm: step: centroid gradient: %w", err)
		}
	}
	return nil
}
