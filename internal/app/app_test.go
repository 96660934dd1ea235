package app

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/deepclust/deepclust/config"
)

// TestShippedConfigsValidate checks every config in configs/ and every
// plugin's sample.yaml, plugin fields included.
func TestShippedConfigsValidate(t *testing.T) {
	files, err := filepath.Glob("../../configs/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no shipped configs found (%v)", err)
	}
	samples, err := filepath.Glob("../../*/*/sample.yaml")
	if err != nil || len(samples) < 10 {
		t.Fatalf("plugin sample configs: found %d (%v)", len(samples), err)
	}
	files = append(files, samples...)
	for _, f := range files {
		var out bytes.Buffer
		if err := Validate(context.Background(), Env{Stdout: &out, Stderr: &out}, ValidateOptions{File: f}); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
}

// TestPrintedDefaultsLoadBack checks that `config defaults` prints a
// config that loads and validates to the defaults.
func TestPrintedDefaultsLoadBack(t *testing.T) {
	var out bytes.Buffer
	if err := PrintDefaults(Env{Stdout: &out, Stderr: &out}); err != nil {
		t.Fatal(err)
	}
	text := out.String()
	for _, want := range []string{"stages:", "  - name: \"autoencoder\"", "    encoder:", "        hidden: [500, 500, 2000]", "    losses:", "      - plugin: \"reconstruction\"", "# Seed that fixes"} {
		if !strings.Contains(text, want) {
			t.Errorf("defaults lack %q", want)
		}
	}
	file := filepath.Join(t.TempDir(), "defaults.yaml")
	if err := os.WriteFile(file, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Validate(context.Background(), Env{Stdout: &out, Stderr: &out}, ValidateOptions{File: file}); err != nil {
		t.Fatal(err)
	}
	got, err := config.Load(config.Options{File: file, NoEnv: true})
	if err != nil {
		t.Fatal(err)
	}
	def, err := config.Load(config.Options{NoEnv: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Stages) != len(def.Stages) || got.Stages[1].Train != def.Stages[1].Train || got.Seed != def.Seed || got.Stages[0].Encoder.Plugin != def.Stages[0].Encoder.Plugin {
		t.Fatalf("printed defaults load as %+v, want %+v", got, def)
	}
}

// TestDefaultConfigFileIsCurrent keeps configs/default.yaml equal to what
// `deepclust config defaults` prints (regenerate it with that command).
func TestDefaultConfigFileIsCurrent(t *testing.T) {
	var out bytes.Buffer
	if err := PrintDefaults(Env{Stdout: &out, Stderr: &out}); err != nil {
		t.Fatal(err)
	}
	file, err := os.ReadFile("../../configs/default.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if string(file) != out.String() {
		t.Fatal("configs/default.yaml is stale: run `go run ./cmd/deepclust config defaults > configs/default.yaml`")
	}
}

// TestBenchJSONHasTheDocumentedKeys runs one repetition of the bench
// command and checks its JSON keys and that every figure is positive.
func TestBenchJSONHasTheDocumentedKeys(t *testing.T) {
	if testing.Short() {
		t.Skip("bench takes several seconds")
	}
	var out bytes.Buffer
	if err := Bench(context.Background(), Env{Stdout: &out, Stderr: &out}, BenchOptions{Runs: 1, JSON: true}); err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	for _, k := range []string{"gemm_1024_gflops", "ae_train_samples_per_s", "cae_train_samples_per_s", "gemm_1024_gflops_bf16", "ae_train_samples_per_s_bf16"} {
		if v, ok := got[k].(float64); !ok || v <= 0 {
			t.Errorf("%s = %v, want a positive number", k, got[k])
		}
	}
	for _, k := range []string{"knn_70k_seconds_exact", "knn_70k_seconds_approx", "knn_recall_at_10"} {
		if v, ok := got[k].(float64); !ok || v <= 0 {
			t.Errorf("%s = %v, want a positive number", k, got[k])
		}
	}
	for _, k := range []string{"kmeans_70k_seconds", "kmeans_70k_inertia"} {
		if v, ok := got[k].(float64); !ok || v <= 0 {
			t.Errorf("%s = %v, want a positive number", k, got[k])
		}
	}
	if r, _ := got["knn_recall_at_10"].(float64); r < 0.95 || r > 1 {
		t.Errorf("knn_recall_at_10 = %v, want 0.95..1", r)
	}
	if peak, ok := got["physical_peak_gflops"].(map[string]any); !ok || peak["how"] == nil || peak["cores"].(float64) < 1 {
		t.Errorf("physical_peak_gflops = %v, want the peaks with cores and how", got["physical_peak_gflops"])
	}
}

// TestMain keeps the stage cache of every run in the tests in a
// directory of its own, not the user's.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "deepclust-cache-")
	if err != nil {
		panic(err)
	}
	os.Setenv("DEEPCLUST_CACHE_DIR", dir)
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}
