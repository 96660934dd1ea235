package app

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// tinyRun trains identity + k-means on 90 rows of blobs and returns the
// Parquet data and the run directory.
func tinyRun(t *testing.T) (data, run string) {
	t.Helper()
	rec := blobsRecord(90)
	defer rec.Release()
	data = filepath.Join(t.TempDir(), "blobs.parquet")
	writeParquetFile(t, data, rec, 90)
	return data, trainTiny(t, data, "f0,f1,f2,f3", 3, nil)
}

func wantOneLine(t *testing.T, what string, err error, want string) {
	t.Helper()
	if err == nil || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "\n") {
		t.Errorf("%s: %v, want a one-line error containing %q", what, err, want)
	}
}

// TestPredictReplacesTheOutputAsAWhole predicts into the same directory
// as Arrow, then as Parquet: the second output must not keep the first's
// assignments.arrow.
func TestPredictReplacesTheOutputAsAWhole(t *testing.T) {
	data, run := tinyRun(t)
	out := filepath.Join(t.TempDir(), "pred")
	if log, err := predict(t, PredictOptions{ModelDir: run, Data: data, Out: out, OutputFormat: "arrow"}); err != nil {
		t.Fatalf("%v\n%s", err, log)
	}
	if _, err := os.Stat(filepath.Join(out, PredictionsArrowFile)); err != nil {
		t.Fatal(err)
	}
	if log, err := predict(t, PredictOptions{ModelDir: run, Data: data, Out: out}); err != nil {
		t.Fatalf("%v\n%s", err, log)
	}
	if _, err := os.Stat(filepath.Join(out, PredictionsArrowFile)); !os.IsNotExist(err) {
		t.Errorf("the Arrow prediction's %s survived the Parquet prediction: %v", PredictionsArrowFile, err)
	}
	if _, err := os.Stat(filepath.Join(out, AssignmentsFile)); err != nil {
		t.Error(err)
	}
}

// TestPredictKeepsOutOfTheModel checks that predict refuses, before any
// work, to write into the model's own run directory (whose metrics.json it
// would replace), into the model folder, into a directory holding the
// model, or over its input; and that the run directory is unchanged.
func TestPredictKeepsOutOfTheModel(t *testing.T) {
	data, run := tinyRun(t)
	metrics, err := os.ReadFile(filepath.Join(run, MetricsFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ model, out, want string }{
		{run, run, "run directory of the model"},
		{filepath.Join(run, ModelDir), run, "run directory of the model"},
		{run, filepath.Join(run, ModelDir), "is the model"},
		{run, filepath.Join(run, ModelDir, "pred"), "inside the model"},
		{run, filepath.Dir(run), "holds the model"},
		{run, data, "is the input data"},
	} {
		_, err := predict(t, PredictOptions{ModelDir: tc.model, Data: data, Out: tc.out})
		wantOneLine(t, "predict --model "+tc.model+" --out "+tc.out, err, tc.want)
	}
	after, err := os.ReadFile(filepath.Join(run, MetricsFile))
	if err != nil || !bytes.Equal(after, metrics) {
		t.Fatalf("the run's metrics.json changed: %v", err)
	}
	// Beside the model, inside the run directory, is fine.
	if log, err := predict(t, PredictOptions{ModelDir: run, Data: data, Out: filepath.Join(run, "pred")}); err != nil {
		t.Fatalf("%v\n%s", err, log)
	}
}

// TestRunChecksOutBeforeWork checks that run refuses, before it trains,
// an output directory that is a file, that holds a file named model and
// other files it did not write, or that holds the input data; nothing is
// written then.
func TestRunChecksOutBeforeWork(t *testing.T) {
	rec := blobsRecord(60)
	defer rec.Release()
	dir := t.TempDir()
	data := filepath.Join(dir, "in", "blobs.parquet")
	os.MkdirAll(filepath.Dir(data), 0o755)
	writeParquetFile(t, data, rec, 60)
	file := filepath.Join(dir, "file")
	os.WriteFile(file, []byte("x"), 0o644)
	modelFile := filepath.Join(dir, "modelfile")
	os.MkdirAll(modelFile, 0o755)
	os.WriteFile(filepath.Join(modelFile, "model"), []byte("x"), 0o644)
	os.WriteFile(filepath.Join(modelFile, "notes.txt"), []byte("x"), 0o644)
	cfg := filepath.Join(dir, "cfg.yaml")
	os.WriteFile(cfg, []byte("train: {pretrain_epochs: 0, epochs: 0}\nencoder: {plugin: identity}\nclusterer: {plugin: kmeans, config: {k: 3}}\nlosses: []\nprogress: off\n"), 0o644)
	for _, tc := range []struct{ out, want string }{
		{file, "is a file"},
		{modelFile, "holds model"},
		{filepath.Join(dir, "in"), "holds the input data"},
		{filepath.Join(dir, "in", "blobs.parquet", "x"), "inside the input data"},
	} {
		var log bytes.Buffer
		_, err := Run(context.Background(), Env{Stdout: &log, Stderr: &log}, RunOptions{ConfigFile: cfg, Set: map[string]string{"data.path": data, "out": tc.out}})
		wantOneLine(t, "run --out "+tc.out, err, tc.want)
		if strings.Contains(log.String(), "stage 1/1") {
			t.Errorf("run --out %s trained before refusing:\n%s", tc.out, log.String())
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 4 {
		t.Errorf("the refused runs left %d entries in %s", len(entries), dir)
	}
}

// TestPredictVerifiesTheModel checks that predict refuses a model whose
// clusterer state has a flipped byte, whose config.yaml was edited, or
// whose manifest and config.yaml name different plugins.
func TestPredictVerifiesTheModel(t *testing.T) {
	data, run := tinyRun(t)
	folder := filepath.Join(run, ModelDir)
	copyModel := func() string {
		t.Helper()
		dst := filepath.Join(t.TempDir(), "model")
		if err := os.CopyFS(dst, os.DirFS(folder)); err != nil {
			t.Fatal(err)
		}
		return dst
	}
	flipped := copyModel()
	state := filepath.Join(flipped, "stage1", "clusterer.bin")
	b, err := os.ReadFile(state)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 0x01
	os.WriteFile(state, b, 0o644)
	_, err = predict(t, PredictOptions{ModelDir: flipped, Data: data, Out: filepath.Join(t.TempDir(), "p")})
	wantOneLine(t, "a flipped byte", err, "does not match the manifest's SHA-256")

	edited := copyModel()
	cfg := filepath.Join(edited, "config.yaml")
	c, _ := os.ReadFile(cfg)
	other := strings.Replace(string(c), `plugin: "kmeans"`, `plugin: "gmm"`, 1)
	if other == string(c) {
		t.Fatalf("no kmeans in\n%s", c)
	}
	os.WriteFile(cfg, []byte(other), 0o644)
	_, err = predict(t, PredictOptions{ModelDir: edited, Data: data, Out: filepath.Join(t.TempDir(), "p")})
	wantOneLine(t, "an edited config.yaml", err, "config.yaml does not match")

	// A manifest that names another clusterer than config.yaml.
	renamed := copyModel()
	man := filepath.Join(renamed, "manifest.json")
	mb, err := os.ReadFile(man)
	if err != nil {
		t.Fatal(err)
	}
	other = strings.Replace(string(mb), `"clusterer": "kmeans `, `"clusterer": "gmm `, 1)
	if other == string(mb) {
		t.Fatalf("no kmeans clusterer in\n%s", mb)
	}
	os.WriteFile(man, []byte(other), 0o644)
	_, err = predict(t, PredictOptions{ModelDir: renamed, Data: data, Out: filepath.Join(t.TempDir(), "p")})
	wantOneLine(t, "manifest and config disagree", err, `clusterer is "gmm", config.yaml names "kmeans"`)
}
