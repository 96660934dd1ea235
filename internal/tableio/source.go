package tableio

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"

	"github.com/deepclust/deepclust/internal/arrowsafe"
)

// The formats of input files.
const (
	Parquet = "parquet"
	Arrow   = "arrow"
	CSV     = "csv"
	IDX     = "idx"
)

// DefaultBatchRows bounds the rows of a Parquet record when
// Options.BatchRows is 0.
const DefaultBatchRows = 65536

// FormatOf returns the format a file's name says, or "" when it says
// none: .csv; .arrow, .arrows, .ipc, .feather; .parquet, .pq; .idx, .gz
// or a name with "-ubyte" (MNIST's idx files).
func FormatOf(path string) string {
	base := strings.ToLower(filepath.Base(path))
	switch filepath.Ext(base) {
	case ".csv":
		return CSV
	case ".arrow", ".arrows", ".ipc", ".feather":
		return Arrow
	case ".parquet", ".pq":
		return Parquet
	case ".idx", ".gz":
		return IDX
	}
	if strings.Contains(base, "-ubyte") {
		return IDX
	}
	return ""
}

// Options tells Open how to read.
type Options struct {
	// Allocator holds the Arrow buffers (memory.DefaultAllocator when
	// nil), under the input's Limit.
	Allocator memory.Allocator
	// BatchRows bounds the rows of a Parquet record (DefaultBatchRows
	// when 0); an Arrow record has the rows its writer gave it.
	BatchRows int
}

// Source yields the records of one Parquet or Arrow IPC input. Its
// methods never panic: a panic of the Arrow or Parquet readers, which
// corrupt input can provoke, becomes an error, after which every call
// returns that error. It is not safe for concurrent use.
type Source interface {
	// Schema is the input's full schema.
	Schema() *arrow.Schema
	// Project restricts the records Next returns to the given fields of
	// Schema (increasing indices) and returns their schema; it must be
	// called once, before Next.
	Project(fields []int) (*arrow.Schema, error)
	// Next returns the next record, which the caller releases, or io.EOF
	// after the last. Every record has passed validation: its buffers
	// hold what its types and offsets say.
	Next() (arrow.Record, error)
	// Close releases the source and closes its file.
	Close() error
}

// source is what the format readers implement; guarded wraps it.
type source interface {
	schema() *arrow.Schema
	project(fields []int) (*arrow.Schema, error)
	next() (arrow.Record, error)
	close() error
}

// Open opens the Parquet or Arrow IPC (file or stream) input at path; the
// format is Parquet or Arrow. Errors do not name the path: the caller
// does.
func Open(path, format string, opt Options) (Source, error) {
	if format != Parquet && format != Arrow {
		return nil, fmt.Errorf("tableio reads parquet or arrow, not %q", format)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	switch {
	case err != nil:
	case st.IsDir():
		err = fmt.Errorf("is a directory, not a %s file", format)
	case st.Size() == 0:
		err = errors.New("empty file (0 bytes)")
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	g := &guarded{format: format}
	mem := arrowsafe.NewLimitedAllocator(allocator(opt), arrowsafe.Limit(st.Size()))
	err = g.do(func() error {
		var err error
		if format == Parquet {
			g.s, err = newParquetSource(f, st.Size(), mem, opt.BatchRows)
		} else {
			g.s, err = newArrowSource(f, st.Size(), mem)
		}
		return err
	})
	if err != nil {
		f.Close()
		return nil, err
	}
	return g, nil
}

// OpenStream reads an Arrow IPC stream from r (stdin, say), closing r on
// Close when it is an io.Closer; its allocations are bounded by
// arrowsafe.StreamLimit.
func OpenStream(r io.Reader, opt Options) (Source, error) {
	rc, ok := r.(io.ReadCloser)
	if !ok {
		rc = io.NopCloser(r)
	}
	g := &guarded{format: Arrow}
	mem := arrowsafe.NewLimitedAllocator(allocator(opt), arrowsafe.Limit(-1))
	err := g.do(func() error {
		var err error
		g.s, err = newStreamSource(rc, -1, mem)
		return err
	})
	if err != nil {
		rc.Close()
		return nil, err
	}
	return g, nil
}

func allocator(opt Options) memory.Allocator {
	if opt.Allocator == nil {
		return memory.DefaultAllocator
	}
	return opt.Allocator
}

// guarded turns the panics of a source into errors and validates its
// records.
type guarded struct {
	s      source
	format string
	err    error // the panic that broke the source
	proj   *arrow.Schema
}

// do runs fn, turning a panic into the error it returns; after a panic,
// it returns that error without running fn.
func (g *guarded) do(fn func() error) (err error) {
	if g.err != nil {
		return g.err
	}
	defer func() {
		if r := recover(); r != nil {
			if ae, ok := r.(*arrowsafe.AllocError); ok {
				err = fmt.Errorf("corrupt %s file: %w", g.format, ae)
			} else {
				msg := strings.Join(strings.Fields(fmt.Sprint(r)), " ")
				err = fmt.Errorf("corrupt %s file (the reader failed: %s)", g.format, msg)
			}
			g.err = err
		}
	}()
	return fn()
}

func (g *guarded) Schema() *arrow.Schema { return g.s.schema() }

func (g *guarded) Project(fields []int) (*arrow.Schema, error) {
	n := g.s.schema().NumFields()
	for i, f := range fields {
		if f < 0 || f >= n || (i > 0 && f <= fields[i-1]) {
			return nil, fmt.Errorf("projection %v: fields must increase within [0, %d)", fields, n)
		}
	}
	err := g.do(func() error {
		var err error
		g.proj, err = g.s.project(fields)
		return err
	})
	return g.proj, err
}

func (g *guarded) Next() (rec arrow.Record, err error) {
	err = g.do(func() error {
		var err error
		if rec, err = g.s.next(); err != nil {
			return err
		}
		if err := validateRecord(rec); err != nil {
			rec.Release()
			rec = nil
			return fmt.Errorf("corrupt %s file: %w", g.format, err)
		}
		return nil
	})
	if err != nil && rec != nil {
		rec.Release()
		rec = nil
	}
	return rec, err
}

func (g *guarded) Close() error {
	if g.s == nil {
		return nil
	}
	err := g.do(g.s.close)
	if g.err != nil && err == g.err {
		// The source broke earlier; close what can be closed.
		err = nil
		func() {
			defer func() { _ = recover() }()
			_ = g.s.close()
		}()
	}
	g.s = nil
	return err
}

// ReadTable reads every column of the Parquet or Arrow input at path into
// a table, which the caller releases.
func ReadTable(path, format string, opt Options) (arrow.Table, error) {
	src, err := Open(path, format, opt)
	if err != nil {
		return nil, err
	}
	defer src.Close()
	fields := make([]int, src.Schema().NumFields())
	for i := range fields {
		fields[i] = i
	}
	schema, err := src.Project(fields)
	if err != nil {
		return nil, err
	}
	var recs []arrow.Record
	defer func() {
		for _, r := range recs {
			r.Release()
		}
	}()
	for {
		rec, err := src.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		recs = append(recs, rec)
	}
	return array.NewTableFromRecords(schema, recs), nil
}
