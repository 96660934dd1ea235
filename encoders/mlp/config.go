package mlp

import (
	"fmt"
	"io"
	"os"
	"slices"
	"sync"

	"github.com/deepclust/deepclust/internal/kernels"
	"github.com/deepclust/deepclust/internal/nn"
	"github.com/deepclust/deepclust/sdk"
)

// Version is the plugin version reported by Describe.
const Version = "0.1.0"

// settings is the resolved, validated configuration of an Encoder.
type settings struct {
	hidden    []int
	embedding int
	hiddenAct nn.Activation
	slope     float32
	outputAct nn.Activation
	init      string
	opt       nn.Hyper
	noise     float64
	precision kernels.Precision
}

var description = sdk.Description{
	Name:    "mlp",
	Kind:    sdk.KindEncoder,
	Version: Version,
	Doc: "Fully connected autoencoder d-hidden-embedding-reversed(hidden)-d with a linear embedding layer, " +
		"trained by backpropagation with Adam or SGD+momentum.",
	Fields: slices.Concat([]sdk.Field{
		{Name: "hidden", Type: sdk.TypeInts, Default: []int{500, 500, 2000}, Doc: "widths of the encoder's hidden layers; the decoder mirrors them in reverse"},
		{Name: "embedding", Type: sdk.TypeInt, Default: 10, Doc: "width of the embedding z (linear layer, no activation)"},
		{Name: "activation", Type: sdk.TypeString, Default: "relu", Enum: []string{"relu", "leaky_relu"}, Doc: "activation of every hidden layer"},
		{Name: "leaky_slope", Type: sdk.TypeFloat, Default: 0.01, Doc: "negative-side slope of leaky_relu, in [0, 1)"},
		{Name: "output", Type: sdk.TypeString, Default: "linear", Enum: []string{"linear", "sigmoid"}, Doc: "activation of the reconstruction layer (sigmoid for data in [0,1] with the bce loss)"},
		{Name: "init", Type: sdk.TypeString, Default: "glorot", Enum: []string{"glorot", "he"}, Doc: "weight init: glorot = U(±sqrt(6/(in+out))) (Keras default, used by the DEC/IDEC reference code), he = U(±sqrt(6/in)); biases start at 0"},
	}, nn.OptimizerFields(), []sdk.Field{
		{Name: "noise", Type: sdk.TypeFloat, Default: 0.0, Doc: "standard deviation of Gaussian noise added to the input in training Forward (denoising autoencoder), seeded"},
		{Name: "precision", Type: sdk.TypeString, Default: "float32", Enum: []string{"float32", "bf16"}, Doc: "arithmetic of the layers' matrix products: float32, or bf16 (operands rounded to bfloat16, products accumulated in float32; weights, gradients and optimiser state stay float32) on AMX-BF16 or AVX512_BF16 processors, float32 with one log line elsewhere"},
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
		hidden:    append([]int(nil), c.Ints("hidden")...),
		embedding: c.Int("embedding"),
		hiddenAct: nn.ReLU,
		slope:     float32(c.Float("leaky_slope")),
		outputAct: nn.Linear,
		init:      c.String("init"),
		noise:     c.Float("noise"),
	}
	if c.String("activation") == "leaky_relu" {
		s.hiddenAct = nn.LeakyReLU
	}
	if c.String("output") == "sigmoid" {
		s.outputAct = nn.Sigmoid
	}
	if c.String("precision") == "bf16" {
		s.precision = kernels.BF16
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
		{s.noise >= 0, "noise", ">= 0", s.noise},
	}
	for _, ch := range checks {
		if !ch.ok {
			return settings{}, fmt.Errorf("encoder \"mlp\": config key %q is %v, want %s", ch.key, ch.val, ch.want)
		}
	}
	if s.opt, err = nn.ParseHyper("mlp", c); err != nil {
		return settings{}, err
	}
	return s, nil
}

// fallbackLog receives the one line saying that bf16 was asked for on a
// processor without bf16 hardware.
var fallbackLog io.Writer = os.Stderr

var fallbackOnce sync.Once

// effectivePrecision returns p, or Float32 (logging it once per process)
// when p is BF16 and the processor has neither AMX-BF16 nor AVX512_BF16:
// the portable bf16 kernel is far slower than float32.
func effectivePrecision(p kernels.Precision) kernels.Precision {
	if p != kernels.BF16 || kernels.HasBF16() {
		return p
	}
	fallbackOnce.Do(func() {
		fmt.Fprintln(fallbackLog, `encoder "mlp": precision bf16: this processor has neither AMX-BF16 nor AVX512_BF16; training in float32`)
	})
	return kernels.Float32
}
