package lake

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
)

// badInputs writes one file per kind of bad input into dir and returns
// each with the Options that read it and what its error must mention
// besides the file name.
func badInputs(t *testing.T, dir string) map[string]struct {
	path string
	opt  Options
	want string
} {
	t.Helper()
	mem := checkedMem(t)
	rec := table{rows: 20, nullAt: -1}.record(mem)
	defer rec.Release()
	good := filepath.Join(dir, "good.parquet")
	writeParquet(t, good, rec, 20)
	raw, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	corrupt := filepath.Join(dir, "corrupt.parquet")
	// Keep the magic bytes and the footer, scramble the pages.
	bad := append([]byte(nil), raw...)
	for i := 4; i < len(bad)/2; i++ {
		bad[i] ^= 0x5a
	}
	if err := os.WriteFile(corrupt, bad, 0o644); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty.parquet")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	noRows := filepath.Join(dir, "norows.parquet")
	s := rec.NewSlice(0, 0)
	writeParquet(t, noRows, s, 10)
	s.Release()

	// A list column whose rows 0-9 have 2 values and rows 10-19 have 3.
	lb := array.NewListBuilder(mem, arrow.PrimitiveTypes.Float32)
	for i := range 20 {
		lb.Append(true)
		for range 2 + i/10 {
			lb.ValueBuilder().(*array.Float32Builder).Append(float32(i))
		}
	}
	lists := lb.NewArray()
	lb.Release()
	ragged := array.NewRecord(arrow.NewSchema([]arrow.Field{{Name: "emb", Type: lists.DataType(), Nullable: true}}, nil), []arrow.Array{lists}, 20)
	lists.Release()
	raggedPath := filepath.Join(dir, "ragged.parquet")
	writeParquet(t, raggedPath, ragged, 20)
	ragged.Release()

	return map[string]struct {
		path string
		opt  Options
		want string
	}{
		"corrupt":        {corrupt, Options{Features: []string{"f0"}}, "corrupt parquet"},
		"missing column": {good, Options{Features: []string{"f9"}}, `no feature column "f9"`},
		"missing id":     {good, Options{Features: []string{"f0"}, IDs: []string{"key"}}, `no id column "key"`},
		"wrong type":     {good, Options{Features: []string{"name"}}, `feature column "name" has type utf8`},
		"ragged list":    {raggedPath, Options{Features: []string{"emb"}, BatchRows: 16}, `ragged list column "emb": row 10 has 3 values, row 0 has 2`},
		"ragged batches": {raggedPath, Options{Features: []string{"emb"}, BatchRows: 10}, `ragged list column "emb": rows from 10 have 3 values, rows from 0 have 2`},
		"empty file":     {empty, Options{}, "empty file"},
		"no rows":        {noRows, Options{Features: []string{"f0"}}, "no rows"},
	}
}

func TestBadInputsGiveOneLineErrors(t *testing.T) {
	for name, c := range badInputs(t, t.TempDir()) {
		t.Run(name, func(t *testing.T) {
			mem := checkedMem(t)
			c.opt.Allocator = mem
			r, err := Open(c.path, c.opt)
			if err == nil {
				_, err = readAll(t, r, DefaultBatchRows)
				r.Close()
			}
			if err == nil {
				t.Fatal("no error")
			}
			msg := err.Error()
			if strings.Contains(msg, "\n") || !strings.Contains(msg, c.path) || !strings.Contains(msg, c.want) {
				t.Fatalf("error %q: want one line naming %s and %q", msg, c.path, c.want)
			}
		})
	}
}

func TestNextHonoursCancellation(t *testing.T) {
	mem := checkedMem(t)
	rec := table{rows: 10, nullAt: -1}.record(mem)
	defer rec.Release()
	path := filepath.Join(t.TempDir(), "t.parquet")
	writeParquet(t, path, rec, 10)
	r, err := Open(path, Options{Features: []string{"f0"}, Allocator: mem})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := r.Next(ctx); err != context.Canceled {
		t.Fatalf("Next after cancel: %v", err)
	}
}
