package lake

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/ipc"
	"github.com/apache/arrow/go/v15/parquet/file"
	"github.com/apache/arrow/go/v15/parquet/pqarrow"

	"github.com/deepclust/deepclust/sdk"
)

// writeOutputs writes 250 rows in batches of 60 (row r: cluster r%4,
// embedding [r, -r, 0.5], distance r/2, id "k<r>").
func writeOutputs(t *testing.T, w *Writer) {
	t.Helper()
	mem := checkedMem(t)
	for lo := 0; lo < 250; lo += 60 {
		n := min(60, 250-lo)
		o := Output{Z: sdk.NewTensor(n, 3)}
		sb := array.NewStringBuilder(mem)
		for i := range n {
			r := lo + i
			o.Rows = append(o.Rows, int64(r))
			o.Clusters = append(o.Clusters, int32(r%4))
			o.Distance = append(o.Distance, float32(r)/2)
			copy(o.Z.Row(i), []float32{float32(r), -float32(r), 0.5})
			sb.Append("k" + itoa(r))
		}
		ids := sb.NewArray()
		sb.Release()
		o.IDs = []arrow.Array{ids}
		if err := w.Write(o); err != nil {
			t.Fatal(err)
		}
		ids.Release()
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

// checkOutputs checks the table writeOutputs wrote.
func checkOutputs(t *testing.T, tbl arrow.Table) {
	t.Helper()
	want := "row: int64, key: utf8, cluster: int32, distance: float32, embedding: fixed_size_list<item: float32, nullable>[3]"
	var got []string
	for _, f := range tbl.Schema().Fields() {
		got = append(got, f.Name+": "+f.Type.String())
	}
	if strings.Join(got, ", ") != want {
		t.Fatalf("schema %s, want %s", strings.Join(got, ", "), want)
	}
	if tbl.NumRows() != 250 {
		t.Fatalf("%d rows", tbl.NumRows())
	}
	row := 0
	for _, c := range tbl.Column(4).Data().Chunks() {
		l := c.(*array.FixedSizeList)
		vals := l.ListValues().(*array.Float32)
		for i := range l.Len() {
			if l.IsNull(i) || vals.Value(3*i+1) != -float32(row) {
				t.Fatalf("embedding of row %d reads back as %v", row, l.ValueStr(i))
			}
			row++
		}
	}
	key := tbl.Column(1).Data().Chunk(0).(*array.String)
	clu := tbl.Column(2).Data().Chunk(0).(*array.Int32)
	if key.Value(59) != "k59" || clu.Value(7) != 3 {
		t.Fatalf("key %s cluster %d", key.Value(59), clu.Value(7))
	}
}

func TestParquetOutputRowGroupsAndTypes(t *testing.T) {
	mem := checkedMem(t)
	path := filepath.Join(t.TempDir(), "out.parquet")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	ids := []arrow.Field{{Name: "key", Type: arrow.BinaryTypes.String, Nullable: true}}
	w, err := NewWriter(f, ids, 3, WriterOptions{RowGroupRows: 100, Distance: true, Compression: CompressionSnappy, Allocator: mem})
	if err != nil {
		t.Fatal(err)
	}
	writeOutputs(t, w)
	rdr, err := file.OpenParquetFile(path, false)
	if err != nil {
		t.Fatal(err)
	}
	defer rdr.Close()
	if rdr.NumRowGroups() != 3 || rdr.MetaData().RowGroup(0).NumRows() != 100 {
		t.Fatalf("%d row groups (first %d rows), want 3 of at most 100", rdr.NumRowGroups(), rdr.MetaData().RowGroup(0).NumRows())
	}
	if c, err := rdr.MetaData().RowGroup(0).ColumnChunk(0); err != nil || c.Compression().String() != "SNAPPY" {
		t.Fatalf("compression %v (%v)", c.Compression(), err)
	}
	fr, err := pqarrow.NewFileReader(rdr, pqarrow.ArrowReadProperties{}, mem)
	if err != nil {
		t.Fatal(err)
	}
	tbl, err := fr.ReadTable(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer tbl.Release()
	checkOutputs(t, tbl)
}

func TestArrowOutputStream(t *testing.T) {
	mem := checkedMem(t)
	var buf bytes.Buffer
	ids := []arrow.Field{{Name: "key", Type: arrow.BinaryTypes.String, Nullable: true}}
	w, err := NewWriter(&buf, ids, 3, WriterOptions{Format: FormatArrow, Distance: true, Allocator: mem})
	if err != nil {
		t.Fatal(err)
	}
	writeOutputs(t, w)
	r, err := ipc.NewReader(&buf, ipc.WithAllocator(mem))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Release()
	var recs []arrow.Record
	for r.Next() {
		r.Record().Retain()
		recs = append(recs, r.Record())
	}
	tbl := array.NewTableFromRecords(r.Schema(), recs)
	for _, rec := range recs {
		rec.Release()
	}
	defer tbl.Release()
	checkOutputs(t, tbl)
}

func TestWriterRejectsBadOptions(t *testing.T) {
	var buf bytes.Buffer
	for _, c := range []struct {
		ids  []arrow.Field
		opt  WriterOptions
		want string
	}{
		{[]arrow.Field{{Name: "cluster", Type: arrow.PrimitiveTypes.Int64}}, WriterOptions{}, `id column "cluster" has the name of an output column`},
		{nil, WriterOptions{Compression: "lz4"}, `compression "lz4": parquet output takes zstd, snappy or none`},
		{nil, WriterOptions{Format: FormatArrow, Compression: "snappy"}, `compression "snappy": arrow output takes zstd, lz4 or none`},
		{nil, WriterOptions{Format: "csv"}, `unknown output format "csv"`},
	} {
		if _, err := NewWriter(&buf, c.ids, 2, c.opt); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: error %v, want %q", c.opt, err, c.want)
		}
	}
}

// TestSoftAssignmentsColumn writes 250 rows with soft assignments of two
// clusters (row r: [r/1000, 1 − r/1000]) in row groups of 100 and reads
// them back.
func TestSoftAssignmentsColumn(t *testing.T) {
	mem := checkedMem(t)
	path := filepath.Join(t.TempDir(), "out.parquet")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w, err := NewWriter(f, nil, 1, WriterOptions{RowGroupRows: 100, Soft: 2, Allocator: mem})
	if err != nil {
		t.Fatal(err)
	}
	for lo := 0; lo < 250; lo += 60 {
		n := min(60, 250-lo)
		o := Output{Z: sdk.NewTensor(n, 1), Soft: sdk.NewTensor(n, 2)}
		for i := range n {
			r := lo + i
			o.Rows, o.Clusters = append(o.Rows, int64(r)), append(o.Clusters, 0)
			copy(o.Soft.Row(i), []float32{float32(r) / 1000, 1 - float32(r)/1000})
		}
		if err := w.Write(o); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Write(Output{Rows: []int64{0}, Clusters: []int32{0}, Z: sdk.NewTensor(1, 1), Soft: sdk.NewTensor(1, 3)}); err == nil || !strings.Contains(err.Error(), "soft assignments of shape [1 3], want [1 2]") {
		t.Fatalf("wrong soft width: %v", err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	rdr, err := file.OpenParquetFile(path, false)
	if err != nil {
		t.Fatal(err)
	}
	defer rdr.Close()
	fr, err := pqarrow.NewFileReader(rdr, pqarrow.ArrowReadProperties{}, mem)
	if err != nil {
		t.Fatal(err)
	}
	tbl, err := fr.ReadTable(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer tbl.Release()
	if f := tbl.Schema().Field(2); f.Name != ColumnSoft || f.Type.String() != "fixed_size_list<item: float32, nullable>[2]" {
		t.Fatalf("soft field %v", f)
	}
	row := 0
	for _, c := range tbl.Column(2).Data().Chunks() {
		l := c.(*array.FixedSizeList)
		vals := l.ListValues().(*array.Float32)
		for i := range l.Len() {
			if l.IsNull(i) || vals.Value(2*i) != float32(row)/1000 || vals.Value(2*i+1) != 1-float32(row)/1000 {
				t.Fatalf("soft assignments of row %d read back as %v", row, l.ValueStr(i))
			}
			row++
		}
	}
	if row != 250 {
		t.Fatalf("%d rows", row)
	}
}
