package dataset

import (
	"fmt"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"

	"github.com/deepclust/deepclust/sdk"
)

// RowBatch is a batch of rows read from a table, every field in the same
// row order: what a streaming reader hands on after Extract.
type RowBatch struct {
	// X holds the features, rows × features (or rows × sample shape).
	X sdk.Tensor
	// Labels holds the labels, or nil without a label column.
	Labels []int32
	// Rows holds the input row number of each row of X.
	Rows []int64
	// IDs holds id columns passed through, one array per column, each of
	// X's rows; Release releases them.
	IDs []arrow.Array
}

// Release releases the batch's id arrays.
func (b *RowBatch) Release() {
	for _, a := range b.IDs {
		a.Release()
	}
	b.IDs = nil
}

// Drop removes the rows flagged in drop (one flag per row, such as
// Extracted.Missing) from b in place, keeping the order of the rest, and
// returns how many it removed. X becomes a rows × features matrix (a
// caller with a sample shape reshapes it); each id array is replaced by
// one of the kept rows, allocated from mem, and the old one released.
// idFields name the id columns in errors.
func (b *RowBatch) Drop(drop []bool, idFields []arrow.Field, mem memory.Allocator) (int, error) {
	keep := make([]int, 0, len(drop))
	for i, d := range drop {
		if !d {
			keep = append(keep, i)
		}
	}
	cols := b.X.Cols()
	for to, from := range keep {
		copy(b.X.Data[to*cols:(to+1)*cols], b.X.Data[from*cols:(from+1)*cols])
		b.Rows[to] = b.Rows[from]
		if b.Labels != nil {
			b.Labels[to] = b.Labels[from]
		}
	}
	b.X = sdk.Tensor{Shape: []int{len(keep), cols}, Data: b.X.Data[:len(keep)*cols]}
	b.Rows = b.Rows[:len(keep)]
	if b.Labels != nil {
		b.Labels = b.Labels[:len(keep)]
	}
	for i, a := range b.IDs {
		taken, err := takeRuns(a, keep, mem)
		if err != nil {
			return 0, fmt.Errorf("dropping rows of id column %q: %w", idFields[i].Name, err)
		}
		a.Release()
		b.IDs[i] = taken
	}
	return len(drop) - len(keep), nil
}

// takeRuns returns the rows keep (increasing) of a, as concatenated
// slices of its consecutive runs.
func takeRuns(a arrow.Array, keep []int, mem memory.Allocator) (arrow.Array, error) {
	var runs []arrow.Array
	defer func() {
		for _, s := range runs {
			s.Release()
		}
	}()
	for lo := 0; lo < len(keep); {
		hi := lo + 1
		for hi < len(keep) && keep[hi] == keep[hi-1]+1 {
			hi++
		}
		runs = append(runs, array.NewSlice(a, int64(keep[lo]), int64(keep[hi-1]+1)))
		lo = hi
	}
	if len(runs) == 0 {
		return array.MakeArrayOfNull(mem, a.DataType(), 0), nil
	}
	return array.Concatenate(runs, mem)
}
