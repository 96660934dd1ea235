package sdktest_test

import (
	"context"
	"testing"

	"github.com/deepclust/deepclust/sdk"
	"github.com/deepclust/deepclust/sdk/sdktest"
)

// sumSquares is L = w·Σ z².
type sumSquares struct{ w float64 }

func (l *sumSquares) Describe() sdk.Description {
	return sdk.Description{Name: "sum-squares", Kind: sdk.KindLoss, Version: "1",
		Fields: []sdk.Field{{Name: "weight", Type: sdk.TypeFloat, Default: 0.5, Doc: "w"}}}
}

func (l *sumSquares) Configure(_ context.Context, s sdk.Setup) error {
	l.w = s.Config.Float("weight")
	return nil
}

func (l *sumSquares) Eval(_ context.Context, in sdk.LossInput) (sdk.LossOutput, error) {
	g := sdk.NewTensor(in.Z.Shape...)
	var v float64
	for i, z := range in.Z.Data {
		v += l.w * float64(z) * float64(z)
		g.Data[i] = float32(2 * l.w * float64(z))
	}
	return sdk.LossOutput{Value: v, GradZ: g}, nil
}

func TestLossConformance(t *testing.T) {
	sdktest.Loss(t, func() sdk.Loss { return &sumSquares{} }, sdktest.LossOptions{InputShape: []int{3}, Clusters: 2})
}
