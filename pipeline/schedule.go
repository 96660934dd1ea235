package pipeline

import "math"

// Schedule is the training schedule of a run.
type Schedule struct {
	// BatchSize is the mini-batch size of both training stages.
	BatchSize int
	// PretrainEpochs is the number of pretraining epochs.
	PretrainEpochs int
	// PretrainLR overrides the encoder's learning rate in pretraining when > 0.
	PretrainLR float64
	// PretrainSampler orders pretraining batches: SamplerShuffle (a random
	// permutation, the default) or SamplerNeighbors (anchors and one of
	// their Neighbors nearest neighbours each, for a Siamese network).
	PretrainSampler string
	// Neighbors is the number of nearest neighbours a SamplerNeighbors
	// anchor draws its partner from.
	Neighbors int
	// PretrainDecay is the pretraining learning-rate schedule: DecayNone
	// (constant) or DecayCosine (from PretrainLR down to 0 over pretraining).
	PretrainDecay string
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

// The batch samplers: shuffle for both stages, uniform for joint training,
// neighbors for pretraining.
const (
	SamplerShuffle   = "shuffle"
	SamplerUniform   = "uniform"
	SamplerNeighbors = "neighbors"
)

// Stage names a stage of a run in metrics and progress output.
const (
	StagePretrain    = "pretrain"
	StageClusterInit = "cluster_init"
	StageTrain       = "train"
)

// The pretraining learning-rate schedules.
const (
	DecayNone   = "none"
	DecayCosine = "cosine"
)

// pretrainLR is the learning rate of pretraining step t of total:
// PretrainLR, or with cosine decay (Loshchilov & Hutter 2017, without
// restarts) PretrainLR·½(1 + cos(π·t/total)).
func (s Schedule) pretrainLR(t, total int) float64 {
	if s.PretrainDecay != DecayCosine {
		return s.PretrainLR
	}
	return s.PretrainLR * 0.5 * (1 + math.Cos(math.Pi*float64(t)/float64(total)))
}
