package tableio

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/ipc"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/apache/arrow/go/v15/parquet/compress"
)

// The fuzz targets of the readers themselves (dataset's FuzzParquet and
// FuzzArrow go through the whole load): whatever the bytes, Open, Project
// and Next return records that pass validation or one-line errors, and
// never panic or allocate past the limit.

// fuzzRead reads every column of every record of data as format.
func fuzzRead(t *testing.T, name, format string, data []byte) {
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	check := func(err error) {
		if err != nil && strings.Contains(err.Error(), "\n") {
			t.Fatalf("error %q is not one line", err)
		}
	}
	src, err := Open(p, format, Options{BatchRows: 7})
	if err != nil {
		check(err)
		return
	}
	defer src.Close()
	fields := make([]int, src.Schema().NumFields())
	for i := range fields {
		fields[i] = i
	}
	if _, err := src.Project(fields); err != nil {
		check(err)
		return
	}
	for {
		rec, err := src.Next()
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			check(err)
			return
		}
		if err := validateRecord(rec); err != nil {
			t.Fatalf("Next returned a record that fails validation: %v", err)
		}
		rec.Release()
	}
}

func FuzzParquet(f *testing.F) {
	rec := testRecord(f, 40, 7)
	defer rec.Release()
	for _, crc := range []bool{true, false} {
		f.Add(writeParquet(f, []arrow.Record{rec}, compress.Codecs.Zstd, false, crc, 20))
		f.Add(writeParquet(f, []arrow.Record{rec}, compress.Codecs.Snappy, true, crc, 40))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzRead(t, "f.parquet", Parquet, data)
	})
}

func FuzzArrow(f *testing.F) {
	rec := testRecord(f, 40, 8)
	defer rec.Release()
	for _, opts := range [][]ipc.Option{nil, {ipc.WithZstd()}} {
		var buf bytes.Buffer
		w := ipc.NewWriter(&buf, append(opts, ipc.WithSchema(rec.Schema()))...)
		for _, r := range []arrow.Record{rec.NewSlice(0, 20), rec.NewSlice(20, 40)} {
			if err := w.Write(r); err != nil {
				f.Fatal(err)
			}
			r.Release()
		}
		if err := w.Close(); err != nil {
			f.Fatal(err)
		}
		f.Add(buf.Bytes())
	}
	f.Add(arrowFileOf(f, rec))
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzRead(t, "f.arrow", Arrow, data)
	})
}

// arrowFileOf returns rec as an Arrow IPC file.
func arrowFileOf(tb testing.TB, rec arrow.Record) []byte {
	p := filepath.Join(tb.TempDir(), "seed.arrow")
	fh, err := os.Create(p)
	if err != nil {
		tb.Fatal(err)
	}
	defer fh.Close()
	w, err := ipc.NewFileWriter(fh, ipc.WithSchema(rec.Schema()), ipc.WithAllocator(memory.DefaultAllocator))
	if err != nil {
		tb.Fatal(err)
	}
	if err := w.Write(rec); err != nil {
		tb.Fatal(err)
	}
	if err := w.Close(); err != nil {
		tb.Fatal(err)
	}
	raw, err := os.ReadFile(p)
	if err != nil {
		tb.Fatal(err)
	}
	return raw
}
