package mlp

import (
	"fmt"

	"github.com/deepclust/deepclust/sdk"
)

// Version is the plugin version reported by Describe.
const Version = "0.1.0"

// activation is the nonlinearity applied after a dense layer.
type activation uint8

const (
	actLinear activation = iota
	actReLU
	actLeakyReLU
	actSigmoid
)

// settings is the resolved, validated configuration of an Encoder.
type settings struct {
	hidden      []int
	embedding   int
	hiddenAct   activation
	slope       float32
	outputAct   activation
	init        string
	optimizer   string
	lr          float64
	momentum    float64
	beta1       float64
	beta2       float64
	eps         float64
	weightDecay float64
	noise       float64
}

var description = sdk.Description{
	Name:    "mlp",
	Kind:    sdk.KindEncoder,
	Version: Version,
	Doc: "Fully connected autoencoder d-hidden-embedding-reversed(hidden)-d with a linear embedding layer, " +
		"trained by backpropagation with Adam or SGD+momentum.",
	Fields: []sdk.Field{
		{Name: "hidden", Type: sdk.TypeInts, Default: []int{500, 500, 2000}, Doc: "widths of the encoder's hidden layers; the decoder mirrors them in reverse"},
		{Name: "embedding", Type: sdk.TypeInt, Default: 10, Doc: "width of the embedding z (linear layer, no activation)"},
		{Name: "activation", Type: sdk.TypeString, Default: "relu", Enum: []string{"relu", "leaky_relu"}, Doc: "activation of every hidden layer"},
		{Name: "leaky_slope", Type: sdk.TypeFloat, Default: 0.01, Doc: "negative-side slope of leaky_relu, in [0, 1)"},
		{Name: "output", Type: sdk.TypeString, Default: "linear", Enum: []string{"linear", "sigmoid"}, Doc: "activation of the reconstruction layer (sigmoid for data in [0,1] with the bce loss)"},
		{Name: "init", Type: sdk.TypeString, Default: "glorot", Enum: []string{"glorot", "he"}, Doc: "weight init: glorot = U(±sqrt(6/(in+out))) (Keras default, used by the DEC/IDEC reference code), he = U(±sqrt(6/in)); biases start at 0"},
		{Name: "optimizer", Type: sdk.TypeString, Default: "adam", Enum: []string{"adam", "sgd"}, Doc: "adam (Kingma & Ba 2015, bias-corrected) or sgd with momentum (PyTorch form v = μv + g, w -= lr·v)"},
		{Name: "lr", Type: sdk.TypeFloat, Default: 0.001, Doc: "learning rate; a Backward request's LearningRate > 0 overrides it"},
		{Name: "momentum", Type: sdk.TypeFloat, Default: 0.9, Doc: "sgd momentum μ in [0, 1)"},
		{Name: "beta1", Type: sdk.TypeFloat, Default: 0.9, Doc: "adam first-moment decay in [0, 1)"},
		{Name: "beta2", Type: sdk.TypeFloat, Default: 0.999, Doc: "adam second-moment decay in [0, 1)"},
		{Name: "eps", Type: sdk.TypeFloat, Default: 1e-8, Doc: "adam denominator term ε > 0"},
		{Name: "weight_decay", Type: sdk.TypeFloat, Default: 0.0, Doc: "L2 penalty λ ≥ 0 added to every gradient as λ·w (PyTorch semantics, not decoupled AdamW)"},
		{Name: "noise", Type: sdk.TypeFloat, Default: 0.0, Doc: "standard deviation of Gaussian noise added to the input in training Forward (denoising autoencoder), seeded"},
	},
}

// parseSettings resolves raw (filling defaults, so a partial map is fine)
// and validates every value.
func parseSettings(raw sdk.Config) (settings, error) {
	c, err := sdk.ResolveConfig(description, raw)
	if err != nil {
		return settings{}, err
	}
	s := settings{
		hidden:      append([]int(nil), c.Ints("hidden")...),
		embedding:   c.Int("embedding"),
		hiddenAct:   actReLU,
		slope:       float32(c.Float("leaky_slope")),
		outputAct:   actLinear,
		init:        c.String("init"),
		optimizer:   c.String("optimizer"),
		lr:          c.Float("lr"),
		momentum:    c.Float("momentum"),
		beta1:       c.Float("beta1"),
		beta2:       c.Float("beta2"),
		eps:         c.Float("eps"),
		weightDecay: c.Float("weight_decay"),
		noise:       c.Float("noise"),
	}
	if c.String("activation") == "leaky_relu" {
		s.hiddenAct = actLeakyReLU
	}
	if c.String("output") == "sigmoid" {
		s.outputAct = actSigmoid
	}
	for i, h := range s.hidden {
		if h <= 0 {
			return settings{}, fmt.Errorf("encoder \"mlp\": config key \"hidden\": item %d is %d, want > 0", i, h)
		}
	}
	checks := []struct {
		ok   bool
		key  string
		want string
		val  any
	}{
		{s.embedding > 0, "embedding", "> 0", s.embedding},
		{s.slope >= 0 && s.slope < 1, "leaky_slope", "in [0, 1)", s.slope},
		{s.lr > 0, "lr", "> 0", s.lr},
		{s.momentum >= 0 && s.momentum < 1, "momentum", "in [0, 1)", s.momentum},
		{s.beta1 >= 0 && s.beta1 < 1, "beta1", "in [0, 1)", s.beta1},
		{s.beta2 >= 0 && s.beta2 < 1, "beta2", "in [0, 1)", s.beta2},
		{s.eps > 0, "eps", "> 0", s.eps},
		{s.weightDecay >= 0, "weight_decay", ">= 0", s.weightDecay},
		{s.noise >= 0, "noise", ">= 0", s.noise},
	}
	for _, ch := range checks {
		if !ch.ok {
			return settings{}, fmt.Errorf("encoder \"mlp\": config key %q is %v, want %s", ch.key, ch.val, ch.want)
		}
	}
	return s, nil
}
