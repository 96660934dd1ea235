package kmeans

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"

	"github.com/deepclust/deepclust/internal/autok"
	"github.com/deepclust/deepclust/internal/knn"
	"github.com/deepclust/deepclust/sdk"
	"github.com/deepclust/deepclust/validity"
)

// Update modes: what Update does with all embeddings between epochs.
const (
	UpdateAssign = "assign"
	UpdateLloyd  = "lloyd"
)

// Restart selection: which of the n_init runs Fit keeps.
const (
	SelectInertia    = "inertia"
	SelectModularity = "modularity"
)

// pcgStream is the second PCG word for Fit's random source.
const pcgStream = 0x6b6d65616e73 // "kmeans"

// Clusterer is k-means with DCN's clustering loss and online centroid
// update. It implements sdk.Clusterer; methods are safe for concurrent use
// (calls are serialised).
type Clusterer struct {
	mu sync.Mutex

	configured bool
	// auto is the k field; with auto.Auto, Fit sets k.
	auto     autok.Spec
	k, nInit int
	maxIter  int
	tol      float64
	// selection and selectK: the select and select_neighbors keys.
	selection  string
	selectK    int
	update     string
	countInit  float64
	centroidLR float64
	dim        int
	seed       uint64

	// State after Fit: centroids (k×dim), per-cluster counts for the online
	// update, and the cluster of every dataset row.
	centroids   []float64
	counts      []float64
	assignments []int32

	// The last training batch, kept by Loss for Step.
	kept        []float32
	keptIndices []int64
}

// New returns an unconfigured k-means clusterer.
func New() *Clusterer { return &Clusterer{} }

// Describe returns the plugin's name, kind, version and config fields.
func (c *Clusterer) Describe() sdk.Description {
	return sdk.Description{
		Name:    "kmeans",
		Kind:    sdk.KindClusterer,
		Version: "0.1.0",
		Doc: "k-means (greedy k-means++, n_init restarts, Lloyd) with DCN's clustering loss " +
			"(1/N)Σ‖z_i−μ_{s_i}‖² and online per-batch centroid update (Yang et al. 2017)",
		Fields: append(autok.Fields("number of clusters", "the silhouette of each k's k-means (exact up to 5,000 rows, else on a seeded sample of 5,000)"), []sdk.Field{
			{Name: "n_init", Type: sdk.TypeInt, Default: 10, Doc: "k-means++ restarts in Fit; select says which one wins"},
			{Name: "select", Type: sdk.TypeString, Default: SelectInertia, Enum: []string{SelectInertia, SelectModularity},
				Doc: "which of the n_init runs Fit keeps: inertia = the lowest inertia (scikit-learn); modularity = the highest Newman modularity of the data's symmetrised select_neighbors-nearest-neighbour graph (for embeddings shaped by a neighbour graph, e.g. UMAP's, whose clusters need not be the equal spheres inertia favours)"},
			{Name: "select_neighbors", Type: sdk.TypeInt, Default: 15, Doc: "with select modularity: neighbours per point of the graph (UMAP's default 15), found exactly up to 100,000 rows, by NN-descent above"},
			{Name: "max_iter", Type: sdk.TypeInt, Default: 300, Doc: "most Lloyd iterations per run"},
			{Name: "tol", Type: sdk.TypeFloat, Default: 1e-4, Doc: "Lloyd stops when the summed squared centre shift is at most tol × the mean per-feature variance of the data (scikit-learn's meaning)"},
			{Name: "update", Type: sdk.TypeString, Default: UpdateAssign, Enum: []string{UpdateAssign, UpdateLloyd},
				Doc: "between epochs: assign = reassign every sample to its nearest centroid (DCN); lloyd = run Lloyd iterations from the current centroids"},
			{Name: "count_init", Type: sdk.TypeFloat, Default: 100.0, Doc: "initial per-cluster count of the online update μ_j ← μ_j − (μ_j − z_i)/c_j; DCN's code (boyangumn/DCN multi_layer_km.py) starts at 100"},
			{Name: "centroid_lr", Type: sdk.TypeFloat, Default: 0.001, Doc: "step size of μ ← μ − lr·∂L_aux/∂μ when Step receives centroid gradients from auxiliary losses"},
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
			return fmt.Errorf("kmeans: configure: %w", err)
		}
	}
	spec, err := autok.Read("kmeans", cfg)
	if err != nil {
		return err
	}
	k, nInit, maxIter := spec.K, cfg.Int("n_init"), cfg.Int("max_iter")
	tol, countInit, lr := cfg.Float("tol"), cfg.Float("count_init"), cfg.Float("centroid_lr")
	switch {
	case nInit < 1:
		return fmt.Errorf("kmeans: config key \"n_init\" is %d, want at least 1", nInit)
	case maxIter < 1:
		return fmt.Errorf("kmeans: config key \"max_iter\" is %d, want at least 1", maxIter)
	case !(tol >= 0) || math.IsInf(tol, 0):
		return fmt.Errorf("kmeans: config key \"tol\" is %v, want a finite number ≥ 0", tol)
	case !(countInit >= 0) || math.IsInf(countInit, 0):
		return fmt.Errorf("kmeans: config key \"count_init\" is %v, want a finite number ≥ 0", countInit)
	case !(lr >= 0) || math.IsInf(lr, 0):
		return fmt.Errorf("kmeans: config key \"centroid_lr\" is %v, want a finite number ≥ 0", lr)
	case s.EmbeddingDim < 1:
		return fmt.Errorf("kmeans: embedding dimension is %d, want at least 1", s.EmbeddingDim)
	}
	selection, selectK := cfg.String("select"), cfg.Int("select_neighbors")
	if selection != SelectInertia && selection != SelectModularity {
		return fmt.Errorf("kmeans: config key \"select\" is %q, want %q or %q", selection, SelectInertia, SelectModularity)
	}
	if selectK < 1 {
		return fmt.Errorf("kmeans: config key \"select_neighbors\" is %d, want at least 1", selectK)
	}
	update := cfg.String("update")
	if update != UpdateAssign && update != UpdateLloyd {
		return fmt.Errorf("kmeans: config key \"update\" is %q, want %q or %q", update, UpdateAssign, UpdateLloyd)
	}
	c.configured = true
	c.auto = spec
	c.k, c.nInit, c.maxIter, c.tol, c.update = k, nInit, maxIter, tol, update
	c.selection, c.selectK = selection, selectK
	c.countInit, c.centroidLR, c.dim, c.seed = countInit, lr, s.EmbeddingDim, s.Seed
	c.centroids, c.counts, c.assignments = nil, nil, nil
	c.kept, c.keptIndices = nil, nil
	return nil
}

// embeddings checks z (configured, N × dim, finite, at least minRows rows)
// and wraps it.
func (c *Clusterer) embeddings(op string, z sdk.Tensor, minRows int) (*data, error) {
	if !c.configured {
		return nil, fmt.Errorf("kmeans: %s before Configure", op)
	}
	if err := z.CheckShape(-1, c.dim); err != nil {
		return nil, fmt.Errorf("kmeans: %s: embeddings: %w", op, err)
	}
	if err := z.Validate(); err != nil {
		return nil, fmt.Errorf("kmeans: %s: embeddings: %w", op, err)
	}
	if z.Rows() < minRows {
		return nil, fmt.Errorf("kmeans: %s: %d embeddings for k=%d clusters, need at least %d", op, z.Rows(), c.k, minRows)
	}
	return newData(z.Data, z.Rows(), c.dim), nil
}

// fitted returns an error unless Fit (or Load) has run.
func (c *Clusterer) fitted(op string) error {
	if c.centroids == nil {
		return fmt.Errorf("kmeans: %s before Fit", op)
	}
	return nil
}

// Fit clusters all embeddings: n_init runs of greedy k-means++ seeding and
// Lloyd iterations, seeded from Setup.Seed, keeping the lowest inertia or,
// with select modularity, the highest modularity of the embeddings'
// nearest-neighbour graph. It stores the centroids and every row's
// assignment, and sets every online count to count_init.
func (c *Clusterer) Fit(ctx context.Context, z sdk.Tensor) (sdk.Assignment, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.auto.Auto {
		return c.fitAuto(ctx, z)
	}
	a, err := c.embeddings("fit", z, c.k)
	if err != nil {
		return sdk.Assignment{}, err
	}
	g, err := c.graph(ctx, z)
	if err != nil {
		return sdk.Assignment{}, err
	}
	rng := rand.New(rand.NewPCG(c.seed, pcgStream))
	best, labels, obj, err := c.bestRun(a, c.k, tolerance(a, c.tol), rng, g)
	if err != nil {
		return sdk.Assignment{}, err
	}
	c.setState(best.f64, labels)
	return sdk.Assignment{Labels: clone(labels), Objective: obj}, nil
}

// graph returns the select_neighbors-nearest-neighbour graph of z when
// select is modularity, else nil.
func (c *Clusterer) graph(ctx context.Context, z sdk.Tensor) (*knn.Neighbours, error) {
	if c.selection != SelectModularity {
		return nil, nil
	}
	k := min(c.selectK, z.Rows()-1)
	if k < 1 {
		return nil, fmt.Errorf("kmeans: fit: select modularity needs at least 2 embeddings, got %d", z.Rows())
	}
	g, err := knn.Find(ctx, z.Data, z.Rows(), z.Cols(), k, knn.MethodAuto, c.seed)
	if err != nil {
		return nil, fmt.Errorf("kmeans: fit: neighbour graph for select modularity: %w", err)
	}
	return g, nil
}

// bestRun runs n_init k-means++ seedings with Lloyd iterations, drawing
// from rng in turn, and keeps the lowest inertia (g nil) or the highest
// modularity of the graph g, the earliest run on ties. It returns the kept
// run's centres, labels and inertia.
func (c *Clusterer) bestRun(a *data, k int, tolAbs float64, rng *rand.Rand, g *knn.Neighbours) (*centres, []int32, float64, error) {
	var score func([]int32) (float64, error)
	if g != nil {
		score = func(l []int32) (float64, error) { return validity.Modularity(g.Index, g.N, g.K, l) }
	}
	best, labels, obj, err := bestScored(a, k, c.nInit, c.maxIter, tolAbs, rng, score)
	if err != nil {
		return nil, nil, 0, fmt.Errorf("kmeans: fit: %w", err)
	}
	return best, labels, obj, nil
}

// SilhouetteRows is the number of rows up to which k auto's silhouettes
// are exact; beyond it they are computed on a seeded sample of this size.
const SilhouetteRows = 5000

// fitAuto is Fit with k auto: for every k of k_range it runs Fit's k-means
// (the same seed, so the chosen k's clustering is that of Fit with that k)
// and scores it by its silhouette; the k with the highest wins.
func (c *Clusterer) fitAuto(ctx context.Context, z sdk.Tensor) (sdk.Assignment, error) {
	ks, err := c.auto.Range("kmeans", z.Rows())
	if err != nil {
		return sdk.Assignment{}, err
	}
	c.k = ks[0]
	a, err := c.embeddings("fit", z, ks[0])
	if err != nil {
		return sdk.Assignment{}, err
	}
	sel := &sdk.KSelection{Criterion: "silhouette", Best: "max", Ks: ks}
	if z.Rows() > SilhouetteRows {
		sel.Note = fmt.Sprintf("silhouette of a seeded sample of %d of the %d rows", SilhouetteRows, z.Rows())
	}
	type run struct {
		centres []float64
		labels  []int32
		obj     float64
	}
	var runs []run
	tolAbs := tolerance(a, c.tol)
	g, err := c.graph(ctx, z)
	if err != nil {
		return sdk.Assignment{}, err
	}
	for _, k := range ks {
		rng := rand.New(rand.NewPCG(c.seed, pcgStream))
		best, labels, obj, err := c.bestRun(a, k, tolAbs, rng, g)
		if err != nil {
			return sdk.Assignment{}, err
		}
		s, _, err := validity.SilhouetteSample(z, labels, SilhouetteRows, c.seed)
		if err != nil {
			// Fewer distinct clusters than k (duplicate points): no score.
			s = math.NaN()
		}
		sel.Values = append(sel.Values, s)
		runs = append(runs, run{best.f64, labels, obj})
	}
	if err := autok.Choose("kmeans", sel); err != nil {
		return sdk.Assignment{}, err
	}
	r := runs[sel.K-ks[0]]
	c.k = sel.K
	c.setState(r.centres, r.labels)
	return sdk.Assignment{Labels: clone(r.labels), Objective: r.obj, Selection: sel}, nil
}

// setState installs new centroids and assignments, resets the online counts
// to count_init and drops any kept batch.
func (c *Clusterer) setState(centroids []float64, labels []int32) {
	c.centroids = centroids
	c.assignments = labels
	c.counts = make([]float64, c.k)
	for j := range c.counts {
		c.counts[j] = c.countInit
	}
	c.kept, c.keptIndices = nil, nil
}

func clone[T any](s []T) []T { return append([]T(nil), s...) }

// Update refreshes the clustering from all embeddings (the same rows Fit
// saw). With update=assign (DCN) it reassigns every row to its nearest
// centroid, keeping centroids and counts. With update=lloyd it runs Lloyd
// iterations from the current centroids and resets the counts to
// count_init, as after Fit.
func (c *Clusterer) Update(_ context.Context, z sdk.Tensor) (sdk.Assignment, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.fitted("update"); err != nil {
		return sdk.Assignment{}, err
	}
	a, err := c.embeddings("update", z, 0)
	if err != nil {
		return sdk.Assignment{}, err
	}
	if a.n != len(c.assignments) {
		return sdk.Assignment{}, fmt.Errorf("kmeans: update: %d embeddings, Fit saw %d", a.n, len(c.assignments))
	}
	cen := newCentres(clone(c.centroids), c.k, c.dim)
	var labels []int32
	var obj float64
	switch c.update {
	case UpdateLloyd:
		labels, obj, _ = lloyd(a, cen, c.maxIter, tolerance(a, c.tol))
		c.setState(cen.f64, labels)
	default:
		labels = make([]int32, a.n)
		assign(a, cen, labels)
		obj = inertia(a, cen, labels)
		c.assignments = labels
	}
	return sdk.Assignment{Labels: clone(labels), Objective: obj}, nil
}

// Assign labels z with the nearest current centroid and reports the
// inertia, changing nothing.
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
	cen := newCentres(clone(c.centroids), c.k, c.dim)
	labels := make([]int32, a.n)
	assign(a, cen, labels)
	return sdk.Assignment{Labels: labels, Objective: inertia(a, cen, labels)}, nil
}

// Loss returns DCN's clustering loss on a batch with the stored assignments
// s_i of its rows: L_c = (1/N) Σ_i ‖z_i − μ_{s_i}‖² and ∂L_c/∂z_i =
// 2(z_i − μ_{s_i})/N, plus the centroids. With Train set it keeps the
// batch for Step.
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
	if len(req.Indices) != a.n {
		return sdk.ClusterLoss{}, fmt.Errorf("kmeans: loss: %d indices for %d embeddings", len(req.Indices), a.n)
	}
	for b, idx := range req.Indices {
		if idx < 0 || idx >= int64(len(c.assignments)) {
			return sdk.ClusterLoss{}, fmt.Errorf("kmeans: loss: index %d (batch row %d) is outside the %d fitted samples", idx, b, len(c.assignments))
		}
	}
	grad := sdk.NewTensor(a.n, c.dim)
	var total float64
	if a.n > 0 {
		scale := 2 / float64(a.n)
		for b, idx := range req.Indices {
			mu := c.centroids[int(c.assignments[idx])*c.dim:][:c.dim]
			g := grad.Row(b)
			for t, v := range a.row(b) {
				diff := float64(v) - mu[t]
				total += diff * diff
				g[t] = float32(scale * diff)
			}
		}
		total /= float64(a.n)
	}
	if req.Train {
		c.kept, c.keptIndices = clone(req.Z.Data), clone(req.Indices)
	}
	return sdk.ClusterLoss{Value: total, GradZ: grad, Centroids: c.centroidTensor()}, nil
}

func (c *Clusterer) centroidTensor() sdk.Tensor {
	t := sdk.NewTensor(c.k, c.dim)
	for i, v := range c.centroids {
		t.Data[i] = float32(v)
	}
	return t
}

// Step applies, to the batch kept by the last training Loss, first the
// auxiliary-loss gradient step μ ← μ − centroid_lr·GradCentroids (when
// given), then DCN's online k-means update: every batch row is reassigned
// to its nearest centroid, s_i = argmin_j ‖z_i − μ_j‖, and then, row by row
// in batch order, c_{s_i} ← c_{s_i} + 1 and μ_{s_i} ← μ_{s_i} −
// (μ_{s_i} − z_i)/c_{s_i} (batch_km in boyangumn/DCN multi_layer_km.py).
// The kept batch is then dropped.
func (c *Clusterer) Step(_ context.Context, req sdk.ClusterStepRequest) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.fitted("step"); err != nil {
		return err
	}
	if c.keptIndices == nil {
		return fmt.Errorf("kmeans: step without a preceding training Loss")
	}
	if !req.GradCentroids.Empty() {
		if err := req.GradCentroids.CheckShape(c.k, c.dim); err != nil {
			return fmt.Errorf("kmeans: step: centroid gradient: %w", err)
		}
		if err := req.GradCentroids.Validate(); err != nil {
			return fmt.Errorf("kmeans: step: centroid gradient: %w", err)
		}
		for i, g := range req.GradCentroids.Data {
			c.centroids[i] -= c.centroidLR * float64(g)
		}
	}
	row := func(b int) []float32 { return c.kept[b*c.dim : (b+1)*c.dim] }
	labels := make([]int32, len(c.keptIndices))
	for b := range labels {
		best, bestDist := 0, math.Inf(1)
		for j := range c.k {
			if dist := sqDist(row(b), c.centroids[j*c.dim:(j+1)*c.dim]); dist < bestDist {
				best, bestDist = j, dist
			}
		}
		labels[b] = int32(best)
	}
	for b, j := range labels {
		c.counts[j]++
		eta := 1 / c.counts[j]
		mu := c.centroids[int(j)*c.dim:][:c.dim]
		for t, v := range row(b) {
			mu[t] -= eta * (mu[t] - float64(v))
		}
		c.assignments[c.keptIndices[b]] = j
	}
	c.kept, c.keptIndices = nil, nil
	return nil
}
