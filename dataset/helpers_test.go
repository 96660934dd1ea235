package dataset

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
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

// loadChecked loads with a checked allocator and fails the test if Arrow
// memory leaks.
func loadChecked(t *testing.T, path string, opt Options) (*Dataset, error) {
	t.Helper()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	return load(path, opt, mem)
}

func writeFile(t *testing.T, path string, data []byte) string {
	t.Helper()
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// idxBytes encodes an unsigned-byte idx file, gzipped when gz is set.
func idxBytes(t *testing.T, dims []int, data []byte, gz bool) []byte {
	t.Helper()
	var b bytes.Buffer
	b.Write([]byte{0, 0, 8, byte(len(dims))})
	for _, d := range dims {
		binary.Write(&b, binary.BigEndian, uint32(d))
	}
	b.Write(data)
	if !gz {
		return b.Bytes()
	}
	var z bytes.Buffer
	zw := gzip.NewWriter(&z)
	if _, err := zw.Write(b.Bytes()); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return z.Bytes()
}

// column is one named column of a test record. values is []float64,
// []float32, []int64, []int32, []uint8, []string, []*float64 (nil = null),
// fixedList (FixedSizeList<float32>), [][]float32 (List<float32>) or
// [][]float64 (List<float64>).
type column struct {
	name   string
	values any
}

type fixedList [][]float32

// makeRecord builds a record of the given columns.
func makeRecord(t *testing.T, cols ...column) arrow.Record {
	t.Helper()
	mem := memory.NewGoAllocator()
	fields := make([]arrow.Field, len(cols))
	arrs := make([]arrow.Array, len(cols))
	n := 0
	for i, c := range cols {
		var b array.Builder
		switch v := c.values.(type) {
		case []float64:
			fb := array.NewFloat64Builder(mem)
			fb.AppendValues(v, nil)
			b, n = fb, len(v)
		case []float32:
			fb := array.NewFloat32Builder(mem)
			fb.AppendValues(v, nil)
			b, n = fb, len(v)
		case []int64:
			ib := array.NewInt64Builder(mem)
			ib.AppendValues(v, nil)
			b, n = ib, len(v)
		case []int32:
			ib := array.NewInt32Builder(mem)
			ib.AppendValues(v, nil)
			b, n = ib, len(v)
		case []uint8:
			ib := array.NewUint8Builder(mem)
			ib.AppendValues(v, nil)
			b, n = ib, len(v)
		case []string:
			sb := array.NewStringBuilder(mem)
			sb.AppendValues(v, nil)
			b, n = sb, len(v)
		case []*float64:
			fb := array.NewFloat64Builder(mem)
			for _, p := range v {
				if p == nil {
					fb.AppendNull()
				} else {
					fb.Append(*p)
				}
			}
			b, n = fb, len(v)
		case fixedList:
			lb := array.NewFixedSizeListBuilder(mem, int32(len(v[0])), arrow.PrimitiveTypes.Float32)
			for _, row := range v {
				lb.Append(true)
				lb.ValueBuilder().(*array.Float32Builder).AppendValues(row, nil)
			}
			b, n = lb, len(v)
		case [][]float32:
			lb := array.NewListBuilder(mem, arrow.PrimitiveTypes.Float32)
			for _, row := range v {
				lb.Append(true)
				lb.ValueBuilder().(*array.Float32Builder).AppendValues(row, nil)
			}
			b, n = lb, len(v)
		case [][]float64:
			lb := array.NewListBuilder(mem, arrow.PrimitiveTypes.Float64)
			for _, row := range v {
				lb.Append(true)
				lb.ValueBuilder().(*array.Float64Builder).AppendValues(row, nil)
			}
			b, n = lb, len(v)
		default:
			t.Fatalf("column %s: unsupported test values %T", c.name, c.values)
		}
		arrs[i] = b.NewArray()
		b.Release()
		defer arrs[i].Release()
		// Nullable: pqarrow v15 mis-reads non-nullable list columns
		// (apache/arrow-go#584).
		fields[i] = arrow.Field{Name: c.name, Type: arrs[i].DataType(), Nullable: true}
	}
	return array.NewRecord(arrow.NewSchema(fields, nil), arrs, int64(n))
}

// writeArrow writes records as an Arrow IPC file, or a stream when stream
// is set.
func writeArrow(t *testing.T, path string, stream bool, recs ...arrow.Record) string {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	schema := recs[0].Schema()
	var w interface {
		Write(arrow.Record) error
		Close() error
	}
	if stream {
		w = ipc.NewWriter(f, ipc.WithSchema(schema))
	} else if w, err = ipc.NewFileWriter(f, ipc.WithSchema(schema)); err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		if err := w.Write(r); err != nil {
			t.Fatal(err)
		}
		r.Release()
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// writeParquet writes records as a Parquet file, one row group each.
func writeParquet(t *testing.T, path string, recs ...arrow.Record) string {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w, err := pqarrow.NewFileWriter(recs[0].Schema(), f, parquet.NewWriterProperties(), pqarrow.DefaultWriterProps())
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		if err := w.Write(r); err != nil {
			t.Fatal(err)
		}
		r.Release()
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

func tempPath(t *testing.T, name string) string {
	return filepath.Join(t.TempDir(), name)
}
