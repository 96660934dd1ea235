package serve

import (
	"slices"
	"testing"

	"github.com/deepclust/deepclust/sdk"
)

// FuzzDecodeTensor feeds DecodeTensor arbitrary bytes, the wire format of
// every tensor a plugin or host receives: it returns a tensor whose shape
// matches its data, or an error, and never panics or runs out of memory.
// A decoded tensor encodes and decodes back to itself.
func FuzzDecodeTensor(f *testing.F) {
	for _, t := range []sdk.Tensor{
		{},
		{Shape: []int{2, 3}, Data: []float32{1, 2, 3, 4, 5, 6}},
		{Shape: []int{1, 1, 2, 2}, Data: []float32{-1, 0, 0.5, 1e30}},
		{Shape: []int{0, 4}, Data: []float32{}},
	} {
		b, err := EncodeTensor(t)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("not arrow"))
	f.Fuzz(func(t *testing.T, b []byte) {
		x, err := DecodeTensor(b)
		if err != nil {
			return
		}
		n := 1
		for _, d := range x.Shape {
			n *= d
		}
		if len(x.Shape) > 0 && n != len(x.Data) {
			t.Fatalf("decoded shape %v with %d values", x.Shape, len(x.Data))
		}
		again, err := EncodeTensor(x)
		if err != nil {
			t.Fatalf("re-encoding a decoded tensor of shape %v: %v", x.Shape, err)
		}
		y, err := DecodeTensor(again)
		if err != nil || !slices.Equal(x.Shape, y.Shape) || !slices.EqualFunc(x.Data, y.Data, func(a, b float32) bool { return a == b || (a != a && b != b) }) {
			t.Fatalf("round trip of shape %v: %v", x.Shape, err)
		}
	})
}
