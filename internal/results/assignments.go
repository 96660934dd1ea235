package results

import (
	"errors"
	"fmt"
	"os"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/apache/arrow/go/v15/parquet"
	"github.com/apache/arrow/go/v15/parquet/compress"
	"github.com/apache/arrow/go/v15/parquet/pqarrow"

	"github.com/deepclust/deepclust/dataset"
	"github.com/deepclust/deepclust/internal/tableio"
	"github.com/deepclust/deepclust/sdk"
)

// The column names of an assignments file.
const (
	ColumnRow       = "row"
	ColumnCluster   = "cluster"
	ColumnEmbedding = "embedding"
	ColumnLabel     = "label"
)

// Assignments is the content of an assignments file.
type Assignments struct {
	// Rows holds each sample's row in the input data.
	Rows []int64
	// Clusters holds each sample's cluster.
	Clusters []int32
	// Z holds the embeddings, N × d.
	Z sdk.Tensor
	// Truth holds the ground-truth labels, or nil when the file has none.
	Truth []int32
}

// assignmentsSchema is the schema of an assignments file with embeddings
// of width d, with or without the label column.
func assignmentsSchema(d int, withTruth bool) *arrow.Schema {
	fields := []arrow.Field{
		{Name: ColumnRow, Type: arrow.PrimitiveTypes.Int64},
		{Name: ColumnCluster, Type: arrow.PrimitiveTypes.Int32},
		// Nullable (though never null): pqarrow v15 reads the values of a
		// non-nullable fixed-size list column back as nulls
		// (apache/arrow-go#584).
		{Name: ColumnEmbedding, Type: arrow.FixedSizeListOf(int32(d), arrow.PrimitiveTypes.Float32), Nullable: true},
	}
	if withTruth {
		fields = append(fields, arrow.Field{Name: ColumnLabel, Type: arrow.PrimitiveTypes.Int32})
	}
	return arrow.NewSchema(fields, nil)
}

// WriteAssignments writes the cluster labels of the rows of z, with the
// embeddings themselves and, when truth is not nil, the ground-truth labels,
// as a zstd-compressed Parquet file (see the package documentation).
func WriteAssignments(path string, labels []int32, z sdk.Tensor, truth []int32) error {
	return writeAssignments(path, labels, z, truth, memory.DefaultAllocator)
}

func writeAssignments(path string, labels []int32, z sdk.Tensor, truth []int32, mem memory.Allocator) error {
	if err := checkAssignments(labels, z, truth); err != nil {
		return fmt.Errorf("writing assignments %s: %w", path, err)
	}
	rec := assignmentsRecord(labels, z, truth, mem)
	defer rec.Release()
	if err := writeParquet(path, rec, mem); err != nil {
		os.Remove(path)
		return fmt.Errorf("writing assignments %s: %w", path, err)
	}
	return nil
}

func checkAssignments(labels []int32, z sdk.Tensor, truth []int32) error {
	n, d := len(labels), z.Cols()
	switch {
	case z.Rows() != n:
		return fmt.Errorf("%d cluster labels for %d embeddings", n, z.Rows())
	case truth != nil && len(truth) != n:
		return fmt.Errorf("%d ground-truth labels for %d rows", len(truth), n)
	case d == 0:
		return fmt.Errorf("embeddings of shape %v have no values per row", z.Shape)
	case len(z.Data) != n*d:
		return fmt.Errorf("embeddings of shape %v hold %d values", z.Shape, len(z.Data))
	}
	return nil
}

// assignmentsRecord builds the record of an assignments file.
func assignmentsRecord(labels []int32, z sdk.Tensor, truth []int32, mem memory.Allocator) arrow.Record {
	n := len(labels)
	b := array.NewRecordBuilder(mem, assignmentsSchema(z.Cols(), truth != nil))
	defer b.Release()
	rows := b.Field(0).(*array.Int64Builder)
	rows.Reserve(n)
	for i := range n {
		rows.UnsafeAppend(int64(i))
	}
	b.Field(1).(*array.Int32Builder).AppendValues(labels, nil)
	emb := b.Field(2).(*array.FixedSizeListBuilder)
	emb.Reserve(n)
	for range n {
		emb.Append(true)
	}
	emb.ValueBuilder().(*array.Float32Builder).AppendValues(z.Data, nil)
	if truth != nil {
		b.Field(3).(*array.Int32Builder).AppendValues(truth, nil)
	}
	return b.NewRecord()
}

// writeParquet writes rec to path with zstd compression, dictionary
// encoding only for the small-integer columns, and the Arrow schema stored
// so that the fixed-size list reads back as one.
func writeParquet(path string, rec arrow.Record, mem memory.Allocator) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	props := parquet.NewWriterProperties(
		parquet.WithAllocator(mem),
		parquet.WithCompression(compress.Codecs.Zstd),
		parquet.WithDictionaryDefault(false),
		parquet.WithDictionaryFor(ColumnCluster, true),
		parquet.WithDictionaryFor(ColumnLabel, true),
	)
	// Page checksums let a reader tell flipped bytes from data.
	w, err := pqarrow.NewFileWriter(rec.Schema(), tableio.ChecksumWriter(f), props,
		pqarrow.NewArrowWriterProperties(pqarrow.WithAllocator(mem), pqarrow.WithStoreSchema()))
	if err != nil {
		return err
	}
	if err := w.Write(rec); err != nil {
		w.Close()
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	// The Parquet writer closes its sink; close again in case it did not.
	if err := f.Close(); err != nil && !errors.Is(err, os.ErrClosed) {
		return err
	}
	return nil
}

// ReadAssignments reads a file written by WriteAssignments, or by a
// streamed run or predict: columns are found by name (row, cluster,
// embedding and, when present, label), and other columns (ids, distance,
// soft) are skipped.
func ReadAssignments(path string) (*Assignments, error) {
	return readAssignments(path, memory.DefaultAllocator)
}

func readAssignments(path string, mem memory.Allocator) (*Assignments, error) {
	a, err := decodeAssignments(path, mem)
	if err != nil {
		return nil, fmt.Errorf("reading assignments %s: %w", path, err)
	}
	return a, nil
}

func decodeAssignments(path string, mem memory.Allocator) (*Assignments, error) {
	tbl, err := tableio.ReadTable(path, tableio.Parquet, tableio.Options{Allocator: mem})
	if err != nil {
		return nil, err
	}
	defer tbl.Release()
	schema := tbl.Schema()
	cols := make(map[string]int)
	for _, c := range []struct {
		name     string
		typ      arrow.DataType
		required bool
	}{
		{ColumnRow, arrow.PrimitiveTypes.Int64, true},
		{ColumnCluster, arrow.PrimitiveTypes.Int32, true},
		{ColumnEmbedding, nil, true},
		{ColumnLabel, arrow.PrimitiveTypes.Int32, false},
	} {
		i, err := dataset.ColumnIndex(schema, c.name)
		switch {
		case err != nil:
			return nil, err
		case i < 0 && c.required:
			return nil, fmt.Errorf("no %q column in schema %v", c.name, schema)
		case i < 0:
			continue
		}
		got := schema.Field(i).Type
		if c.typ == nil {
			emb, ok := got.(*arrow.FixedSizeListType)
			if !ok || !arrow.TypeEqual(emb.Elem(), arrow.PrimitiveTypes.Float32) {
				return nil, fmt.Errorf("column %q has type %s, want fixed_size_list<float32>", c.name, got)
			}
		} else if !arrow.TypeEqual(got, c.typ) {
			return nil, fmt.Errorf("column %q has type %s, want %s", c.name, got, c.typ)
		}
		for _, chunk := range tbl.Column(i).Data().Chunks() {
			if chunk.NullN() > 0 {
				return nil, fmt.Errorf("column %q has %d nulls", c.name, chunk.NullN())
			}
		}
		cols[c.name] = i
	}
	d := int(schema.Field(cols[ColumnEmbedding]).Type.(*arrow.FixedSizeListType).Len())
	n := int(tbl.NumRows())
	out := &Assignments{Rows: make([]int64, 0, n), Clusters: make([]int32, 0, n), Z: sdk.NewTensor(n, d)}
	row := 0
	for _, c := range tbl.Column(cols[ColumnEmbedding]).Data().Chunks() {
		l := c.(*array.FixedSizeList)
		vals := l.ListValues().(*array.Float32).Float32Values()
		for i := 0; i < l.Len(); i++ {
			start, end := l.ValueOffsets(i)
			copy(out.Z.Row(row), vals[start:end])
			row++
		}
	}
	for _, c := range tbl.Column(cols[ColumnRow]).Data().Chunks() {
		out.Rows = append(out.Rows, c.(*array.Int64).Int64Values()...)
	}
	for _, c := range tbl.Column(cols[ColumnCluster]).Data().Chunks() {
		out.Clusters = append(out.Clusters, c.(*array.Int32).Int32Values()...)
	}
	if i, ok := cols[ColumnLabel]; ok {
		out.Truth = make([]int32, 0, n)
		for _, c := range tbl.Column(i).Data().Chunks() {
			out.Truth = append(out.Truth, c.(*array.Int32).Int32Values()...)
		}
	}
	return out, nil
}
