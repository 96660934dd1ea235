package dataset

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/ipc"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/apache/arrow/go/v15/parquet"
	"github.com/apache/arrow/go/v15/parquet/compress"
	"github.com/apache/arrow/go/v15/parquet/pqarrow"

	"github.com/deepclust/deepclust/internal/tableio"
)

// The fuzz targets of the readers: whatever the bytes, Load returns a
// data set or a one-line error, never panics, and never allocates past
// the input's limit (a fatal out-of-memory ends the fuzzer). go test
// replays the seeds below and testdata/fuzz; CI fuzzes each for a few
// seconds (scripts/fuzz.sh).

// fuzzLoad writes data to a file called name and loads it with opt.
func fuzzLoad(t *testing.T, name string, data []byte, opt Options) {
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	ds, err := load(p, opt, memory.DefaultAllocator)
	if err != nil {
		if msg := err.Error(); strings.Contains(msg, "\n") || !strings.Contains(msg, p) {
			t.Fatalf("error %q is not one line naming the file", msg)
		}
		return
	}
	if n := ds.X.Rows(); n == 0 || len(ds.X.Data) != n*ds.X.Cols() || (ds.Labels != nil && len(ds.Labels) != n) {
		t.Fatalf("loaded shape %v with %d values and %d labels", ds.X.Shape, len(ds.X.Data), len(ds.Labels))
	}
}

// seedRecords are small tables of the kinds the readers take: numeric
// columns with a string label, a float list column, nulls.
func seedRecords(tb testing.TB) []arrow.Record {
	mem := memory.NewGoAllocator()
	a := array.NewFloat64Builder(mem)
	a.AppendValues([]float64{1, 2.5, -3, 4}, []bool{true, true, true, false})
	b := array.NewInt32Builder(mem)
	b.AppendValues([]int32{7, 8, 9, 10}, nil)
	l := array.NewStringBuilder(mem)
	l.AppendValues([]string{"cat", "dog", "cat", "eel"}, nil)
	cols := []arrow.Array{a.NewArray(), b.NewArray(), l.NewArray()}
	rec1 := array.NewRecord(arrow.NewSchema([]arrow.Field{
		{Name: "a", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
		{Name: "b", Type: arrow.PrimitiveTypes.Int32},
		{Name: "label", Type: arrow.BinaryTypes.String},
	}, nil), cols, 4)
	fl := array.NewFixedSizeListBuilder(mem, 3, arrow.PrimitiveTypes.Float32)
	ll := array.NewListBuilder(mem, arrow.PrimitiveTypes.Float64)
	for i := range 5 {
		fl.Append(true)
		ll.Append(true)
		for j := range 3 {
			fl.ValueBuilder().(*array.Float32Builder).Append(float32(i*3 + j))
			ll.ValueBuilder().(*array.Float64Builder).Append(float64(i - j))
		}
	}
	lists := []arrow.Array{fl.NewArray(), ll.NewArray()}
	rec2 := array.NewRecord(arrow.NewSchema([]arrow.Field{
		{Name: "emb", Type: lists[0].DataType(), Nullable: true},
		{Name: "vec", Type: lists[1].DataType(), Nullable: true},
	}, nil), lists, 5)
	for _, a := range append(cols, lists...) {
		a.Release()
	}
	return []arrow.Record{rec1, rec2}
}

func parquetBytes(tb testing.TB, rec arrow.Record, codec compress.Compression, crc bool) []byte {
	var buf bytes.Buffer
	var sink = tableio.ChecksumWriter(&buf)
	if !crc {
		sink = nopWriteCloser{&buf}
	}
	w, err := pqarrow.NewFileWriter(rec.Schema(), sink, parquet.NewWriterProperties(parquet.WithCompression(codec)), pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema()))
	if err != nil {
		tb.Fatal(err)
	}
	if err := w.Write(rec); err != nil {
		tb.Fatal(err)
	}
	if err := w.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

type nopWriteCloser struct{ *bytes.Buffer }

func (nopWriteCloser) Close() error { return nil }

func FuzzCSV(f *testing.F) {
	for _, s := range []string{
		"a,b,label\n1,2,0\n3,4,1\n5,6,0\n",
		"\ufeffx,y\n1.5,-2e3\n,7\n",
		"a,b,label\n\"1,5\",2,cat\n3,4,dog\n",
		"a,name,label\n1,ann,0\n2,bob,1\n",
		"a,b\n1,1e999\n2,NaN\n",
		"a\n99999999999\n-1\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzLoad(t, "f.csv", data, Options{})
		fuzzLoad(t, "f.csv", data, Options{FeatureColumns: []string{"a"}, Scale: ScaleStandard})
	})
}

func FuzzParquet(f *testing.F) {
	for _, rec := range seedRecords(f) {
		f.Add(parquetBytes(f, rec, compress.Codecs.Zstd, true))
		f.Add(parquetBytes(f, rec, compress.Codecs.Snappy, false))
		rec.Release()
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzLoad(t, "f.parquet", data, Options{})
	})
}

func FuzzArrow(f *testing.F) {
	for _, rec := range seedRecords(f) {
		var stream bytes.Buffer
		w := ipc.NewWriter(&stream, ipc.WithSchema(rec.Schema()))
		if err := w.Write(rec); err != nil {
			f.Fatal(err)
		}
		if err := w.Close(); err != nil {
			f.Fatal(err)
		}
		f.Add(stream.Bytes())
		p := filepath.Join(f.TempDir(), "seed.arrow")
		fh, err := os.Create(p)
		if err != nil {
			f.Fatal(err)
		}
		fw, err := ipc.NewFileWriter(fh, ipc.WithSchema(rec.Schema()), ipc.WithZstd())
		if err != nil {
			f.Fatal(err)
		}
		if err := fw.Write(rec); err != nil {
			f.Fatal(err)
		}
		if err := fw.Close(); err != nil {
			f.Fatal(err)
		}
		fh.Close()
		raw, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw)
		rec.Release()
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzLoad(t, "f.arrow", data, Options{})
	})
}

func FuzzIDX(f *testing.F) {
	idx := func(dims []uint32, data []byte) []byte {
		b := []byte{0, 0, 8, byte(len(dims))}
		for _, d := range dims {
			b = binary.BigEndian.AppendUint32(b, d)
		}
		return append(b, data...)
	}
	raw := idx([]uint32{3, 2, 2}, []byte{0, 50, 100, 255, 1, 2, 3, 4, 9, 8, 7, 6})
	f.Add(raw)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(raw)
	zw.Close()
	f.Add(gz.Bytes())
	f.Add(idx([]uint32{2, 3}, []byte{1, 2, 3, 4, 5, 6}))
	f.Add(idx([]uint32{1 << 31, 1 << 31}, nil))
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzLoad(t, "f.idx", data, Options{})
	})
}
