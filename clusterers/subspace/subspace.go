package subspace

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/deepclust/deepclust/clusterers/spectral"
	"github.com/deepclust/deepclust/internal/sparse"
	"github.com/deepclust/deepclust/sdk"
	"github.com/deepclust/deepclust/validity"
)

// Version is the plugin version reported by Describe.
const Version = "0.1.0"

// settings are the resolved config values; they are saved with the state.
// Gamma is the γ of the self-expression Assign uses: the configured one,
// or, when gamma is a list of several candidates (Gammas), the first of
// them until a Fit or Update keeps the fit of one of them.
type settings struct {
	K          int       `json:"k"`
	Gamma      float64   `json:"gamma"`
	Gammas     []float64 `json:"gamma_candidates,omitempty"`
	Tau        float64   `json:"tau"`
	Support    int       `json:"support"`
	Rounds     int       `json:"rounds"`
	Nonzero    int       `json:"nonzero"`
	Tol        float64   `json:"tol"`
	Assign     string    `json:"assign"`
	NInit      int       `json:"n_init"`
	EigTol     float64   `json:"eig_tol"`
	Dictionary int       `json:"dictionary"`
}

// validate checks the settings on their own, naming the offending key.
func (s settings) validate() error {
	if s.K < 1 {
		return fmt.Errorf("subspace: config key \"k\" is %d, want at least 1", s.K)
	}
	if err := s.validGamma(); err != nil {
		return err
	}
	switch {
	case !(s.Tau > 0) || s.Tau > 1:
		return fmt.Errorf("subspace: config key \"tau\" is %v, want a number in (0, 1]", s.Tau)
	case s.Support < 1:
		return fmt.Errorf("subspace: config key \"support\" is %d, want at least 1", s.Support)
	case s.Rounds < 1:
		return fmt.Errorf("subspace: config key \"rounds\" is %d, want at least 1", s.Rounds)
	case s.Nonzero < 1:
		return fmt.Errorf("subspace: config key \"nonzero\" is %d, want at least 1", s.Nonzero)
	case !(s.Tol > 0) || s.Tol >= 1:
		return fmt.Errorf("subspace: config key \"tol\" is %v, want a number in (0, 1)", s.Tol)
	case s.Assign != spectral.AssignKMeans && s.Assign != spectral.AssignClusterQR:
		return fmt.Errorf("subspace: config key \"assign\" is %q, want %s or %s", s.Assign, spectral.AssignKMeans, spectral.AssignClusterQR)
	case s.NInit < 1:
		return fmt.Errorf("subspace: config key \"n_init\" is %d, want at least 1", s.NInit)
	case !(s.EigTol > 0) || s.EigTol >= 1:
		return fmt.Errorf("subspace: config key \"eig_tol\" is %v, want a number in (0, 1)", s.EigTol)
	case s.Dictionary < 1:
		return fmt.Errorf("subspace: config key \"dictionary\" is %d, want at least 1", s.Dictionary)
	}
	return nil
}

// validGamma checks γ: one finite number > 1, or a non-empty list of
// distinct ones that holds Gamma.
func (s settings) validGamma() error {
	const want = "want a finite number > 1 (at 1 or below every coefficient is zero)"
	if s.Gammas == nil {
		if !(s.Gamma > 1) || math.IsInf(s.Gamma, 0) {
			return fmt.Errorf("subspace: config key \"gamma\" is %v, %s", s.Gamma, want)
		}
		return nil
	}
	if len(s.Gammas) == 0 {
		return fmt.Errorf("subspace: config key \"gamma\" is an empty list, want one number > 1 or a list of candidates > 1")
	}
	for i, g := range s.Gammas {
		if !(g > 1) || math.IsInf(g, 0) {
			return fmt.Errorf("subspace: config key \"gamma\": item %d is %v, %s", i, g, want)
		}
		if j := slices.Index(s.Gammas[:i], g); j >= 0 {
			return fmt.Errorf("subspace: config key \"gamma\": item %d (%v) repeats item %d; list each candidate once", i, g, j)
		}
	}
	if !slices.Contains(s.Gammas, s.Gamma) {
		return fmt.Errorf("subspace: config key \"gamma\" is %v, not one of the candidates %v", s.Gamma, s.Gammas)
	}
	return nil
}

// gammas returns the candidate γ values in the order given (one when gamma
// is one number).
func (s settings) gammas() []float64 {
	if s.Gammas == nil {
		return []float64{s.Gamma}
	}
	return s.Gammas
}

func (s settings) express() expressOptions {
	return expressOptions{gamma: s.Gamma, tau: s.Tau, support: s.Support, rounds: s.Rounds, nonzero: s.Nonzero, tol: s.Tol, maxSweeps: maxSweeps}
}

// maxSweeps bounds the coordinate-descent sweeps of one restricted problem.
const maxSweeps = 1000

// Clusterer is elastic-net subspace clustering. It implements
// sdk.Clusterer; calls are serialised.
type Clusterer struct {
	mu sync.Mutex

	configured bool
	set        settings
	dim        int
	seed       uint64

	// State after Fit: the cluster of every fitted row, the mean embedding
	// of every cluster (k×dim, for the joint-training loss), and the
	// dictionary for Assign: up to set.Dictionary fitted rows scaled to
	// unit length (m×dim) and their clusters.
	labels    []int32
	centroids []float64
	dict      []float32
	dictLabel []int32
	// Last Fit's self-expression report.
	report Report
}

// Report describes the last self-expression (Fit or Update).
type Report struct {
	// Rounds is the number of active-set rounds run.
	Rounds int
	// Unconverged is the number of points whose active set still had
	// violators when the rounds ran out.
	Unconverged int
	// Nonzeros is the number of coefficients kept.
	Nonzeros int
	// Components is the number of connected components of |C| + |C|ᵀ
	// before stray components were linked (see the package doc).
	Components int
	// Linked is the number of points outside the k largest components
	// that were linked to them.
	Linked int
	// Modularity is Newman's weighted modularity of the labels on the
	// affinity A (links included), Q = Σ_c [W_c/W − (D_c/W)²] with W the
	// sum of all entries of A, W_c that of the entries inside cluster c and
	// D_c the degree sum of c (validity.WeightedModularity): the share of
	// the self-expression weight that stays within clusters beyond what
	// chance would put there. It uses no labels of the data, so it can
	// compare settings (γ, τ, the features) without ground truth; at most
	// 1 − 1/k for k equal clusters. It is the criterion that picks γ from a
	// list.
	Modularity float64
	// Gamma is the γ of this fit: the configured one, or, when gamma is a
	// list, the candidate of the largest Modularity (the first listed on
	// ties), whose fit was kept.
	Gamma float64
	// Seconds is the wall time of this fit (self-expression, affinity and
	// spectral step; all candidates' for the kept one of a list). The only
	// field that varies between runs of one seed.
	Seconds float64
	// Candidates holds, when gamma is a list of several candidates, the
	// report of every candidate's fit in the order listed (each with its
	// own Candidates nil); nil for one γ.
	Candidates []Report
}

// New returns an unconfigured subspace clusterer.
func New() *Clusterer { return &Clusterer{} }

// Describe returns the plugin's name, kind, version and config fields.
func (c *Clusterer) Describe() sdk.Description {
	return sdk.Description{
		Name:    "subspace",
		Kind:    sdk.KindClusterer,
		Version: Version,
		Doc: "elastic-net subspace clustering (EnSC; You, Li, Robinson & Vidal 2016): each point, scaled to unit length, " +
			"expressed by the others, min ½‖x_i − Σ c_j x_j‖² + α_i(τ‖c‖₁ + ½(1−τ)‖c‖²), α_i = max_j|x_jᵀx_i|/(γτ), " +
			"by the oracle-guided active-set solver; spectral clustering of ½(|C| + |C|ᵀ) with C's rows scaled to unit length; " +
			"new points by their self-expression over a stored dictionary (smallest per-cluster residual)",
		Fields: []sdk.Field{
			{Name: "k", Type: sdk.TypeInt, Default: 10, Doc: "number of clusters (subspaces)"},
			{Name: "gamma", Type: sdk.TypeFloats, Default: []float64{50}, Doc: "γ > 1: α_i = μ_i/(γτ), μ_i = max_j |x_jᵀx_i|, so the ℓ1 weight ατ is 1/γ of the value that zeroes every coefficient (EnSC's gamma; its default 50). " +
				"A list of distinct candidates (e.g. [1.3, 1.5, 2, 3, 5]): Fit and Update fit each in turn on the same data and keep the fit whose partition has the largest modularity on its own affinity (LastReport().Modularity; the first listed on ties)"},
			{Name: "tau", Type: sdk.TypeFloat, Default: 1.0, Doc: "τ in (0, 1]: the ℓ1 share of the elastic net (1 = lasso, SSC; EnSC's tau)"},
			{Name: "support", Type: sdk.TypeInt, Default: 100, Doc: "active set: initial support (the most coherent atoms) and most atoms added per round (EnSC's support_size)"},
			{Name: "rounds", Type: sdk.TypeInt, Default: 40, Doc: "most active-set rounds (EnSC's maxiter); points still violating optimality then keep their last coefficients"},
			{Name: "nonzero", Type: sdk.TypeInt, Default: 50, Doc: "coefficients kept per point, the largest in magnitude (EnSC's n_nonzero); bounds the affinity's memory"},
			{Name: "tol", Type: sdk.TypeFloat, Default: 1e-4, Doc: "restricted problems stop at duality gap ≤ tol·‖x_i‖² (scikit-learn's ElasticNet tol)"},
			{Name: "assign", Type: sdk.TypeString, Default: spectral.AssignKMeans, Enum: []string{spectral.AssignKMeans, spectral.AssignClusterQR},
				Doc: "labels from the eigenvectors of the affinity: kmeans on the unit-length rows, or cluster_qr"},
			{Name: "n_init", Type: sdk.TypeInt, Default: 20, Doc: "assign=kmeans: k-means++ restarts, the lowest inertia wins"},
			{Name: "eig_tol", Type: sdk.TypeFloat, Default: 1e-6, Doc: "eigensolver stops when every residual ‖My−θy‖ ≤ eig_tol·max|θ|"},
			{Name: "dictionary", Type: sdk.TypeInt, Default: 2000, Doc: "fitted rows kept (a seeded random sample) to assign new points by self-expression"},
		},
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
			return fmt.Errorf("subspace: configure: %w", err)
		}
	}
	set := settings{
		K: cfg.Int("k"), Tau: cfg.Float("tau"), Support: cfg.Int("support"),
		Rounds: cfg.Int("rounds"), Nonzero: cfg.Int("nonzero"), Tol: cfg.Float("tol"), Assign: cfg.String("assign"),
		NInit: cfg.Int("n_init"), EigTol: cfg.Float("eig_tol"), Dictionary: cfg.Int("dictionary"),
	}
	// One number (or a list of one) is the fixed γ; otherwise the list is
	// the candidates and γ starts as the first.
	switch gammas := cfg.Floats("gamma"); len(gammas) {
	case 1:
		set.Gamma = gammas[0]
	case 0:
		set.Gammas = []float64{}
	default:
		set.Gamma, set.Gammas = gammas[0], append([]float64(nil), gammas...)
	}
	if err := set.validate(); err != nil {
		return err
	}
	if s.EmbeddingDim < 1 {
		return fmt.Errorf("subspace: embedding dimension is %d, want at least 1", s.EmbeddingDim)
	}
	c.configured, c.set, c.dim, c.seed = true, set, s.EmbeddingDim, s.Seed
	c.labels, c.centroids, c.dict, c.dictLabel = nil, nil, nil, nil
	return nil
}

// LastReport returns what the last Fit or Update's self-expression did.
func (c *Clusterer) LastReport() Report {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.report
}

func (c *Clusterer) embeddings(op string, z sdk.Tensor) error {
	if !c.configured {
		return fmt.Errorf("subspace: %s before Configure", op)
	}
	if err := z.CheckShape(-1, c.dim); err != nil {
		return fmt.Errorf("subspace: %s: embeddings: %w", op, err)
	}
	if err := z.Validate(); err != nil {
		return fmt.Errorf("subspace: %s: embeddings: %w", op, err)
	}
	return nil
}

func (c *Clusterer) fitted(op string) error {
	if c.labels == nil {
		return fmt.Errorf("subspace: %s before Fit", op)
	}
	return nil
}

// unitRows returns the rows of z scaled to unit ℓ2 length (zero rows stay
// zero).
func unitRows(z sdk.Tensor) []float32 {
	n, d := z.Rows(), z.Cols()
	out := make([]float32, n*d)
	sparse.ForEachChunk(n, 1024, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			row := z.Data[i*d : (i+1)*d]
			var s float64
			for _, v := range row {
				s += float64(v) * float64(v)
			}
			if s == 0 {
				continue
			}
			inv := 1 / math.Sqrt(s)
			for t, v := range row {
				out[i*d+t] = float32(float64(v) * inv)
			}
		}
	})
	return out
}

// Fit clusters all embeddings: self-expression, affinity, spectral
// clustering (see the package doc), for each candidate γ when gamma is a
// list, keeping the fit of the largest modularity; it keeps every row's
// cluster, the cluster means, the dictionary for Assign and the γ.
func (c *Clusterer) Fit(ctx context.Context, z sdk.Tensor) (sdk.Assignment, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.embeddings("fit", z); err != nil {
		return sdk.Assignment{}, err
	}
	labels, x, err := c.cluster(ctx, z)
	if err != nil {
		return sdk.Assignment{}, err
	}
	c.keep(z, x, labels, nil)
	a := c.assignment(z, labels)
	a.Params = c.gammaSelection()
	return a, nil
}

// Update reclusters all embeddings (the rows Fit saw), choosing γ again
// among the candidates of a list as Fit does, and renames the new clusters
// to agree with the previous labels as far as possible (the Hungarian
// matching that keeps the most rows in their cluster).
func (c *Clusterer) Update(ctx context.Context, z sdk.Tensor) (sdk.Assignment, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.fitted("update"); err != nil {
		return sdk.Assignment{}, err
	}
	if err := c.embeddings("update", z); err != nil {
		return sdk.Assignment{}, err
	}
	if z.Rows() != len(c.labels) {
		return sdk.Assignment{}, fmt.Errorf("subspace: update: %d embeddings, Fit saw %d", z.Rows(), len(c.labels))
	}
	next, x, err := c.cluster(ctx, z)
	if err != nil {
		return sdk.Assignment{}, err
	}
	labels, err := spectral.MatchLabels(c.labels, next, c.set.K)
	if err != nil {
		return sdk.Assignment{}, err
	}
	c.keep(z, x, labels, c.centroids)
	a := c.assignment(z, labels)
	a.Params = c.gammaSelection()
	return a, nil
}

// gammaCriterion names the criterion that picks γ from a list.
const gammaCriterion = "modularity of its own affinity"

// gammaSelection says how the last Fit or Update chose γ from the list of
// candidates, as the host records and prints it (sdk.ParamSelection):
// every candidate's modularity, the largest wins. Nil for one γ.
func (c *Clusterer) gammaSelection() []sdk.ParamSelection {
	cands := c.report.Candidates
	if len(cands) == 0 {
		return nil
	}
	s := sdk.ParamSelection{Param: "gamma", Criterion: gammaCriterion, Best: "max", Chosen: c.report.Gamma,
		Candidates: make([]float64, len(cands)), Values: make([]float64, len(cands))}
	for i, r := range cands {
		s.Candidates[i], s.Values[i] = r.Gamma, r.Modularity
	}
	return []sdk.ParamSelection{s}
}

// cluster runs the self-expression and the spectral step on z for every
// candidate γ in the order given, keeping the labels of the largest
// modularity (the first on ties, as kmeans keeps its restarts), and sets
// the report and set.Gamma to that fit's. It returns the kept labels and
// the unit-length rows.
func (c *Clusterer) cluster(ctx context.Context, z sdk.Tensor) ([]int32, []float32, error) {
	n := z.Rows()
	if c.set.K > n {
		return nil, nil, fmt.Errorf("subspace: k=%d clusters but only %d points", c.set.K, n)
	}
	if n < 2 {
		return nil, nil, fmt.Errorf("subspace: %d point, want at least 2", n)
	}
	start := time.Now()
	x := unitRows(z)
	gammas := c.set.gammas()
	var (
		best    []int32
		kept    Report
		reports []Report
	)
	for _, g := range gammas {
		labels, rep, err := c.clusterAt(ctx, x, n, g)
		if err != nil {
			if len(gammas) > 1 {
				err = fmt.Errorf("%w (gamma candidate %v)", err, g)
			}
			return nil, nil, err
		}
		if len(gammas) > 1 {
			reports = append(reports, rep)
		}
		if best == nil || rep.Modularity > kept.Modularity {
			best, kept = labels, rep
		}
	}
	if len(gammas) > 1 {
		kept.Candidates, kept.Seconds = reports, time.Since(start).Seconds()
	}
	c.report, c.set.Gamma = kept, kept.Gamma
	return best, x, nil
}

// clusterAt is one fit at γ = gamma on the unit rows x (n × dim): the
// self-expression, the affinity, the spectral labels and their modularity.
func (c *Clusterer) clusterAt(ctx context.Context, x []float32, n int, gamma float64) ([]int32, Report, error) {
	start := time.Now()
	d := c.dim
	self := make([]int32, n)
	for i := range self {
		self[i] = int32(i)
	}
	o := c.set.express()
	o.gamma = gamma
	e, err := express(ctx, x, n, x, n, d, self, o)
	if err != nil {
		return nil, Report{}, err
	}
	a, rep, err := affinity(e, n, c.set.K, x, d)
	if err != nil {
		return nil, Report{}, err
	}
	rep.Rounds, rep.Unconverged, rep.Nonzeros, rep.Gamma = e.Rounds, e.Unconverged, len(e.Val), gamma
	labels, err := spectral.Labels(ctx, a, c.set.K, spectral.LabelOptions{Assign: c.set.Assign, NInit: c.set.NInit, EigTol: c.set.EigTol, Seed: c.seed})
	if err != nil {
		return nil, Report{}, fmt.Errorf("subspace: %w", err)
	}
	if rep.Modularity, err = validity.WeightedModularity(a.RowPtr, a.Col, a.Val, labels); err != nil {
		return nil, Report{}, fmt.Errorf("subspace: modularity of the partition: %w", err)
	}
	rep.Seconds = time.Since(start).Seconds()
	return labels, rep, nil
}

// keep stores the labels, the cluster means and a seeded random sample of
// at most set.Dictionary unit-length rows with their labels.
func (c *Clusterer) keep(z sdk.Tensor, x []float32, labels []int32, prev []float64) {
	n, d := z.Rows(), c.dim
	c.labels = labels
	c.centroids = clusterMeans(z, labels, c.set.K, prev)
	m := min(n, c.set.Dictionary)
	pick := rand.New(rand.NewPCG(c.seed, 0x64696374)).Perm(n)[:m]
	slices.Sort(pick)
	c.dict = make([]float32, m*d)
	c.dictLabel = make([]int32, m)
	for t, i := range pick {
		copy(c.dict[t*d:(t+1)*d], x[i*d:(i+1)*d])
		c.dictLabel[t] = labels[i]
	}
}

// assignment wraps labels with the objective Σ_i ‖z_i − μ_{s_i}‖².
func (c *Clusterer) assignment(z sdk.Tensor, labels []int32) sdk.Assignment {
	var obj float64
	for i, s := range labels {
		obj += sqDist(z.Row(i), c.centroid(int(s)))
	}
	return sdk.Assignment{Labels: append([]int32(nil), labels...), Objective: obj}
}

func (c *Clusterer) centroid(j int) []float64 { return c.centroids[j*c.dim : (j+1)*c.dim] }

// Assign labels new points by their self-expression over the dictionary:
// the elastic net of each unit-length row over the m dictionary rows (same
// γ, τ), then the cluster j with the smallest residual
// ‖x − Σ_{l ∈ j} c_l d_l‖ (sparse-representation classification; Wright et
// al. 2009); a point with no coefficient goes to the cluster of its most
// coherent dictionary row. It changes nothing; the objective is
// Σ_i ‖z_i − μ_{s_i}‖².
func (c *Clusterer) Assign(ctx context.Context, z sdk.Tensor) (sdk.Assignment, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.fitted("assign"); err != nil {
		return sdk.Assignment{}, err
	}
	if err := c.embeddings("assign", z); err != nil {
		return sdk.Assignment{}, err
	}
	n, d, m := z.Rows(), c.dim, len(c.dictLabel)
	if n == 0 {
		return sdk.Assignment{Labels: []int32{}}, nil
	}
	x := unitRows(z)
	self := make([]int32, n)
	for i := range self {
		self[i] = -1
	}
	o := c.set.express()
	o.nonzero = m
	e, err := express(ctx, x, n, c.dict, m, d, self, o)
	if err != nil {
		return sdk.Assignment{}, err
	}
	labels := make([]int32, n)
	sparse.Parallel(n, func(i int) {
		xi := x[i*d : (i+1)*d]
		cols, vals := e.Col[e.RowPtr[i]:e.RowPtr[i+1]], e.Val[e.RowPtr[i]:e.RowPtr[i+1]]
		if len(cols) == 0 {
			best, bestCoh := 0, -1.0
			for j := range m {
				if coh := math.Abs(dot64(xi, c.dict[j*d:(j+1)*d])); coh > bestCoh {
					best, bestCoh = j, coh
				}
			}
			labels[i] = c.dictLabel[best]
			return
		}
		recon := make([]float64, c.set.K*d)
		for t, j := range cols {
			row := recon[int(c.dictLabel[j])*d : (int(c.dictLabel[j])+1)*d]
			for u, v := range c.dict[int(j)*d : (int(j)+1)*d] {
				row[u] += vals[t] * float64(v)
			}
		}
		best, bestRes := 0, math.Inf(1)
		for k := range c.set.K {
			var r float64
			for u, v := range xi {
				diff := float64(v) - recon[k*d+u]
				r += diff * diff
			}
			if r < bestRes {
				best, bestRes = k, r
			}
		}
		labels[i] = int32(best)
	})
	return c.assignment(z, labels), nil
}

// Loss returns the k-means-style loss of a batch against the stored
// clusters s_i of its rows, L_c = (1/N) Σ_i ‖z_i − μ_{s_i}‖², with
// ∂L_c/∂z_i = 2(z_i − μ_{s_i})/N, and the centroids μ (as the spectral
// clusterer's).
func (c *Clusterer) Loss(_ context.Context, req sdk.ClusterLossRequest) (sdk.ClusterLoss, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.fitted("loss"); err != nil {
		return sdk.ClusterLoss{}, err
	}
	if err := c.embeddings("loss", req.Z); err != nil {
		return sdk.ClusterLoss{}, err
	}
	return spectral.CentroidLoss("subspace", req, c.labels, c.centroids, c.set.K, c.dim)
}

// Step checks centroid gradients and otherwise does nothing: the clusters
// change only in Update.
func (c *Clusterer) Step(_ context.Context, req sdk.ClusterStepRequest) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if req.GradCentroids.Empty() {
		return nil
	}
	if err := c.fitted("step"); err != nil {
		return err
	}
	if err := req.GradCentroids.CheckShape(c.set.K, c.dim); err != nil {
		return fmt.Errorf("subspace: step: centroid gradient: %w", err)
	}
	if err := req.GradCentroids.Validate(); err != nil {
		return fmt.Errorf("subspace: step: centroid gradient: %w", err)
	}
	return nil
}

// clusterMeans returns the k×dim means of the rows of z per label; an
// empty cluster keeps its previous mean (prev) or takes the overall mean.
func clusterMeans(z sdk.Tensor, labels []int32, k int, prev []float64) []float64 {
	d := z.Cols()
	mu := make([]float64, k*d)
	all := make([]float64, d)
	count := make([]int, k)
	for i, s := range labels {
		count[s]++
		for t, v := range z.Row(i) {
			mu[int(s)*d+t] += float64(v)
			all[t] += float64(v)
		}
	}
	for j := range k {
		switch {
		case count[j] > 0:
			for t := range d {
				mu[j*d+t] /= float64(count[j])
			}
		case prev != nil:
			copy(mu[j*d:(j+1)*d], prev[j*d:(j+1)*d])
		default:
			for t := range d {
				mu[j*d+t] = all[t] / float64(max(len(labels), 1))
			}
		}
	}
	return mu
}

func sqDist(a []float32, b []float64) float64 {
	var s float64
	for t, v := range a {
		diff := float64(v) - b[t]
		s += diff * diff
	}
	return s
}
