package pipeline

import (
	"context"
	"math/rand/v2"

	"github.com/deepclust/deepclust/sdk"
)

// Source is the training input seen as streams of batches, so that data
// larger than memory can be trained on: Data holds it in memory, a
// streaming reader (internal/lake) reads a file per pass.
type Source interface {
	// Rows returns the number of samples.
	Rows() int
	// SampleShape returns the shape of one sample.
	SampleShape() []int
	// Truth returns the ground-truth class of every sample, or nil.
	Truth() []int32
	// Shuffled calls fn with the batches of one epoch, each of at most
	// size samples, in an order drawn from rng; idx holds the samples'
	// row numbers. x and idx are only valid during the call.
	Shuffled(ctx context.Context, size int, rng *rand.Rand, fn func(x sdk.Tensor, idx []int64) error) error
	// InOrder calls fn with consecutive chunks of at most size samples in
	// row order; lo is the row number of the chunk's first sample.
	InOrder(ctx context.Context, size int, fn func(lo int, x sdk.Tensor) error) error
}

// Rows implements Source.
func (d Data) Rows() int { return d.X.Rows() }

// SampleShape implements Source.
func (d Data) SampleShape() []int { return d.X.Shape[1:] }

// Truth implements Source.
func (d Data) Truth() []int32 { return d.Labels }

// Shuffled implements Source: a fresh permutation of all samples per epoch.
func (d Data) Shuffled(ctx context.Context, size int, rng *rand.Rand, fn func(x sdk.Tensor, idx []int64) error) error {
	return d.batches(ctx, rng.Perm(d.Rows()), size, fn)
}

// batches calls fn with the samples of order in batches of at most size.
func (d Data) batches(ctx context.Context, order []int, size int, fn func(x sdk.Tensor, idx []int64) error) error {
	cols := d.X.Cols()
	buf := make([]float32, min(size, len(order))*cols)
	idx := make([]int64, min(size, len(order)))
	for lo := 0; lo < len(order); lo += size {
		if err := ctx.Err(); err != nil {
			return err
		}
		rows := order[lo:min(lo+size, len(order))]
		data := buf[:len(rows)*cols]
		for i, r := range rows {
			copy(data[i*cols:(i+1)*cols], d.X.Data[r*cols:(r+1)*cols])
			idx[i] = int64(r)
		}
		shape := append([]int{len(rows)}, d.X.Shape[1:]...)
		if err := fn(sdk.Tensor{Shape: shape, Data: data}, idx[:len(rows)]); err != nil {
			return err
		}
	}
	return nil
}

// InOrder implements Source with slices of X, without copying.
func (d Data) InOrder(ctx context.Context, size int, fn func(lo int, x sdk.Tensor) error) error {
	n, cols := d.Rows(), d.X.Cols()
	for lo := 0; lo < n; lo += size {
		if err := ctx.Err(); err != nil {
			return err
		}
		hi := min(lo+size, n)
		shape := append([]int{hi - lo}, d.X.Shape[1:]...)
		if err := fn(lo, sdk.Tensor{Shape: shape, Data: d.X.Data[lo*cols : hi*cols]}); err != nil {
			return err
		}
	}
	return nil
}
