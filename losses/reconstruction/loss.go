package reconstruction

import (
	"context"
	"fmt"
	"math"
	"slices"

	"github.com/deepclust/deepclust/sdk"
)

// Version is the plugin version reported by Describe.
const Version = "0.1.0"

// clampEps bounds x̂ away from 0 and 1 in the cross-entropy.
const clampEps = 1e-7

var description = sdk.Description{
	Name:    "reconstruction",
	Kind:    sdk.KindLoss,
	Version: Version,
	Doc:     "Autoencoder reconstruction loss, averaged over every element of the batch.",
	Fields: []sdk.Field{
		{Name: "kind", Type: sdk.TypeString, Default: "mse", Enum: []string{"mse", "bce"},
			Doc: "mse: mean squared error; bce: binary cross-entropy for data in [0,1] (x̂ clamped to [1e-7, 1−1e-7])"},
	},
}

// Loss is the reconstruction loss. It is not safe for concurrent use.
type Loss struct {
	bce  bool
	grad []float32 // reused ∂L/∂x̂ buffer
}

// New returns an unconfigured reconstruction loss.
func New() *Loss { return &Loss{} }

// Describe returns the plugin's name, kind, version and config fields.
func (l *Loss) Describe() sdk.Description { return description }

// Configure reads the kind field (a partial config gets the defaults).
func (l *Loss) Configure(ctx context.Context, s sdk.Setup) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c, err := sdk.ResolveConfig(description, s.Config)
	if err != nil {
		return err
	}
	l.bce = c.String("kind") == "bce"
	return nil
}

// Eval returns the loss of in.XHat against in.X and ∂L/∂x̂. The returned
// GradXHat is owned by the loss and stays valid until the next Eval.
func (l *Loss) Eval(ctx context.Context, in sdk.LossInput) (sdk.LossOutput, error) {
	if err := ctx.Err(); err != nil {
		return sdk.LossOutput{}, err
	}
	x, xHat := in.X, in.XHat
	if xHat.Empty() {
		return sdk.LossOutput{}, fmt.Errorf("loss \"reconstruction\": XHat is empty (the encoder does not reconstruct)")
	}
	if !slices.Equal(x.Shape, xHat.Shape) {
		return sdk.LossOutput{}, fmt.Errorf("loss \"reconstruction\": X shape %v differs from XHat shape %v", x.Shape, xHat.Shape)
	}
	n := len(xHat.Data)
	if len(x.Data) != n || n != x.Rows()*x.Cols() {
		return sdk.LossOutput{}, fmt.Errorf("loss \"reconstruction\": shape %v needs %d values, X has %d and XHat %d", x.Shape, x.Rows()*x.Cols(), len(x.Data), n)
	}
	if n == 0 {
		return sdk.LossOutput{}, fmt.Errorf("loss \"reconstruction\": batch of shape %v has no values", x.Shape)
	}
	if cap(l.grad) < n {
		l.grad = make([]float32, n)
	}
	g := l.grad[:n]
	var value float64
	if l.bce {
		v, err := bce(x.Data, xHat.Data, g, x.Cols())
		if err != nil {
			return sdk.LossOutput{}, err
		}
		value = v
	} else {
		value = mse(x.Data, xHat.Data, g)
	}
	return sdk.LossOutput{Value: value, GradXHat: sdk.Tensor{Shape: slices.Clone(xHat.Shape), Data: g}}, nil
}

// mse returns 1/n Σ (x̂−x)² and writes 2(x̂−x)/n into g.
func mse(x, xHat, g []float32) float64 {
	x, g = x[:len(xHat)], g[:len(xHat)]
	scale := 2 / float32(len(xHat))
	sum := 0.0
	for i, h := range xHat {
		d := h - x[i]
		sum += float64(d) * float64(d)
		g[i] = scale * d
	}
	return sum / float64(len(xHat))
}

// bce returns the clamped binary cross-entropy averaged over the n values
// and writes its gradient into g; cols locates a bad x value by row and
// column.
func bce(x, xHat, g []float32, cols int) (float64, error) {
	x, g = x[:len(xHat)], g[:len(xHat)]
	inv := 1 / float64(len(xHat))
	sum := 0.0
	for i, h := range xHat {
		xi := float64(x[i])
		if !(xi >= 0 && xi <= 1) {
			return 0, fmt.Errorf("loss \"reconstruction\": bce needs X in [0,1], X[%d][%d] is %v", i/cols, i%cols, x[i])
		}
		c := float64(h)
		inside := c >= clampEps && c <= 1-clampEps
		c = min(max(c, clampEps), 1-clampEps)
		sum -= xi*math.Log(c) + (1-xi)*math.Log(1-c)
		g[i] = 0
		if inside {
			g[i] = float32((c - xi) / (c * (1 - c)) * inv)
		}
	}
	return sum * inv, nil
}
