package main

import (
	"context"
	"math"
	"testing"

	"github.com/deepclust/deepclust/sdk"
	"github.com/deepclust/deepclust/sdk/sdktest"
)

// TestConformance runs the sdk's conformance kit, which includes a
// finite-difference check of ∂L/∂z, directly and through the protocol.
func TestConformance(t *testing.T) {
	sdktest.Loss(t, func() sdk.Loss { return &center{} }, sdktest.LossOptions{
		Config: map[string]any{"weight": 0.5}, InputShape: []int{6}, Clusters: 3,
	})
}

// TestValue checks L on a hand-computed case: z = [[3 4] [0 0]], weight 2
// gives 2 · (25 + 0) / 2 = 25 and ∂L/∂z = 2 · 2 · z / 2 = 2z.
func TestValue(t *testing.T) {
	c := &center{}
	cfg, err := sdk.ResolveConfig(c.Describe(), map[string]any{"weight": 2})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Configure(context.Background(), sdk.Setup{Config: cfg}); err != nil {
		t.Fatal(err)
	}
	out, err := c.Eval(context.Background(), sdk.LossInput{Z: sdk.Tensor{Shape: []int{2, 2}, Data: []float32{3, 4, 0, 0}}})
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(out.Value-25) > 1e-12 {
		t.Fatalf("L = %v, want 25", out.Value)
	}
	want := []float32{6, 8, 0, 0}
	for i, g := range out.GradZ.Data {
		if g != want[i] {
			t.Fatalf("∂L/∂z = %v, want %v", out.GradZ.Data, want)
		}
	}
}
