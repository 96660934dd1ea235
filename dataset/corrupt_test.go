package dataset_test

// Regression tests for inputs that used to be read silently wrong or to
// crash the process (issue 14): each fails on the code before the shared
// reader stack (internal/tableio) and the CSV cell check.

import (
	"bytes"
	"encoding/binary"
	"math/rand/v2"
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
	"github.com/apache/arrow/go/v15/parquet/file"
	"github.com/apache/arrow/go/v15/parquet/pqarrow"

	"github.com/deepclust/deepclust/dataset"
	"github.com/deepclust/deepclust/internal/lake"
	"github.com/deepclust/deepclust/internal/results"
	"github.com/deepclust/deepclust/sdk"
)

func write(t *testing.T, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// oneLine fails unless err is a single-line error naming path and
// holding every want.
func oneLine(t *testing.T, err error, path string, want ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want one naming %s and %q", path, want)
	}
	msg := err.Error()
	if strings.Contains(msg, "\n") || !strings.Contains(msg, path) {
		t.Errorf("error %q: want one line naming %s", msg, path)
	}
	for _, w := range want {
		if !strings.Contains(msg, w) {
			t.Errorf("error %q: want %q", msg, w)
		}
	}
}

// TestCSVCellThatIsNotANumber: one bad cell in a numeric column used to
// turn it into a string column, dropped from the features without a word.
func TestCSVCellThatIsNotANumber(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		want       []string
	}{
		{"text", "a,b,label\n1,2,0\n3,x7,1\n5,6,0\n", []string{`row 1 (line 3) column "b"`, `"x7" is not a number`}},
		{"overflow", "a,b,label\n1,2,0\n3,4,1\n1e999,6,0\n", []string{`row 2 (line 4) column "a"`, "out of float64's range"}},
		{"decimal comma", "a,b,label\n\"1,5\",2,0\n3,4,1\n", []string{`row 0 (line 2) column "a"`, "decimal comma"}},
		{"all decimal commas", "a,b\n\"1,5\",2\n\"2,5\",4\n", []string{`column "a"`, "decimal comma"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := write(t, "d.csv", []byte(tc.body))
			_, err := dataset.Load(p, dataset.Options{})
			oneLine(t, err, p, tc.want...)
		})
	}
	// A column the options leave out of the features may hold text: the
	// label column, and with named features any column not named.
	p := write(t, "ok.csv", []byte("a,b,note,label\n1,2,n/a,cat\n3,4,7,dog\n"))
	ds, err := dataset.Load(p, dataset.Options{FeatureColumns: []string{"a", "b"}})
	if err != nil {
		t.Fatal(err)
	}
	if ds.X.Cols() != 2 || len(ds.Labels) != 2 || ds.Labels[1] != 1 {
		t.Errorf("features %v labels %v, want 2 columns and labels [0 1]", ds.X.Shape, ds.Labels)
	}
	if _, err := dataset.Load(p, dataset.Options{}); err == nil || !strings.Contains(err.Error(), `column "note"`) {
		t.Errorf("default features over a mixed column: %v, want an error naming it", err)
	}
	// A column of text only is not a feature, as before.
	p = write(t, "names.csv", []byte("name,a\nann,1\nbob,2\n"))
	if ds, err := dataset.Load(p, dataset.Options{}); err != nil || ds.X.Cols() != 1 {
		t.Errorf("a text column beside a numeric one: %v", err)
	}
}

// flipByte flips the byte at frac of the last column chunk of row group 0
// (1 is its last byte: the end of its last page's values).
func flipByte(t *testing.T, path string, frac float64) string {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	r, err := file.NewParquetReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	g := r.MetaData().RowGroup(0)
	chunk, err := g.ColumnChunk(g.NumColumns() - 1)
	if err != nil {
		t.Fatal(err)
	}
	start := chunk.DataPageOffset()
	if chunk.HasDictionaryPage() && chunk.DictionaryPageOffset() < start {
		start = chunk.DictionaryPageOffset()
	}
	raw[start+int64(frac*float64(chunk.TotalCompressedSize()-1))] ^= 0x40
	return write(t, "flipped.parquet", raw)
}

func embeddings(n, d int) sdk.Tensor {
	z := sdk.NewTensor(n, d)
	for i := range z.Data {
		z.Data[i] = float32(i%17) / 4
	}
	return z
}

// TestFlippedParquetPage: a flipped byte inside an uncompressed Parquet
// page used to load as a different value. deepclust's writers now put a
// CRC on every page, and the reader checks it.
func TestFlippedParquetPage(t *testing.T) {
	p := filepath.Join(t.TempDir(), "pred.parquet")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	w, err := lake.NewWriter(f, nil, 4, lake.WriterOptions{Compression: lake.CompressionNone})
	if err != nil {
		t.Fatal(err)
	}
	z := embeddings(50, 4)
	rows := make([]int64, 50)
	if err := w.Write(lake.Output{Rows: rows, Clusters: make([]int32, 50), Z: z}); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	opt := dataset.Options{FeatureColumns: []string{"embedding"}}
	if ds, err := dataset.Load(p, opt); err != nil || ds.X.Rows() != 50 {
		t.Fatalf("the intact file: %v", err)
	}
	bad := flipByte(t, p, 1)
	_, err = dataset.Load(bad, opt)
	oneLine(t, err, bad, "checksum mismatch", `column "embedding`)
}

// writeOldAssignments writes assignments as deepclust did before page
// checksums: zstd pages and no CRC.
func writeOldAssignments(t *testing.T, n, d int) string {
	t.Helper()
	z := embeddings(n, d)
	b := array.NewFixedSizeListBuilder(memory.DefaultAllocator, int32(d), arrow.PrimitiveTypes.Float32)
	defer b.Release()
	for range n {
		b.Append(true)
	}
	b.ValueBuilder().(*array.Float32Builder).AppendValues(z.Data, nil)
	emb := b.NewArray()
	defer emb.Release()
	schema := arrow.NewSchema([]arrow.Field{{Name: "embedding", Type: emb.DataType(), Nullable: true}}, nil)
	rec := array.NewRecord(schema, []arrow.Array{emb}, int64(n))
	defer rec.Release()
	var buf bytes.Buffer
	w, err := pqarrow.NewFileWriter(schema, &buf, parquet.NewWriterProperties(parquet.WithCompression(compress.Codecs.Zstd)), pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema()))
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(rec); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return write(t, "old.parquet", buf.Bytes())
}

// TestCorruptZstdPage: arrow's zstd codec panics on a corrupt page, and
// pqarrow's ReadTable decoded in its own goroutines, where no recover
// could reach: the process died with a stack trace.
func TestCorruptZstdPage(t *testing.T) {
	bad := flipByte(t, writeOldAssignments(t, 200, 8), 0.75)
	_, err := dataset.Load(bad, dataset.Options{})
	oneLine(t, err, bad, "corrupt parquet file")
}

// TestMutatedAssignments flips 1 to 12 random bytes of deepclust's own
// zstd assignments file (with page checksums, and as older versions wrote
// it without) 30 times each: every load succeeds or fails with one line;
// it used to panic in 22 of 30 tries.
func TestMutatedAssignments(t *testing.T) {
	dir := t.TempDir()
	current := filepath.Join(dir, "assignments.parquet")
	labels := make([]int32, 300)
	for i := range labels {
		labels[i] = int32(i % 3)
	}
	if err := results.WriteAssignments(current, labels, embeddings(300, 8), labels); err != nil {
		t.Fatal(err)
	}
	for _, src := range []string{current, writeOldAssignments(t, 300, 8)} {
		raw, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		rng := rand.New(rand.NewPCG(14, uint64(len(raw))))
		failed := 0
		for try := range 30 {
			mut := bytes.Clone(raw)
			for range 1 + rng.IntN(12) {
				mut[rng.IntN(len(mut))] ^= byte(1 + rng.IntN(255))
			}
			p := filepath.Join(dir, "m.parquet")
			if err := os.WriteFile(p, mut, 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := dataset.Load(p, dataset.Options{Scale: dataset.ScaleStandard})
			if err != nil {
				failed++
				if strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), p) {
					t.Errorf("try %d: error %q is not one line naming the file", try, err)
				}
			}
		}
		t.Logf("%s: %d of 30 mutations refused", filepath.Base(src), failed)
	}
}

// TestHugeArrowAllocation: a small Arrow file whose metadata declares a
// 146 GB buffer used to end with "fatal error: runtime: out of memory".
func TestHugeArrowAllocation(t *testing.T) {
	bld := array.NewFloat64Builder(memory.DefaultAllocator)
	bld.AppendValues([]float64{1, 2, 3, 4, 5, 6, 7}, nil)
	vals := bld.NewArray()
	bld.Release()
	rec := array.NewRecord(arrow.NewSchema([]arrow.Field{{Name: "x", Type: arrow.PrimitiveTypes.Float64}}, nil), []arrow.Array{vals}, 7)
	defer rec.Release()
	p := filepath.Join(t.TempDir(), "x.arrow")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	w, err := ipc.NewFileWriter(f, ipc.WithSchema(rec.Schema()))
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(rec); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	raw, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	var length [8]byte
	binary.LittleEndian.PutUint64(length[:], 56) // the values buffer's length
	raw = bytes.ReplaceAll(raw, length[:], binary.LittleEndian.AppendUint64(nil, 146e9))
	bad := write(t, "huge.arrow", raw)
	_, err = dataset.Load(bad, dataset.Options{})
	oneLine(t, err, bad, "corrupt arrow")
}
