package main

import (
	"fmt"
	"io"
	"slices"
	"unsafe"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/apache/arrow/go/v15/parquet"
	"github.com/apache/arrow/go/v15/parquet/compress"
	"github.com/apache/arrow/go/v15/parquet/pqarrow"

	"github.com/deepclust/deepclust/sdk"
)

// The column names of a predictions part besides the id columns: the
// columns deepclust predict writes for Parquet input.
const (
	columnRow       = "row"
	columnLabel     = "label"
	columnCluster   = "cluster"
	columnDistance  = "distance"
	columnSoft      = "soft"
	columnEmbedding = "embedding"
)

// defaultRowGroupRows is the output row-group size when --row-group-size
// is 0, as deepclust predict's.
const defaultRowGroupRows = 131072

// outputSchema is the schema of a predictions part: row (int64), the id
// columns, label (int32, when the input has labels and no id column is
// called label), cluster (int32), distance (float32, optional), soft
// (fixed_size_list<float32>[soft], optional) and embedding
// (fixed_size_list<float32>[dim]); fixed-size lists are marked nullable
// as deepclust predict marks them (apache/arrow-go#584).
func outputSchema(ids []arrow.Field, label bool, dim int, distance bool, soft int) (*arrow.Schema, error) {
	fields := []arrow.Field{{Name: columnRow, Type: arrow.PrimitiveTypes.Int64}}
	for _, f := range ids {
		if slices.Contains([]string{columnRow, columnCluster, columnDistance, columnSoft, columnEmbedding}, f.Name) {
			return nil, fmt.Errorf("id column %q has the name of an output column (row, cluster, distance, soft, embedding)", f.Name)
		}
		fields = append(fields, f)
	}
	if label {
		fields = append(fields, arrow.Field{Name: columnLabel, Type: arrow.PrimitiveTypes.Int32, Nullable: true})
	}
	fields = append(fields, arrow.Field{Name: columnCluster, Type: arrow.PrimitiveTypes.Int32})
	if distance {
		fields = append(fields, arrow.Field{Name: columnDistance, Type: arrow.PrimitiveTypes.Float32})
	}
	if soft > 0 {
		fields = append(fields, arrow.Field{Name: columnSoft, Type: arrow.FixedSizeListOf(int32(soft), arrow.PrimitiveTypes.Float32), Nullable: true})
	}
	fields = append(fields, arrow.Field{Name: columnEmbedding, Type: arrow.FixedSizeListOf(int32(dim), arrow.PrimitiveTypes.Float32), Nullable: true})
	return arrow.NewSchema(fields, nil), nil
}

// parquetCodec maps --compression to a Parquet codec.
func parquetCodec(name string) (compress.Compression, error) {
	switch name {
	case "", "zstd":
		return compress.Codecs.Zstd, nil
	case "snappy":
		return compress.Codecs.Snappy, nil
	case "none":
		return compress.Codecs.Uncompressed, nil
	}
	return 0, fmt.Errorf("compression %q: parquet output takes zstd, snappy or none", name)
}

// predictions is one batch of predictions.
type predictions struct {
	rows     []int64
	ids      []arrow.Array
	labels   []int32 // nil: the label column is null (or absent)
	clusters []int32
	distance []float32
	soft     sdk.Tensor
	z        sdk.Tensor
}

// partWriter writes one predictions part. It gathers whole row groups
// and writes each as one record, as deepclust predict's writer does:
// pqarrow v15 writes wrong values for sliced fixed-size lists (which its
// WriteBuffered makes at row-group boundaries).
type partWriter struct {
	schema   *arrow.Schema
	label    bool
	fw       *pqarrow.FileWriter
	mem      memory.Allocator
	rows     int64
	maxGroup int
	group    predictions
	groupIDs [][]arrow.Array
	nids     int
	// labelNull marks the gathered rows whose label is null (a file
	// without the label column).
	labelNull []bool
}

func newPartWriter(w io.Writer, schema *arrow.Schema, label bool, nids, rowGroupRows int, compression string) (*partWriter, error) {
	codec, err := parquetCodec(compression)
	if err != nil {
		return nil, err
	}
	if rowGroupRows == 0 {
		rowGroupRows = defaultRowGroupRows
	}
	mem := memory.DefaultAllocator
	props := parquet.NewWriterProperties(
		parquet.WithAllocator(mem),
		parquet.WithCompression(codec),
		parquet.WithMaxRowGroupLength(int64(rowGroupRows)),
		// V1 pages make pqarrow v15 grow the level buffers of list
		// columns 64 bytes at a time, quadratic in the page's values.
		parquet.WithDataPageVersion(parquet.DataPageV2),
		parquet.WithDictionaryDefault(false),
		parquet.WithDictionaryFor(columnCluster, true),
	)
	fw, err := pqarrow.NewFileWriter(schema, w, props, pqarrow.NewArrowWriterProperties(pqarrow.WithAllocator(mem), pqarrow.WithStoreSchema()))
	if err != nil {
		return nil, err
	}
	return &partWriter{schema: schema, label: label, fw: fw, mem: mem, maxGroup: rowGroupRows, groupIDs: make([][]arrow.Array, nids), nids: nids}, nil
}

// write appends one batch, copying its values (the model reuses its
// buffers).
func (w *partWriter) write(p predictions) error {
	n := len(p.clusters)
	if len(p.ids) != w.nids {
		return fmt.Errorf("%d id columns, want %d", len(p.ids), w.nids)
	}
	for lo := 0; lo < n; {
		hi := min(n, lo+w.maxGroup-len(w.group.rows))
		g := &w.group
		g.rows = append(g.rows, p.rows[lo:hi]...)
		g.clusters = append(g.clusters, p.clusters[lo:hi]...)
		if w.label {
			for i := lo; i < hi; i++ {
				if p.labels == nil {
					g.labels, w.labelNull = append(g.labels, 0), append(w.labelNull, true)
				} else {
					g.labels, w.labelNull = append(g.labels, p.labels[i]), append(w.labelNull, false)
				}
			}
		}
		if p.distance != nil {
			g.distance = append(g.distance, p.distance[lo:hi]...)
		}
		if !p.soft.Empty() {
			k := p.soft.Cols()
			g.soft = sdk.Tensor{Shape: []int{len(g.rows), k}, Data: append(g.soft.Data, p.soft.Data[lo*k:hi*k]...)}
		}
		d := p.z.Cols()
		g.z = sdk.Tensor{Shape: []int{len(g.rows), d}, Data: append(g.z.Data, p.z.Data[lo*d:hi*d]...)}
		for j, a := range p.ids {
			w.groupIDs[j] = append(w.groupIDs[j], array.NewSlice(a, int64(lo), int64(hi)))
		}
		lo = hi
		if len(g.rows) == w.maxGroup {
			if err := w.flush(); err != nil {
				return err
			}
		}
	}
	return nil
}

// flush writes the gathered rows as one row group.
func (w *partWriter) flush() error {
	g := &w.group
	n := len(g.rows)
	if n == 0 {
		return nil
	}
	cols := make([]arrow.Array, 0, w.schema.NumFields())
	defer func() {
		for _, a := range cols {
			a.Release()
		}
	}()
	cols = append(cols, primitive(arrow.PrimitiveTypes.Int64, int64Bytes(g.rows), n))
	for j, parts := range w.groupIDs {
		a, err := array.Concatenate(parts, w.mem)
		for _, p := range parts {
			p.Release()
		}
		w.groupIDs[j] = parts[:0]
		if err != nil {
			return fmt.Errorf("id column %q: %w", w.schema.Field(1+j).Name, err)
		}
		cols = append(cols, a)
	}
	if w.label {
		b := array.NewInt32Builder(w.mem)
		for i, l := range g.labels {
			if w.labelNull[i] {
				b.AppendNull()
			} else {
				b.Append(l)
			}
		}
		cols = append(cols, b.NewArray())
		b.Release()
	}
	cols = append(cols, primitive(arrow.PrimitiveTypes.Int32, int32Bytes(g.clusters), n))
	if g.distance != nil {
		cols = append(cols, primitive(arrow.PrimitiveTypes.Float32, float32Bytes(g.distance), n))
	}
	if !g.soft.Empty() {
		cols = append(cols, fixedList(g.soft))
	}
	cols = append(cols, fixedList(g.z))
	rec := array.NewRecord(w.schema, cols, int64(n))
	defer rec.Release()
	if err := w.fw.Write(rec); err != nil {
		return err
	}
	w.rows += int64(n)
	*g = predictions{rows: g.rows[:0], clusters: g.clusters[:0], labels: g.labels[:0], distance: g.distance[:0],
		soft: sdk.Tensor{Data: g.soft.Data[:0]}, z: sdk.Tensor{Data: g.z.Data[:0]}}
	w.labelNull = w.labelNull[:0]
	return nil
}

// close writes the last row group and the footer.
func (w *partWriter) close() error {
	if err := w.flush(); err != nil {
		return err
	}
	return w.fw.Close()
}

func primitive(t arrow.DataType, b []byte, n int) arrow.Array {
	data := array.NewData(t, n, []*memory.Buffer{nil, memory.NewBufferBytes(b)}, nil, 0, 0)
	defer data.Release()
	return array.MakeFromData(data)
}

func fixedList(z sdk.Tensor) arrow.Array {
	n, d := z.Rows(), z.Cols()
	values := primitive(arrow.PrimitiveTypes.Float32, float32Bytes(z.Data[:n*d]), n*d)
	defer values.Release()
	data := array.NewData(arrow.FixedSizeListOf(int32(d), arrow.PrimitiveTypes.Float32), n, []*memory.Buffer{nil}, []arrow.ArrayData{values.Data()}, 0, 0)
	defer data.Release()
	return array.MakeFromData(data)
}

func int64Bytes(v []int64) []byte {
	if len(v) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&v[0])), len(v)*8)
}

func int32Bytes(v []int32) []byte {
	if len(v) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&v[0])), len(v)*4)
}

func float32Bytes(v []float32) []byte {
	if len(v) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&v[0])), len(v)*4)
}
