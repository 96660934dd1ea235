package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCommandLine runs the command as a user would: predict's own flags
// (--id, which Beam's worker flags also define) beside Beam's (--runner),
// then usage errors.
func TestCommandLine(t *testing.T) {
	dir := t.TempDir()
	lake := filepath.Join(dir, "lake")
	writeLake(t, lake, lakeSpec{files: 2, groups: 1, groupRows: 30, dim: 6, seed: 31})
	modelDir := trainModel(t, dir, 6)
	out := filepath.Join(dir, "out")
	var stdout, stderr bytes.Buffer
	ctx := context.Background()
	err := run(ctx, []string{"predict", "--model", modelDir, "--data", lake, "--out", out, "--id", "id", "--id=part",
		"--runner", "prism", "--features", "x", "--soft=false", "--nulls", "drop"}, &stdout, &stderr)
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	if !strings.Contains(stdout.String(), "n=60 ") {
		t.Errorf("summary %q does not count 60 rows", stdout.String())
	}
	got := readOutput(t, filepath.Join(out, AssignmentsDir))
	if !strings.HasPrefix(strings.Join(got.fields, ","), "row int64,id int64,part utf8,label int32,cluster int32") {
		t.Errorf("columns %v", got.fields)
	}
	for _, args := range [][]string{
		{"predict", "--model", modelDir, "--data", lake},
		{"predict", "--model", modelDir, "--data", lake, "--out", out, "--nulls", "maybe"},
		{"predict", "--model", modelDir, "--data", lake, "--out", out, "--no-such-flag"},
		{"predict", "--model", modelDir, "--data", lake, "--out", out, "extra"},
		{"kmeans", "--data", lake, "--out", out, "--k", "0"},
		{"gmm", "--data", lake, "--out", out, "--covariance", "spherical"},
		{"gmm", "--data", lake, "--out", out, "--init", "random"},
		{"frobnicate"},
	} {
		err := run(ctx, args, &stdout, &stderr)
		if !errors.Is(err, errUsage) {
			t.Errorf("%v: %v, want a usage error", args, err)
		}
	}
	// A bad model directory fails before any job, naming it.
	err = run(ctx, []string{"predict", "--model", filepath.Join(dir, "nope"), "--data", lake, "--out", filepath.Join(dir, "o2")}, &stdout, &stderr)
	if err == nil || errors.Is(err, errUsage) || !strings.Contains(err.Error(), "nope") {
		t.Errorf("missing model: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "o2")); !os.IsNotExist(err) {
		t.Error("a failed predict created --out")
	}
}
