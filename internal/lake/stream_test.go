package lake

import (
	"context"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/deepclust/deepclust/sdk"
)

// TestStreamPasses checks a Stream over a Parquet file of 1000 rows (row i:
// f0 = i, f1 = -i, label i%3) read in batches of 128 with a shuffle buffer
// of 300 rows: InOrder sees every row in order; an epoch of Shuffled sees
// every row once, with its row number as index, shuffled only within
// blocks of 300 rows; the same seed gives the same order.
func TestStreamPasses(t *testing.T) {
	mem := checkedMem(t)
	rec := table{rows: 1000, nullAt: -1}.record(mem)
	defer rec.Release()
	path := filepath.Join(t.TempDir(), "t.parquet")
	writeParquet(t, path, rec, 256)
	ctx := context.Background()
	s, err := OpenStream(ctx, path, Options{Features: []string{"f0", "f1"}, BatchRows: 128, Allocator: mem}, 300)
	if err != nil {
		t.Fatal(err)
	}
	if s.Rows() != 1000 || !slices.Equal(s.SampleShape(), []int{2}) || len(s.Truth()) != 1000 || s.Truth()[5] != 2 {
		t.Fatalf("rows %d shape %v labels %d", s.Rows(), s.SampleShape(), len(s.Truth()))
	}
	next := 0
	err = s.InOrder(ctx, 100, func(lo int, x sdk.Tensor) error {
		if lo != next || x.Rows() > 100 {
			t.Fatalf("chunk at %d of %d rows, want it at %d", lo, x.Rows(), next)
		}
		for i := range x.Rows() {
			if x.Data[2*i] != float32(lo+i) || x.Data[2*i+1] != float32(-(lo+i)) {
				t.Fatalf("row %d reads %v", lo+i, x.Row(i))
			}
		}
		next += x.Rows()
		return nil
	})
	if err != nil || next != 1000 {
		t.Fatalf("InOrder: %v after %d rows", err, next)
	}
	epoch := func(seed uint64) []int64 {
		var order []int64
		err := s.Shuffled(ctx, 64, rand.New(rand.NewPCG(seed, 1)), func(x sdk.Tensor, idx []int64) error {
			for i, r := range idx {
				if x.Data[2*i] != float32(r) {
					t.Fatalf("index %d carries row %v", r, x.Row(i))
				}
			}
			order = append(order, idx...)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return order
	}
	a, b, c := epoch(1), epoch(1), epoch(2)
	if !slices.Equal(a, b) || slices.Equal(a, c) {
		t.Fatal("the seed does not fix the epoch's order")
	}
	for i, r := range a {
		if r/300 != int64(i)/300 {
			t.Fatalf("position %d holds row %d: shuffled beyond its block of 300", i, r)
		}
	}
	slices.Sort(a)
	for i, r := range a {
		if r != int64(i) {
			t.Fatalf("an epoch missed or repeated row %d", i)
		}
	}
}

// TestStreamErrors checks that a missing column fails when the stream is
// opened, naming the file and the column.
func TestStreamErrors(t *testing.T) {
	mem := checkedMem(t)
	rec := table{rows: 10, nullAt: -1}.record(mem)
	defer rec.Release()
	path := filepath.Join(t.TempDir(), "t.parquet")
	writeParquet(t, path, rec, 256)
	_, err := OpenStream(context.Background(), path, Options{Features: []string{"nope"}, Allocator: mem}, 0)
	if err == nil || !strings.Contains(err.Error(), "t.parquet") || !strings.Contains(err.Error(), "nope") {
		t.Fatalf("got %v", err)
	}
}

// TestStreamDropsNullRows checks that with Nulls drop the stream numbers
// the remaining rows densely: 1000 rows with row 10's f1 null give 999 rows,
// row 10 being input row 11.
func TestStreamDropsNullRows(t *testing.T) {
	mem := checkedMem(t)
	rec := table{rows: 1000, nullAt: 10}.record(mem)
	defer rec.Release()
	path := filepath.Join(t.TempDir(), "t.parquet")
	writeParquet(t, path, rec, 256)
	ctx := context.Background()
	s, err := OpenStream(ctx, path, Options{Features: []string{"f0", "f1"}, Nulls: NullsDrop, Allocator: mem}, 128)
	if err != nil {
		t.Fatal(err)
	}
	if s.Rows() != 999 || len(s.Truth()) != 999 {
		t.Fatalf("%d rows, %d labels; want 999", s.Rows(), len(s.Truth()))
	}
	err = s.InOrder(ctx, 1000, func(lo int, x sdk.Tensor) error {
		if lo <= 10 && lo+x.Rows() > 10 && x.Row(10 - lo)[0] != 11 {
			t.Fatalf("row 10 is %v, want input row 11", x.Row(10-lo))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := OpenStream(ctx, path, Options{Features: []string{"f0", "f1"}, Allocator: mem}, 128); err == nil || !strings.Contains(err.Error(), `"f1"`) {
		t.Fatalf("nulls as errors: %v", err)
	}
}
