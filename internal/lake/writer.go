package lake

import (
	"fmt"
	"io"
	"slices"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/ipc"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/apache/arrow/go/v15/parquet"
	"github.com/apache/arrow/go/v15/parquet/compress"
	"github.com/apache/arrow/go/v15/parquet/pqarrow"

	"github.com/deepclust/deepclust/internal/tableio"
	"github.com/deepclust/deepclust/sdk"
)

// The column names of a predictions file besides the id columns.
const (
	ColumnRow       = "row"
	ColumnCluster   = "cluster"
	ColumnDistance  = "distance"
	ColumnSoft      = "soft"
	ColumnEmbedding = "embedding"
)

// The compressions WriterOptions.Compression accepts.
const (
	CompressionZstd   = "zstd"
	CompressionSnappy = "snappy"
	CompressionLZ4    = "lz4"
	CompressionNone   = "none"
)

// DefaultRowGroupRows is the Parquet row-group size when
// WriterOptions.RowGroupRows is 0 (DuckDB's default is 122,880).
const DefaultRowGroupRows = 131072

// WriterOptions tells NewWriter what to write.
type WriterOptions struct {
	// Format is parquet (the default) or arrow (an IPC stream).
	Format string
	// RowGroupRows is the number of rows of a Parquet row group (the last
	// may have fewer); the writer holds one row group in memory.
	RowGroupRows int
	// Compression is zstd, snappy or none for Parquet (default zstd), and
	// zstd, lz4 or none for Arrow IPC (default none).
	Compression string
	// Distance adds the distance column.
	Distance bool
	// Soft, when > 0, adds the soft-assignment column of that many clusters.
	Soft int
	// Allocator holds the Arrow buffers (memory.DefaultAllocator when nil).
	Allocator memory.Allocator
}

// Output is one batch of predictions.
type Output struct {
	// Rows holds each row's number in the input.
	Rows []int64
	// IDs holds the id columns, in the order of the writer's id fields.
	IDs []arrow.Array
	// Clusters holds each row's cluster.
	Clusters []int32
	// Z holds the embeddings, rows × the writer's width.
	Z sdk.Tensor
	// Distance holds each row's distance to its cluster's centre (only
	// with WriterOptions.Distance).
	Distance []float32
	// Soft holds each row's soft assignments, rows × WriterOptions.Soft
	// (only with WriterOptions.Soft).
	Soft sdk.Tensor
}

// Writer streams predictions as Parquet or an Arrow IPC stream.
type Writer struct {
	schema   *arrow.Schema
	dim      int
	distance bool
	soft     int
	pq       *pqarrow.FileWriter
	ipc      *ipc.Writer
	rows     int64
	mem      memory.Allocator
	// maxGroup is the Parquet row-group size; group and groupIDs gather
	// the rows of the next row group.
	maxGroup int
	group    Output
	groupIDs [][]arrow.Array
}

// Schema returns the schema of a predictions file: row (int64), the id
// columns, cluster (int32), distance (float32, optional), soft
// (fixed_size_list<float32>[soft], optional when soft > 0) and embedding
// (fixed_size_list<float32>[dim]).
func Schema(ids []arrow.Field, dim int, distance bool, soft int) (*arrow.Schema, error) {
	fields := []arrow.Field{{Name: ColumnRow, Type: arrow.PrimitiveTypes.Int64}}
	for _, f := range ids {
		if slices.Contains([]string{ColumnRow, ColumnCluster, ColumnDistance, ColumnSoft, ColumnEmbedding}, f.Name) {
			return nil, fmt.Errorf("id column %q has the name of an output column (row, cluster, distance, soft, embedding)", f.Name)
		}
		fields = append(fields, f)
	}
	fields = append(fields, arrow.Field{Name: ColumnCluster, Type: arrow.PrimitiveTypes.Int32})
	if distance {
		fields = append(fields, arrow.Field{Name: ColumnDistance, Type: arrow.PrimitiveTypes.Float32})
	}
	// Fixed-size lists are nullable (though never null): pqarrow v15 reads
	// the values of a non-nullable fixed-size list column back as nulls
	// (apache/arrow-go#584).
	if soft > 0 {
		fields = append(fields, arrow.Field{Name: ColumnSoft, Type: arrow.FixedSizeListOf(int32(soft), arrow.PrimitiveTypes.Float32), Nullable: true})
	}
	fields = append(fields, arrow.Field{Name: ColumnEmbedding, Type: arrow.FixedSizeListOf(int32(dim), arrow.PrimitiveTypes.Float32), Nullable: true})
	return arrow.NewSchema(fields, nil), nil
}

// NewWriter starts writing predictions with the given id columns and
// embedding width to w. Close finishes the file; a Parquet writer closes w
// when it is an io.Closer. Parquet pages carry CRC-32 checksums
// (tableio.ChecksumWriter).
func NewWriter(w io.Writer, ids []arrow.Field, dim int, opt WriterOptions) (*Writer, error) {
	if dim <= 0 {
		return nil, fmt.Errorf("embedding width %d is not positive", dim)
	}
	if opt.Soft < 0 {
		return nil, fmt.Errorf("soft-assignment width %d is negative", opt.Soft)
	}
	schema, err := Schema(ids, dim, opt.Distance, opt.Soft)
	if err != nil {
		return nil, err
	}
	mem := opt.Allocator
	if mem == nil {
		mem = memory.DefaultAllocator
	}
	out := &Writer{schema: schema, dim: dim, distance: opt.Distance, soft: opt.Soft, mem: mem, groupIDs: make([][]arrow.Array, len(ids))}
	switch opt.Format {
	case "", FormatParquet:
		if opt.RowGroupRows < 0 {
			return nil, fmt.Errorf("row-group size %d is negative", opt.RowGroupRows)
		}
		codec, err := parquetCodec(opt.Compression)
		if err != nil {
			return nil, err
		}
		out.maxGroup = opt.RowGroupRows
		if out.maxGroup == 0 {
			out.maxGroup = DefaultRowGroupRows
		}
		rg := int64(out.maxGroup)
		props := parquet.NewWriterProperties(
			parquet.WithAllocator(mem),
			parquet.WithCompression(codec),
			parquet.WithMaxRowGroupLength(rg),
			// V1 pages make pqarrow v15 grow the level buffers of list
			// columns 64 bytes at a time, quadratic in the page's values.
			parquet.WithDataPageVersion(parquet.DataPageV2),
			parquet.WithDictionaryDefault(false),
			parquet.WithDictionaryFor(ColumnCluster, true),
		)
		if out.pq, err = pqarrow.NewFileWriter(schema, tableio.ChecksumWriter(w), props, pqarrow.NewArrowWriterProperties(pqarrow.WithAllocator(mem), pqarrow.WithStoreSchema())); err != nil {
			return nil, err
		}
	case FormatArrow:
		opts := []ipc.Option{ipc.WithSchema(schema), ipc.WithAllocator(mem)}
		switch opt.Compression {
		case "", CompressionNone:
		case CompressionZstd:
			opts = append(opts, ipc.WithZstd())
		case CompressionLZ4:
			opts = append(opts, ipc.WithLZ4())
		default:
			return nil, fmt.Errorf("compression %q: arrow output takes zstd, lz4 or none", opt.Compression)
		}
		out.ipc = ipc.NewWriter(w, opts...)
	default:
		return nil, fmt.Errorf("unknown output format %q (want parquet or arrow)", opt.Format)
	}
	return out, nil
}

func parquetCodec(name string) (compress.Compression, error) {
	switch name {
	case "", CompressionZstd:
		return compress.Codecs.Zstd, nil
	case CompressionSnappy:
		return compress.Codecs.Snappy, nil
	case CompressionNone:
		return compress.Codecs.Uncompressed, nil
	}
	return 0, fmt.Errorf("compression %q: parquet output takes zstd, snappy or none", name)
}

// Schema returns the writer's schema.
func (w *Writer) Schema() *arrow.Schema { return w.schema }

// Rows returns the number of rows written so far.
func (w *Writer) Rows() int64 { return w.rows }

// Write appends one batch of predictions; o may be reused once Write
// returns.
func (w *Writer) Write(o Output) error {
	n := len(o.Rows)
	switch {
	case len(o.Clusters) != n || o.Z.Rows() != n:
		return fmt.Errorf("%d rows, %d clusters and %d embeddings", n, len(o.Clusters), o.Z.Rows())
	case o.Z.Cols() != w.dim || len(o.Z.Data) != n*w.dim:
		return fmt.Errorf("embeddings of shape %v, want %d per row", o.Z.Shape, w.dim)
	case w.distance && len(o.Distance) != n:
		return fmt.Errorf("%d distances for %d rows", len(o.Distance), n)
	case w.soft > 0 && (o.Soft.Rows() != n || o.Soft.Cols() != w.soft || len(o.Soft.Data) != n*w.soft):
		return fmt.Errorf("soft assignments of shape %v, want [%d %d]", o.Soft.Shape, n, w.soft)
	case len(o.IDs) != w.schema.NumFields()-w.fixedColumns():
		return fmt.Errorf("%d id columns, want %d", len(o.IDs), w.schema.NumFields()-w.fixedColumns())
	}
	if w.pq == nil {
		return w.write(o)
	}
	// Gather whole row groups and write each as one record: pqarrow v15
	// writes the wrong values for sliced fixed-size lists, and its
	// buffered row groups leak encoder buffers.
	for lo := 0; lo < n; {
		hi := min(n, lo+w.maxGroup-len(w.group.Rows))
		g := &w.group
		g.Rows = append(g.Rows, o.Rows[lo:hi]...)
		g.Clusters = append(g.Clusters, o.Clusters[lo:hi]...)
		g.Z.Data = append(g.Z.Data, o.Z.Data[lo*w.dim:hi*w.dim]...)
		if w.distance {
			g.Distance = append(g.Distance, o.Distance[lo:hi]...)
		}
		g.Soft.Data = append(g.Soft.Data, o.Soft.Data[lo*w.soft:hi*w.soft]...)
		for j, a := range o.IDs {
			w.groupIDs[j] = append(w.groupIDs[j], array.NewSlice(a, int64(lo), int64(hi)))
		}
		lo = hi
		if len(g.Rows) == w.maxGroup {
			if err := w.flush(); err != nil {
				return err
			}
		}
	}
	return nil
}

// flush writes the gathered rows as one row group.
func (w *Writer) flush() error {
	g := &w.group
	if len(g.Rows) == 0 {
		return nil
	}
	g.IDs = g.IDs[:0]
	for j, parts := range w.groupIDs {
		a, err := array.Concatenate(parts, w.mem)
		releaseAll(parts)
		w.groupIDs[j] = parts[:0]
		if err != nil {
			releaseAll(g.IDs)
			return fmt.Errorf("id column %q: %w", w.schema.Field(1+j).Name, err)
		}
		g.IDs = append(g.IDs, a)
	}
	g.Z.Shape = []int{len(g.Rows), w.dim}
	g.Soft.Shape = []int{len(g.Rows), w.soft}
	err := w.write(*g)
	releaseAll(g.IDs)
	g.Rows, g.Clusters, g.Distance, g.Z.Data, g.Soft.Data = g.Rows[:0], g.Clusters[:0], g.Distance[:0], g.Z.Data[:0], g.Soft.Data[:0]
	return err
}

// write writes o as one record, which fits in the current row group.
func (w *Writer) write(o Output) error {
	n := len(o.Rows)
	cols := []arrow.Array{primitive(arrow.PrimitiveTypes.Int64, arrow.Int64Traits.CastToBytes(o.Rows), n)}
	for i, a := range o.IDs {
		if a.Len() != n {
			releaseAll(cols)
			return fmt.Errorf("id column %q has %d rows, want %d", w.schema.Field(1+i).Name, a.Len(), n)
		}
		a.Retain()
		cols = append(cols, a)
	}
	cols = append(cols, primitive(arrow.PrimitiveTypes.Int32, arrow.Int32Traits.CastToBytes(o.Clusters), n))
	if w.distance {
		cols = append(cols, primitive(arrow.PrimitiveTypes.Float32, arrow.Float32Traits.CastToBytes(o.Distance), n))
	}
	if w.soft > 0 {
		cols = append(cols, fixedList(w.schema.Field(w.schema.NumFields()-2).Type, o.Soft))
	}
	cols = append(cols, fixedList(w.schema.Field(w.schema.NumFields()-1).Type, o.Z))
	rec := array.NewRecord(w.schema, cols, int64(n))
	releaseAll(cols)
	defer rec.Release()
	var err error
	if w.pq != nil {
		err = w.pq.Write(rec)
	} else {
		err = w.ipc.Write(rec)
	}
	if err != nil {
		return err
	}
	w.rows += int64(n)
	return nil
}

// fixedColumns is the number of columns that are not ids.
func (w *Writer) fixedColumns() int {
	n := 3
	if w.distance {
		n++
	}
	if w.soft > 0 {
		n++
	}
	return n
}

// primitive wraps the bytes of n fixed-width values as an array without
// copying them.
func primitive(t arrow.DataType, b []byte, n int) arrow.Array {
	data := array.NewData(t, n, []*memory.Buffer{nil, memory.NewBufferBytes(b)}, nil, 0, 0)
	defer data.Release()
	return array.MakeFromData(data)
}

// fixedList wraps the rows of t as a fixed-size list array of type typ
// without copying them.
func fixedList(typ arrow.DataType, z sdk.Tensor) arrow.Array {
	vals := primitive(arrow.PrimitiveTypes.Float32, arrow.Float32Traits.CastToBytes(z.Data), len(z.Data))
	defer vals.Release()
	data := array.NewData(typ, z.Rows(), []*memory.Buffer{nil}, []arrow.ArrayData{vals.Data()}, 0, 0)
	defer data.Release()
	return array.MakeFromData(data)
}

func releaseAll(as []arrow.Array) {
	for _, a := range as {
		a.Release()
	}
}

// Close finishes the output: the Parquet footer, or the end of the IPC
// stream.
func (w *Writer) Close() error {
	if w.pq != nil {
		if err := w.flush(); err != nil {
			w.pq.Close()
			return err
		}
		return w.pq.Close()
	}
	return w.ipc.Close()
}
