package lake

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/ipc"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/apache/arrow/go/v15/parquet"
	"github.com/apache/arrow/go/v15/parquet/pqarrow"
)

// checkedMem returns an allocator that fails the test if any Arrow buffer
// is still held when the test ends.
func checkedMem(t *testing.T) *memory.CheckedAllocator {
	t.Helper()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	t.Cleanup(func() { mem.AssertSize(t, 0) })
	return mem
}

// table describes a small test table: row i has id 100+i, name "n<i>",
// features f0 = i, f1 = -i, vec = [i, 2i], label i%3. nullAt, when >= 0,
// makes f1 (and vec) of that row null.
type table struct {
	rows, nullAt int
}

func (tb table) record(mem memory.Allocator) arrow.Record {
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "name", Type: arrow.BinaryTypes.String},
		{Name: "f0", Type: arrow.PrimitiveTypes.Float64},
		{Name: "f1", Type: arrow.PrimitiveTypes.Float32, Nullable: true},
		{Name: "vec", Type: arrow.ListOf(arrow.PrimitiveTypes.Float32), Nullable: true},
		{Name: "label", Type: arrow.PrimitiveTypes.Int32},
	}, nil)
	b := array.NewRecordBuilder(mem, schema)
	defer b.Release()
	for i := range tb.rows {
		b.Field(0).(*array.Int64Builder).Append(int64(100 + i))
		b.Field(1).(*array.StringBuilder).Append("n" + itoa(i))
		b.Field(2).(*array.Float64Builder).Append(float64(i))
		vec := b.Field(4).(*array.ListBuilder)
		if i == tb.nullAt {
			b.Field(3).AppendNull()
			vec.AppendNull()
		} else {
			b.Field(3).(*array.Float32Builder).Append(float32(-i))
			vec.Append(true)
			vec.ValueBuilder().(*array.Float32Builder).AppendValues([]float32{float32(i), float32(2 * i)}, nil)
		}
		b.Field(5).(*array.Int32Builder).Append(int32(i % 3))
	}
	return b.NewRecord()
}

func itoa(i int) string {
	if i == 0 {
		return "0"
	}
	var d []byte
	for ; i > 0; i /= 10 {
		d = append([]byte{byte('0' + i%10)}, d...)
	}
	return string(d)
}

// writeParquet writes rec to path in row groups of rowGroup rows.
func writeParquet(t *testing.T, path string, rec arrow.Record, rowGroup int64) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w, err := pqarrow.NewFileWriter(rec.Schema(), f, parquet.NewWriterProperties(parquet.WithMaxRowGroupLength(rowGroup)), pqarrow.DefaultWriterProps())
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(rec); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

// arrowStream returns rec as Arrow IPC stream bytes, in batches of at most
// chunk rows.
func arrowStream(t *testing.T, rec arrow.Record, chunk int64) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := ipc.NewWriter(&buf, ipc.WithSchema(rec.Schema()))
	for lo := int64(0); lo < rec.NumRows(); lo += chunk {
		s := rec.NewSlice(lo, min(lo+chunk, rec.NumRows()))
		if err := w.Write(s); err != nil {
			t.Fatal(err)
		}
		s.Release()
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// readAll reads every batch of r, checking the batch bound, and returns
// the rows, features, labels and the id columns as strings.
type gathered struct {
	batches int
	rows    []int64
	x       []float32
	cols    int
	labels  []int32
	ids     [][]string
}

func readAll(t *testing.T, r *Reader, maxRows int) (gathered, error) {
	t.Helper()
	var g gathered
	g.ids = make([][]string, len(r.IDFields()))
	for {
		b, err := r.Next(context.Background())
		if errors.Is(err, io.EOF) {
			return g, nil
		}
		if err != nil {
			return g, err
		}
		if b.X.Rows() > maxRows || b.X.Rows() == 0 {
			t.Fatalf("batch of %d rows, want 1 to %d", b.X.Rows(), maxRows)
		}
		if b.Rows[0] < b.RowOffset || len(b.Rows) != b.X.Rows() {
			t.Fatalf("batch rows %v do not start at or after offset %d", b.Rows, b.RowOffset)
		}
		g.batches++
		g.rows = append(g.rows, b.Rows...)
		g.x = append(g.x, b.X.Data...)
		g.cols = b.X.Cols()
		g.labels = append(g.labels, b.Labels...)
		for j, a := range b.IDs {
			if a.Len() != b.X.Rows() {
				t.Fatalf("id column %d has %d rows, batch %d", j, a.Len(), b.X.Rows())
			}
			for i := range a.Len() {
				g.ids[j] = append(g.ids[j], a.ValueStr(i))
			}
		}
		b.Release()
	}
}
