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
      pretrain_epochs: 30
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
`

// DefaultStages returns the stages of a config that gives neither a
// stages list nor top-level stage sections, as a fresh raw list: N2D's
// method (McConville et al. 2020) with a parametric UMAP (Sainburg,
// McInnes & Gentner 2021) as the manifold learner. An MLP autoencoder
// learns codes; a second network learns UMAP's embedding of the codes (its
// fuzzy cross-entropy on the codes' kNN pairs); a shallow clusterer groups
// that embedding.
func DefaultStages() []any {
	v := viper.New()
	v.SetConfigType("yaml")
	if err := v.ReadConfig(strings.NewReader(defaultStagesYAML)); err != nil {
		panic(fmt.Sprintf("config: the built-in default stages do not parse: %v", err))
	}
	stages, _ := normalize(v.Get("stages")).([]any)
	return stages
}
