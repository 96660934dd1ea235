package app

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/ipc"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/apache/arrow/go/v15/parquet"
	"github.com/apache/arrow/go/v15/parquet/compress"
	"github.com/apache/arrow/go/v15/parquet/pqarrow"

	"github.com/deepclust/deepclust/internal/lake"
	"github.com/deepclust/deepclust/internal/results"
)

// blobsRecord holds n rows around three centres 10 apart: id 1000+i,
// f0..f3 and the same values as a list column vec, label i%3. The spread
// is a fixed pattern in [-0.5, 0.5).
func blobsRecord(n int) arrow.Record {
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "f0", Type: arrow.PrimitiveTypes.Float32}, {Name: "f1", Type: arrow.PrimitiveTypes.Float32},
		{Name: "f2", Type: arrow.PrimitiveTypes.Float32}, {Name: "f3", Type: arrow.PrimitiveTypes.Float32},
		{Name: "vec", Type: arrow.FixedSizeListOf(4, arrow.PrimitiveTypes.Float32), Nullable: true},
		{Name: "name", Type: arrow.BinaryTypes.String},
		{Name: "label", Type: arrow.PrimitiveTypes.Int32},
	}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	vec := b.Field(5).(*array.FixedSizeListBuilder)
	for i := range n {
		b.Field(0).(*array.Int64Builder).Append(int64(1000 + i))
		vec.Append(true)
		for j := range 4 {
			v := float32(10*((i%3+j)%3)) + float32((i*7+j*13)%100)/100 - 0.5
			b.Field(1 + j).(*array.Float32Builder).Append(v)
			vec.ValueBuilder().(*array.Float32Builder).Append(v)
		}
		b.Field(6).(*array.StringBuilder).Append("n" + strconv.Itoa(i))
		b.Field(7).(*array.Int32Builder).Append(int32(i % 3))
	}
	return b.NewRecord()
}

func writeParquetFile(t testing.TB, path string, rec arrow.Record, rowGroup int64) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w, err := pqarrow.NewFileWriter(rec.Schema(), f, parquet.NewWriterProperties(parquet.WithMaxRowGroupLength(rowGroup)), pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema()))
	// One row group per Write of an unsliced record: pqarrow v15 writes
	// the wrong values for sliced fixed-size lists.
	for lo := int64(0); err == nil && lo < rec.NumRows(); lo += rowGroup {
		part := copyRows(rec, lo, min(lo+rowGroup, rec.NumRows()))
		err = w.Write(part)
		part.Release()
	}
	if err == nil {
		err = w.Close()
	}
	if err != nil {
		t.Fatal(err)
	}
}

// copyRows returns rows [lo, hi) of rec as a record of its own, not a
// slice.
func copyRows(rec arrow.Record, lo, hi int64) arrow.Record {
	s := rec.NewSlice(lo, hi)
	defer s.Release()
	cols := make([]arrow.Array, s.NumCols())
	for i, c := range s.Columns() {
		var err error
		if cols[i], err = array.Concatenate([]arrow.Array{c}, memory.DefaultAllocator); err != nil {
			panic(err)
		}
		defer cols[i].Release()
	}
	return array.NewRecord(s.Schema(), cols, hi-lo)
}

// trainTiny trains identity + k-means (k clusters) on the parquet file at
// data with the given features, in process, and returns the run directory.
func trainTiny(t testing.TB, data string, features string, k int, extra map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "cfg.yaml")
	yaml := "train:\n  pretrain_epochs: 0\n  epochs: 0\nencoder:\n  plugin: identity\nclusterer:\n  plugin: kmeans\n  config:\n    k: " + strconv.Itoa(k) + "\n    n_init: 2\nlosses: []\nprogress: off\n"
	if err := os.WriteFile(cfg, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	set := map[string]string{"data.path": data, "data.features": features, "out": filepath.Join(dir, "run")}
	for k, v := range extra {
		set[k] = v
	}
	var out bytes.Buffer
	if _, err := Run(context.Background(), Env{Stdout: &out, Stderr: &out}, RunOptions{ConfigFile: cfg, Set: set, Isolation: "inprocess"}); err != nil {
		t.Fatalf("training: %v\n%s", err, out.String())
	}
	return filepath.Join(dir, "run")
}

// readParquet reads a whole Parquet file.
func readParquet(t *testing.T, path string) arrow.Table {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tbl, err := pqarrow.ReadTable(context.Background(), f, parquet.NewReaderProperties(nil), pqarrow.ArrowReadProperties{}, memory.DefaultAllocator)
	if err != nil {
		t.Fatal(err)
	}
	return tbl
}

func column[T any](tbl arrow.Table, name string, values func(arrow.Array) []T) []T {
	var out []T
	for _, c := range tbl.Column(tbl.Schema().FieldIndices(name)[0]).Data().Chunks() {
		out = append(out, values(c)...)
	}
	return out
}

func predict(t *testing.T, opt PredictOptions) (string, error) {
	t.Helper()
	var out bytes.Buffer
	opt.Isolation = "inprocess"
	err := Predict(context.Background(), Env{Stdout: &out, Stderr: &out}, opt)
	return out.String(), err
}

// TestStreamedPredictMatchesTraining checks that streaming the training
// file in small batches gives the run's own clusters and embeddings, that
// ids pass through, and that distances are ‖z − μ‖ to the run's cluster
// means (k-means centroids after convergence; tolerance 1e-4).
func TestStreamedPredictMatchesTraining(t *testing.T) {
	dir := t.TempDir()
	rec := blobsRecord(900)
	defer rec.Release()
	data := filepath.Join(dir, "blobs.parquet")
	writeParquetFile(t, data, rec, 250)
	run := trainTiny(t, data, "f0,f1,f2,f3", 3, nil)
	trained, err := results.ReadAssignments(filepath.Join(run, AssignmentsFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, features := range [][]string{nil, {"vec"}} {
		out := filepath.Join(dir, "pred"+strings.Join(features, ""))
		if msg, err := predict(t, PredictOptions{ModelDir: run, Data: data, Out: out, IDs: []string{"name", "id"}, Features: features,
			BatchRows: 100, RowGroupRows: 256, Distance: true}); err != nil {
			t.Fatalf("predict: %v\n%s", err, msg)
		}
		tbl := readParquet(t, filepath.Join(out, AssignmentsFile))
		clusters := column(tbl, "cluster", func(a arrow.Array) []int32 { return a.(*array.Int32).Int32Values() })
		ids := column(tbl, "id", func(a arrow.Array) []int64 { return a.(*array.Int64).Int64Values() })
		rows := column(tbl, "row", func(a arrow.Array) []int64 { return a.(*array.Int64).Int64Values() })
		dist := column(tbl, "distance", func(a arrow.Array) []float32 { return a.(*array.Float32).Float32Values() })
		labels := column(tbl, "label", func(a arrow.Array) []int32 { return a.(*array.Int32).Int32Values() })
		if !slices.Equal(clusters, trained.Clusters) {
			t.Fatalf("features %v: streamed clusters differ from the run's", features)
		}
		if trained.Truth == nil || !slices.Equal(labels, trained.Truth) {
			t.Fatalf("features %v: the label column was not passed through", features)
		}
		names := tbl.Schema().Fields()
		if names[1].Name != "name" || names[2].Name != "id" || tbl.NumRows() != 900 {
			t.Fatalf("schema %v, %d rows", tbl.Schema(), tbl.NumRows())
		}
		mean := clusterMeans(trained.Z.Data, trained.Clusters, 3, 4)
		for i := range rows {
			if rows[i] != int64(i) || ids[i] != int64(1000+i) {
				t.Fatalf("row %d: row %d id %d", i, rows[i], ids[i])
			}
			var ss float64
			for j, v := range trained.Z.Row(i) {
				d := float64(v) - mean[int(clusters[i])*4+j]
				ss += d * d
			}
			if math.Abs(float64(dist[i])-math.Sqrt(ss)) > 1e-4 {
				t.Fatalf("row %d distance %v, want %v", i, dist[i], math.Sqrt(ss))
			}
		}
		tbl.Release()
		var m PredictMetrics
		if err := readJSON(filepath.Join(out, MetricsFile), &m); err != nil {
			t.Fatal(err)
		}
		if m.N != 900 || m.K != 3 || m.Scores == nil || m.ACC != 1 || m.RowsPerSecond <= 0 {
			t.Fatalf("metrics %+v", m)
		}
	}
}

func clusterMeans(z []float32, labels []int32, k, d int) []float64 {
	sum := make([]float64, k*d)
	count := make([]float64, k)
	for i, l := range labels {
		count[l]++
		for j := range d {
			sum[int(l)*d+j] += float64(z[i*d+j])
		}
	}
	for c := range k {
		for j := range d {
			sum[c*d+j] /= count[c]
		}
	}
	return sum
}

// TestPredictPipesArrowStreams reads an Arrow IPC stream from Stdin and
// writes one to Stdout, as `deepclust predict --data - --out -` does.
func TestPredictPipesArrowStreams(t *testing.T) {
	dir := t.TempDir()
	rec := blobsRecord(300)
	defer rec.Release()
	data := filepath.Join(dir, "blobs.parquet")
	writeParquetFile(t, data, rec, 300)
	run := trainTiny(t, data, "f0,f1,f2,f3", 3, nil)
	var in bytes.Buffer
	w := ipc.NewWriter(&in, ipc.WithSchema(rec.Schema()))
	for lo := int64(0); lo < 300; lo += 128 {
		s := rec.NewSlice(lo, min(lo+128, 300))
		if err := w.Write(s); err != nil {
			t.Fatal(err)
		}
		s.Release()
	}
	w.Close()
	var stdout, stderr bytes.Buffer
	err := Predict(context.Background(), Env{Stdout: &stdout, Stderr: &stderr}, PredictOptions{
		ModelDir: run, Data: "-", Out: "-", Stdin: &in, IDs: []string{"id"}, Isolation: "inprocess"})
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	if !strings.Contains(stderr.String(), "n=300 k=3") {
		t.Fatalf("summary on stderr: %q", stderr.String())
	}
	r, err := ipc.NewReader(&stdout)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Release()
	n := 0
	for r.Next() {
		ids := r.Record().Column(1).(*array.Int64)
		for i := range ids.Len() {
			if ids.Value(i) != int64(1000+n) {
				t.Fatalf("row %d has id %d", n, ids.Value(i))
			}
			n++
		}
	}
	if r.Err() != nil && r.Err() != io.EOF || n != 300 {
		t.Fatalf("%d rows read back (%v)", n, r.Err())
	}
}

// TestBadInputLeavesNoOutput checks one-line errors naming the file and
// column for each kind of bad input, and that --out is never created.
func TestBadInputLeavesNoOutput(t *testing.T) {
	dir := t.TempDir()
	rec := blobsRecord(60)
	defer rec.Release()
	good := filepath.Join(dir, "good.parquet")
	writeParquetFile(t, good, rec, 60)
	run := trainTiny(t, good, "f0,f1,f2,f3", 3, nil)

	raw, _ := os.ReadFile(good)
	corrupt := filepath.Join(dir, "corrupt.parquet")
	bad := slices.Clone(raw)
	for i := 4; i < len(bad)/2; i++ {
		bad[i] ^= 0x5a
	}
	os.WriteFile(corrupt, bad, 0o644)
	empty := filepath.Join(dir, "empty.parquet")
	os.WriteFile(empty, nil, 0o644)
	noRows := filepath.Join(dir, "norows.parquet")
	s := rec.NewSlice(0, 0)
	writeParquetFile(t, noRows, s, 10)
	s.Release()
	ragged := filepath.Join(dir, "ragged.parquet")
	lb := array.NewListBuilder(memory.DefaultAllocator, arrow.PrimitiveTypes.Float32)
	for i := range 10 {
		lb.Append(true)
		lb.ValueBuilder().(*array.Float32Builder).AppendValues(make([]float32, 4+i/5), nil)
	}
	lists := lb.NewArray()
	lb.Release()
	rr := array.NewRecord(arrow.NewSchema([]arrow.Field{{Name: "emb", Type: lists.DataType(), Nullable: true}}, nil), []arrow.Array{lists}, 10)
	writeParquetFile(t, ragged, rr, 10)
	rr.Release()
	lists.Release()

	for _, c := range []struct {
		name, data string
		opt        PredictOptions
		want       string
	}{
		{"corrupt", corrupt, PredictOptions{}, "corrupt parquet"},
		{"missing column", good, PredictOptions{Features: []string{"f9"}}, `no feature column "f9"`},
		{"missing id", good, PredictOptions{IDs: []string{"key"}}, `no id column "key"`},
		{"wrong type", good, PredictOptions{Features: []string{"name"}}, `feature column "name" has type utf8`},
		{"wrong width", good, PredictOptions{Features: []string{"f0", "f1"}}, "sample shape [4] holds 4 values, the data has 2"},
		{"ragged list", ragged, PredictOptions{Features: []string{"emb"}}, `ragged list column "emb"`},
		{"empty file", empty, PredictOptions{}, "empty file"},
		{"no rows", noRows, PredictOptions{}, "no rows"},
	} {
		out := filepath.Join(dir, "out-"+strings.ReplaceAll(c.name, " ", "-"))
		c.opt.ModelDir, c.opt.Data, c.opt.Out = run, c.data, out
		_, err := predict(t, c.opt)
		if err == nil {
			t.Errorf("%s: no error", c.name)
			continue
		}
		if msg := err.Error(); strings.Contains(msg, "\n") || !strings.Contains(msg, c.data) || !strings.Contains(msg, c.want) {
			t.Errorf("%s: error %q, want one line naming %s and %q", c.name, msg, c.data, c.want)
		}
		if _, err := os.Stat(out); !os.IsNotExist(err) {
			t.Errorf("%s: %s exists after the failure", c.name, out)
		}
	}
	if entries, _ := filepath.Glob(filepath.Join(dir, ".out-*")); len(entries) > 0 {
		t.Errorf("staging directories left behind: %v", entries)
	}
}

// TestPredictScalesWithTheTrainingStatistics checks that a scaled model
// scales new rows with the statistics of its training samples, kept in
// the model: streamed prediction on the training file gives the run's
// assignments, and so does prediction on a few of its rows alone (whose
// own statistics differ).
func TestPredictScalesWithTheTrainingStatistics(t *testing.T) {
	dir := t.TempDir()
	rec := blobsRecord(60)
	defer rec.Release()
	data := filepath.Join(dir, "blobs.parquet")
	writeParquetFile(t, data, rec, 60)
	run := trainTiny(t, data, "f0,f1,f2,f3", 3, map[string]string{"data.scale": "minmax"})
	trained, err := results.ReadAssignments(filepath.Join(run, AssignmentsFile))
	if err != nil {
		t.Fatal(err)
	}
	few := filepath.Join(dir, "few.parquet")
	head := rec.NewSlice(0, 7)
	defer head.Release()
	writeParquetFile(t, few, head, 7)
	for name, in := range map[string]string{"all": data, "few": few} {
		out := filepath.Join(dir, "out-"+name)
		if log, err := predict(t, PredictOptions{ModelDir: run, Data: in, Out: out, Features: []string{"f0", "f1", "f2", "f3"}}); err != nil {
			t.Fatalf("%s: %v\n%s", name, err, log)
		}
		got, err := results.ReadAssignments(filepath.Join(out, AssignmentsFile))
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got.Clusters, trained.Clusters[:len(got.Clusters)]) {
			t.Fatalf("%s: predicted clusters %v differ from the run's %v", name, got.Clusters, trained.Clusters[:len(got.Clusters)])
		}
	}
}

// TestDuckDBRoundTrip writes the input with DuckDB (@duckdb/node-api, in
// scripts/duckdb), predicts on it and on its Hive-partitioned copy, and
// has DuckDB check the outputs: row counts, column types, ids joining back
// to the input, clusters in range and one cluster per label. It skips
// without node and npm unless CI=true.
func TestDuckDBRoundTrip(t *testing.T) {
	script, err := filepath.Abs("../../scripts/duckdb")
	if err != nil {
		t.Fatal(err)
	}
	for _, tool := range []string{"node", "npm"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s is needed in CI: %v", tool, err)
			}
			t.Skipf("%s not found", tool)
		}
	}
	if _, err := os.Stat(filepath.Join(script, "node_modules", "@duckdb", "node-api")); err != nil {
		runTool(t, script, "npm", "ci", "--no-audit", "--no-fund")
	}
	dir := t.TempDir()
	runTool(t, script, "node", "interop.mjs", "write-input", dir, "3000")
	input := filepath.Join(dir, "input.parquet")
	run := trainTiny(t, input, "f0,f1,f2,f3", 3, nil)
	for _, c := range []struct {
		data     string
		features []string
		ids      []string
	}{
		{input, nil, []string{"id", "key"}},
		{input, []string{"vec"}, []string{"id", "key"}},
		{filepath.Join(dir, "lake"), nil, []string{"id", "part"}},
	} {
		out := filepath.Join(dir, "pred-"+strconv.Itoa(len(c.features))+filepath.Base(c.data))
		if msg, err := predict(t, PredictOptions{ModelDir: run, Data: c.data, Out: out, IDs: c.ids, Features: c.features, BatchRows: 512, RowGroupRows: 1000}); err != nil {
			t.Fatalf("predict %s: %v\n%s", c.data, err, msg)
		}
		check := []string{"interop.mjs", "check-output", input, filepath.Join(out, AssignmentsFile), "3", "4"}
		if filepath.Base(c.data) == "lake" {
			// part is not an input.parquet column: join on id alone.
			check = append(check, "id")
		} else {
			check = append(check, c.ids...)
		}
		runTool(t, script, "node", check...)
	}
}

func runTool(t *testing.T, dir, name string, args ...string) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
}

// BenchmarkPredict10M streams a generated Parquet file of 10,000,000 rows ×
// 64 float32 features (eight Gaussian clusters) through `deepclust
// predict` in a child process and reports rows/s and the child's peak RSS
// (getrusage Maxrss), checking that the output has every row with its id.
// It needs about 6 GB of disk and several minutes, so it runs only with
// BENCH_PREDICT_10M=1 (BENCH_PREDICT_ROWS overrides the row count; not
// DEEPCLUST_*, which the config reads as keys):
//
//	BENCH_PREDICT_10M=1 go test -run '^$' -bench Predict10M -benchtime 1x ./internal/app
func BenchmarkPredict10M(b *testing.B) {
	if os.Getenv("BENCH_PREDICT_10M") != "1" {
		b.Skip("set BENCH_PREDICT_10M=1 to run")
	}
	rows := 10_000_000
	if s := os.Getenv("BENCH_PREDICT_ROWS"); s != "" {
		var err error
		if rows, err = strconv.Atoi(s); err != nil {
			b.Fatal(err)
		}
	}
	const dim, k, sample = 64, 8, 20_000
	dir := b.TempDir()
	big, small := filepath.Join(dir, "big.parquet"), filepath.Join(dir, "sample.parquet")
	begin := time.Now()
	writeClusters(b, big, rows, dim, k)
	writeClusters(b, small, sample, dim, k)
	b.Logf("generated %d rows in %.1f s", rows, time.Since(begin).Seconds())
	run := trainTiny(b, small, "x", k, nil)
	bin := filepath.Join(dir, "deepclust")
	if out, err := exec.Command("go", "build", "-o", bin, "../../cmd/deepclust").CombinedOutput(); err != nil {
		b.Fatalf("building deepclust: %v\n%s", err, out)
	}
	out := filepath.Join(dir, "pred")
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		os.RemoveAll(out)
		cmd := exec.Command(bin, "predict", "--model", run, "--data", big, "--out", out, "--id", "id", "--isolation", "inprocess")
		var stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stderr, &stderr
		start := time.Now()
		if err := cmd.Run(); err != nil {
			b.Fatalf("predict: %v\n%s", err, stderr.String())
		}
		secs := time.Since(start).Seconds()
		b.ReportMetric(float64(rows)/secs, "rows/s")
		b.ReportMetric(float64(cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss)/1024, "peak-RSS-MiB")
	}
	b.StopTimer()
	checkIDs(b, filepath.Join(out, AssignmentsFile), rows)
}

// writeClusters writes n rows (id i, x: 64 float32 = centre c + N(0, 1),
// label c = i%k, centres N(0, 25) per coordinate, seed 1) in row groups of
// 131,072 rows.
func writeClusters(b testing.TB, path string, n, dim, k int) {
	b.Helper()
	rng := rand.New(rand.NewPCG(1, 0x5eed))
	centres := make([]float32, k*dim)
	for i := range centres {
		centres[i] = float32(5 * rng.NormFloat64())
	}
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "x", Type: arrow.FixedSizeListOf(int32(dim), arrow.PrimitiveTypes.Float32), Nullable: true},
		{Name: "label", Type: arrow.PrimitiveTypes.Int32},
	}, nil)
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	const group = 131072
	w, err := pqarrow.NewFileWriter(schema, f, parquet.NewWriterProperties(parquet.WithMaxRowGroupLength(group), parquet.WithCompression(compress.Codecs.Snappy), parquet.WithDataPageVersion(parquet.DataPageV2)), pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema()))
	if err != nil {
		b.Fatal(err)
	}
	rb := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer rb.Release()
	vals := make([]float32, group*dim)
	for lo := 0; lo < n; lo += group {
		m := min(group, n-lo)
		ids, xs, labels := rb.Field(0).(*array.Int64Builder), rb.Field(1).(*array.FixedSizeListBuilder), rb.Field(2).(*array.Int32Builder)
		for i := range m {
			c := (lo + i) % k
			ids.Append(int64(lo + i))
			labels.Append(int32(c))
			xs.Append(true)
			for j := range dim {
				vals[i*dim+j] = centres[c*dim+j] + float32(rng.NormFloat64())
			}
		}
		xs.ValueBuilder().(*array.Float32Builder).AppendValues(vals[:m*dim], nil)
		rec := rb.NewRecord()
		err = w.Write(rec)
		rec.Release()
		if err != nil {
			b.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
}

// checkIDs streams the output's row and id columns and checks that row i
// has id i, for all n rows.
func checkIDs(b *testing.B, path string, n int) {
	b.Helper()
	r, err := lake.Open(path, lake.Options{Features: []string{"cluster"}, IDs: []string{"row", "id"}})
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	seen := 0
	for {
		batch, err := r.Next(context.Background())
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			b.Fatal(err)
		}
		rowCol, idCol := batch.IDs[0].(*array.Int64), batch.IDs[1].(*array.Int64)
		for i := range rowCol.Len() {
			if rowCol.Value(i) != int64(seen) || idCol.Value(i) != int64(seen) {
				b.Fatalf("output row %d: row %d id %d", seen, rowCol.Value(i), idCol.Value(i))
			}
			seen++
		}
		batch.Release()
	}
	if seen != n {
		b.Fatalf("output has %d rows, want %d", seen, n)
	}
}

func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}
