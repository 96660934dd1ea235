package tableio

import (
	"bytes"
	"encoding/binary"
	"io"
	"math/rand/v2"
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
)

// testRecord has an int64 column, a small-integer column (dictionary
// encoded by the writers below), a string column and a fixed-size list of
// float32, with n rows of seeded values.
func testRecord(t testing.TB, n int, seed uint64) arrow.Record {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 1))
	mem := memory.NewGoAllocator()
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "row", Type: arrow.PrimitiveTypes.Int64},
		{Name: "cluster", Type: arrow.PrimitiveTypes.Int32},
		{Name: "name", Type: arrow.BinaryTypes.String},
		{Name: "emb", Type: arrow.FixedSizeListOf(3, arrow.PrimitiveTypes.Float32), Nullable: true},
	}, nil)
	b := array.NewRecordBuilder(mem, schema)
	defer b.Release()
	emb := b.Field(3).(*array.FixedSizeListBuilder)
	vals := emb.ValueBuilder().(*array.Float32Builder)
	for i := range n {
		b.Field(0).(*array.Int64Builder).Append(int64(i))
		b.Field(1).(*array.Int32Builder).Append(int32(rng.IntN(5)))
		b.Field(2).(*array.StringBuilder).Append(strings.Repeat("x", rng.IntN(4)))
		emb.Append(true)
		for range 3 {
			vals.Append(rng.Float32())
		}
	}
	return b.NewRecord()
}

// writeParquet writes recs as Parquet, with page checksums when crc is
// set, one row group per record when each has rowGroup rows (pqarrow v15
// writes wrong values for the slices of a fixed-size list that a larger
// record would be cut into).
func writeParquet(t testing.TB, recs []arrow.Record, codec compress.Compression, v2, crc bool, rowGroup int64) []byte {
	t.Helper()
	var buf bytes.Buffer
	var sink io.Writer = &buf
	if crc {
		sink = ChecksumWriter(&buf)
	}
	version := parquet.DataPageV1
	if v2 {
		version = parquet.DataPageV2
	}
	props := parquet.NewWriterProperties(
		parquet.WithCompression(codec),
		parquet.WithMaxRowGroupLength(rowGroup),
		parquet.WithDataPageSize(512), // several pages per column chunk
		parquet.WithDataPageVersion(version),
		parquet.WithDictionaryDefault(false),
		parquet.WithDictionaryFor("cluster", true),
	)
	w, err := pqarrow.NewFileWriter(recs[0].Schema(), sink, props, pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema()))
	if err != nil {
		t.Fatal(err)
	}
	for _, rec := range recs {
		if err := w.Write(rec); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func writeTemp(t testing.TB, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// readAll reads every column of path through Open.
func readAll(t testing.TB, path, format string, mem memory.Allocator) (arrow.Table, error) {
	t.Helper()
	return ReadTable(path, format, Options{Allocator: mem, BatchRows: 100})
}

// pagesOf walks every column chunk of a Parquet file and returns the
// number of pages and how many carry a CRC.
func pagesOf(t *testing.T, raw []byte) (pages, withCRC int) {
	t.Helper()
	r, err := file.NewParquetReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	for rg := 0; rg < r.NumRowGroups(); rg++ {
		g := r.MetaData().RowGroup(rg)
		for c := 0; c < g.NumColumns(); c++ {
			chunk, err := g.ColumnChunk(c)
			if err != nil {
				t.Fatal(err)
			}
			start, length := chunkRange(chunk)
			br := &sliceReader{b: raw[start : start+length]}
			for br.i < len(br.b) {
				h, _, err := readPageHeader(br, int64(len(br.b)-br.i))
				if err != nil {
					t.Fatalf("row group %d column %d: %v", rg, c, err)
				}
				pages++
				if h.hasCRC {
					withCRC++
				}
				br.i += int(h.compressed)
			}
		}
	}
	return pages, withCRC
}

// TestThriftRoundTrip decodes the footer and every page header of a file
// written by pqarrow and encodes them back to the same bytes.
func TestThriftRoundTrip(t *testing.T) {
	rec := testRecord(t, 300, 1)
	defer rec.Release()
	raw := writeParquet(t, []arrow.Record{rec}, compress.Codecs.Zstd, false, false, 100)
	n := int(binary.LittleEndian.Uint32(raw[len(raw)-8:]))
	footer := raw[len(raw)-8-n : len(raw)-8]
	s, used, err := decodeStruct(footer)
	if err != nil || used != n {
		t.Fatalf("decoding the footer: %v (%d of %d bytes)", err, used, n)
	}
	var e tEncoder
	if err := e.structValue(s); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(e.b, footer) {
		t.Fatalf("footer re-encodes to %d bytes that differ from its %d", len(e.b), len(footer))
	}
	h, hs, err := readPageHeader(&sliceReader{b: raw[4:]}, int64(len(raw)-4))
	if err != nil {
		t.Fatal(err)
	}
	e.b = nil
	if err := e.structValue(hs); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(e.b, raw[4:4+h.size]) {
		t.Fatal("the first page header does not re-encode to its bytes")
	}
}

// TestChecksumWriterRoundTrip writes files through ChecksumWriter (V1
// and V2 pages, zstd and uncompressed, a dictionary column, several row
// groups and pages) and checks that every page carries a CRC and that the
// file reads back, CRCs checked, to the same values.
func TestChecksumWriterRoundTrip(t *testing.T) {
	var recs []arrow.Record
	for i := range 4 {
		recs = append(recs, testRecord(t, 300, uint64(10+i)))
		defer recs[i].Release()
	}
	for _, tc := range []struct {
		name  string
		codec compress.Compression
		v2    bool
	}{{"v1 zstd", compress.Codecs.Zstd, false}, {"v2 zstd", compress.Codecs.Zstd, true}, {"v1 plain", compress.Codecs.Uncompressed, false}, {"v2 snappy", compress.Codecs.Snappy, true}} {
		t.Run(tc.name, func(t *testing.T) {
			raw := writeParquet(t, recs, tc.codec, tc.v2, true, 300)
			pages, withCRC := pagesOf(t, raw)
			if pages < 16 || withCRC != pages {
				t.Fatalf("%d of %d pages carry a CRC, want all of at least 16", withCRC, pages)
			}
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			if !tc.v2 {
				// pqarrow v15 itself leaks level buffers on V2 pages,
				// with or without checksums.
				defer mem.AssertSize(t, 0)
			}
			tbl, err := readAll(t, writeTemp(t, "c.parquet", raw), Parquet, mem)
			if err != nil {
				t.Fatal(err)
			}
			defer tbl.Release()
			want := array.NewTableFromRecords(recs[0].Schema(), recs)
			defer want.Release()
			for i := range 3 {
				if !array.ChunkedEqual(tbl.Column(i).Data(), want.Column(i).Data()) {
					t.Fatalf("column %d reads back different values", i)
				}
			}
			if got, exp := listValues(t, tbl.Column(3)), listValues(t, want.Column(3)); !slices.Equal(got, exp) {
				t.Fatal("the list column reads back different values")
			}
		})
	}
}

// listValues concatenates the values of a fixed-size list column.
func listValues(t *testing.T, col *arrow.Column) []float32 {
	t.Helper()
	var out []float32
	for _, c := range col.Data().Chunks() {
		l := c.(*array.FixedSizeList)
		v := l.ListValues().(*array.Float32).Float32Values()
		start, _ := l.ValueOffsets(0)
		_, end := l.ValueOffsets(l.Len() - 1)
		out = append(out, v[start:end]...)
	}
	return out
}

// flipInPage flips one byte in the middle of the first data page of the
// last column chunk (the float list), past its header.
func flipInPage(t *testing.T, raw []byte) []byte {
	t.Helper()
	r, err := file.NewParquetReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	g := r.MetaData().RowGroup(0)
	chunk, err := g.ColumnChunk(g.NumColumns() - 1)
	if err != nil {
		t.Fatal(err)
	}
	start, _ := chunkRange(chunk)
	h, _, err := readPageHeader(&sliceReader{b: raw[start:]}, int64(len(raw))-start)
	if err != nil {
		t.Fatal(err)
	}
	out := bytes.Clone(raw)
	out[start+h.size+h.compressed/2] ^= 0x10
	return out
}

// TestFlippedPageByte is the regression test for bytes flipped inside a
// Parquet page: with checksums the read fails naming the column; it used
// to return the flipped value.
func TestFlippedPageByte(t *testing.T) {
	rec := testRecord(t, 200, 3)
	defer rec.Release()
	raw := writeParquet(t, []arrow.Record{rec}, compress.Codecs.Uncompressed, false, true, 1000)
	_, err := readAll(t, writeTemp(t, "flip.parquet", flipInPage(t, raw)), Parquet, memory.DefaultAllocator)
	if err == nil || !strings.Contains(err.Error(), "checksum mismatch") || !strings.Contains(err.Error(), `column "emb`) {
		t.Fatalf("reading a flipped page: %v, want a checksum mismatch in column emb", err)
	}
}

// TestCorruptZstdPageIsAnError reads zstd pages without checksums (files
// of other writers, or of deepclust before it wrote them) whose bytes were
// flipped: arrow's zstd codec panics on them, which used to kill the
// process from a pqarrow goroutine.
func TestCorruptZstdPageIsAnError(t *testing.T) {
	rec := testRecord(t, 200, 4)
	defer rec.Release()
	raw := writeParquet(t, []arrow.Record{rec}, compress.Codecs.Zstd, false, false, 1000)
	_, err := readAll(t, writeTemp(t, "zstd.parquet", flipInPage(t, raw)), Parquet, memory.DefaultAllocator)
	if err == nil || !strings.Contains(err.Error(), "corrupt parquet file") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("reading a corrupt zstd page: %v, want a one-line corrupt-file error", err)
	}
}

// TestHugeDeclaredLengthIsAnError is the regression test for a small
// Arrow file that declares a 146 GB buffer: the buffer lengths of the
// record batch's metadata are set to 146e9, which used to end the process
// with "fatal error: runtime: out of memory".
func TestHugeDeclaredLengthIsAnError(t *testing.T) {
	b := array.NewFloat64Builder(memory.DefaultAllocator)
	b.AppendValues([]float64{1, 2, 3, 4, 5, 6, 7}, nil)
	vals := b.NewArray()
	b.Release()
	rec := array.NewRecord(arrow.NewSchema([]arrow.Field{{Name: "x", Type: arrow.PrimitiveTypes.Float64}}, nil), []arrow.Array{vals}, 7)
	defer rec.Release()
	raw := arrowFileOf(t, rec)
	// The values buffer is 56 bytes: patch every little-endian int64 56
	// (its length in the metadata) to 146 GB.
	var want [8]byte
	binary.LittleEndian.PutUint64(want[:], 56)
	patched := bytes.Clone(raw)
	hits := 0
	for i := 0; i+8 <= len(patched); i++ {
		if bytes.Equal(patched[i:i+8], want[:]) {
			binary.LittleEndian.PutUint64(patched[i:], 146e9)
			hits++
		}
	}
	if hits == 0 {
		t.Fatal("the buffer length was not found in the file")
	}
	for _, name := range []string{"huge.arrow", "stream.arrows"} {
		data := patched
		if name == "stream.arrows" {
			data = patched[8:] // the file without its magic reads as a stream
		}
		_, err := readAll(t, writeTemp(t, name, data), Arrow, memory.DefaultAllocator)
		if err == nil || !strings.Contains(err.Error(), "corrupt arrow") {
			t.Errorf("%s: %v, want a corrupt-file error", name, err)
		}
	}
}

// TestValidateRecord builds arrays whose buffers disagree with their
// lengths and offsets and checks that validation rejects them.
func TestValidateRecord(t *testing.T) {
	f32 := func(n int) arrow.ArrayData {
		return array.NewData(arrow.PrimitiveTypes.Float32, n, []*memory.Buffer{nil, memory.NewBufferBytes(make([]byte, 4*n))}, nil, 0, 0)
	}
	offsets := func(o ...int32) *memory.Buffer {
		return memory.NewBufferBytes(arrow.Int32Traits.CastToBytes(o))
	}
	listType := arrow.ListOf(arrow.PrimitiveTypes.Float32)
	for _, tc := range []struct {
		name string
		data arrow.ArrayData
		want string
	}{
		{"list offset past values", array.NewData(listType, 2, []*memory.Buffer{nil, offsets(0, 2, 9)}, []arrow.ArrayData{f32(4)}, 0, 0), "past the 4 values"},
		{"list offsets decrease", array.NewData(listType, 2, []*memory.Buffer{nil, offsets(0, 3, 1)}, []arrow.ArrayData{f32(4)}, 0, 0), "decrease"},
		{"fixed list short child", array.NewData(arrow.FixedSizeListOf(3, arrow.PrimitiveTypes.Float32), 2, []*memory.Buffer{nil}, []arrow.ArrayData{f32(5)}, 0, 0), "has 5 values"},
		{"string offset past data", array.NewData(arrow.BinaryTypes.String, 1, []*memory.Buffer{nil, offsets(0, 5), memory.NewBufferBytes([]byte("abc"))}, nil, 0, 0), "past the 3 values"},
		{"short bitmap", array.NewData(arrow.PrimitiveTypes.Float32, 20, []*memory.Buffer{memory.NewBufferBytes([]byte{0xff}), memory.NewBufferBytes(make([]byte, 80))}, nil, 0, 0), "validity bitmap"},
	} {
		err := validateData(tc.data, 0)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
	rec := testRecord(t, 10, 5)
	defer rec.Release()
	if err := validateRecord(rec); err != nil {
		t.Errorf("a valid record: %v", err)
	}
}

// TestNoRowsAndErrors covers the empty file, a directory and the empty
// Parquet table (whose empty column chunk the v15 writer leaves at offset 0).
func TestNoRowsAndErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := Open(dir, Parquet, Options{}); err == nil || !strings.Contains(err.Error(), "is a directory") {
		t.Errorf("a directory: %v", err)
	}
	if _, err := Open(writeTemp(t, "e.parquet", nil), Parquet, Options{}); err == nil || !strings.Contains(err.Error(), "empty file") {
		t.Errorf("an empty file: %v", err)
	}
	rec := testRecord(t, 0, 6)
	defer rec.Release()
	tbl, err := readAll(t, writeTemp(t, "none.parquet", writeParquet(t, []arrow.Record{rec}, compress.Codecs.Zstd, false, true, 10)), Parquet, memory.DefaultAllocator)
	if err != nil {
		t.Fatal(err)
	}
	defer tbl.Release()
	if tbl.NumRows() != 0 || tbl.NumCols() != 4 {
		t.Errorf("%d rows %d columns, want 0 and 4", tbl.NumRows(), tbl.NumCols())
	}
	src, err := OpenStream(bytes.NewReader([]byte("not a stream")), Options{})
	if err == nil || !strings.Contains(err.Error(), "not an arrow IPC") {
		t.Errorf("garbage on a stream: %v", err)
		if src != nil {
			src.Close()
		}
	}
}
