package results

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/apache/arrow/go/v15/parquet"
	"github.com/apache/arrow/go/v15/parquet/compress"
	"github.com/apache/arrow/go/v15/parquet/file"
	"github.com/apache/arrow/go/v15/parquet/pqarrow"

	"github.com/deepclust/deepclust/sdk"
)

func testEmbeddings(n, d int) sdk.Tensor {
	z := sdk.NewTensor(n, d)
	for i := range z.Data {
		z.Data[i] = float32(i)*0.25 - 3
	}
	return z
}

func TestAssignmentsRoundTrip(t *testing.T) {
	for _, withTruth := range []bool{true, false} {
		mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
		n, d := 1000, 3
		labels := make([]int32, n)
		var truth []int32
		if withTruth {
			truth = make([]int32, n)
		}
		for i := range labels {
			labels[i] = int32(i % 7)
			if truth != nil {
				truth[i] = int32((i * 13) % 10)
			}
		}
		z := testEmbeddings(n, d)
		path := filepath.Join(t.TempDir(), "assignments.parquet")
		if err := writeAssignments(path, labels, z, truth, mem); err != nil {
			t.Fatal(err)
		}
		got, err := readAssignments(path, mem)
		if err != nil {
			t.Fatal(err)
		}
		mem.AssertSize(t, 0)
		for i, r := range got.Rows {
			if r != int64(i) {
				t.Fatalf("row %d holds row index %d", i, r)
			}
		}
		if len(got.Rows) != n || !slices.Equal(got.Clusters, labels) || !slices.Equal(got.Truth, truth) {
			t.Errorf("truth=%v: rows %d, clusters or truth differ", withTruth, len(got.Rows))
		}
		if got.Z.CheckShape(n, d) != nil || !slices.Equal(got.Z.Data, z.Data) {
			t.Errorf("truth=%v: embeddings %v differ from %v", withTruth, got.Z.Shape, z.Shape)
		}
	}
}

// TestAssignmentsFileLayout reads the file with the Parquet and Arrow
// readers directly: column names, Arrow types and zstd compression.
func TestAssignmentsFileLayout(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a.parquet")
	if err := WriteAssignments(path, []int32{1, 0}, testEmbeddings(2, 4), []int32{5, 6}); err != nil {
		t.Fatal(err)
	}
	rdr, err := file.OpenParquetFile(path, false)
	if err != nil {
		t.Fatal(err)
	}
	defer rdr.Close()
	rg := rdr.MetaData().RowGroup(0)
	for i := 0; i < rg.NumColumns(); i++ {
		cc, err := rg.ColumnChunk(i)
		if err != nil {
			t.Fatal(err)
		}
		if cc.Compression() != compress.Codecs.Zstd {
			t.Errorf("column chunk %d compressed with %v, want zstd", i, cc.Compression())
		}
	}
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tbl, err := pqarrow.ReadTable(context.Background(), f, parquet.NewReaderProperties(mem), pqarrow.ArrowReadProperties{}, mem)
	if err != nil {
		t.Fatal(err)
	}
	defer mem.AssertSize(t, 0)
	defer tbl.Release()
	want := []struct {
		name string
		typ  arrow.DataType
	}{
		{"row", arrow.PrimitiveTypes.Int64},
		{"cluster", arrow.PrimitiveTypes.Int32},
		{"embedding", arrow.FixedSizeListOf(4, arrow.PrimitiveTypes.Float32)},
		{"label", arrow.PrimitiveTypes.Int32},
	}
	s := tbl.Schema()
	if s.NumFields() != len(want) {
		t.Fatalf("schema %v, want %d fields", s, len(want))
	}
	for i, w := range want {
		if f := s.Field(i); f.Name != w.name || !arrow.TypeEqual(f.Type, w.typ) {
			t.Errorf("field %d is %s %s, want %s %s", i, f.Name, f.Type, w.name, w.typ)
		}
	}
	if got := tbl.Column(3).Data().Chunk(0).(*array.Int32).Int32Values(); !slices.Equal(got, []int32{5, 6}) {
		t.Errorf("label column %v, want [5 6]", got)
	}
}

func TestWriteAssignmentsErrors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name   string
		labels []int32
		z      sdk.Tensor
		truth  []int32
		want   string
	}{
		{"row mismatch", []int32{0, 1, 2}, testEmbeddings(2, 3), nil, "3 cluster labels for 2 embeddings"},
		{"truth mismatch", []int32{0, 1}, testEmbeddings(2, 3), []int32{1}, "1 ground-truth labels for 2 rows"},
		{"no width", []int32{0, 1}, sdk.NewTensor(2, 0), nil, "no values per row"},
		{"bad data", []int32{0, 1}, sdk.Tensor{Shape: []int{2, 3}, Data: make([]float32, 5)}, nil, "hold 5 values"},
	}
	for _, tc := range tests {
		path := filepath.Join(dir, tc.name+".parquet")
		err := WriteAssignments(path, tc.labels, tc.z, tc.truth)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), path) {
			t.Errorf("%s: error %v, want one naming %s and containing %q", tc.name, err, path, tc.want)
		}
		if _, err := os.Stat(path); err == nil {
			t.Errorf("%s: a file was left behind", tc.name)
		}
	}
}

func TestReadAssignmentsRejectsOtherFiles(t *testing.T) {
	dir := t.TempDir()
	other := filepath.Join(dir, "other.parquet")
	schema := arrow.NewSchema([]arrow.Field{{Name: "x", Type: arrow.PrimitiveTypes.Float64}}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	b.Field(0).(*array.Float64Builder).AppendValues([]float64{1, 2}, nil)
	rec := b.NewRecord()
	b.Release()
	defer rec.Release()
	if err := writeParquet(other, rec, memory.DefaultAllocator); err != nil {
		t.Fatal(err)
	}
	notParquet := filepath.Join(dir, "note.parquet")
	if err := os.WriteFile(notParquet, []byte("just text, not parquet"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{other, notParquet, filepath.Join(dir, "missing.parquet")} {
		if _, err := ReadAssignments(p); err == nil || !strings.Contains(err.Error(), p) {
			t.Errorf("ReadAssignments(%s): error %v, want one naming the file", p, err)
		}
	}
}

func TestWriteJSON(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m.json")
	v := struct {
		ACC  float64  `json:"acc"`
		Tags []string `json:"tags"`
	}{0.5, []string{"a"}}
	if err := WriteJSON(path, v); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want := "{\n  \"acc\": 0.5,\n  \"tags\": [\n    \"a\"\n  ]\n}\n"
	if string(got) != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if err := WriteJSON(path, func() {}); err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("unmarshalable value: error %v, want one naming %s", err, path)
	}
}
