package app

import (
	"bytes"
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/deepclust/deepclust/internal/lake"
	"github.com/deepclust/deepclust/internal/results"
)

// TestStreamedTraining trains an MLP autoencoder with k-means (DCN) on a
// Parquet file read in passes (data.stream) with a shuffle buffer smaller
// than the file: the three separated blobs are found (ACC 1), every row is
// assigned, and predict on the same file reproduces the clusters.
func TestStreamedTraining(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "blobs.parquet")
	rec := blobsRecord(900)
	defer rec.Release()
	writeParquetFile(t, data, rec, 200)
	out := filepath.Join(dir, "run")
	set := map[string]string{
		"data.path": data, "data.features": "vec", "data.stream": "true", "data.shuffle_rows": "256",
		"out": out, "progress": "off", "encoder.config.hidden": "16", "encoder.config.embedding": "3",
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
}

// TestStreamedTrainingRejects checks the options data.stream cannot honour.
func TestStreamedTrainingRejects(t *testing.T) {
	for _, tc := range []struct {
		set  map[string]string
		want string
	}{
		{map[string]string{"data.stream": "true"}, "data.stream needs a Parquet or Arrow file"},
		{map[string]string{"data.stream": "true", "data.path": "x.parquet", "data.scale": "minmax"}, "set data.scale to none"},
		{map[string]string{"data.stream": "true", "data.path": "x.parquet", "data.limit": "5"}, "set data.limit to 0"},
	} {
		tc.set["out"] = filepath.Join(t.TempDir(), "out")
		var log bytes.Buffer
		_, err := Run(context.Background(), Env{Stdout: &log, Stderr: &log}, RunOptions{Set: tc.set})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: got %v, want %q", tc.set, err, tc.want)
		}
	}
}
