package config

import (
	"fmt"
	"strings"

	"github.com/spf13/viper"
)

// defaultStagesYAML is the default pipeline: see DefaultStages.
const defaultStagesYAML = `
stages:
  - name: autoencoder
    train:
      pretrain_epochs: 80
      epochs: 0
    encoder:
      plugin: mlp
      config:
        hidden: [500, 500, 2000]
        embedding: 10
        precision: bf16
    losses:
      - plugin: reconstruction
        stages: [pretrain]
  - name: manifold
    train:
      pretrain_sampler: neighbors
      neighbors: 15
      pretrain_epochs: 100
      pretrain_lr: 0.004
      pretrain_decay: cosine
      epochs: 0
    encoder:
      plugin: mlp
      config:
        hidden: [256, 256]
        embedding: 10
    losses:
      - plugin: contrastive
        stages: [pretrain]
        config:
          kind: umap
          a: 1.929
          b: 0.7915
          negatives: 5
    clusterer:
      plugin: kmeans
      config:
        k: 10
        n_init: 10
        select: modularity
`

// DefaultStages returns the stages of a config that gives neither a
// stages list nor top-level stage sections, as a fresh raw list: N2D's
// method (McConville et al. 2020) with a parametric UMAP (Sainburg,
// McInnes & Gentner 2021) as the manifold learner. An MLP autoencoder
// learns codes; a second network learns UMAP's embedding of the codes (its
// fuzzy cross-entropy on the codes' kNN pairs); a shallow clusterer groups
// that embedding. DefaultHeader says how each value was chosen.
//
// The values: N2D's d-500-500-2000-10 autoencoder with Adam 0.001, batch
// 256, for 80 epochs in bfloat16 arithmetic (89-99 s for the whole run on
// an idle 2-core machine); a 256-256-10 network on UMAP's loss
// with umap-learn's defaults (15 neighbours, 5 negatives per positive) and
// the min_dist 0 curve N2D uses (a 1.929, b 0.7915), 100 epochs from Adam
// 0.004 on a cosine schedule (the lowest UMAP loss of the rates tried);
// k-means with 10 restarts, keeping the one of highest modularity on the
// embedding's 15-nearest-neighbour graph. DefaultHeader gives the
// measurements behind each choice.
func DefaultStages() []any {
	v := viper.New()
	v.SetConfigType("yaml")
	if err := v.ReadConfig(strings.NewReader(defaultStagesYAML)); err != nil {
		panic(fmt.Sprintf("config: the built-in default stages do not parse: %v", err))
	}
	stages, _ := normalize(v.Get("stages")).([]any)
	return stages
}

// DefaultHeader is the comment `deepclust config defaults` prints above the
// defaults: how the default pipeline's values were chosen, without labels.
const DefaultHeader = `# The default pipeline: N2D's method (McConville et al. 2020: autoencoder, manifold learner,
# shallow clusterer) with a parametric UMAP (Sainburg, McInnes & Gentner 2021) as the manifold
# learner, so that new points are embedded by the same map.
# How its values were chosen, without labels (built-in MNIST-10k, seeds 1-3; docs/default-pipeline.md):
# - autoencoder: N2D's and DEC's d-500-500-2000-10 MLP, Adam 0.001, batch 256 (docs/pretraining.md).
#   Constant 0.001 kept: cosine schedules from 0.001 or 0.002 ended at a higher reconstruction loss
#   after 60 epochs (0.0134, 0.0137 against 0.0122). 80 epochs in bf16 (products in bfloat16, sums,
#   weights and Adam in float32; float32 on processors without AVX512_BF16 or AMX): the epochs the
#   run's 2-minute budget allows: the whole run takes 89-99 s on an idle 2-core machine (at 60
#   epochs seed 1's NMI was 0.8796).
# - manifold: umap-learn's defaults (15 neighbours, negative_sample_rate 5) and the min_dist 0 curve
#   (a = 1.929, b = 0.7915) N2D uses for clustering. Adam 0.004 on a cosine schedule to 0 (UMAP
#   also decays its rate to 0), for 100 epochs: of 0.001, 0.002, 0.004, 0.008 and 0.016 it gave the
#   lowest final UMAP loss (0.1395; constant 0.001: 0.1467), and the loss still fell from 30 to 100
#   epochs (0.160 to 0.147 at constant 0.001) by more than from 100 to 150.
# - clusterer: k-means, 10 restarts, keeping the restart of highest modularity (Newman 2006) on the
#   embedding's 15-nearest-neighbour graph rather than the lowest inertia: the manifold is trained
#   to keep that graph, so its clusters are the graph's communities, and lowest inertia prefers
#   equal spheres, which UMAP's clusters are not (in the seed-1 embedding its lowest-inertia
#   partition had modularity 0.859 against the best restart's 0.865).
`
