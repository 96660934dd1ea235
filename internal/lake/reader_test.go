package lake

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// wantRows checks gathered rows first..first+n-1 of the test table, with
// features f0, f1.
func wantRows(t *testing.T, g gathered, first, n int) {
	t.Helper()
	if len(g.rows) != n || g.cols != 2 {
		t.Fatalf("%d rows of %d features, want %d of 2", len(g.rows), g.cols, n)
	}
	for k, row := range g.rows {
		i := first + k
		if row != int64(k) && first == 0 {
			t.Fatalf("row %d numbered %d", k, row)
		}
		if g.x[2*k] != float32(i) || g.x[2*k+1] != float32(-i) || g.labels[k] != int32(i%3) {
			t.Fatalf("row %d: x %v label %d", k, g.x[2*k:2*k+2], g.labels[k])
		}
	}
}

func TestParquetStreamsInBoundedBatches(t *testing.T) {
	mem := checkedMem(t)
	dir := t.TempDir()
	rec := table{rows: 1000, nullAt: -1}.record(mem)
	defer rec.Release()
	path := filepath.Join(dir, "t.parquet")
	writeParquet(t, path, rec, 300)
	r, err := Open(path, Options{Features: []string{"f0", "f1"}, IDs: []string{"id", "name"}, BatchRows: 128, Allocator: mem})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	g, err := readAll(t, r, 128)
	if err != nil {
		t.Fatal(err)
	}
	wantRows(t, g, 0, 1000)
	if g.batches < 8 {
		t.Fatalf("%d batches for 1000 rows of at most 128", g.batches)
	}
	if g.ids[0][999] != "1099" || g.ids[1][7] != "n7" {
		t.Fatalf("ids not passed through: %s %s", g.ids[0][999], g.ids[1][7])
	}
	if f := r.IDFields(); f[0].Type.String() != "int64" || f[1].Type.String() != "utf8" {
		t.Fatalf("id fields %v", f)
	}
}

func TestListColumnFeatures(t *testing.T) {
	mem := checkedMem(t)
	rec := table{rows: 50, nullAt: -1}.record(mem)
	defer rec.Release()
	path := filepath.Join(t.TempDir(), "t.parquet")
	writeParquet(t, path, rec, 20)
	r, err := Open(path, Options{Features: []string{"vec"}, SampleShape: []int{1, 2}, BatchRows: 16, Allocator: mem})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	b, err := r.Next(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer b.Release()
	if !slices.Equal(b.X.Shape, []int{16, 1, 2}) || b.X.Data[2*5+1] != 10 {
		t.Fatalf("shape %v, row 5 %v", b.X.Shape, b.X.Data[10:12])
	}
}

func TestHivePartitionsAreColumns(t *testing.T) {
	mem := checkedMem(t)
	dir := t.TempDir()
	rec := table{rows: 30, nullAt: -1}.record(mem)
	defer rec.Release()
	for p, rng := range [][2]int64{{0, 10}, {10, 30}} {
		s := rec.NewSlice(rng[0], rng[1])
		writeParquet(t, filepath.Join(dir, "day=2024-01-0"+itoa(p+1), "part="+itoa(p), "data.parquet"), s, 7)
		s.Release()
	}
	for _, junk := range []string{"_SUCCESS", ".part=9/x.parquet", "day=x/part=1/notes.txt"} {
		os.MkdirAll(filepath.Dir(filepath.Join(dir, junk)), 0o755)
		if err := os.WriteFile(filepath.Join(dir, junk), []byte("junk"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	r, err := Open(dir, Options{Features: []string{"f0", "f1"}, IDs: []string{"part", "day", "id"}, BatchRows: 8, Allocator: mem})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	g, err := readAll(t, r, 8)
	if err != nil {
		t.Fatal(err)
	}
	wantRows(t, g, 0, 30)
	if f := r.IDFields(); f[0].Type.String() != "int64" || f[1].Type.String() != "utf8" {
		t.Fatalf("partition fields %v, want int64 part and utf8 day", f)
	}
	if g.ids[0][9] != "0" || g.ids[0][10] != "1" || g.ids[1][29] != "2024-01-02" || g.ids[2][29] != "129" {
		t.Fatalf("partition values %v %v", g.ids[0], g.ids[1])
	}
	if !Streams(dir, "") || Streams(t.TempDir(), "") {
		t.Fatal("Streams should accept a directory of Parquet files only")
	}
}

func TestArrowStreamFileAndStdin(t *testing.T) {
	mem := checkedMem(t)
	rec := table{rows: 100, nullAt: -1}.record(mem)
	defer rec.Release()
	stream := arrowStream(t, rec, 70)
	path := filepath.Join(t.TempDir(), "t.arrows")
	if err := os.WriteFile(path, stream, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, src := range []struct{ path string }{{path}, {Stdin}} {
		r, err := Open(src.path, Options{IDs: []string{"name"}, BatchRows: 32, Stdin: bytes.NewReader(stream), Allocator: mem})
		if err != nil {
			t.Fatal(err)
		}
		g, err := readAll(t, r, 32)
		r.Close()
		if err != nil {
			t.Fatal(err)
		}
		// No Features: the one list column, vec = [i, 2i].
		if len(g.rows) != 100 || g.cols != 2 || g.x[2*99+1] != 198 || g.ids[0][99] != "n99" {
			t.Fatalf("%s: %d rows, %d features, last name %s", src.path, len(g.rows), g.cols, g.ids[0][99])
		}
	}
}

func TestNullPolicies(t *testing.T) {
	mem := checkedMem(t)
	rec := table{rows: 40, nullAt: 25}.record(mem)
	defer rec.Release()
	path := filepath.Join(t.TempDir(), "t.parquet")
	writeParquet(t, path, rec, 40)
	open := func(nulls string) (gathered, error) {
		r, err := Open(path, Options{Features: []string{"f0", "f1"}, IDs: []string{"id"}, Nulls: nulls, BatchRows: 10, Allocator: mem})
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		return readAll(t, r, 10)
	}
	if _, err := open(""); err == nil || !strings.Contains(err.Error(), `row 25 column "f1" is null`) || !strings.Contains(err.Error(), path) {
		t.Fatalf("error policy: %v", err)
	}
	g, err := open(NullsDrop)
	if err != nil {
		t.Fatal(err)
	}
	if len(g.rows) != 39 || slices.Contains(g.rows, 25) || g.rows[25] != 26 || g.ids[0][25] != "126" || g.x[2*25] != 26 {
		t.Fatalf("drop: rows %v ids %v", g.rows, g.ids[0])
	}
	g, err = open(NullsZero)
	if err != nil {
		t.Fatal(err)
	}
	if len(g.rows) != 40 || g.x[2*25] != 25 || g.x[2*25+1] != 0 {
		t.Fatalf("zero: row 25 is %v", g.x[50:52])
	}
}
