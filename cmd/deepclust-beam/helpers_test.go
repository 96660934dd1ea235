package main

import (
	"context"
	"fmt"
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
	"github.com/apache/arrow/go/v15/parquet/pqarrow"
	"github.com/apache/beam/sdks/v2/go/pkg/beam"

	"github.com/deepclust/deepclust/config"
	"github.com/deepclust/deepclust/model"
)

func TestMain(m *testing.M) {
	beam.Init()
	quietLogs()
	os.Exit(m.Run())
}

// lakeSpec describes a generated Parquet lake: rows in files of row groups,
// three Gaussian blobs in dim dimensions as a list<float32> column x (the
// column type Beam's parquetio cannot read), an int64 id, a string label
// and a Hive partition column part.
type lakeSpec struct {
	files, groups, groupRows, dim int
	seed                          uint64
	// quantum, when > 0, rounds every feature to a multiple of it (so that
	// float64 sums of features are exact).
	quantum float64
}

// lakeRow is one generated row.
type lakeRow struct {
	id    int64
	x     []float32
	label int
}

// rows generates n rows of the blobs from seed.
func blobRows(n, dim int, seed uint64, quantum float64, firstID int64) []lakeRow {
	rng := rand.New(rand.NewPCG(seed, 99))
	out := make([]lakeRow, n)
	for i := range out {
		c := rng.IntN(3)
		x := make([]float32, dim)
		for j := range x {
			v := rng.NormFloat64()*0.8 + float64((c+j)%3)*2.5 - 2.5
			if quantum > 0 {
				v = float64(int(v/quantum)) * quantum
			}
			x[j] = float32(v)
		}
		out[i] = lakeRow{id: firstID + int64(i), x: x, label: c}
	}
	return out
}

// writeLake writes the lake under dir (part=a holds the first half of the
// files, part=b the rest) and returns its rows in input order.
func writeLake(t *testing.T, dir string, s lakeSpec) []lakeRow {
	t.Helper()
	var all []lakeRow
	for f := range s.files {
		part := "a"
		if f >= s.files/2 {
			part = "b"
		}
		rows := blobRows(s.groups*s.groupRows, s.dim, s.seed+uint64(f), s.quantum, int64(1000*f))
		// Ids out of input order, so that sorting by id means something.
		slices.Reverse(rows)
		path := filepath.Join(dir, "part="+part, fmt.Sprintf("f%d.parquet", f))
		writeParquet(t, path, rows, s.groupRows)
		all = append(all, rows...)
	}
	return all
}

// labelNames are the string labels, so that their order of first
// appearance differs from their blob numbers.
var labelNames = []string{"cherry", "apple", "banana"}

func writeParquet(t *testing.T, path string, rows []lakeRow, groupRows int) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	mem := memory.DefaultAllocator
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "x", Type: arrow.ListOf(arrow.PrimitiveTypes.Float32)},
		{Name: "label", Type: arrow.BinaryTypes.String},
	}, nil)
	b := array.NewRecordBuilder(mem, schema)
	defer b.Release()
	for _, r := range rows {
		b.Field(0).(*array.Int64Builder).Append(r.id)
		lb := b.Field(1).(*array.ListBuilder)
		lb.Append(true)
		lb.ValueBuilder().(*array.Float32Builder).AppendValues(r.x, nil)
		b.Field(2).(*array.StringBuilder).Append(labelNames[r.label])
	}
	rec := b.NewRecord()
	defer rec.Release()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	props := parquet.NewWriterProperties(parquet.WithMaxRowGroupLength(int64(groupRows)), parquet.WithCompression(compress.Codecs.Snappy))
	w, err := pqarrow.NewFileWriter(schema, f, props, pqarrow.DefaultWriterProps())
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(rec); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

// trainModel trains a small autoencoder + k-means model on generated
// blobs and saves it under dir.
func trainModel(t *testing.T, dir string, dim int) string {
	t.Helper()
	train := filepath.Join(dir, "train.parquet")
	writeParquet(t, train, blobRows(600, dim, 1234, 0, 0), 600)
	yaml := fmt.Sprintf(`
seed: 3
progress: off
cache: {enabled: false}
checkpoint: {enabled: false}
data: {path: %q}
encoder: {plugin: mlp, config: {hidden: [16], embedding: 4}}
losses: [{plugin: reconstruction, stages: [pretrain]}]
clusterer: {plugin: kmeans, config: {k: 3, n_init: 2}}
train: {pretrain_epochs: 3, epochs: 0, batch_size: 64}
`, train)
	m, cfg := modelFromYAML(t, yaml)
	ctx := context.Background()
	src, _, err := model.OpenData(ctx, cfg.Data)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Fit(ctx, src); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "model")
	if err := m.Save(ctx, out); err != nil {
		t.Fatal(err)
	}
	return out
}

// table is a Parquet output read back: its schema and its rows as
// strings (each value by Arrow's ValueStr, which round-trips floats),
// keyed by the id column.
type table struct {
	fields []string
	rows   map[string]string
}

// readOutput reads one Parquet file or every .parquet file under a
// directory.
func readOutput(t *testing.T, path string) table {
	t.Helper()
	var files []string
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		files, _ = filepath.Glob(filepath.Join(path, "*.parquet"))
	} else {
		files = []string{path}
	}
	if len(files) == 0 {
		t.Fatalf("%s: no Parquet files", path)
	}
	out := table{rows: map[string]string{}}
	for _, f := range files {
		r, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		tbl, err := pqarrow.ReadTable(context.Background(), r, nil, pqarrow.ArrowReadProperties{}, memory.DefaultAllocator)
		r.Close()
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		var fields []string
		for _, fl := range tbl.Schema().Fields() {
			fields = append(fields, fl.Name+" "+fl.Type.String())
		}
		if out.fields == nil {
			out.fields = fields
		} else if !slices.Equal(fields, out.fields) {
			t.Fatalf("%s has columns %v, the other parts %v", f, fields, out.fields)
		}
		idCol := tbl.Schema().FieldIndices("id")[0]
		tr := array.NewTableReader(tbl, 0)
		for tr.Next() {
			rec := tr.Record()
			for i := 0; i < int(rec.NumRows()); i++ {
				vals := make([]string, rec.NumCols())
				for j := range vals {
					vals[j] = rec.Column(j).ValueStr(i)
				}
				id := rec.Column(idCol).ValueStr(i)
				if _, dup := out.rows[id]; dup {
					t.Fatalf("%s: id %s twice", path, id)
				}
				out.rows[id] = strings.Join(vals, " | ")
			}
		}
		tr.Release()
		tbl.Release()
	}
	return out
}

// modelFromYAML loads a config from text (written to a file under a
// temporary directory) and builds its model, closed when the test ends.
func modelFromYAML(t *testing.T, text string) (*model.Model, *config.Config) {
	t.Helper()
	cfgFile := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(cfgFile, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(config.Options{File: cfgFile, NoEnv: true})
	if err != nil {
		t.Fatal(err)
	}
	m, err := model.New(context.Background(), cfg, model.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m, cfg
}
