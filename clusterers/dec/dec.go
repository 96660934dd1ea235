package dec

import (
	"context"
	"fmt"
	"math"
	"sync"

	"github.com/deepclust/deepclust/clusterers/kmeans"
	"github.com/deepclust/deepclust/sdk"
)

// kmeansTol is the relative Lloyd tolerance of the k-means initialisation:
// scikit-learn's default, which DEC's and IDEC's code use through KMeans().
const kmeansTol = 1e-4

// Clusterer is DEC/IDEC's clustering layer: Student-t soft assignments to
// learned centroids, trained by KL(P‖Q) against a periodically refreshed
// target distribution P. It implements sdk.Clusterer; methods are safe for
// concurrent use (calls are serialised).
type Clusterer struct {
	mu sync.Mutex

	configured     bool
	k, nInit       int
	maxIter, dim   int
	alpha          float64
	optKind        string
	lr, momentum   float64
	seed           uint64
	centroids      []float64 // k × dim; nil before Fit or Load
	opt            optimizer
	target         []float64 // P, samples × k; nil until Fit or Update
	keptGradCentre []float64 // ∂L_c/∂μ of the last training Loss; nil if none
}

// New returns an unconfigured DEC clusterer.
func New() *Clusterer { return &Clusterer{} }

// Describe returns the plugin's name, kind, version and config fields.
func (c *Clusterer) Describe() sdk.Description {
	return sdk.Description{
		Name:    "dec",
		Kind:    sdk.KindClusterer,
		Version: "0.1.0",
		Doc: "DEC/IDEC clustering layer (Xie et al. 2016; Guo et al. 2017): Student-t soft assignments q " +
			"to centroids learned by gradient, loss KL(P‖Q) (batch mean) against the sharpened target " +
			"p_ij ∝ q_ij²/Σ_i q_ij recomputed on all data by Fit and Update; k-means initialisation",
		Fields: []sdk.Field{
			{Name: "k", Type: sdk.TypeInt, Default: 10, Doc: "number of clusters"},
			{Name: "alpha", Type: sdk.TypeFloat, Default: 1.0, Doc: "degrees of freedom α > 0 of the Student-t kernel (DEC uses 1)"},
			{Name: "n_init", Type: sdk.TypeInt, Default: 20, Doc: "k-means++ restarts of the k-means initialisation in Fit (DEC and IDEC use 20)"},
			{Name: "max_iter", Type: sdk.TypeInt, Default: 300, Doc: "most Lloyd iterations per k-means run in Fit"},
			{Name: "optimizer", Type: sdk.TypeString, Default: OptimizerAdam, Enum: []string{OptimizerAdam, OptimizerSGD},
				Doc: "centroid optimiser: adam (β1 0.9, β2 0.999, ε 1e-8, as IDEC's Keras code on MNIST) or sgd with momentum"},
			{Name: "lr", Type: sdk.TypeFloat, Default: 0.001, Doc: "centroid learning rate ≥ 0 (IDEC: Keras Adam's default 0.001)"},
			{Name: "momentum", Type: sdk.TypeFloat, Default: 0.9, Doc: "sgd momentum in [0, 1)"},
		},
	}
}

// Configure reads the config and the embedding width.
func (c *Clusterer) Configure(_ context.Context, s sdk.Setup) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	cfg, err := sdk.ResolveConfig(c.Describe(), s.Config)
	if err != nil {
		return fmt.Errorf("dec: configure: %w", err)
	}
	k, nInit, maxIter := cfg.Int("k"), cfg.Int("n_init"), cfg.Int("max_iter")
	alpha, lr, momentum := cfg.Float("alpha"), cfg.Float("lr"), cfg.Float("momentum")
	switch {
	case k < 1:
		return fmt.Errorf("dec: config key \"k\" is %d, want at least 1", k)
	case nInit < 1:
		return fmt.Errorf("dec: config key \"n_init\" is %d, want at least 1", nInit)
	case maxIter < 1:
		return fmt.Errorf("dec: config key \"max_iter\" is %d, want at least 1", maxIter)
	case !(alpha > 0) || math.IsInf(alpha, 0):
		return fmt.Errorf("dec: config key \"alpha\" is %v, want a finite number > 0", alpha)
	case !(lr >= 0) || math.IsInf(lr, 0):
		return fmt.Errorf("dec: config key \"lr\" is %v, want a finite number ≥ 0", lr)
	case !(momentum >= 0 && momentum < 1):
		return fmt.Errorf("dec: config key \"momentum\" is %v, want a number in [0, 1)", momentum)
	case s.EmbeddingDim < 1:
		return fmt.Errorf("dec: embedding dimension is %d, want at least 1", s.EmbeddingDim)
	}
	c.configured = true
	c.k, c.nInit, c.maxIter, c.dim = k, nInit, maxIter, s.EmbeddingDim
	c.alpha, c.optKind, c.lr, c.momentum, c.seed = alpha, cfg.String("optimizer"), lr, momentum, s.Seed
	c.centroids, c.target, c.keptGradCentre = nil, nil, nil
	return nil
}

// embeddings checks that z is N × dim and finite with at least minRows rows
// and returns it in float64.
func (c *Clusterer) embeddings(op string, z sdk.Tensor, minRows int) ([]float64, error) {
	if !c.configured {
		return nil, fmt.Errorf("dec: %s before Configure", op)
	}
	if err := z.CheckShape(-1, c.dim); err != nil {
		return nil, fmt.Errorf("dec: %s: embeddings: %w", op, err)
	}
	if err := z.Validate(); err != nil {
		return nil, fmt.Errorf("dec: %s: embeddings: %w", op, err)
	}
	if z.Rows() < minRows {
		return nil, fmt.Errorf("dec: %s: %d embeddings for k=%d clusters, need at least %d", op, z.Rows(), c.k, minRows)
	}
	out := make([]float64, len(z.Data))
	for i, v := range z.Data {
		out[i] = float64(v)
	}
	return out, nil
}

// fitted returns an error unless Fit or Load has set the centroids.
func (c *Clusterer) fitted(op string) error {
	if c.centroids == nil {
		return fmt.Errorf("dec: %s before Fit", op)
	}
	return nil
}

// Fit initialises the centroids by k-means on all embeddings (n_init
// k-means++ restarts, seeded from Setup.Seed), resets the optimiser and
// computes Q and the target P of every row. Labels are argmax_j q_ij and
// Objective is (1/N) Σ_i KL(p_i‖q_i).
func (c *Clusterer) Fit(ctx context.Context, z sdk.Tensor) (sdk.Assignment, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return sdk.Assignment{}, fmt.Errorf("dec: fit: %w", err)
	}
	zs, err := c.embeddings("fit", z, c.k)
	if err != nil {
		return sdk.Assignment{}, err
	}
	init, err := kmeans.Cluster(z, c.k, c.nInit, c.maxIter, kmeansTol, c.seed)
	if err != nil {
		return sdk.Assignment{}, fmt.Errorf("dec: fit: k-means initialisation: %w", err)
	}
	c.centroids = init.Centroids
	c.opt = newOptimizer(c.optKind, c.lr, c.momentum, len(c.centroids))
	return c.refresh(zs), nil
}

// refresh recomputes Q and the target P on all rows zs, stores P, drops
// any kept gradient and returns the hard labels, Q and the objective.
func (c *Clusterer) refresh(zs []float64) sdk.Assignment {
	q := make([]float64, len(zs)/c.dim*c.k)
	StudentT(zs, c.centroids, c.dim, c.alpha, q, nil)
	c.target = targets(q, c.k)
	c.keptGradCentre = nil
	return c.assignment(q, c.target)
}

// assignment packs labels argmax q, q as float32 and (1/N) Σ KL(p_i‖q_i).
func (c *Clusterer) assignment(q, p []float64) sdk.Assignment {
	soft := sdk.NewTensor(len(q)/c.k, c.k)
	for i, v := range q {
		soft.Data[i] = float32(v)
	}
	return sdk.Assignment{Labels: argmax(q, c.k), Soft: soft, Objective: klMean(p, q, c.k)}
}

// Update recomputes Q and the target P on all embeddings z; the rows of z
// become the sample index space of the following Loss calls. Centroids and
// optimiser state are kept. Labels are argmax_j q_ij.
func (c *Clusterer) Update(ctx context.Context, z sdk.Tensor) (sdk.Assignment, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return sdk.Assignment{}, fmt.Errorf("dec: update: %w", err)
	}
	if err := c.fitted("update"); err != nil {
		return sdk.Assignment{}, err
	}
	zs, err := c.embeddings("update", z, 0)
	if err != nil {
		return sdk.Assignment{}, err
	}
	return c.refresh(zs), nil
}

// Assign labels z by argmax_j q_ij with the current centroids and returns
// Q as Soft, changing nothing. Objective is (1/N) Σ_i KL(p_i‖q_i) with P
// computed from these rows' Q.
func (c *Clusterer) Assign(_ context.Context, z sdk.Tensor) (sdk.Assignment, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.fitted("assign"); err != nil {
		return sdk.Assignment{}, err
	}
	zs, err := c.embeddings("assign", z, 0)
	if err != nil {
		return sdk.Assignment{}, err
	}
	q := make([]float64, len(zs)/c.dim*c.k)
	StudentT(zs, c.centroids, c.dim, c.alpha, q, nil)
	return c.assignment(q, targets(q, c.k)), nil
}

// Loss returns L_c = (1/N) Σ_i KL(p_i‖q_i) on the batch, with p_i the
// stored target of dataset row Indices[i], ∂L_c/∂z, the centroids and the
// batch's Q. With Train set it keeps ∂L_c/∂μ for Step.
func (c *Clusterer) Loss(_ context.Context, req sdk.ClusterLossRequest) (sdk.ClusterLoss, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.fitted("loss"); err != nil {
		return sdk.ClusterLoss{}, err
	}
	if c.target == nil {
		return sdk.ClusterLoss{}, fmt.Errorf("dec: loss before Update: no targets P (a state saved by an older version holds none): call Update on all embeddings first")
	}
	zs, err := c.embeddings("loss", req.Z, 0)
	if err != nil {
		return sdk.ClusterLoss{}, err
	}
	n, samples := req.Z.Rows(), len(c.target)/c.k
	if len(req.Indices) != n {
		return sdk.ClusterLoss{}, fmt.Errorf("dec: loss: %d indices for %d embeddings", len(req.Indices), n)
	}
	p := make([]float64, n*c.k)
	for b, idx := range req.Indices {
		if idx < 0 || idx >= int64(samples) {
			return sdk.ClusterLoss{}, fmt.Errorf("dec: loss: index %d (batch row %d) is outside the %d samples of the last Fit or Update", idx, b, samples)
		}
		copy(p[b*c.k:(b+1)*c.k], c.target[int(idx)*c.k:])
	}
	q := make([]float64, n*c.k)
	gz := make([]float64, len(zs))
	var gmu []float64
	if req.Train {
		gmu = make([]float64, len(c.centroids))
	}
	value := klBatch(zs, c.centroids, p, c.dim, c.alpha, q, gz, gmu)
	if req.Train {
		c.keptGradCentre = gmu
	}
	out := sdk.ClusterLoss{Value: value, GradZ: sdk.NewTensor(n, c.dim), Centroids: sdk.NewTensor(c.k, c.dim), Soft: sdk.NewTensor(n, c.k)}
	toFloat32(out.GradZ.Data, gz)
	toFloat32(out.Centroids.Data, c.centroids)
	toFloat32(out.Soft.Data, q)
	return out, nil
}

func toFloat32(dst []float32, src []float64) {
	for i, v := range src {
		dst[i] = float32(v)
	}
}

// Step takes one optimiser step on the centroids with the gradient
// β·∂L_c/∂μ (∂L_c/∂μ kept by the last training Loss, β = req.Weight) plus
// req.GradCentroids (the auxiliary losses' Σ α_k ∂L_k/∂μ), then drops the
// kept gradient.
func (c *Clusterer) Step(_ context.Context, req sdk.ClusterStepRequest) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.fitted("step"); err != nil {
		return err
	}
	if c.keptGradCentre == nil {
		return fmt.Errorf("dec: step without a preceding training Loss")
	}
	g := c.keptGradCentre
	for i := range g {
		g[i] *= req.Weight
	}
	if !req.GradCentroids.Empty() {
		if err := req.GradCentroids.CheckShape(c.k, c.dim); err != nil {
			return fmt.Errorf("dec: step: centroid gradient: %w", err)
		}
		if err := req.GradCentroids.Validate(); err != nil {
			return fmt.Errorf("dec: step: centroid gradient: %w", err)
		}
		for i, v := range req.GradCentroids.Data {
			g[i] += float64(v)
		}
	}
	c.opt.step(c.centroids, g)
	c.keptGradCentre = nil
	return nil
}
