package app

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/apache/arrow/go/v15/arrow/array"

	"github.com/deepclust/deepclust/internal/lake"
	"github.com/deepclust/deepclust/internal/results"
)

// TestStreamedTraining trains an MLP autoencoder with k-means (DCN) on a
// Parquet file read in passes (data.stream) with a shuffle buffer smaller
// than the file: the three separated blobs are found (ACC 1), every row is
// assigned with its label, and predict on the same file reproduces the
// clusters.
func TestStreamedTraining(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "blobs.parquet")
	rec := blobsRecord(900)
	defer rec.Release()
	writeParquetFile(t, data, rec, 200)
	out := filepath.Join(dir, "run")
	set := map[string]string{
		"data.path": data, "data.features": "vec", "data.stream": "true", "data.shuffle_rows": "256",
		"out": out, "progress": "off", "encoder.plugin": "mlp", "encoder.config.hidden": "16", "encoder.config.embedding": "3",
		"encoder.config.lr": "0.01", "clusterer.plugin": "kmeans", "clusterer.config.k": "3",
		"clusterer.config.n_init": "3", "train.pretrain_epochs": "20", "train.epochs": "3", "train.batch_size": "32",
	}
	var log bytes.Buffer
	report, err := Run(context.Background(), Env{Stdout: &log, Stderr: &log}, RunOptions{Set: set, Isolation: "inprocess"})
	if err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	if !strings.Contains(log.String(), "(streamed)") || report.N != 900 || report.Scores == nil || report.ACC != 1 {
		t.Fatalf("report n=%d scores=%+v\n%s", report.N, report.Scores, log.String())
	}
	tbl := readParquet(t, filepath.Join(out, AssignmentsFile))
	defer tbl.Release()
	if tbl.NumRows() != 900 || tbl.Schema().Field(0).Name != lake.ColumnRow {
		t.Fatalf("assignments: %d rows, schema %v", tbl.NumRows(), tbl.Schema())
	}
	pred := filepath.Join(dir, "pred")
	if _, err := predict(t, PredictOptions{ModelDir: out, Data: data, Out: pred}); err != nil {
		t.Fatal(err)
	}
	trained, err := results.ReadAssignments(filepath.Join(out, AssignmentsFile))
	if err != nil {
		t.Fatal(err)
	}
	predicted, err := results.ReadAssignments(filepath.Join(pred, AssignmentsFile))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(trained.Clusters, predicted.Clusters) || len(trained.Clusters) != 900 {
		t.Fatal("predict on the training file disagrees with the streamed run's assignments")
	}
	// The streamed run writes the label column too (the blobs' labels are
	// i mod 3), as an in-memory run and predict do.
	want := make([]int32, 900)
	for i := range want {
		want[i] = int32(i % 3)
	}
	if !slices.Equal(trained.Truth, want) || !slices.Equal(predicted.Truth, want) {
		t.Fatalf("label columns: run %v…, predict %v…, want i mod 3", trained.Truth[:min(6, len(trained.Truth))], predicted.Truth[:min(6, len(predicted.Truth))])
	}
}

// TestStreamedTrainingRejects checks the options data.stream cannot honour.
func TestStreamedTrainingRejects(t *testing.T) {
	for _, tc := range []struct {
		set  map[string]string
		want string
	}{
		{map[string]string{"data.stream": "true"}, "data.stream needs a Parquet or Arrow file"},
		{map[string]string{"data.stream": "true", "data.path": "x.parquet", "data.limit": "5"}, "set data.limit to 0"},
		{map[string]string{"data.nulls": "drop"}, `data.nulls "drop" needs data.stream`},
		{map[string]string{"out": ""}, `config key "out": empty`},
	} {
		if _, ok := tc.set["out"]; !ok {
			tc.set["out"] = filepath.Join(t.TempDir(), "out")
		}
		var log bytes.Buffer
		_, err := Run(context.Background(), Env{Stdout: &log, Stderr: &log}, RunOptions{Set: tc.set})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: got %v, want %q", tc.set, err, tc.want)
		}
	}
}

// BenchmarkTrainStream10M trains one epoch of a k-means-family pipeline
// (MLP autoencoder 64-64-8 pretrained one epoch, k-means with DCN's loss,
// one joint epoch) on a generated Parquet file of 10,000,000 rows × 64
// float32 features (eight Gaussian clusters) with data.stream, in a child
// process, and reports samples/s of the whole run and the child's peak RSS.
// It needs about 3 GB of disk and a few minutes, so it runs only with
// BENCH_TRAIN_10M=1 (BENCH_TRAIN_ROWS overrides the row count):
//
//	BENCH_TRAIN_10M=1 go test -run '^$' -bench TrainStream10M -benchtime 1x ./internal/app
func BenchmarkTrainStream10M(b *testing.B) {
	if os.Getenv("BENCH_TRAIN_10M") != "1" {
		b.Skip("set BENCH_TRAIN_10M=1 to run")
	}
	rows := 10_000_000
	if s := os.Getenv("BENCH_TRAIN_ROWS"); s != "" {
		var err error
		if rows, err = strconv.Atoi(s); err != nil {
			b.Fatal(err)
		}
	}
	dir := b.TempDir()
	data := filepath.Join(dir, "big.parquet")
	writeClusters(b, data, rows, 64, 8)
	bin := filepath.Join(dir, "deepclust")
	if out, err := exec.Command("go", "build", "-o", bin, "../../cmd/deepclust").CombinedOutput(); err != nil {
		b.Fatalf("building deepclust: %v\n%s", err, out)
	}
	out := filepath.Join(dir, "run")
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		os.RemoveAll(out)
		cmd := exec.Command(bin, "run", "--data", data, "--out", out, "--progress", "lines",
			"--set", "data.features=x", "--set", "data.stream=true", "--set", "encoder.config.hidden=64",
			"--set", "encoder.config.embedding=8", "--set", "clusterer.plugin=kmeans", "--set", "clusterer.config.k=8",
			"--set", "clusterer.config.n_init=1", "--set", "clusterer.config.max_iter=50",
			"--set", "train.pretrain_epochs=1", "--set", "train.epochs=1", "--set", "train.batch_size=1024")
		var log bytes.Buffer
		cmd.Stdout, cmd.Stderr = &log, &log
		start := time.Now()
		if err := cmd.Run(); err != nil {
			b.Fatalf("run: %v\n%s", err, log.String())
		}
		secs := time.Since(start).Seconds()
		b.ReportMetric(float64(rows)/secs, "rows/s")
		b.ReportMetric(float64(cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss)/1024, "peak-RSS-MiB")
		b.Log(lastLine(log.String()))
	}
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// TestPredictSoftAssignments checks --soft: a DEC model writes each row's
// soft assignments (k of them, summing to 1 within 1e-5), and a k-means
// model, which has none, is a one-line error.
func TestPredictSoftAssignments(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "blobs.parquet")
	rec := blobsRecord(300)
	defer rec.Release()
	writeParquetFile(t, data, rec, 128)
	decRun := trainTiny(t, data, "vec", 3, map[string]string{"clusterer.plugin": "dec"})
	out := filepath.Join(dir, "pred")
	if _, err := predict(t, PredictOptions{ModelDir: decRun, Data: data, Out: out, Soft: true}); err != nil {
		t.Fatal(err)
	}
	tbl := readParquet(t, filepath.Join(out, AssignmentsFile))
	defer tbl.Release()
	idx := tbl.Schema().FieldIndices(lake.ColumnSoft)
	if len(idx) != 1 || tbl.NumRows() != 300 {
		t.Fatalf("schema %v, %d rows", tbl.Schema(), tbl.NumRows())
	}
	for _, c := range tbl.Column(idx[0]).Data().Chunks() {
		l := c.(*array.FixedSizeList)
		vals := l.ListValues().(*array.Float32)
		for i := range l.Len() {
			sum := vals.Value(3*i) + vals.Value(3*i+1) + vals.Value(3*i+2)
			if sum < 1-1e-5 || sum > 1+1e-5 {
				t.Fatalf("soft assignments of a row sum to %v", sum)
			}
		}
	}
	kmRun := trainTiny(t, data, "vec", 3, nil)
	_, err := predict(t, PredictOptions{ModelDir: kmRun, Data: data, Out: filepath.Join(dir, "pred2"), Soft: true})
	if err == nil || !strings.Contains(err.Error(), `--soft: clusterer "kmeans" gives no soft assignments`) {
		t.Fatalf("kmeans --soft: %v", err)
	}
}
