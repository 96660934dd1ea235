package spectralnet

import (
	"fmt"
	"math"
	"slices"

	"github.com/deepclust/deepclust/internal/nn"
	"github.com/deepclust/deepclust/sdk"
)

// Version is the plugin version reported by Describe.
const Version = "0.2.0"

// The gradients through the orthonormalisation (config key "ortho_grad").
const (
	GradFixed = "fixed"
	GradFull  = "full"
)

// The activations of the k-wide layer before the orthonormalisation
// (config key "output").
const (
	OutputTanh   = "tanh"
	OutputLinear = "linear"
)

var description = sdk.Description{
	Name:    "spectralnet",
	Kind:    sdk.KindEncoder,
	Version: Version,
	Doc: "SpectralNet map (Shaham et al. 2018): fully connected ReLU network d-hidden-k, tanh, then an orthonormalisation " +
		"layer Y = √m·Ỹ·L⁻ᵀ (LLᵀ = ỸᵀỸ, the Cholesky factor of the training batch) so that YᵀY = m·I; new points use the " +
		"last training batch's matrix. Train it with the spectral loss; no reconstruction.",
	Fields: slices.Concat([]sdk.Field{
		{Name: "k", Type: sdk.TypeInt, Default: 10, Doc: "number of clusters: the width of the output Y"},
		{Name: "hidden", Type: sdk.TypeInts, Default: []int{1024, 1024, 512}, Doc: "widths of the hidden layers (SpectralNet's MNIST net: 1024, 1024, 512)"},
		{Name: "activation", Type: sdk.TypeString, Default: "relu", Enum: []string{"relu", "leaky_relu"}, Doc: "activation of every hidden layer"},
		{Name: "leaky_slope", Type: sdk.TypeFloat, Default: 0.01, Doc: "negative-side slope of leaky_relu, in [0, 1)"},
		{Name: "output", Type: sdk.TypeString, Default: OutputTanh, Enum: []string{OutputTanh, OutputLinear}, Doc: "activation of the k-wide layer before the orthonormalisation (tanh in the authors' code)"},
		{Name: "ortho_grad", Type: sdk.TypeString, Default: GradFull, Enum: []string{GradFixed, GradFull},
			Doc: "gradient through the orthonormalisation: fixed = M held fixed as a linear layer's weights (the paper's description); full = also through M's dependence on the batch (what the authors' TensorFlow graph differentiates; removes the drift towards collapse)"},
		{Name: "ortho_epsilon", Type: sdk.TypeFloat, Default: 1e-7, Doc: "ε ≥ 0 added to the diagonal of ỸᵀỸ before its Cholesky factorisation (the authors' orthonorm_op adds 1e-7), so a batch whose k outputs are linearly dependent still trains; 0 = none, and such a batch is an error"},
		{Name: "init", Type: sdk.TypeString, Default: "glorot", Enum: []string{"glorot", "he"}, Doc: "weight init: glorot = U(±sqrt(6/(in+out))) (Keras default, as in the authors' code), he = U(±sqrt(6/in)); biases start at 0"},
	}, nn.OptimizerFields()),
}

// netConfig is the config of the mlp encoder that holds the network: the
// hidden layers and a linear k-wide embedding layer, with every optimiser
// field passed through.
func netConfig(c sdk.Config) sdk.Config {
	out := sdk.Config{"embedding": c.Int("k"), "output": "linear", "noise": 0.0}
	for _, f := range description.Fields {
		if f.Name != "k" && f.Name != "output" && f.Name != "ortho_grad" && f.Name != "ortho_epsilon" {
			out[f.Name] = c[f.Name]
		}
	}
	return out
}

// parseConfig resolves raw (filling defaults) and checks the fields the
// mlp encoder does not check itself.
func parseConfig(raw sdk.Config) (sdk.Config, error) {
	c, err := sdk.ResolveConfig(description, raw)
	if err != nil {
		return nil, err
	}
	if k := c.Int("k"); k < 1 {
		return nil, fmt.Errorf("encoder \"spectralnet\": config key \"k\" is %d, want ≥ 1", k)
	}
	if eps := c.Float("ortho_epsilon"); !(eps >= 0) || math.IsInf(eps, 0) {
		return nil, fmt.Errorf("encoder \"spectralnet\": config key \"ortho_epsilon\" is %v, want a finite number ≥ 0", eps)
	}
	return c, nil
}
