package conv

import (
	"fmt"
	"slices"

	"github.com/deepclust/deepclust/internal/nn"
	"github.com/deepclust/deepclust/sdk"
)

// Version is the plugin version reported by Describe.
const Version = "0.1.0"

// settings is the resolved, validated configuration of an Encoder.
type settings struct {
	filters, kernels, strides []int
	same                      []bool // per conv layer: "same" (true) or "valid" padding
	decoderFilters            []int  // channels of the decoder's transposed convs but the last
	embedding                 int
	hiddenAct                 nn.Activation
	slope                     float32
	outputAct                 nn.Activation
	init                      string
	opt                       nn.Hyper
	noise                     float64
	inputShape                []int
}

var description = sdk.Description{
	Name:    "conv",
	Kind:    sdk.KindEncoder,
	Version: Version,
	Doc: "Convolutional autoencoder of DCEC (Guo et al. 2017): strided convolutions, a linear dense embedding, " +
		"and a mirrored decoder of a dense layer and transposed convolutions, trained with Adam or SGD+momentum.",
	Fields: slices.Concat([]sdk.Field{
		{Name: "filters", Type: sdk.TypeInts, Default: []int{32, 64, 128}, Doc: "output channels of the encoder's convolutions"},
		{Name: "kernels", Type: sdk.TypeInts, Default: []int{5, 5, 3}, Doc: "square kernel size of each convolution"},
		{Name: "strides", Type: sdk.TypeInts, Default: []int{2, 2, 2}, Doc: "stride of each convolution"},
		{Name: "padding", Type: sdk.TypeStrings, Default: []string{"same", "same", "valid"}, Doc: "same (TensorFlow: output ceil(in/stride)) or valid (no padding), one per convolution, or one value for all"},
		{Name: "decoder_filters", Type: sdk.TypeInts, Default: []int{}, Doc: "output channels of the decoder's transposed convolutions except the last (which outputs the input channels); empty mirrors filters"},
		{Name: "embedding", Type: sdk.TypeInt, Default: 10, Doc: "width of the embedding z (linear dense layer)"},
		{Name: "activation", Type: sdk.TypeString, Default: "relu", Enum: []string{"relu", "leaky_relu"}, Doc: "activation of every convolution, of the decoder's dense layer and of every transposed convolution but the last"},
		{Name: "leaky_slope", Type: sdk.TypeFloat, Default: 0.01, Doc: "negative-side slope of leaky_relu, in [0, 1)"},
		{Name: "output", Type: sdk.TypeString, Default: "linear", Enum: []string{"linear", "sigmoid"}, Doc: "activation of the reconstruction layer (sigmoid for data in [0,1] with the bce loss)"},
		{Name: "init", Type: sdk.TypeString, Default: "glorot", Enum: []string{"glorot", "he"}, Doc: "weight init: glorot = U(±sqrt(6/(fan_in+fan_out))) (Keras default, used by the DCEC code), he = U(±sqrt(6/fan_in)); fans count kernel taps × channels; biases start at 0"},
	}, nn.OptimizerFields(), []sdk.Field{
		{Name: "noise", Type: sdk.TypeFloat, Default: 0.0, Doc: "standard deviation of Gaussian noise added to the input in training Forward (denoising autoencoder), seeded"},
		{Name: "input_shape", Type: sdk.TypeInts, Default: []int{}, Doc: "C, H, W of one sample when the input shape is flat ([C·H·W]); must agree with a 3-D input shape"},
	}),
}

// parseSettings resolves raw (filling defaults, so a partial map is fine)
// and validates every value.
func parseSettings(raw sdk.Config) (settings, error) {
	c, err := sdk.ResolveConfig(description, raw)
	if err != nil {
		return settings{}, err
	}
	s := settings{
		filters:        slices.Clone(c.Ints("filters")),
		kernels:        slices.Clone(c.Ints("kernels")),
		strides:        slices.Clone(c.Ints("strides")),
		decoderFilters: slices.Clone(c.Ints("decoder_filters")),
		embedding:      c.Int("embedding"),
		hiddenAct:      nn.ReLU,
		slope:          float32(c.Float("leaky_slope")),
		outputAct:      nn.Linear,
		init:           c.String("init"),
		noise:          c.Float("noise"),
		inputShape:     slices.Clone(c.Ints("input_shape")),
	}
	if c.String("activation") == "leaky_relu" {
		s.hiddenAct = nn.LeakyReLU
	}
	if c.String("output") == "sigmoid" {
		s.outputAct = nn.Sigmoid
	}
	layers := len(s.filters)
	if layers == 0 {
		return settings{}, fmt.Errorf("encoder \"conv\": config key \"filters\" is empty, want at least one convolution")
	}
	for _, l := range []struct {
		key  string
		vals []int
	}{{"filters", s.filters}, {"kernels", s.kernels}, {"strides", s.strides}, {"decoder_filters", s.decoderFilters}} {
		if l.key != "filters" && l.key != "decoder_filters" && len(l.vals) != layers {
			return settings{}, fmt.Errorf("encoder \"conv\": config key %q has %d values, want one per filter (%d)", l.key, len(l.vals), layers)
		}
		for i, v := range l.vals {
			if v <= 0 {
				return settings{}, fmt.Errorf("encoder \"conv\": config key %q: item %d is %d, want > 0", l.key, i, v)
			}
		}
	}
	if n := len(s.decoderFilters); n != 0 && n != layers-1 {
		return settings{}, fmt.Errorf("encoder \"conv\": config key \"decoder_filters\" has %d values, want %d (one per transposed convolution but the last) or none", n, layers-1)
	}
	pads := c.Strings("padding")
	if len(pads) != 1 && len(pads) != layers {
		return settings{}, fmt.Errorf("encoder \"conv\": config key \"padding\" has %d values, want 1 or one per filter (%d)", len(pads), layers)
	}
	for i := range layers {
		p := pads[min(i, len(pads)-1)]
		if p != "same" && p != "valid" {
			return settings{}, fmt.Errorf("encoder \"conv\": config key \"padding\": item %d is %q, want same or valid", i, p)
		}
		s.same = append(s.same, p == "same")
	}
	checks := []struct {
		ok   bool
		key  string
		want string
		val  any
	}{
		{s.embedding > 0, "embedding", "> 0", s.embedding},
		{s.slope >= 0 && s.slope < 1, "leaky_slope", "in [0, 1)", s.slope},
		{s.noise >= 0, "noise", ">= 0", s.noise},
		{len(s.inputShape) == 0 || len(s.inputShape) == 3, "input_shape", "empty or C, H, W", s.inputShape},
	}
	for _, ch := range checks {
		if !ch.ok {
			return settings{}, fmt.Errorf("encoder \"conv\": config key %q is %v, want %s", ch.key, ch.val, ch.want)
		}
	}
	if s.opt, err = nn.ParseHyper("conv", c); err != nil {
		return settings{}, err
	}
	return s, nil
}
