package identity

import (
	"context"
	"fmt"
	"slices"

	"github.com/deepclust/deepclust/sdk"
)

// stateVersion is the single byte Save writes; Load accepts only it.
const stateVersion = 1

// Encoder is the identity feature map z = x flattened. It holds no
// parameters; calls are safe for concurrent use once configured.
type Encoder struct {
	inShape []int
	dim     int
}

// New returns an unconfigured identity encoder.
func New() *Encoder { return &Encoder{} }

// Describe returns the plugin's name, kind, version and (no) config fields.
func (e *Encoder) Describe() sdk.Description {
	return sdk.Description{
		Name:    "identity",
		Kind:    sdk.KindEncoder,
		Version: "0.1.0",
		Doc:     "z = x flattened to N × D (D the product of the sample shape); no reconstruction, no parameters",
		Fields:  []sdk.Field{},
	}
}

// Configure records the sample shape; D is the product of its dimensions.
func (e *Encoder) Configure(ctx context.Context, s sdk.Setup) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if len(s.Config) > 0 {
		keys := make([]string, 0, len(s.Config))
		for k := range s.Config {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		return fmt.Errorf("encoder \"identity\": unknown config key %q (it has none)", keys[0])
	}
	if len(s.InputShape) == 0 {
		return fmt.Errorf("encoder \"identity\": input shape is empty")
	}
	dim := 1
	for _, v := range s.InputShape {
		if v <= 0 {
			return fmt.Errorf("encoder \"identity\": input shape %v has a non-positive dimension", s.InputShape)
		}
		dim *= v
	}
	e.inShape, e.dim = slices.Clone(s.InputShape), dim
	return nil
}

// EmbeddingDim returns D, the number of values per sample.
func (e *Encoder) EmbeddingDim(_ context.Context) (int, error) {
	if e.inShape == nil {
		return 0, fmt.Errorf("encoder \"identity\": EmbeddingDim before Configure")
	}
	return e.dim, nil
}

// Forward returns z, a copy of x shaped [N, D], and an empty x̂. x must
// have the configured sample shape (or already be flat, [N, D]).
func (e *Encoder) Forward(ctx context.Context, x sdk.Tensor, _ bool) (sdk.Forward, error) {
	if err := ctx.Err(); err != nil {
		return sdk.Forward{}, err
	}
	if e.inShape == nil {
		return sdk.Forward{}, fmt.Errorf("encoder \"identity\": Forward before Configure")
	}
	want := append([]int{-1}, e.inShape...)
	if x.CheckShape(want...) != nil && x.CheckShape(-1, e.dim) != nil {
		return sdk.Forward{}, fmt.Errorf("encoder \"identity\": input shape %v, want [N %v] or [N %d]", x.Shape, e.inShape, e.dim)
	}
	if len(x.Data) != x.Rows()*e.dim {
		return sdk.Forward{}, fmt.Errorf("encoder \"identity\": input shape %v needs %d values, has %d", x.Shape, x.Rows()*e.dim, len(x.Data))
	}
	return sdk.Forward{Z: sdk.Tensor{Shape: []int{x.Rows(), e.dim}, Data: slices.Clone(x.Data)}}, nil
}

// Backward does nothing: the identity map has no parameters.
func (e *Encoder) Backward(ctx context.Context, _ sdk.BackwardRequest) error {
	if e.inShape == nil {
		return fmt.Errorf("encoder \"identity\": Backward before Configure")
	}
	return ctx.Err()
}

// Save returns the empty state: one version byte.
func (e *Encoder) Save(_ context.Context) ([]byte, error) {
	if e.inShape == nil {
		return nil, fmt.Errorf("encoder \"identity\": Save before Configure")
	}
	return []byte{stateVersion}, nil
}

// Load accepts what Save produced.
func (e *Encoder) Load(_ context.Context, state []byte) error {
	if e.inShape == nil {
		return fmt.Errorf("encoder \"identity\": Load before Configure")
	}
	if len(state) != 1 || state[0] != stateVersion {
		return fmt.Errorf("encoder \"identity\": state is %d bytes %x, want the single version byte %d", len(state), state, stateVersion)
	}
	return nil
}
