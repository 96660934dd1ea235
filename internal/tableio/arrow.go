package tableio

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/ipc"
	"github.com/apache/arrow/go/v15/arrow/memory"

	"github.com/deepclust/deepclust/internal/arrowsafe"
)

// arrowFileMagic opens and closes every Arrow IPC file (and Feather v2
// file); a stream has none.
const arrowFileMagic = "ARROW1"

// arrowSource reads the record batches of an Arrow IPC stream, or of the
// stream inside an Arrow IPC file, one at a time, keeping only the
// projected columns. Its messages come through an arrowsafe message
// reader, which checks their flatbuffers and lengths before Arrow's reader
// sees them, and every buffer comes from the limited allocator.
type arrowSource struct {
	c      io.Closer
	stream *ipc.Reader
	i      int
	// batches is the number of record batches a file's footer lists (-1
	// for a stream).
	batches int
	full    *arrow.Schema
	fields  []int
	proj    *arrow.Schema
}

// newArrowSource opens an IPC file of size bytes, or an IPC stream when f
// lacks the file magic. A file is read as the stream it holds, up to its
// footer, and must hold as many record batches as its footer lists.
func newArrowSource(f readerAtCloser, size int64, mem memory.Allocator) (*arrowSource, error) {
	magic := make([]byte, len(arrowFileMagic))
	n, _ := io.ReadFull(io.NewSectionReader(f, 0, int64(len(magic))), magic)
	if string(magic[:n]) != arrowFileMagic {
		return newStreamSource(f, size, mem)
	}
	end, batches, err := readArrowFooter(f, size)
	if err != nil {
		return nil, fmt.Errorf("corrupt arrow file: %w", err)
	}
	const start = 8 // the magic, padded to 8 bytes
	mr := arrowsafe.NewMessageReader(bufio.NewReaderSize(io.NewSectionReader(f, start, end-start), 1<<20), end-start, mem)
	s, err := newSourceFrom(mr, f, mem)
	if err != nil {
		return nil, fmt.Errorf("corrupt arrow file: %w", err)
	}
	s.batches = batches
	return s, nil
}

// readArrowFooter checks the trailer and footer of an IPC file and returns
// where the footer starts and how many record batches it lists.
func readArrowFooter(f io.ReaderAt, size int64) (end int64, batches int, err error) {
	const trailer = 4 + len(arrowFileMagic)
	if size < int64(8+trailer) {
		return 0, 0, fmt.Errorf("file of %d bytes is too small", size)
	}
	tail := make([]byte, trailer)
	if _, err := f.ReadAt(tail, size-int64(trailer)); err != nil {
		return 0, 0, err
	}
	if string(tail[4:]) != arrowFileMagic {
		return 0, 0, errors.New("no footer: the file does not end with the Arrow magic (truncated?)")
	}
	n := int64(int32(binary.LittleEndian.Uint32(tail)))
	end = size - int64(trailer) - n
	if n <= 0 || end < 8 {
		return 0, 0, fmt.Errorf("footer of %d bytes in a file of %d", n, size)
	}
	footer := make([]byte, n)
	if _, err := f.ReadAt(footer, end); err != nil {
		return 0, 0, err
	}
	batches, err = arrowsafe.VerifyFooter(footer)
	return end, batches, err
}

func newStreamSource(rc io.ReadCloser, size int64, mem memory.Allocator) (*arrowSource, error) {
	mr := arrowsafe.NewMessageReader(bufio.NewReaderSize(rc, 1<<20), size, mem)
	s, err := newSourceFrom(mr, rc, mem)
	if err != nil {
		return nil, fmt.Errorf("not an arrow IPC file or stream: %w", err)
	}
	return s, nil
}

func newSourceFrom(mr ipc.MessageReader, c io.Closer, mem memory.Allocator) (*arrowSource, error) {
	r, err := ipc.NewReaderFromMessageReader(mr, ipc.WithAllocator(mem))
	if err != nil {
		mr.Release()
		return nil, err
	}
	return &arrowSource{c: c, stream: r, full: r.Schema(), batches: -1}, nil
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

func (s *arrowSource) next() (arrow.Record, error) {
	if s.proj == nil {
		return nil, errors.New("arrow source read before Project")
	}
	if !s.stream.Next() {
		if err := s.stream.Err(); err != nil {
			return nil, fmt.Errorf("corrupt arrow data: record batch %d: %w", s.i, err)
		}
		if s.batches >= 0 && s.i != s.batches {
			return nil, fmt.Errorf("corrupt arrow file: its footer lists %d record batches, it holds %d", s.batches, s.i)
		}
		return nil, io.EOF
	}
	full := s.stream.Record()
	s.i++
	if full.NumCols() != int64(s.full.NumFields()) {
		return nil, fmt.Errorf("corrupt arrow data: record batch %d has %d columns, the schema %d", s.i-1, full.NumCols(), s.full.NumFields())
	}
	cols := make([]arrow.Array, len(s.fields))
	for i, f := range s.fields {
		cols[i] = full.Column(f)
		if int64(cols[i].Len()) != full.NumRows() {
			return nil, fmt.Errorf("corrupt arrow data: record batch %d column %q has %d rows, the batch %d", s.i-1, s.proj.Field(i).Name, cols[i].Len(), full.NumRows())
		}
	}
	return array.NewRecord(s.proj, cols, full.NumRows()), nil
}

func (s *arrowSource) close() error {
	s.stream.Release()
	return s.c.Close()
}
