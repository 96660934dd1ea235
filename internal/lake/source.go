package lake

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/ipc"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/apache/arrow/go/v15/parquet"
	"github.com/apache/arrow/go/v15/parquet/file"
	"github.com/apache/arrow/go/v15/parquet/pqarrow"
)

// arrowFileMagic opens every Arrow IPC file; a stream has none.
const arrowFileMagic = "ARROW1"

// source yields the records of one input file.
type source interface {
	// schema is the file's full schema.
	schema() *arrow.Schema
	// project restricts the records next returns to the given fields of
	// schema (increasing indices) and returns their schema.
	project(fields []int) (*arrow.Schema, error)
	// next returns the next record, which the caller releases, or io.EOF.
	next() (arrow.Record, error)
	close() error
}

// recoverCorrupt turns a panic of the Arrow or Parquet readers, which some
// corrupt inputs provoke, into an error.
func recoverCorrupt(format string, err *error) {
	if r := recover(); r != nil {
		*err = fmt.Errorf("corrupt %s data: %v", format, r)
	}
}

func openSource(p part, stdin io.Reader, mem memory.Allocator, batchRows int) (src source, err error) {
	defer recoverCorrupt(p.format, &err)
	if p.path == Stdin {
		if stdin == nil {
			return nil, errors.New("no standard input to read")
		}
		return newStreamSource(io.NopCloser(stdin), mem)
	}
	f, err := os.Open(p.path)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err == nil && st.Size() == 0 {
		err = errors.New("empty file (0 bytes)")
	}
	if err == nil {
		if p.format == FormatParquet {
			src, err = newParquetSource(f, mem, batchRows)
		} else {
			src, err = newArrowSource(f, mem)
		}
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return src, nil
}

// parquetSource streams a Parquet file in batches of at most batchRows
// rows, reading pages through a buffered stream rather than whole column
// chunks.
type parquetSource struct {
	f    *os.File
	fr   *pqarrow.FileReader
	full *arrow.Schema
	// leaves are the projected leaf columns; rr reads row group rg.
	leaves []int
	rg     int
	rr     pqarrow.RecordReader
	// read counts the rows returned, to catch readers that stop early on
	// corrupt pages without an error.
	read int64
}

func newParquetSource(f *os.File, mem memory.Allocator, batchRows int) (*parquetSource, error) {
	props := parquet.NewReaderProperties(mem)
	props.BufferedStreamEnabled = true
	props.BufferSize = 1 << 20
	rdr, err := file.NewParquetReader(f, file.WithReadProps(props))
	if err != nil {
		return nil, fmt.Errorf("corrupt parquet file: %w", err)
	}
	fr, err := pqarrow.NewFileReader(rdr, pqarrow.ArrowReadProperties{BatchSize: int64(batchRows)}, mem)
	if err != nil {
		return nil, fmt.Errorf("corrupt parquet file: %w", err)
	}
	full, err := fr.Schema()
	if err != nil {
		return nil, fmt.Errorf("parquet schema: %w", err)
	}
	return &parquetSource{f: f, fr: fr, full: full}, nil
}

func (s *parquetSource) schema() *arrow.Schema { return s.full }

func (s *parquetSource) project(fields []int) (_ *arrow.Schema, err error) {
	defer recoverCorrupt(FormatParquet, &err)
	s.leaves = nil
	for _, i := range fields {
		s.leaves = appendLeaves(s.leaves, s.fr.Manifest.Fields[i])
	}
	if err := s.openRowGroup(0); err != nil {
		return nil, err
	}
	return s.rr.Schema(), nil
}

// openRowGroup starts reading row group rg (the empty file's "row group
// 0" reads nothing): one reader per row group, so that a batch never
// spans two row groups.
func (s *parquetSource) openRowGroup(rg int) error {
	if s.rr != nil {
		s.rr.Release()
		s.rr = nil
	}
	var groups []int
	if rg < s.fr.ParquetReader().NumRowGroups() {
		groups = []int{rg}
	} else {
		groups = []int{}
	}
	rr, err := s.fr.GetRecordReader(context.Background(), s.leaves, groups)
	if err != nil {
		return fmt.Errorf("corrupt parquet file: %w", err)
	}
	s.rr, s.rg = rr, rg
	return nil
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

func (s *parquetSource) next() (rec arrow.Record, err error) {
	defer recoverCorrupt(FormatParquet, &err)
	for {
		if s.rr.Next() {
			rec := s.rr.Record()
			rec.Retain()
			s.read += rec.NumRows()
			return rec, nil
		}
		if err := s.rr.Err(); err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("corrupt parquet file: row group %d: %w", s.rg, err)
		}
		if s.rg+1 >= s.fr.ParquetReader().NumRowGroups() {
			break
		}
		if err := s.openRowGroup(s.rg + 1); err != nil {
			return nil, err
		}
	}
	if want := s.fr.ParquetReader().NumRows(); s.read != want {
		return nil, fmt.Errorf("corrupt parquet file: read %d of its %d rows", s.read, want)
	}
	return nil, io.EOF
}

func (s *parquetSource) close() error {
	if s.rr != nil {
		s.rr.Release()
	}
	err := s.fr.ParquetReader().Close()
	s.f.Close()
	return err
}

// arrowSource reads the record batches of an Arrow IPC file or stream one
// at a time, keeping only the projected columns.
type arrowSource struct {
	c      io.Closer
	file   *ipc.FileReader
	stream *ipc.Reader
	i      int
	full   *arrow.Schema
	fields []int
	proj   *arrow.Schema
}

// newArrowSource opens an IPC file, or an IPC stream when f lacks the
// file magic.
func newArrowSource(f *os.File, mem memory.Allocator) (*arrowSource, error) {
	magic := make([]byte, len(arrowFileMagic))
	n, _ := io.ReadFull(f, magic)
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	if string(magic[:n]) != arrowFileMagic {
		return newStreamSource(f, mem)
	}
	r, err := ipc.NewFileReader(f, ipc.WithAllocator(mem))
	if err != nil {
		return nil, fmt.Errorf("corrupt arrow file: %w", err)
	}
	return &arrowSource{c: f, file: r, full: r.Schema()}, nil
}

func newStreamSource(rc io.ReadCloser, mem memory.Allocator) (*arrowSource, error) {
	r, err := ipc.NewReader(bufio.NewReaderSize(rc, 1<<20), ipc.WithAllocator(mem))
	if err != nil {
		return nil, fmt.Errorf("not an arrow IPC file or stream: %w", err)
	}
	return &arrowSource{c: rc, stream: r, full: r.Schema()}, nil
}

func (s *arrowSource) schema() *arrow.Schema { return s.full }

func (s *arrowSource) project(fields []int) (*arrow.Schema, error) {
	fs := make([]arrow.Field, len(fields))
	for i, f := range fields {
		fs[i] = s.full.Field(f)
	}
	s.fields, s.proj = fields, arrow.NewSchema(fs, nil)
	return s.proj, nil
}

func (s *arrowSource) next() (rec arrow.Record, err error) {
	defer recoverCorrupt(FormatArrow, &err)
	var full arrow.Record
	switch {
	case s.file != nil:
		if s.i == s.file.NumRecords() {
			return nil, io.EOF
		}
		if full, err = s.file.RecordAt(s.i); err != nil {
			return nil, fmt.Errorf("corrupt arrow file: record batch %d: %w", s.i, err)
		}
	case s.stream.Next():
		full = s.stream.Record()
		full.Retain()
	default:
		if err := s.stream.Err(); err != nil {
			return nil, fmt.Errorf("corrupt arrow stream: record batch %d: %w", s.i, err)
		}
		return nil, io.EOF
	}
	s.i++
	defer full.Release()
	cols := make([]arrow.Array, len(s.fields))
	for i, f := range s.fields {
		cols[i] = full.Column(f)
	}
	return array.NewRecord(s.proj, cols, full.NumRows()), nil
}

func (s *arrowSource) close() error {
	if s.file != nil {
		s.file.Close()
	} else {
		s.stream.Release()
	}
	return s.c.Close()
}
