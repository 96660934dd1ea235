package lake

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"

	"github.com/deepclust/deepclust/sdk"
)

// DefaultShuffleRows is the shuffle buffer of a Stream when none is given:
// 262,144 rows (64 MiB at 64 float32 features).
const DefaultShuffleRows = 1 << 18

// Stream is a training input read from a file or lake on every pass, so
// that data larger than memory can be trained on: it implements
// pipeline.Source. Rows are numbered 0..Rows()-1 in input order, after
// dropped rows. An epoch's order is a bounded shuffle: the input is read
// in blocks of ShuffleRows rows, each block permuted on its own.
type Stream struct {
	path    string
	opt     Options
	shuffle int
	rows    int
	shape   []int
	labels  []int32
}

// OpenStream checks the input at path with one full pass, counting its
// rows and keeping its labels (4 bytes a row), and returns a Stream that
// reads it again for each pass. shuffleRows bounds the shuffle buffer
// (DefaultShuffleRows when 0). opt.IDs and opt.Stdin are not used.
func OpenStream(ctx context.Context, path string, opt Options, shuffleRows int) (*Stream, error) {
	if shuffleRows <= 0 {
		shuffleRows = DefaultShuffleRows
	}
	opt.IDs, opt.Stdin = nil, nil
	s := &Stream{path: path, opt: opt, shuffle: shuffleRows}
	labelled := true
	err := s.read(ctx, func(b Batch) error {
		if s.shape == nil {
			s.shape = append([]int(nil), b.X.Shape[1:]...)
		}
		s.rows += b.X.Rows()
		if b.Labels == nil {
			labelled = false
		}
		if labelled {
			s.labels = append(s.labels, b.Labels...)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if s.rows == 0 {
		return nil, fmt.Errorf("reading %s: no rows", displayName(path))
	}
	if !labelled {
		s.labels = nil
	}
	return s, nil
}

// read calls fn with every batch of one pass over the input.
func (s *Stream) read(ctx context.Context, fn func(Batch) error) error {
	r, err := Open(s.path, s.opt)
	if err != nil {
		return err
	}
	defer r.Close()
	for {
		b, err := r.Next(ctx)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		err = fn(b)
		b.Release()
		if err != nil {
			return err
		}
	}
}

// Rows returns the number of rows.
func (s *Stream) Rows() int { return s.rows }

// SampleShape returns the shape of one sample.
func (s *Stream) SampleShape() []int { return s.shape }

// Truth returns the labels, or nil when the input has none.
func (s *Stream) Truth() []int32 { return s.labels }

// Shuffled reads the input once, in blocks of the shuffle buffer's size,
// and calls fn with batches of at most size rows drawn from a random
// permutation of each block.
func (s *Stream) Shuffled(ctx context.Context, size int, rng *rand.Rand, fn func(x sdk.Tensor, idx []int64) error) error {
	cols := 1
	for _, d := range s.shape {
		cols *= d
	}
	block := make([]float32, 0, s.shuffle*cols)
	first := 0 // row number of the block's first row
	batch := make([]float32, size*cols)
	idx := make([]int64, size)
	flush := func() error {
		n := len(block) / cols
		order := rng.Perm(n)
		for lo := 0; lo < n; lo += size {
			rows := order[lo:min(lo+size, n)]
			data := batch[:len(rows)*cols]
			for i, r := range rows {
				copy(data[i*cols:(i+1)*cols], block[r*cols:(r+1)*cols])
				idx[i] = int64(first + r)
			}
			x := sdk.Tensor{Shape: append([]int{len(rows)}, s.shape...), Data: data}
			if err := fn(x, idx[:len(rows)]); err != nil {
				return err
			}
		}
		first += n
		block = block[:0]
		return nil
	}
	err := s.read(ctx, func(b Batch) error {
		data := b.X.Data
		for len(data) > 0 {
			take := min(len(data), cap(block)-len(block))
			block = append(block, data[:take]...)
			data = data[take:]
			if len(block) == cap(block) {
				if err := flush(); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err == nil && len(block) > 0 {
		err = flush()
	}
	if err == nil && first != s.rows {
		err = fmt.Errorf("reading %s: %d rows on this pass, %d when opened", displayName(s.path), first, s.rows)
	}
	return err
}

// InOrder reads the input once and calls fn with its rows in order, in
// chunks of at most size rows.
func (s *Stream) InOrder(ctx context.Context, size int, fn func(lo int, x sdk.Tensor) error) error {
	lo := 0
	err := s.read(ctx, func(b Batch) error {
		for start := 0; start < b.X.Rows(); start += size {
			end := min(start+size, b.X.Rows())
			cols := b.X.Cols()
			x := sdk.Tensor{Shape: append([]int{end - start}, s.shape...), Data: b.X.Data[start*cols : end*cols]}
			if err := fn(lo, x); err != nil {
				return err
			}
			lo += end - start
		}
		return nil
	})
	if err == nil && lo != s.rows {
		err = fmt.Errorf("reading %s: %d rows on this pass, %d when opened", displayName(s.path), lo, s.rows)
	}
	return err
}
