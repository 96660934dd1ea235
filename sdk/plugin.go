package sdk

import "context"

// Kind names the role a plugin plays in a pipeline.
type Kind string

// The plugin kinds a pipeline composes.
const (
	KindEncoder   Kind = "encoder"
	KindClusterer Kind = "clusterer"
	KindLoss      Kind = "loss"
)

// Setup is what a plugin receives once, before any other call.
type Setup struct {
	// Config holds every field the plugin described, resolved and typed
	// (see ResolveConfig): defaults filled in, unknown keys rejected.
	Config Config
	// InputShape is the shape of one input sample x, e.g. [784] or [1 28 28].
	InputShape []int
	// EmbeddingDim is the width of the embeddings z; 0 for an encoder,
	// which decides it itself.
	EmbeddingDim int
	// Seed fixes every random choice the plugin makes.
	Seed uint64
}

// Describer is implemented by every plugin: it tells the host its name,
// kind, version and config fields without being configured first.
type Describer interface {
	Describe() Description
}

// Forward is the result of an encoder's forward pass.
type Forward struct {
	// Z holds the embeddings, N × EmbeddingDim.
	Z Tensor
	// XHat is the reconstruction of x, shaped like x; empty for encoders
	// that do not reconstruct.
	XHat Tensor
}

// BackwardRequest carries the gradients of the total loss with respect to
// the outputs of the last training Forward.
type BackwardRequest struct {
	// GradZ is ∂L/∂z, shaped like Forward.Z; may be empty (zero gradient).
	GradZ Tensor
	// GradXHat is ∂L/∂x̂, shaped like Forward.XHat; may be empty.
	GradXHat Tensor
	// LearningRate overrides the configured learning rate when > 0.
	LearningRate float64
}

// Encoder is a trainable feature map z = f_w(x), usually an autoencoder.
type Encoder interface {
	Describer
	// Configure prepares the network for samples of Setup.InputShape.
	Configure(ctx context.Context, s Setup) error
	// EmbeddingDim returns the width of z once configured.
	EmbeddingDim(ctx context.Context) (int, error)
	// Forward runs the network on a batch x of shape [N, InputShape...].
	// With train set it keeps what Backward needs.
	Forward(ctx context.Context, x Tensor, train bool) (Forward, error)
	// Backward backpropagates the gradients of the last training Forward
	// and takes one optimiser step.
	Backward(ctx context.Context, req BackwardRequest) error
	// Save serialises the weights and optimiser state.
	Save(ctx context.Context) ([]byte, error)
	// Load restores what Save produced; Configure must have been called.
	Load(ctx context.Context, state []byte) error
}

// Assignment is a clusterer's labelling of a set of embeddings.
type Assignment struct {
	// Labels holds the cluster index of each row, in [0, k).
	Labels []int32
	// Soft optionally holds soft assignments, N × k.
	Soft Tensor
	// Objective is the clusterer's own objective on these rows (k-means:
	// inertia), or 0 when it has none.
	Objective float64
	// Selection, set by a Fit that chose k itself (a k field set to Auto),
	// says how; nil otherwise.
	Selection *KSelection
	// Params, set by a Fit or Update that chose the value of some other
	// hyper-parameter itself without labels (e.g. the subspace clusterer's
	// gamma from a list of candidates), says how: one ParamSelection per
	// hyper-parameter, each Param at most once; nil otherwise. The host
	// checks each (ParamSelection.Validate).
	Params []ParamSelection
}

// KSelection records how a clusterer chose its number of clusters k
// without labels: a criterion evaluated for every k of a range, and the
// k whose value is best.
type KSelection struct {
	// Criterion names the criterion, e.g. "silhouette", "bic", "eigengap".
	Criterion string `json:"criterion"`
	// Best is "max" when the largest value wins, "min" when the smallest.
	Best string `json:"best"`
	// K is the chosen number of clusters.
	K int `json:"k"`
	// Ks and Values are the k tried and the criterion's value for each.
	Ks     []int     `json:"ks"`
	Values []float64 `json:"values"`
	// Note says anything else worth knowing, e.g. a sample size.
	Note string `json:"note,omitempty"`
}

// ParamSelection records how a clusterer chose the value of one of its
// hyper-parameters without labels: a criterion evaluated at every
// candidate value, and the candidate whose value is best. It generalises
// KSelection to hyper-parameters other than k (which keeps its own record
// and wire field for compatibility; KSelection.Param converts it).
type ParamSelection struct {
	// Param names the hyper-parameter as the plugin's config field does,
	// e.g. "gamma".
	Param string `json:"param"`
	// Criterion names the criterion, e.g. "modularity of its own affinity".
	Criterion string `json:"criterion"`
	// Best is "max" when the largest value wins, "min" when the smallest.
	Best string `json:"best"`
	// Chosen is the value kept: one of Candidates, whose criterion value
	// is the best of Values (ties allowed).
	Chosen float64 `json:"chosen"`
	// Candidates are the distinct values tried, in the order tried, and
	// Values the criterion's value at each (same length, all finite).
	Candidates []float64 `json:"candidates"`
	Values     []float64 `json:"values"`
	// Note says anything else worth knowing, e.g. how ties are broken.
	Note string `json:"note,omitempty"`
}

// ClusterLossRequest asks for the clustering loss of one batch.
type ClusterLossRequest struct {
	// Z holds the batch embeddings, N × EmbeddingDim.
	Z Tensor
	// Indices are the dataset row numbers of the batch, so the clusterer can
	// look up per-sample state (assignments, targets).
	Indices []int64
	// Train says the batch is a training step: the clusterer keeps what a
	// following Step needs.
	Train bool
}

// ClusterLoss is the clustering loss L_c of one batch.
type ClusterLoss struct {
	// Value is L_c averaged over the batch.
	Value float64
	// GradZ is ∂L_c/∂z, shaped like the request's Z.
	GradZ Tensor
	// Centroids are the current cluster centres, k × EmbeddingDim (may be
	// empty for clusterers without centres).
	Centroids Tensor
	// Soft optionally holds the batch's soft assignments, N × k.
	Soft Tensor
}

// ClusterStepRequest asks the clusterer to update its parameters after a
// training batch.
type ClusterStepRequest struct {
	// GradCentroids is Σ α_k ∂L_k/∂μ from auxiliary losses, k × EmbeddingDim;
	// may be empty.
	GradCentroids Tensor
	// Weight is β, the weight of L_c in the total loss. A clusterer that
	// learns its parameters by gradient descends on β·∂L_c/∂μ + GradCentroids.
	Weight float64
}

// Clusterer groups embeddings and supplies the clustering loss L_c.
type Clusterer interface {
	Describer
	// Configure prepares the clusterer for embeddings of width
	// Setup.EmbeddingDim.
	Configure(ctx context.Context, s Setup) error
	// Fit initialises the cluster parameters on all embeddings.
	Fit(ctx context.Context, z Tensor) (Assignment, error)
	// Update refreshes the cluster parameters (centroids, assignments,
	// targets) from all embeddings, between epochs of joint training.
	Update(ctx context.Context, z Tensor) (Assignment, error)
	// Loss returns L_c and ∂L_c/∂z for one batch.
	Loss(ctx context.Context, req ClusterLossRequest) (ClusterLoss, error)
	// Step updates the cluster parameters after the last training Loss.
	Step(ctx context.Context, req ClusterStepRequest) error
	// Assign labels embeddings with the current parameters, changing nothing.
	Assign(ctx context.Context, z Tensor) (Assignment, error)
	// Save serialises the cluster parameters.
	Save(ctx context.Context) ([]byte, error)
	// Load restores what Save produced; Configure must have been called.
	Load(ctx context.Context, state []byte) error
}

// LossInput is everything an auxiliary loss may look at for one batch.
// Tensors a pipeline does not have are empty.
type LossInput struct {
	X         Tensor // the input batch
	XHat      Tensor // the reconstruction, shaped like X
	Z         Tensor // the embeddings, N × EmbeddingDim
	Centroids Tensor // the cluster centres, k × EmbeddingDim
	Soft      Tensor // soft assignments, N × k
	// Pairs > 0 says the batch holds neighbour pairs (the pipeline's
	// neighbours sampler): rows [0, Pairs) are anchors and row Pairs+i is
	// one of the nearest neighbours of anchor i in the input. 0: no pairs.
	Pairs int
}

// LossOutput is an auxiliary loss's value and gradients. A gradient the loss
// does not depend on is left empty.
type LossOutput struct {
	Value         float64
	GradZ         Tensor
	GradXHat      Tensor
	GradCentroids Tensor
}

// Loss is an auxiliary loss term L_k, such as reconstruction or a
// cluster-balance constraint.
type Loss interface {
	Describer
	// Configure prepares the loss.
	Configure(ctx context.Context, s Setup) error
	// Eval returns the loss and its gradients on one batch.
	Eval(ctx context.Context, in LossInput) (LossOutput, error)
}
