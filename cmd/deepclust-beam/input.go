package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/apache/arrow/go/v15/parquet"
	"github.com/apache/arrow/go/v15/parquet/file"
	"github.com/apache/arrow/go/v15/parquet/pqarrow"

	"github.com/deepclust/deepclust/dataset"
)

// InputFile is one Parquet file of the input, with its position in input
// order (lexical order of path) and the raw values of its partition keys.
type InputFile struct {
	Index  int
	Path   string
	Values []string
}

// FileRows is what a file's footer says: the rows of each row group.
type FileRows struct {
	Index     int
	RowGroups []int64
}

// Shard is one row group of one input file: the unit of distributed work.
type Shard struct {
	// Index is the shard's position in input order (files in path order,
	// then row groups); parts are named after it.
	Index int
	File  InputFile
	// RowGroup is the row group within the file.
	RowGroup int
	// Row is the input row number of the shard's first row, counted over
	// every file before it, as deepclust predict numbers rows.
	Row int64
	// Rows is the number of rows of the row group.
	Rows int64
}

// Input is a listed input: its files in order and their partition keys.
type Input struct {
	Path  string
	Files []InputFile
	Keys  []dataset.PartitionKey
}

// listInput lists the Parquet files path stands for (a file, or a
// directory searched recursively, Hive key=value directories becoming
// partition columns), in lexical order.
func listInput(ctx context.Context, path, format string) (*Input, error) {
	switch format {
	case "", "auto", "parquet":
	default:
		return nil, fmt.Errorf("reading %s: deepclust-beam reads Parquet files and directories of them, not format %q", path, format)
	}
	st, err := storageFor(path)
	if err != nil {
		return nil, err
	}
	info, err := st.Stat(ctx, path)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	if !info.Dir {
		if format != "parquet" && !isParquetName(path) {
			return nil, fmt.Errorf("reading %s: deepclust-beam reads Parquet (.parquet, .pq): set --format parquet for other names", path)
		}
		return &Input{Path: path, Files: []InputFile{{Path: path}}}, nil
	}
	all, err := st.List(ctx, path)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	in := &Input{Path: path}
	var parts dataset.Partitions
	for _, f := range all {
		if format != "parquet" && !isParquetName(f.Path) {
			switch strings.ToLower(filepath.Ext(f.Path)) {
			case ".arrow", ".arrows", ".ipc", ".feather":
				return nil, fmt.Errorf("reading %s: %s is an Arrow file: deepclust-beam reads Parquet only", path, f.Path)
			}
			continue
		}
		rel := strings.TrimPrefix(strings.TrimPrefix(f.Path, strings.TrimSuffix(path, "/")), "/")
		v, err := parts.Add(f.Path, filepath.Dir(rel))
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", path, err)
		}
		in.Files = append(in.Files, InputFile{Index: len(in.Files), Path: f.Path, Values: v})
	}
	if len(in.Files) == 0 {
		return nil, fmt.Errorf("reading %s: directory holds no .parquet files", path)
	}
	in.Keys = parts.Keys()
	return in, nil
}

func isParquetName(p string) bool {
	switch strings.ToLower(filepath.Ext(p)) {
	case ".parquet", ".pq":
		return true
	}
	return false
}

// parquetFile is an open Parquet file with its Arrow view.
type parquetFile struct {
	f  File
	fr *pqarrow.FileReader
}

// recoverCorrupt turns a panic of the Parquet reader, which some corrupt
// inputs provoke, into an error.
func recoverCorrupt(err *error) {
	if r := recover(); r != nil {
		*err = fmt.Errorf("corrupt parquet data: %v", r)
	}
}

// openParquet opens path and reads its footer.
func openParquet(ctx context.Context, path string, batchRows int, mem memory.Allocator) (_ *parquetFile, err error) {
	defer recoverCorrupt(&err)
	st, err := storageFor(path)
	if err != nil {
		return nil, err
	}
	f, err := st.Open(ctx, path)
	if err != nil {
		return nil, err
	}
	props := parquet.NewReaderProperties(mem)
	props.BufferedStreamEnabled = true
	props.BufferSize = 1 << 20
	rdr, err := file.NewParquetReader(f, file.WithReadProps(props))
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("corrupt parquet file: %w", err)
	}
	fr, err := pqarrow.NewFileReader(rdr, pqarrow.ArrowReadProperties{BatchSize: int64(batchRows)}, mem)
	if err != nil {
		rdr.Close()
		f.Close()
		return nil, fmt.Errorf("corrupt parquet file: %w", err)
	}
	return &parquetFile{f: f, fr: fr}, nil
}

func (p *parquetFile) Close() error {
	err := p.fr.ParquetReader().Close()
	if cerr := p.f.Close(); err == nil {
		err = cerr
	}
	return err
}

// rowGroups returns the rows of each row group.
func (p *parquetFile) rowGroups() []int64 {
	rdr := p.fr.ParquetReader()
	out := make([]int64, rdr.NumRowGroups())
	for i := range out {
		out[i] = rdr.MetaData().RowGroup(i).NumRows()
	}
	return out
}

// columnSpec is what to read of the input and how: the columns chosen by
// name, as deepclust predict chooses them.
type columnSpec struct {
	Features []string
	Label    string
	IDs      []string
	Keys     []dataset.PartitionKey
	Nulls    string
}

// shardColumns is the choice of columns for one file.
type shardColumns struct {
	// leaves are the Parquet leaf columns to read.
	leaves []int
	// schema is the projected schema with the partition columns appended;
	// cols and ids index it.
	schema *arrow.Schema
	cols   dataset.Columns
	ids    []arrow.Field
	// stringLabel is set when the label column holds strings.
	stringLabel bool
}

// choose picks the columns of a file as deepclust predict does: features
// and label by dataset.ChooseColumns (partition columns are never
// features unless named), id columns by name.
func (c columnSpec) choose(p *parquetFile) (*shardColumns, error) {
	fileSchema, err := p.fr.Schema()
	if err != nil {
		return nil, fmt.Errorf("parquet schema: %w", err)
	}
	schema, err := dataset.WithPartitions(fileSchema, c.Keys)
	if err != nil {
		return nil, err
	}
	cols, err := dataset.ChooseColumns(schema, c.Features, c.Label)
	if err != nil {
		return nil, err
	}
	if len(c.Features) == 0 {
		cols.Features = slices.DeleteFunc(cols.Features, func(i int) bool { return i >= fileSchema.NumFields() })
		if len(cols.Features) == 0 {
			return nil, fmt.Errorf("no numeric feature columns (columns: %s)", columnNames(schema))
		}
	}
	needed := slices.Clone(cols.Features)
	if cols.Label >= 0 {
		needed = append(needed, cols.Label)
	}
	ids := make([]arrow.Field, len(c.IDs))
	for i, name := range c.IDs {
		idx := schema.FieldIndices(name)
		switch {
		case len(idx) == 0:
			return nil, fmt.Errorf("no id column %q (columns: %s)", name, columnNames(schema))
		case len(idx) > 1:
			return nil, fmt.Errorf("id column %q appears %d times", name, len(idx))
		}
		ids[i] = schema.Field(idx[0])
		ids[i].Nullable = true
		needed = append(needed, idx[0])
	}
	needed = slices.DeleteFunc(needed, func(i int) bool { return i >= fileSchema.NumFields() })
	slices.Sort(needed)
	needed = slices.Compact(needed)
	out := &shardColumns{ids: ids, cols: dataset.Columns{Label: -1}}
	projFields := make([]arrow.Field, 0, len(needed))
	for _, i := range needed {
		out.leaves = appendLeaves(out.leaves, p.fr.Manifest.Fields[i])
		projFields = append(projFields, fileSchema.Field(i))
	}
	if out.schema, err = dataset.WithPartitions(arrow.NewSchema(projFields, nil), c.Keys); err != nil {
		return nil, err
	}
	at := func(i int) int { return out.schema.FieldIndices(schema.Field(i).Name)[0] }
	for _, f := range cols.Features {
		out.cols.Features = append(out.cols.Features, at(f))
	}
	if cols.Label >= 0 {
		out.cols.Label = at(cols.Label)
		switch out.schema.Field(out.cols.Label).Type.ID() {
		case arrow.STRING, arrow.LARGE_STRING:
			out.stringLabel = true
		}
	}
	return out, nil
}

// appendLeaves appends the Parquet leaf column indices under f. (A group's
// ColIndex is 0, not -1, in pqarrow v15, so IsLeaf cannot tell.)
func appendLeaves(leaves []int, f pqarrow.SchemaField) []int {
	if len(f.Children) == 0 {
		return append(leaves, f.ColIndex)
	}
	for _, c := range f.Children {
		leaves = appendLeaves(leaves, c)
	}
	return leaves
}

func columnNames(schema *arrow.Schema) string {
	names := make([]string, schema.NumFields())
	for i, f := range schema.Fields() {
		names[i] = f.Name
	}
	return strings.Join(names, ", ")
}

// records calls fn with each record (at most batchRows rows, the
// partition columns appended) of one row group, and the input row number
// of its first row. It checks that the row group gave all its rows.
func (p *parquetFile) records(ctx context.Context, sc *shardColumns, sh Shard, keys []dataset.PartitionKey, mem memory.Allocator, fn func(rec arrow.Record, first int64) error) (err error) {
	defer recoverCorrupt(&err)
	rr, err := p.fr.GetRecordReader(ctx, sc.leaves, []int{sh.RowGroup})
	if err != nil {
		return fmt.Errorf("corrupt parquet file: %w", err)
	}
	defer rr.Release()
	var read int64
	for rr.Next() {
		if err := ctx.Err(); err != nil {
			return err
		}
		rec := rr.Record()
		full, err := dataset.AppendPartitions(rec, sc.schema, keys, sh.File.Values, mem)
		if err != nil {
			return err
		}
		err = fn(full, sh.Row+read)
		read += rec.NumRows()
		full.Release()
		if err != nil {
			return err
		}
	}
	if err := rr.Err(); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("corrupt parquet file: row group %d: %w", sh.RowGroup, err)
	}
	if read != sh.Rows {
		return fmt.Errorf("corrupt parquet file: row group %d gave %d of its %d rows", sh.RowGroup, read, sh.Rows)
	}
	return nil
}

// batch is the features, labels, row numbers and ids of one record, and
// how many of its rows were dropped for missing features.
type batch struct {
	dataset.RowBatch
	dropped int64
}

// extract reads one record as deepclust predict does: features and labels
// by dataset.Extractor, string labels numbered by dict (their order of
// first appearance in the whole input), rows with missing features
// dropped with Nulls drop, the sample shape checked.
func extract(rec arrow.Record, first int64, sc *shardColumns, nulls string, shape []int, dict map[string]int32) (*batch, error) {
	n := int(rec.NumRows())
	tbl := array.NewTableFromRecords(rec.Schema(), []arrow.Record{rec})
	defer tbl.Release()
	e := dataset.Extractor{ZeroMissing: nulls == "drop" || nulls == "zero"}
	cols := sc.cols
	if sc.stringLabel {
		cols.Label = -1
	}
	got, err := e.Extract(tbl, cols, int(first))
	if err != nil {
		return nil, err
	}
	if sc.stringLabel {
		if got.Labels, err = stringLabels(tbl.Column(sc.cols.Label), first, dict); err != nil {
			return nil, err
		}
	}
	if d, size := got.X.Cols(), product(shape); d != size {
		if n == 0 {
			return &batch{}, nil
		}
		return nil, fmt.Errorf("the model takes samples of shape %v (%d values), rows from %d have %d", shape, size, first, d)
	}
	b := &batch{RowBatch: dataset.RowBatch{X: got.X, Labels: got.Labels, Rows: make([]int64, n)}}
	for i := range b.Rows {
		b.Rows[i] = first + int64(i)
	}
	for _, f := range sc.ids {
		a := rec.Column(rec.Schema().FieldIndices(f.Name)[0])
		a.Retain()
		b.IDs = append(b.IDs, a)
	}
	if nulls == "drop" && got.Missing != nil {
		dropped, err := b.Drop(got.Missing, sc.ids, memory.DefaultAllocator)
		if err != nil {
			b.Release()
			return nil, err
		}
		b.dropped = int64(dropped)
	}
	b.X.Shape = append([]int{len(b.Rows)}, shape...)
	return b, nil
}

func product(shape []int) int {
	p := 1
	for _, s := range shape {
		p *= s
	}
	return p
}

// stringLabels numbers the strings of a label column by dict.
func stringLabels(col *arrow.Column, first int64, dict map[string]int32) ([]int32, error) {
	labels := make([]int32, 0, col.Len())
	for _, chunk := range col.Data().Chunks() {
		a, ok := chunk.(interface{ Value(int) string })
		if !ok {
			return nil, fmt.Errorf("label column %q has type %s here but strings in the first file", col.Name(), chunk.DataType())
		}
		for i := 0; i < chunk.Len(); i++ {
			if chunk.IsNull(i) {
				return nil, fmt.Errorf("label column %q row %d is null", col.Name(), first+int64(len(labels)))
			}
			id, ok := dict[a.Value(i)]
			if !ok {
				return nil, fmt.Errorf("label column %q row %d: %q is missing from the label dictionary", col.Name(), first+int64(len(labels)), a.Value(i))
			}
			labels = append(labels, id)
		}
	}
	return labels, nil
}
