package builtin

import (
	"github.com/deepclust/deepclust/clusterers/dec"
	"github.com/deepclust/deepclust/clusterers/gmm"
	"github.com/deepclust/deepclust/clusterers/kmeans"
	"github.com/deepclust/deepclust/clusterers/spectral"
	"github.com/deepclust/deepclust/clusterers/subspace"
	"github.com/deepclust/deepclust/encoders/conv"
	"github.com/deepclust/deepclust/encoders/identity"
	"github.com/deepclust/deepclust/encoders/mlp"
	"github.com/deepclust/deepclust/encoders/spectralnet"
	"github.com/deepclust/deepclust/losses/contrastive"
	"github.com/deepclust/deepclust/losses/reconstruction"
	"github.com/deepclust/deepclust/losses/selfexpressive"
	spectralloss "github.com/deepclust/deepclust/losses/spectral"
	"github.com/deepclust/deepclust/losses/uniformity"
	"github.com/deepclust/deepclust/plugins"
	"github.com/deepclust/deepclust/sdk"
)

// factories lists every built-in plugin.
var factories = []plugins.Factory{
	func() sdk.Describer { return mlp.New() },
	func() sdk.Describer { return conv.New() },
	func() sdk.Describer { return identity.New() },
	func() sdk.Describer { return spectralnet.New() },
	func() sdk.Describer { return kmeans.New() },
	func() sdk.Describer { return dec.New() },
	func() sdk.Describer { return spectral.New() },
	func() sdk.Describer { return gmm.New() },
	func() sdk.Describer { return subspace.New() },
	func() sdk.Describer { return reconstruction.New() },
	func() sdk.Describer { return spectralloss.New() },
	func() sdk.Describer { return uniformity.New() },
	func() sdk.Describer { return contrastive.New() },
	func() sdk.Describer { return selfexpressive.New() },
}

// Registry returns a registry holding every built-in plugin.
func Registry() (*plugins.Registry, error) {
	r := &plugins.Registry{}
	for _, f := range factories {
		if err := r.Register(f); err != nil {
			return nil, err
		}
	}
	return r, nil
}
