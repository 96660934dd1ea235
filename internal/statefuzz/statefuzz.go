// Package statefuzz holds the fuzz targets of the plugins' state decoders
// (clusterers' and encoders' Load), which every package with a state
// calls from its own FuzzState: a saved model is read back from disk, so
// Load must turn any bytes into a usable plugin or an error, never a panic
// or an allocation the bytes do not justify.
package statefuzz

import (
	"context"
	"encoding/binary"
	"testing"

	"github.com/deepclust/deepclust/sdk"
)

// seeds returns a valid state and damaged copies of it: truncated, empty,
// with a flipped byte in its header and in its body, and with each
// little-endian uint64 equal to rows (a count of samples) raised by 2^62,
// which multiplied by 4 wraps around to the same byte count.
func seeds(state []byte, rows int) [][]byte {
	out := [][]byte{state, nil, state[:len(state)/2]}
	for at := 0; at+8 <= len(state); at++ {
		if binary.LittleEndian.Uint64(state[at:]) == uint64(rows) {
			b := append([]byte(nil), state...)
			binary.LittleEndian.PutUint64(b[at:], uint64(rows)+1<<62)
			out = append(out, b)
		}
	}
	for _, at := range []int{min(9, len(state)-1), len(state) / 2, len(state) - 1} {
		if at >= 0 {
			b := append([]byte(nil), state...)
			b[at] ^= 0x80
			out = append(out, b)
		}
	}
	return out
}

// Clusterer fuzzes the state decoder of the clusterer configure returns
// (configured, not fitted). The seeds come from one fitted on z. A state
// that loads must assign z to clusters in [0, k) and save a state that
// loads again.
func Clusterer(f *testing.F, configure func(testing.TB) sdk.Clusterer, z sdk.Tensor) {
	ctx := context.Background()
	c := configure(f)
	if _, err := c.Fit(ctx, z); err != nil {
		f.Fatal(err)
	}
	state, err := c.Save(ctx)
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range seeds(state, z.Rows()) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		c := configure(t)
		if err := c.Load(ctx, b); err != nil {
			return
		}
		a, err := c.Assign(ctx, z)
		if err != nil {
			t.Fatalf("Assign after a Load that succeeded: %v", err)
		}
		if len(a.Labels) != z.Rows() {
			t.Fatalf("Assign gave %d labels for %d rows", len(a.Labels), z.Rows())
		}
		again, err := c.Save(ctx)
		if err != nil {
			t.Fatalf("Save after a Load that succeeded: %v", err)
		}
		if err := configure(t).Load(ctx, again); err != nil {
			t.Fatalf("the state saved after Load does not load: %v", err)
		}
	})
}

// Encoder fuzzes the state decoder of the encoder configure returns
// (configured, untrained). The seeds come from one trained a step on x. A
// state that loads must embed x and save a state that loads again.
func Encoder(f *testing.F, configure func(testing.TB) sdk.Encoder, x sdk.Tensor) {
	ctx := context.Background()
	e := configure(f)
	fw, err := e.Forward(ctx, x, true)
	if err != nil {
		f.Fatal(err)
	}
	if err := e.Backward(ctx, sdk.BackwardRequest{GradZ: fw.Z}); err != nil {
		f.Fatal(err)
	}
	state, err := e.Save(ctx)
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range seeds(state, x.Rows()) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		e := configure(t)
		if err := e.Load(ctx, b); err != nil {
			return
		}
		fw, err := e.Forward(ctx, x, false)
		if err != nil {
			t.Fatalf("Forward after a Load that succeeded: %v", err)
		}
		if fw.Z.Rows() != x.Rows() {
			t.Fatalf("Forward gave %d embeddings for %d rows", fw.Z.Rows(), x.Rows())
		}
		again, err := e.Save(ctx)
		if err != nil {
			t.Fatalf("Save after a Load that succeeded: %v", err)
		}
		if err := configure(t).Load(ctx, again); err != nil {
			t.Fatalf("the state saved after Load does not load: %v", err)
		}
	})
}

// Blobs returns n points of dim features in three well-separated groups,
// a fixed pattern for seeding the states.
func Blobs(n, dim int) sdk.Tensor {
	z := sdk.NewTensor(n, dim)
	for i := range n {
		for j := range dim {
			z.Data[i*dim+j] = float32(5*(i%3)) + float32((i*7+j*3)%5)/10
		}
	}
	return z
}
