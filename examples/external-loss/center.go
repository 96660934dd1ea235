package main

import (
	"context"
	"errors"

	"github.com/deepclust/deepclust/sdk"
)

// center is the auxiliary loss
//
//	L = weight · (1/N) Σ_i ‖z_i‖²,   ∂L/∂z_i = 2 · weight · z_i / N,
//
// which keeps the embeddings near the origin.
type center struct {
	weight float64
}

// Describe names the plugin and its one config field.
func (c *center) Describe() sdk.Description {
	return sdk.Description{
		Name:    "center",
		Kind:    sdk.KindLoss,
		Version: "1.0.0",
		Doc:     "weight · mean squared norm of the embeddings; keeps z near the origin",
		Fields: []sdk.Field{
			{Name: "weight", Type: sdk.TypeFloat, Default: 0.01, Min: sdk.Bound(0), Doc: "multiplier of the mean squared norm"},
		},
	}
}

// Configure reads the weight, which the host has resolved and checked
// against the field's bounds.
func (c *center) Configure(_ context.Context, s sdk.Setup) error {
	c.weight = s.Config.Float("weight")
	return nil
}

// Eval returns L and ∂L/∂z; it does not depend on x̂ or the centroids.
func (c *center) Eval(_ context.Context, in sdk.LossInput) (sdk.LossOutput, error) {
	n := in.Z.Rows()
	if n == 0 {
		return sdk.LossOutput{}, errors.New("center loss needs embeddings z")
	}
	grad := sdk.NewTensor(in.Z.Shape...)
	var sum float64
	scale := 2 * c.weight / float64(n)
	for i, z := range in.Z.Data {
		sum += float64(z) * float64(z)
		grad.Data[i] = float32(scale * float64(z))
	}
	return sdk.LossOutput{Value: c.weight * sum / float64(n), GradZ: grad}, nil
}
