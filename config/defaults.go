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
      pretrain_epochs: 20
      epochs: 0
    encoder:
      plugin: mlp
      config:
        hidden: [500, 500, 2000]
        embedding: 10
    losses:
      - plugin: reconstruction
        stages: [pretrain]
  - name: manifold
    train:
      pretrain_sampler: neighbors
      neighbors: 15
      pretrain_epochs: 30
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
// 256, for 20 epochs (what the 2-minute budget of a default run on two
// cores allows); a 256-256-10 network on UMAP's loss with umap-learn's
// defaults (15 neighbours, 5 negatives per positive) and the min_dist 0
// curve N2D uses (a 1.929, b 0.7915), 30 epochs; k-means with 10
// restarts.
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
# How its values were chosen, without labels:
# - autoencoder: N2D's and DEC's d-500-500-2000-10 MLP, Adam 0.001, batch 256 (docs/pretraining.md);
#   20 epochs: what fits, with the other stages, in the 2 minutes a default run may take on 2 cores.
# - manifold: umap-learn's defaults (15 neighbours, negative_sample_rate 5) and the min_dist 0 curve
#   (a = 1.929, b = 0.7915) N2D uses for clustering; 30 epochs, as in configs/mnist-n2d.yaml.
# - clusterer: k-means (10 restarts) rather than N2D's GMM: on the manifold's outputs (built-in
#   data, seed 1) k-means' partition scored better on all three internal indices (silhouette 0.482
#   against 0.394, Davies-Bouldin 0.81 against 1.11, Calinski-Harabasz 14,664 against 8,677).
# A sweep that ranked 30 variants (code width, autoencoder shape, learning rates, noise, UMAP
# epochs and neighbours) by the silhouette of the final partition was not adopted: its top
# choices, wider codes, each merged two groups into one cluster of twice the mean size (visible
# in the cluster sizes); see the README's Results for what each measured.
`
