package sdk

import (
	"fmt"
	"math"
)

// Tensor is a dense, row-major float32 tensor. Shape[0] is the number of
// samples (rows); the remaining dimensions describe one sample, for example
// [N, D] for feature vectors or [N, C, H, W] for images. The zero Tensor is
// empty and stands for "absent" in requests and results.
type Tensor struct {
	Shape []int
	Data  []float32
}

// NewTensor returns a zero-filled tensor of the given shape.
func NewTensor(shape ...int) Tensor {
	n := 1
	for _, s := range shape {
		n *= s
	}
	return Tensor{Shape: append([]int(nil), shape...), Data: make([]float32, n)}
}

// Empty reports whether t holds no shape (the "absent" tensor).
func (t Tensor) Empty() bool { return len(t.Shape) == 0 }

// Rows returns Shape[0], the number of samples, or 0 for an empty tensor.
func (t Tensor) Rows() int {
	if len(t.Shape) == 0 {
		return 0
	}
	return t.Shape[0]
}

// Cols returns the number of values per sample: the product of Shape[1:].
func (t Tensor) Cols() int {
	if len(t.Shape) == 0 {
		return 0
	}
	n := 1
	for _, s := range t.Shape[1:] {
		n *= s
	}
	return n
}

// Row returns the values of sample i, sharing memory with t.
func (t Tensor) Row(i int) []float32 {
	c := t.Cols()
	return t.Data[i*c : (i+1)*c]
}

// Clone returns a deep copy of t.
func (t Tensor) Clone() Tensor {
	if t.Empty() {
		return Tensor{}
	}
	return Tensor{Shape: append([]int(nil), t.Shape...), Data: append([]float32(nil), t.Data...)}
}

// Validate checks that the shape is non-negative, that Data holds exactly
// the product of Shape values, and that every value is finite.
func (t Tensor) Validate() error {
	if t.Empty() {
		if len(t.Data) != 0 {
			return fmt.Errorf("tensor has %d values but no shape", len(t.Data))
		}
		return nil
	}
	n := 1
	for _, s := range t.Shape {
		if s < 0 {
			return fmt.Errorf("tensor shape %v has a negative dimension", t.Shape)
		}
		n *= s
	}
	if n != len(t.Data) {
		return fmt.Errorf("tensor shape %v needs %d values, has %d", t.Shape, n, len(t.Data))
	}
	// A float32 is NaN or ±Inf exactly when its 8 exponent bits are all ones:
	// one mask and compare per value, a branch that is never taken on good
	// data (this runs on every tensor a plugin returns).
	for i, v := range t.Data {
		if math.Float32bits(v)&0x7f800000 == 0x7f800000 {
			return fmt.Errorf("tensor value %d (row %d) is %v", i, i/max(t.Cols(), 1), v)
		}
	}
	return nil
}

// CheckShape returns an error unless t has exactly the given shape; a
// negative entry in want matches any size in that dimension.
func (t Tensor) CheckShape(want ...int) error {
	if len(t.Shape) != len(want) {
		return fmt.Errorf("tensor shape %v, want %v", t.Shape, want)
	}
	for i, w := range want {
		if w >= 0 && t.Shape[i] != w {
			return fmt.Errorf("tensor shape %v, want %v", t.Shape, want)
		}
	}
	return nil
}
