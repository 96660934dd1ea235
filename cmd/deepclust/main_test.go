package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/deepclust/deepclust/encoders/mlp"
	"github.com/deepclust/deepclust/internal/results"
	"github.com/deepclust/deepclust/sdk"
	"github.com/deepclust/deepclust/sdk/serve"
)

// The test binary doubles as the deepclust binary (DCTEST_MAIN=1), which
// also makes it serve built-ins out of process ("plugin serve"), and as a
// faulty external encoder plugin (started by go-plugin without arguments,
// misbehaving as DCTEST_FAULT says).
func TestMain(m *testing.M) {
	if os.Getenv(serve.Handshake.MagicCookieKey) != "" && len(os.Args) == 1 {
		serve.Encoder(&faultyEncoder{Encoder: mlp.New(), fault: os.Getenv("DCTEST_FAULT")})
		os.Exit(0)
	}
	// A built-in served out of process gets the plugin environment, which
	// lacks DCTEST_MAIN: "plugin serve" with the handshake cookie is main.
	served := os.Getenv(serve.Handshake.MagicCookieKey) != "" && len(os.Args) > 2 && os.Args[1] == "plugin" && os.Args[2] == "serve"
	if os.Getenv("DCTEST_MAIN") == "1" || served {
		main()
		os.Exit(0)
	}
	// Runs that do not say --no-cache keep their stages in a cache of
	// their own, not the user's.
	dir, err := os.MkdirTemp("", "deepclust-cache-")
	if err != nil {
		panic(err)
	}
	os.Setenv("DEEPCLUST_CACHE_DIR", dir)
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// faultyEncoder is the mlp encoder with a fault injected into Forward.
type faultyEncoder struct {
	sdk.Encoder
	fault string
}

func (f *faultyEncoder) Forward(ctx context.Context, x sdk.Tensor, train bool) (sdk.Forward, error) {
	fwd, err := f.Encoder.Forward(ctx, x, train)
	switch f.fault {
	case "crash":
		os.Exit(3)
	case "hang":
		select {}
	case "short":
		fwd.Z = sdk.Tensor{Shape: []int{fwd.Z.Rows() - 1, fwd.Z.Cols()}, Data: fwd.Z.Data[fwd.Z.Cols():]}
	case "nan":
		fwd.Z.Data[0] = float32(math.NaN())
	}
	return fwd, err
}

// small keeps test runs to a second or two: 600 images, a tiny network.
var small = []string{
	"--progress", "off", "--no-cache", "--set", "encoder.plugin=mlp", "--set", "data.limit=600", "--set", "encoder.config.hidden=32",
	"--set", "encoder.config.embedding=4", "--set", "train.pretrain_epochs=2", "--set", "train.epochs=2",
	"--set", "clusterer.config.n_init=2",
}

// deepclust runs the test binary as deepclust and returns its exit code,
// stdout and stderr. Its temporary directory (where the log of a failed
// plugin goes) is one of the test's, unless env sets TMPDIR.
func deepclust(t *testing.T, env []string, args ...string) (int, string, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(append(os.Environ(), "DCTEST_MAIN=1", "TMPDIR="+t.TempDir()), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return code, stdout.String(), stderr.String()
}

func TestRunSameClustersInProcessAndOutOfProcess(t *testing.T) {
	dir := t.TempDir()
	var clusters [2][]int32
	var z [2][]float32
	for i, iso := range []string{"inprocess", "process"} {
		out := filepath.Join(dir, iso)
		code, stdout, stderr := deepclust(t, nil, append([]string{"run", "--out", out, "--isolation", iso, "--seed", "5"}, small...)...)
		if code != 0 {
			t.Fatalf("%s: exit %d\n%s", iso, code, stderr)
		}
		if !strings.Contains(stdout, "ACC ") {
			t.Fatalf("%s: no metrics printed: %q", iso, stdout)
		}
		a, err := results.ReadAssignments(filepath.Join(out, "assignments.parquet"))
		if err != nil {
			t.Fatal(err)
		}
		clusters[i], z[i] = a.Clusters, a.Z.Data
	}
	if len(clusters[0]) != 600 || !slices.Equal(clusters[0], clusters[1]) {
		t.Fatalf("cluster columns differ between in-process and out-of-process runs")
	}
	if !slices.Equal(z[0], z[1]) {
		t.Fatalf("embeddings differ between in-process and out-of-process runs")
	}
}

func TestPredictReproducesTheRunsAssignments(t *testing.T) {
	dir := t.TempDir()
	run, pred := filepath.Join(dir, "run"), filepath.Join(dir, "pred")
	csv := writeCSV(t, dir, 40, 6, "")
	args := []string{"run", "--out", run, "--data", csv, "--progress", "off", "--no-cache", "--set", "encoder.plugin=mlp", "--set", "encoder.config.hidden=8",
		"--set", "encoder.config.embedding=2", "--set", "train.pretrain_epochs=3", "--set", "clusterer.config.k=3"}
	if code, _, stderr := deepclust(t, nil, args...); code != 0 {
		t.Fatalf("run: exit %d\n%s", code, stderr)
	}
	if code, _, stderr := deepclust(t, nil, "predict", "--model", run, "--data", csv, "--out", pred); code != 0 {
		t.Fatalf("predict: exit %d\n%s", code, stderr)
	}
	a, err := results.ReadAssignments(filepath.Join(run, "assignments.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := results.ReadAssignments(filepath.Join(pred, "assignments.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(a.Clusters, b.Clusters) || !slices.Equal(a.Z.Data, b.Z.Data) {
		t.Fatal("predict on the training data disagrees with the run's assignments")
	}
}

// writeCSV writes n rows of d features (three well-separated groups) and a
// label column; bad, when set, replaces the first feature of row 1.
func writeCSV(t *testing.T, dir string, n, d int, bad string) string {
	t.Helper()
	var b strings.Builder
	for j := 0; j < d; j++ {
		fmt.Fprintf(&b, "f%d,", j)
	}
	b.WriteString("label\n")
	for i := 0; i < n; i++ {
		for j := 0; j < d; j++ {
			v := strconv.FormatFloat(float64(i%3)*2+float64((i*7+j*3)%5)*0.05, 'f', -1, 64)
			if i == 1 && j == 0 && bad != "" {
				v = bad
			}
			b.WriteString(v + ",")
		}
		fmt.Fprintf(&b, "%d\n", i%3)
	}
	p := filepath.Join(dir, "data.csv")
	if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestBadInputGetsOneLineErrorAndLeavesNoOutput(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	// A generous timeout, so that a loaded machine starting the plugin
	// slowly does not turn another failure into a timeout; the hang case
	// shortens it.
	external := []string{"--set", "encoder.path=" + self, "--set", "encoder.timeout=60s", "--set", "encoder.env=DCTEST_FAULT"}
	for _, tc := range []struct {
		name  string
		setup func(dir string) []string // extra args
		env   []string
		want  string
	}{
		{name: "missing data file", setup: func(dir string) []string { return []string{"--data", filepath.Join(dir, "nope.csv")} },
			want: "nope.csv: no such file or directory"},
		{name: "corrupt parquet", setup: func(dir string) []string {
			p := filepath.Join(dir, "x.parquet")
			os.WriteFile(p, []byte("PAR1 this is not parquet"), 0o644)
			return []string{"--data", p}
		}, want: "x.parquet"},
		{name: "wrong shape", setup: func(dir string) []string {
			return []string{"--data", writeCSV(t, dir, 30, 6, ""), "--set", "data.shape=2,2"}
		}, want: "shape"},
		{name: "NaN in data", setup: func(dir string) []string { return []string{"--data", writeCSV(t, dir, 30, 6, "NaN")} },
			want: `row 1 column "f0" is NaN`},
		{name: "unknown config key", setup: func(dir string) []string {
			p := filepath.Join(dir, "c.yaml")
			os.WriteFile(p, []byte("train:\n  epochz: 3\n"), 0o644)
			return []string{"--config", p}
		}, want: `unknown key "train.epochz"`},
		{name: "unknown plugin key", setup: func(string) []string { return []string{"--set", "encoder.config.hiden=3"} },
			want: `unknown config key "hiden"`},
		{name: "unknown env key", env: []string{"DEEPCLUST_TRAIN_EPOCS=3"}, setup: func(string) []string { return nil },
			want: "DEEPCLUST_TRAIN_EPOCS: no such config key"},
		{name: "unknown plugin", setup: func(string) []string { return []string{"--set", "clusterer.plugin=kmedoids"} },
			want: `no built-in clusterer named "kmedoids"`},
		{name: "crashing plugin", env: []string{"DCTEST_FAULT=crash"}, setup: func(string) []string { return external },
			want: "Forward"},
		{name: "hanging plugin", env: []string{"DCTEST_FAULT=hang"}, setup: func(string) []string {
			return append(external, "--set", "encoder.timeout=3s")
		}, want: "no reply within 3s"},
		{name: "lying plugin", env: []string{"DCTEST_FAULT=short"}, setup: func(string) []string { return external },
			want: "rows"},
		{name: "NaN from plugin", env: []string{"DCTEST_FAULT=nan"}, setup: func(string) []string { return external },
			want: "NaN"},
		{name: "checksum mismatch", setup: func(string) []string {
			return append(external, "--set", "encoder.sha256="+strings.Repeat("0", 64))
		}, want: "does not match the pinned"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir, tmp := t.TempDir(), t.TempDir()
			out := filepath.Join(dir, "out")
			args := append(append([]string{"run", "--out", out}, small...), tc.setup(dir)...)
			code, _, stderr := deepclust(t, append(tc.env, "TMPDIR="+tmp), args...)
			if code == 0 {
				t.Fatalf("exit 0, want a failure\n%s", stderr)
			}
			lines := strings.Split(strings.TrimRight(stderr, "\n"), "\n")
			last := lines[len(lines)-1]
			if !strings.HasPrefix(last, "deepclust: ") || !strings.Contains(last, tc.want) {
				t.Fatalf("last stderr line %q, want a one-line error containing %q\n%s", last, tc.want, stderr)
			}
			// One error line: go-plugin's log lines and a plugin's stderr
			// go to a log file, which the error names.
			for _, l := range lines[:len(lines)-1] {
				if hclogLine.MatchString(l) || strings.HasPrefix(l, "deepclust: ") {
					t.Fatalf("stderr has more than the error line:\n%s", stderr)
				}
			}
			if m := logNamed.FindStringSubmatch(last); m != nil {
				if filepath.Dir(m[1]) != tmp {
					t.Fatalf("log file %s not in the temporary directory %s", m[1], tmp)
				}
				if b, err := os.ReadFile(m[1]); err != nil || !strings.Contains(string(b), "deepclust.encoder") {
					t.Fatalf("log file %s: %v\n%s", m[1], err, b)
				}
			} else if len(tc.env) > 0 && strings.HasPrefix(tc.env[0], "DCTEST_FAULT=") {
				t.Fatalf("the error of a failed plugin names no log file: %q", last)
			}
			if _, err := os.Stat(out); !os.IsNotExist(err) {
				t.Fatalf("--out %s exists after a failed run", out)
			}
			if entries, _ := os.ReadDir(dir); len(entries) > 3 {
				t.Fatalf("leftovers beside --out: %v", entries)
			}
		})
	}
}

func TestExternalPluginWithPinnedChecksum(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	out := filepath.Join(t.TempDir(), "out")
	args := append([]string{"run", "--out", out, "--set", "encoder.path=" + self, "--set", "encoder.sha256=" + hex.EncodeToString(sum[:])}, small...)
	if code, _, stderr := deepclust(t, nil, args...); code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(out, "metrics.json")); err != nil {
		t.Fatal(err)
	}
}

// TestCacheListAndPrune lists the stage cache a run filled (the cache
// directory from DEEPCLUST_CACHE_DIR) and empties it.
func TestCacheListAndPrune(t *testing.T) {
	env := []string{"DEEPCLUST_CACHE_DIR=" + t.TempDir()}
	args := append([]string{"run", "--out", filepath.Join(t.TempDir(), "out")}, small...)
	args = slices.DeleteFunc(args, func(a string) bool { return a == "--no-cache" })
	if code, _, stderr := deepclust(t, env, args...); code != 0 {
		t.Fatalf("run: exit %d\n%s", code, stderr)
	}
	code, stdout, stderr := deepclust(t, env, "cache", "list")
	if code != 0 || !strings.Contains(stdout, "2 entries") || !strings.Contains(stdout, "pretrain") {
		t.Fatalf("cache list: exit %d\n%s%s", code, stdout, stderr)
	}
	if code, _, stderr := deepclust(t, env, "cache", "prune"); code == 0 || !strings.Contains(stderr, "--older-than") {
		t.Fatalf("cache prune without an age: exit %d, %s", code, stderr)
	}
	if code, stdout, _ := deepclust(t, env, "cache", "prune", "--older-than", "1h"); code != 0 || !strings.Contains(stdout, "removed 0 entries") {
		t.Fatalf("cache prune --older-than 1h: exit %d, %s", code, stdout)
	}
	if code, stdout, _ := deepclust(t, env, "cache", "prune", "--all"); code != 0 || !strings.Contains(stdout, "removed 2 entries") {
		t.Fatalf("cache prune --all: exit %d, %s", code, stdout)
	}
	if _, stdout, _ := deepclust(t, env, "cache", "list"); !strings.Contains(stdout, "0 entries") {
		t.Fatalf("cache list after prune --all: %s", stdout)
	}
}
