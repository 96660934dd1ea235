package tableio

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/apache/arrow/go/v15/parquet"
	"github.com/apache/arrow/go/v15/parquet/compress"
	"github.com/apache/arrow/go/v15/parquet/file"
	"github.com/apache/arrow/go/v15/parquet/metadata"
	"github.com/apache/arrow/go/v15/parquet/pqarrow"

	"github.com/deepclust/deepclust/internal/arrowsafe"
)

// readerAtCloser is the file a source reads.
type readerAtCloser interface {
	io.Reader
	io.ReaderAt
	io.Seeker
	io.Closer
}

// parquetSource streams a Parquet file in records of at most batchRows
// rows, one row group at a time. Before a row group is handed to pqarrow,
// the pages of its projected column chunks are walked: their headers
// decode, they fit in their chunk, and their CRCs, when present, match.
// pqarrow reads with Parallel off, so that its decoding (and any panic of
// it) happens in the caller's goroutine; the goroutines it still starts
// to set up column readers only see metadata checked at open.
type parquetSource struct {
	f     readerAtCloser
	size  int64
	limit int64
	rdr   *file.Reader
	fr    *pqarrow.FileReader
	full  *arrow.Schema
	// leaves are the projected leaf columns; rr reads row group rg.
	leaves []int
	rg     int
	rr     pqarrow.RecordReader
	// read counts the rows returned, to catch readers that stop early on
	// corrupt pages without an error.
	read int64
}

func newParquetSource(f readerAtCloser, size int64, mem memory.Allocator, batchRows int) (*parquetSource, error) {
	if batchRows <= 0 {
		batchRows = DefaultBatchRows
	}
	props := parquet.NewReaderProperties(mem)
	props.BufferedStreamEnabled = true
	props.BufferSize = 1 << 20
	rdr, err := file.NewParquetReader(f, file.WithReadProps(props))
	if err != nil {
		return nil, fmt.Errorf("corrupt parquet file: %w", err)
	}
	s := &parquetSource{f: f, size: size, limit: arrowsafe.Limit(size), rdr: rdr}
	if err := s.checkMetadata(); err != nil {
		rdr.Close()
		return nil, fmt.Errorf("corrupt parquet file: %w", err)
	}
	if err := checkStoredSchema(rdr.MetaData().KeyValueMetadata(), mem); err != nil {
		rdr.Close()
		return nil, fmt.Errorf("corrupt parquet file: stored Arrow schema: %w", err)
	}
	s.fr, err = pqarrow.NewFileReader(rdr, pqarrow.ArrowReadProperties{BatchSize: int64(batchRows), Parallel: false}, mem)
	if err != nil {
		rdr.Close()
		return nil, fmt.Errorf("corrupt parquet file: %w", err)
	}
	if s.full, err = s.fr.Schema(); err != nil {
		rdr.Close()
		return nil, fmt.Errorf("parquet schema: %w", err)
	}
	return s, nil
}

// checkMetadata checks what pqarrow's setup goroutines read of the
// footer: every row group has every column, every column chunk lies
// within the file and names a known codec, and row and value counts are
// not negative.
func (s *parquetSource) checkMetadata() error {
	meta := s.rdr.MetaData()
	cols := meta.Schema.NumColumns()
	if meta.NumRows < 0 {
		return fmt.Errorf("footer declares %d rows", meta.NumRows)
	}
	var rows int64
	for rg := 0; rg < s.rdr.NumRowGroups(); rg++ {
		g := meta.RowGroup(rg)
		if g.NumRows() < 0 {
			return fmt.Errorf("row group %d declares %d rows", rg, g.NumRows())
		}
		if rows += g.NumRows(); rows < 0 {
			return fmt.Errorf("row groups declare more than %d rows", int64(^uint64(0)>>1))
		}
		if g.NumColumns() != cols {
			return fmt.Errorf("row group %d has %d column chunks, the schema %d columns", rg, g.NumColumns(), cols)
		}
		for c := 0; c < cols; c++ {
			chunk, err := g.ColumnChunk(c)
			if err != nil {
				return fmt.Errorf("row group %d column %d: %w", rg, c, err)
			}
			start, length := chunkRange(chunk)
			if start < 0 || length < 0 || start > s.size || length > s.size-start {
				return fmt.Errorf("row group %d column %d lies at bytes [%d, %d+%d), outside the file's %d", rg, c, start, start, length, s.size)
			}
			if chunk.NumValues() < 0 {
				return fmt.Errorf("row group %d column %d declares %d values", rg, c, chunk.NumValues())
			}
			if _, err := compress.GetCodec(chunk.Compression()); err != nil {
				return fmt.Errorf("row group %d column %d: %w", rg, c, err)
			}
		}
	}
	if rows != meta.NumRows {
		return fmt.Errorf("footer declares %d rows, its row groups %d", meta.NumRows, rows)
	}
	return nil
}

// checkStoredSchema verifies the Arrow schema a Parquet writer may store
// in the footer (key ARROW:schema, an IPC schema message in base64), which
// pqarrow decodes with Arrow's unchecked IPC reader, as arrowsafe checks
// a message.
func checkStoredSchema(kv metadata.KeyValueMetadata, mem memory.Allocator) error {
	if kv == nil {
		return nil
	}
	serialized := kv.FindValue("ARROW:schema")
	if serialized == nil {
		return nil
	}
	// Decoded as pqarrow decodes it: padded base64, else unpadded.
	var decoded []byte
	var err error
	if len(*serialized)%4 == 0 {
		decoded, err = base64.StdEncoding.DecodeString(*serialized)
	}
	if len(decoded) == 0 || err != nil {
		if decoded, err = base64.RawStdEncoding.DecodeString(*serialized); err != nil {
			return err
		}
	}
	mr := arrowsafe.NewMessageReader(bytes.NewReader(decoded), int64(len(decoded)), mem)
	defer mr.Release()
	_, err = mr.Message()
	return err
}

// chunkRange is where a column chunk's pages lie, as pqarrow computes it.
func chunkRange(chunk *metadata.ColumnChunkMetaData) (start, length int64) {
	start = chunk.DataPageOffset()
	if chunk.HasDictionaryPage() && chunk.DictionaryPageOffset() > 0 && start > chunk.DictionaryPageOffset() {
		start = chunk.DictionaryPageOffset()
	}
	return start, chunk.TotalCompressedSize()
}

func (s *parquetSource) schema() *arrow.Schema { return s.full }

func (s *parquetSource) project(fields []int) (*arrow.Schema, error) {
	s.leaves = nil
	for _, i := range fields {
		s.leaves = appendLeaves(s.leaves, s.fr.Manifest.Fields[i])
	}
	if len(s.leaves) == 0 {
		return nil, errors.New("no columns to read")
	}
	if err := s.openRowGroup(0); err != nil {
		return nil, err
	}
	return s.rr.Schema(), nil
}

// openRowGroup checks the pages of row group rg and starts reading it
// (the empty file's "row group 0" reads nothing): one reader per row
// group, so that a record never spans two row groups.
func (s *parquetSource) openRowGroup(rg int) error {
	if s.rr != nil {
		s.rr.Release()
		s.rr = nil
	}
	groups := []int{}
	if rg < s.rdr.NumRowGroups() {
		if err := s.checkPages(rg); err != nil {
			return fmt.Errorf("corrupt parquet file: row group %d: %w", rg, err)
		}
		groups = []int{rg}
	}
	rr, err := s.fr.GetRecordReader(context.Background(), s.leaves, groups)
	if err != nil {
		return fmt.Errorf("corrupt parquet file: %w", err)
	}
	s.rr, s.rg = rr, rg
	return nil
}

// checkPages walks the pages of the projected column chunks of row group
// rg (see checkPages). Files of writers with PARQUET-816 (parquet-mr
// 1.2.8 and older) understate their chunk sizes and are not walked.
func (s *parquetSource) checkPages(rg int) error {
	meta := s.rdr.MetaData()
	if meta.WriterVersion().LessThan(metadata.Parquet816FixedVersion) {
		return nil
	}
	g := meta.RowGroup(rg)
	if g.NumRows() == 0 {
		// pqarrow reads no page; the v15 writer leaves an empty chunk's
		// data page offset at 0.
		return nil
	}
	for _, leaf := range s.leaves {
		chunk, err := g.ColumnChunk(leaf)
		if err != nil {
			return err
		}
		start, length := chunkRange(chunk)
		if _, err := checkPages(io.NewSectionReader(s.f, start, length), length, s.limit); err != nil {
			return fmt.Errorf("column %q: %w", meta.Schema.Column(leaf).Path(), err)
		}
	}
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

func (s *parquetSource) next() (arrow.Record, error) {
	if s.rr == nil {
		return nil, errors.New("parquet source read before Project")
	}
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
		if s.rg+1 >= s.rdr.NumRowGroups() {
			break
		}
		if err := s.openRowGroup(s.rg + 1); err != nil {
			return nil, err
		}
	}
	if want := s.rdr.NumRows(); s.read != want {
		return nil, fmt.Errorf("corrupt parquet file: read %d of its %d rows", s.read, want)
	}
	return nil, io.EOF
}

func (s *parquetSource) close() error {
	if s.rr != nil {
		s.rr.Release()
		s.rr = nil
	}
	err := s.rdr.Close()
	s.f.Close()
	return err
}
