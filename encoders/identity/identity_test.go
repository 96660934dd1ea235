package identity

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/deepclust/deepclust/sdk"
)

func configured(t *testing.T, shape ...int) *Encoder {
	t.Helper()
	e := New()
	cfg, err := sdk.ResolveConfig(e.Describe(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Configure(context.Background(), sdk.Setup{Config: cfg, InputShape: shape}); err != nil {
		t.Fatal(err)
	}
	return e
}

func TestForwardFlattens(t *testing.T) {
	ctx := context.Background()
	e := configured(t, 1, 2, 3)
	if d, err := e.EmbeddingDim(ctx); err != nil || d != 6 {
		t.Fatalf("EmbeddingDim = %d, %v; want 6", d, err)
	}
	x := sdk.NewTensor(2, 1, 2, 3)
	for i := range x.Data {
		x.Data[i] = float32(i) - 5.5
	}
	for _, in := range []sdk.Tensor{x, {Shape: []int{2, 6}, Data: x.Data}} {
		out, err := e.Forward(ctx, in, true)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(out.Z.Shape, []int{2, 6}) || !slices.Equal(out.Z.Data, x.Data) || !out.XHat.Empty() {
			t.Fatalf("Forward(%v) = z %v %v, x̂ %v", in.Shape, out.Z.Shape, out.Z.Data, out.XHat.Shape)
		}
		out.Z.Data[0] = 99
		if x.Data[0] == 99 {
			t.Fatal("z shares memory with x")
		}
	}
	if _, err := e.Forward(ctx, sdk.NewTensor(2, 5), false); err == nil || !strings.Contains(err.Error(), "want [N [1 2 3]] or [N 6]") {
		t.Errorf("wrong shape: %v", err)
	}
	empty, err := e.Forward(ctx, sdk.NewTensor(0, 6), false)
	if err != nil || empty.Z.Rows() != 0 {
		t.Errorf("empty batch: %v %v", empty.Z.Shape, err)
	}
}

func TestBackwardSaveLoad(t *testing.T) {
	ctx := context.Background()
	e := configured(t, 4)
	if err := e.Backward(ctx, sdk.BackwardRequest{GradZ: sdk.NewTensor(3, 4)}); err != nil {
		t.Fatal(err)
	}
	state, err := e.Save(ctx)
	if err != nil || !slices.Equal(state, []byte{1}) {
		t.Fatalf("Save = %v, %v; want [1]", state, err)
	}
	if err := configured(t, 4).Load(ctx, state); err != nil {
		t.Fatal(err)
	}
	for _, bad := range [][]byte{nil, {2}, {1, 0}} {
		if err := e.Load(ctx, bad); err == nil || !strings.Contains(err.Error(), "version byte 1") {
			t.Errorf("Load(%v): %v", bad, err)
		}
	}
}

func TestConfigureErrors(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		setup sdk.Setup
		want  string
	}{
		{sdk.Setup{}, "input shape is empty"},
		{sdk.Setup{InputShape: []int{3, 0}}, "non-positive dimension"},
		{sdk.Setup{InputShape: []int{3}, Config: sdk.Config{"width": 3}}, `unknown config key "width"`},
	} {
		if err := New().Configure(ctx, tc.setup); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: error %v, want %q", tc.setup, err, tc.want)
		}
	}
	e := New()
	if _, err := e.Forward(ctx, sdk.NewTensor(1, 1), false); err == nil {
		t.Error("Forward before Configure succeeded")
	}
	if _, err := e.EmbeddingDim(ctx); err == nil {
		t.Error("EmbeddingDim before Configure succeeded")
	}
	if _, err := sdk.ResolveConfig(e.Describe(), map[string]any{"width": 3}); err == nil {
		t.Error("ResolveConfig accepted a key the encoder does not have")
	}
}
