package main

import (
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
)

// buildDeepclust builds the deepclust command from this repository, once.
var buildDeepclust = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "deepclust-bin-")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "deepclust")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/deepclust")
	cmd.Dir = "../.."
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", &exec.ExitError{Stderr: b}
	}
	return bin, nil
})

// testLake is the lake of the predict tests: 4 files in two Hive
// partitions, 3 row groups of 40 rows each.
var testLake = lakeSpec{files: 4, groups: 3, groupRows: 40, dim: 6, seed: 7}

// TestPredictMatchesDeepclust runs the distributed predict on Prism and
// deepclust predict (the command, built from this repository) on the same
// model and lake, and checks that the outputs have the same columns and,
// row for row by id, the same values: row numbers, ids, the partition
// column, labels (strings numbered by first appearance), clusters,
// distances and embeddings; and the same metrics.
func TestPredictMatchesDeepclust(t *testing.T) {
	dir := t.TempDir()
	lake := filepath.Join(dir, "lake")
	writeLake(t, lake, testLake)
	modelDir := trainModel(t, dir, testLake.dim)
	bin, err := buildDeepclust()
	if err != nil {
		t.Fatalf("building deepclust: %v: %s", err, err.(*exec.ExitError).Stderr)
	}
	ref := filepath.Join(dir, "ref")
	cmd := exec.Command(bin, "predict", "--model", modelDir, "--data", lake, "--out", ref, "--id", "id", "--id", "part", "--distance")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("deepclust predict: %v\n%s", err, b)
	}

	out := filepath.Join(dir, "beam")
	opt := PredictOptions{ModelDir: modelDir, Data: lake, Out: out, IDs: []string{"id", "part"}, Distance: true,
		BatchRows: 15, RowGroupRows: 25, Runner: "prism"}
	if err := Predict(context.Background(), opt, io.Discard); err != nil {
		t.Fatal(err)
	}
	want := readOutput(t, filepath.Join(ref, "assignments.parquet"))
	got := readOutput(t, filepath.Join(out, AssignmentsDir))
	if !slices.Equal(got.fields, want.fields) {
		t.Fatalf("columns %v, deepclust predict's %v", got.fields, want.fields)
	}
	n := testLake.files * testLake.groups * testLake.groupRows
	if len(want.rows) != n || len(got.rows) != n {
		t.Fatalf("%d rows, deepclust predict %d, want %d", len(got.rows), len(want.rows), n)
	}
	for id, w := range want.rows {
		if g := got.rows[id]; g != w {
			t.Fatalf("id %s:\n got %s\nwant %s", id, g, w)
		}
	}
	parts, _ := filepath.Glob(filepath.Join(out, AssignmentsDir, "part-*.parquet"))
	if len(parts) != testLake.files*testLake.groups {
		t.Errorf("%d parts, want one per row group (%d)", len(parts), testLake.files*testLake.groups)
	}

	var wm, gm map[string]any
	readJSON(t, filepath.Join(ref, MetricsFile), &wm)
	readJSON(t, filepath.Join(out, MetricsFile), &gm)
	for _, k := range []string{"n", "dropped", "k", "acc", "nmi", "ari"} {
		if gm[k] != wm[k] {
			t.Errorf("metrics.json %s = %v, deepclust predict's %v", k, gm[k], wm[k])
		}
	}
	if gm["acc"] == nil {
		t.Error("no scores in metrics.json, though the lake has labels")
	}
	// Nothing but the output is left beside it.
	if left, _ := filepath.Glob(filepath.Join(dir, ".beam.*")); len(left) > 0 {
		t.Errorf("staging left behind: %v", left)
	}
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// TestPredictCorruptFile truncates one file of the lake: the job fails
// with a one-line error naming the file, and nothing appears at --out,
// nor is a staging directory left beside it.
func TestPredictCorruptFile(t *testing.T) {
	dir := t.TempDir()
	lake := filepath.Join(dir, "lake")
	writeLake(t, lake, lakeSpec{files: 2, groups: 2, groupRows: 20, dim: 6, seed: 8})
	modelDir := trainModel(t, dir, 6)
	bad := filepath.Join(lake, "part=b", "f1.parquet")
	b, err := os.ReadFile(bad)
	if err != nil {
		t.Fatal(err)
	}
	// A truncated upload: the first half of the file, then garbage.
	half := b[:len(b)/2]
	if err := os.WriteFile(bad, append(half, []byte("not parquet at all")...), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	err = Predict(context.Background(), PredictOptions{ModelDir: modelDir, Data: lake, Out: out, Runner: "prism"}, io.Discard)
	if err == nil {
		t.Fatal("predict over a corrupt file succeeded")
	}
	msg := err.Error()
	if strings.Contains(msg, "\n") || !strings.Contains(msg, bad) || len(msg) > 300 {
		t.Errorf("error is not one short line naming %s: %q", bad, msg)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("--out exists after a failed job (%v)", err)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".out.*")); len(left) > 0 {
		t.Errorf("staging left behind: %v", left)
	}
}
