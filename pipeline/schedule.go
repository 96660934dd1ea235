package pipeline

// Schedule is the training schedule of a run.
type Schedule struct {
	// BatchSize is the mini-batch size of both training stages.
	BatchSize int
	// PretrainEpochs is the number of pretraining epochs.
	PretrainEpochs int
	// PretrainLR overrides the encoder's learning rate in pretraining when > 0.
	PretrainLR float64
	// Epochs is the maximum number of joint-training epochs.
	Epochs int
	// LR overrides the encoder's learning rate in joint training when > 0.
	LR float64
	// Beta is the weight β of the clustering loss.
	Beta float64
	// Tol stops joint training when the fraction of samples that change
	// cluster between two updates falls below it.
	Tol float64
	// UpdateInterval is the number of training batches between clusterer
	// Updates on all embeddings (DEC's T); 0 means once per epoch.
	UpdateInterval int
	// Sampler orders joint-training batches: SamplerShuffle (a random
	// permutation, the default) or SamplerUniform (uniform over the current
	// clusters, as DeepCluster samples).
	Sampler string
}

// The joint-training samplers.
const (
	SamplerShuffle = "shuffle"
	SamplerUniform = "uniform"
)

// Stage names a stage of a run in metrics and progress output.
const (
	StagePretrain    = "pretrain"
	StageClusterInit = "cluster_init"
	StageTrain       = "train"
)
