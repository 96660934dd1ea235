package lake

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"

	"github.com/deepclust/deepclust/dataset"
	"github.com/deepclust/deepclust/internal/tableio"
	"github.com/deepclust/deepclust/sdk"
)

// Stdin is the path that reads an Arrow IPC stream from Options.Stdin.
const Stdin = "-"

// The input formats Options.Format accepts.
const (
	FormatAuto    = "auto"
	FormatParquet = tableio.Parquet
	FormatArrow   = tableio.Arrow
)

// The missing-value policies Options.Nulls accepts.
const (
	NullsError = "error"
	NullsDrop  = "drop"
	NullsZero  = "zero"
)

// DefaultBatchRows is the batch size when Options.BatchRows is 0.
const DefaultBatchRows = 65536

// Options tells Open what to read and how.
type Options struct {
	// Format is auto (the default: from each file's name), parquet or
	// arrow. A directory and stdin decide for themselves.
	Format string
	// Features names the feature columns; empty means the single float
	// list column if there is one, else every numeric column but the label
	// and the partition columns (as dataset.Options.FeatureColumns).
	Features []string
	// Label names the label column; empty means dataset.DefaultLabelColumn
	// when the data has it.
	Label string
	// IDs names the columns passed through to each Batch unchanged, in this
	// order; partition columns may be among them.
	IDs []string
	// SampleShape, when set, is the shape of one sample; its product must
	// equal the number of features.
	SampleShape []int
	// BatchRows bounds the rows of a batch (DefaultBatchRows when 0).
	BatchRows int
	// Nulls is what a null or NaN feature value does: error (the default),
	// drop (the row is skipped) or zero (it reads as 0). A null label is
	// an error unless Nulls is drop.
	Nulls string
	// Stdin is where the path "-" reads from.
	Stdin io.Reader
	// Allocator holds the Arrow buffers (memory.DefaultAllocator when nil).
	Allocator memory.Allocator
}

// Batch is one bounded slice of the input, with its rows in input order:
// X (rows × sample shape), Labels (nil without a label column), IDs (the
// Options.IDs columns; Release releases them) and Rows, the input row
// number of each row of X: RowOffset, RowOffset+1, ... unless rows were
// dropped.
type Batch struct {
	dataset.RowBatch
	// RowOffset is the input row number (counting every file before this
	// one) of the first row the batch was read from.
	RowOffset int64
}

// Reader streams batches from a Parquet file, a directory of Parquet or
// Arrow files (Hive partitions included) or an Arrow IPC file or stream.
// It is not safe for concurrent use.
type Reader struct {
	opt    Options
	mem    memory.Allocator
	path   string
	files  []part
	parts  []dataset.PartitionKey
	next   int // index of the next file to open
	cur    tableio.Source
	curCol dataset.Columns
	// pending is the part of the current record not yet returned.
	pending   arrow.Record
	ids       []arrow.Field
	extract   dataset.Extractor
	dim       int // features per row, once known
	dimFrom   int64
	rows      int64 // input rows seen
	kept      int64 // rows returned
	dropped   int64
	curFile   string
	curSchema *arrow.Schema
}

// Open prepares to stream path: a file, a directory, or "-" for an Arrow
// IPC stream on opt.Stdin. It reads the first file's schema, so that a
// missing or mistyped column fails here.
func Open(path string, opt Options) (*Reader, error) {
	if err := opt.check(); err != nil {
		return nil, fmt.Errorf("reading %s: %w", displayName(path), err)
	}
	r := &Reader{opt: opt, mem: opt.Allocator, path: path}
	if r.mem == nil {
		r.mem = memory.DefaultAllocator
	}
	if r.opt.BatchRows == 0 {
		r.opt.BatchRows = DefaultBatchRows
	}
	r.extract.ZeroMissing = opt.Nulls == NullsDrop || opt.Nulls == NullsZero
	var err error
	if r.files, r.parts, err = listParts(path, opt.Format); err != nil {
		return nil, fmt.Errorf("reading %s: %w", displayName(path), err)
	}
	if err := r.openNext(); err != nil {
		r.Close()
		return nil, err
	}
	return r, nil
}

func (o Options) check() error {
	if !slices.Contains([]string{"", FormatAuto, FormatParquet, FormatArrow}, o.Format) {
		return fmt.Errorf("unknown format %q (want auto, parquet or arrow)", o.Format)
	}
	if !slices.Contains([]string{"", NullsError, NullsDrop, NullsZero}, o.Nulls) {
		return fmt.Errorf("unknown nulls policy %q (want error, drop or zero)", o.Nulls)
	}
	if o.BatchRows < 0 {
		return fmt.Errorf("batch rows %d is negative", o.BatchRows)
	}
	for _, s := range o.SampleShape {
		if s <= 0 {
			return fmt.Errorf("sample shape %v has a non-positive dimension", o.SampleShape)
		}
	}
	return nil
}

// IDFields returns the fields of the Batch.IDs columns.
func (r *Reader) IDFields() []arrow.Field { return slices.Clone(r.ids) }

// Rows returns the number of input rows read so far and how many of them
// were dropped for missing values.
func (r *Reader) Rows() (read, dropped int64) { return r.rows, r.dropped }

// Next returns the next batch, or io.EOF after the last one. The caller
// releases the batch. An input without any row is an error, not io.EOF.
func (r *Reader) Next(ctx context.Context) (b Batch, err error) {
	for {
		if err := ctx.Err(); err != nil {
			return Batch{}, err
		}
		if r.pending == nil {
			if r.cur == nil {
				return Batch{}, r.end()
			}
			rec, err := r.cur.Next()
			if errors.Is(err, io.EOF) {
				if err := r.openNext(); err != nil {
					return Batch{}, err
				}
				continue
			}
			if err != nil {
				return Batch{}, fmt.Errorf("reading %s: %w", r.curFile, err)
			}
			r.pending = rec
		}
		rec := r.pending
		if n := int64(r.opt.BatchRows); rec.NumRows() <= n {
			r.pending = nil
		} else {
			head := rec.NewSlice(0, n)
			r.pending = rec.NewSlice(n, rec.NumRows())
			rec.Release()
			rec = head
		}
		b, err := r.batch(rec)
		rec.Release()
		if err != nil {
			return Batch{}, fmt.Errorf("reading %s: %w", r.curFile, err)
		}
		if b.X.Rows() > 0 {
			return b, nil
		}
		b.Release()
	}
}

// end is what Next returns after the last file: io.EOF, unless no row
// at all came out.
func (r *Reader) end() error {
	switch {
	case r.rows == 0:
		return fmt.Errorf("reading %s: no rows", displayName(r.path))
	case r.kept == 0:
		return fmt.Errorf("reading %s: no rows left after dropping %d with missing values", displayName(r.path), r.dropped)
	}
	return io.EOF
}

// openNext closes the current file and opens the next one, checking its
// columns; after the last file r.cur is nil.
func (r *Reader) openNext() error {
	if r.cur != nil {
		if err := r.cur.Close(); err != nil {
			return fmt.Errorf("reading %s: %w", r.curFile, err)
		}
		r.cur = nil
	}
	if r.next == len(r.files) {
		return nil
	}
	p := r.files[r.next]
	r.next++
	r.curFile = displayName(p.path)
	src, err := openSource(p, r.opt.Stdin, r.mem, r.opt.BatchRows)
	if err != nil {
		return fmt.Errorf("reading %s: %w", r.curFile, err)
	}
	r.cur = src
	if err := r.useSchema(src); err != nil {
		return fmt.Errorf("reading %s: %w", r.curFile, err)
	}
	return nil
}

// useSchema chooses the columns of a file's schema (partition columns
// appended), makes the source read only those, and checks that the id
// columns keep their types from file to file.
func (r *Reader) useSchema(src tableio.Source) error {
	fileSchema := src.Schema()
	schema, err := dataset.WithPartitions(fileSchema, r.parts)
	if err != nil {
		return err
	}
	cols, err := dataset.ChooseColumns(schema, r.opt.Features, r.opt.Label)
	if err != nil {
		return err
	}
	if len(r.opt.Features) == 0 {
		// Partition values are the same for a whole file: never features.
		cols.Features = slices.DeleteFunc(cols.Features, func(i int) bool { return i >= fileSchema.NumFields() })
		if len(cols.Features) == 0 {
			return fmt.Errorf("no numeric feature columns (columns: %s)", names(schema))
		}
	}
	needed := slices.Clone(cols.Features)
	if cols.Label >= 0 {
		needed = append(needed, cols.Label)
	}
	ids := make([]arrow.Field, len(r.opt.IDs))
	for i, name := range r.opt.IDs {
		idx := schema.FieldIndices(name)
		switch {
		case len(idx) == 0:
			return fmt.Errorf("no id column %q (columns: %s)", name, names(schema))
		case len(idx) > 1:
			return fmt.Errorf("id column %q appears %d times", name, len(idx))
		}
		ids[i] = schema.Field(idx[0])
		if r.ids != nil && !arrow.TypeEqual(ids[i].Type, r.ids[i].Type) {
			return fmt.Errorf("id column %q has type %s here but %s in the files before", name, ids[i].Type, r.ids[i].Type)
		}
		ids[i].Nullable = true
		needed = append(needed, idx[0])
	}
	needed = slices.DeleteFunc(needed, func(i int) bool { return i >= fileSchema.NumFields() })
	slices.Sort(needed)
	proj, err := src.Project(slices.Compact(needed))
	if err != nil {
		return err
	}
	if r.curSchema, err = dataset.WithPartitions(proj, r.parts); err != nil {
		return err
	}
	at := func(i int) int { return r.curSchema.FieldIndices(schema.Field(i).Name)[0] }
	r.curCol = dataset.Columns{Label: -1}
	for _, f := range cols.Features {
		r.curCol.Features = append(r.curCol.Features, at(f))
	}
	if cols.Label >= 0 {
		r.curCol.Label = at(cols.Label)
	}
	if r.ids == nil {
		r.ids = ids
	}
	return nil
}

// batch turns one record of at most BatchRows rows into a Batch.
func (r *Reader) batch(rec arrow.Record) (Batch, error) {
	n := int(rec.NumRows())
	full, err := dataset.AppendPartitions(rec, r.curSchema, r.parts, r.files[r.next-1].values, r.mem)
	if err != nil {
		return Batch{}, err
	}
	defer full.Release()
	tbl := array.NewTableFromRecords(full.Schema(), []arrow.Record{full})
	defer tbl.Release()
	first := r.rows
	r.rows += int64(n)
	got, err := r.extract.Extract(tbl, r.curCol, int(first))
	if err != nil {
		return Batch{}, err
	}
	if n == 0 {
		return Batch{}, nil
	}
	if err := r.checkDim(got.X, first); err != nil {
		return Batch{}, err
	}
	b := Batch{RowBatch: dataset.RowBatch{X: got.X, Labels: got.Labels, Rows: make([]int64, n)}, RowOffset: first}
	for i := range b.Rows {
		b.Rows[i] = first + int64(i)
	}
	for _, f := range r.ids {
		a := full.Column(full.Schema().FieldIndices(f.Name)[0])
		a.Retain()
		b.IDs = append(b.IDs, a)
	}
	if r.opt.Nulls == NullsDrop && got.Missing != nil {
		dropped, err := b.Drop(got.Missing, r.ids, r.mem)
		r.dropped += int64(dropped)
		if err != nil {
			b.Release()
			return Batch{}, err
		}
	}
	if len(r.opt.SampleShape) > 0 {
		b.X.Shape = append([]int{b.X.Rows()}, r.opt.SampleShape...)
	}
	r.kept += int64(b.X.Rows())
	return b, nil
}

// checkDim checks that a batch has as many features per row as the
// batches before it (a list column may change length between batches) and
// as the sample shape.
func (r *Reader) checkDim(x sdk.Tensor, first int64) error {
	d := x.Cols()
	if d == 0 {
		return errors.New("no features")
	}
	if r.dim == 0 {
		if len(r.opt.SampleShape) > 0 {
			size := 1
			for _, s := range r.opt.SampleShape {
				size *= s
			}
			if size != d {
				return fmt.Errorf("sample shape %v holds %d values, the data has %d per row", r.opt.SampleShape, size, d)
			}
		}
		r.dim, r.dimFrom = d, first
		return nil
	}
	if d != r.dim {
		col := r.curSchema.Field(r.curCol.Features[0]).Name
		return fmt.Errorf("ragged list column %q: rows from %d have %d values, rows from %d have %d", col, first, d, r.dimFrom, r.dim)
	}
	return nil
}

// Close releases what the reader holds; it is safe to call twice.
func (r *Reader) Close() error {
	if r.pending != nil {
		r.pending.Release()
		r.pending = nil
	}
	if r.cur != nil {
		err := r.cur.Close()
		r.cur = nil
		return err
	}
	return nil
}

func displayName(path string) string {
	if path == Stdin {
		return "stdin"
	}
	return path
}

func names(schema *arrow.Schema) string {
	out := ""
	for i, f := range schema.Fields() {
		if i > 0 {
			out += ", "
		}
		out += f.Name
	}
	return out
}
