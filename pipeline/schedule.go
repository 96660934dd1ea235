package pipeline

import (
	"fmt"
	"math"
	"strings"

	"github.com/deepclust/deepclust/internal/knn"
)

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
	// KNNSearch is how SamplerNeighbors finds them: knn.MethodExact,
	// knn.MethodApprox, or "" (knn.MethodAuto: exact up to
	// knn.AutoApproxRows samples). The config stores its auto as "",
	// which the stage cache key omits, so that the keys of stages trained
	// before this field existed stay valid.
	KNNSearch string `json:",omitempty"`
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

// Stage names a stage of a run in metrics and progress output;
// StageCheckpoint names the time spent saving checkpoints in a report's
// Seconds.
const (
	StagePretrain    = "pretrain"
	StageClusterInit = "cluster_init"
	StageTrain       = "train"
	StageCheckpoint  = "checkpoint"
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

// DefaultSchedule returns the schedule of a stage whose config sets no
// train key: 100 pretraining epochs, then up to 50 epochs of joint
// training with β = 0.1, batches of 256, shuffled.
func DefaultSchedule() Schedule {
	return Schedule{
		BatchSize: 256, PretrainEpochs: 100, PretrainSampler: SamplerShuffle, Neighbors: 2,
		PretrainDecay: DecayNone, Epochs: 50, Beta: 0.1, Tol: 0.001, Sampler: SamplerShuffle,
	}
}

// Validate reports the first field of s that is out of range or names no
// known sampler or decay; an empty sampler or decay means the default.
func (s Schedule) Validate() error {
	switch {
	case s.BatchSize <= 0:
		return fmt.Errorf("batch size must be > 0, got %d", s.BatchSize)
	case s.PretrainEpochs < 0 || s.Epochs < 0:
		return fmt.Errorf("epochs must be ≥ 0, got pretrain %d, train %d", s.PretrainEpochs, s.Epochs)
	case s.UpdateInterval < 0:
		return fmt.Errorf("update interval must be ≥ 0, got %d", s.UpdateInterval)
	case s.PretrainLR < 0 || s.LR < 0 || s.Beta < 0 || s.Tol < 0:
		return fmt.Errorf("learning rates, beta and tol must be ≥ 0, got %g, %g, %g, %g", s.PretrainLR, s.LR, s.Beta, s.Tol)
	case s.PretrainSampler != "" && s.PretrainSampler != SamplerShuffle && s.PretrainSampler != SamplerNeighbors:
		return fmt.Errorf("pretraining sampler %q is not one of %s, %s", s.PretrainSampler, SamplerShuffle, SamplerNeighbors)
	case s.Sampler != "" && s.Sampler != SamplerShuffle && s.Sampler != SamplerUniform:
		return fmt.Errorf("training sampler %q is not one of %s, %s", s.Sampler, SamplerShuffle, SamplerUniform)
	case s.PretrainDecay != "" && s.PretrainDecay != DecayNone && s.PretrainDecay != DecayCosine:
		return fmt.Errorf("pretraining decay %q is not one of %s, %s", s.PretrainDecay, DecayNone, DecayCosine)
	case s.PretrainSampler == SamplerNeighbors && s.Neighbors < 1:
		return fmt.Errorf("the neighbors sampler needs neighbors ≥ 1, got %d", s.Neighbors)
	case s.KNNSearch != "" && knn.CheckMethod("train.knn_search", s.KNNSearch) != nil:
		return fmt.Errorf("the neighbors sampler's search %q is not one of %s", s.KNNSearch, strings.Join(knn.Methods, ", "))
	case s.PretrainDecay == DecayCosine && s.PretrainLR <= 0 && s.PretrainEpochs > 0:
		return fmt.Errorf("the cosine pretraining schedule needs a pretraining learning rate > 0")
	}
	return nil
}
