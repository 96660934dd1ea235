package app

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v15/arrow"
)

const pretrainedConfig = `progress: off
encoder:
  plugin: mlp
  config:
    hidden: [8]
    embedding: 2
clusterer:
  plugin: kmeans
  config:
    k: 3
    n_init: 2
losses:
  - plugin: reconstruction
    weight: 1
train:
  batch_size: 64
  pretrain_epochs: 3
  epochs: 0
`

// runPretrained runs pretrainedConfig on data with the overrides set and
// returns the log.
func runPretrained(t *testing.T, data string, set map[string]string) (string, error) {
	t.Helper()
	cfg := filepath.Join(t.TempDir(), "cfg.yaml")
	if err := os.WriteFile(cfg, []byte(pretrainedConfig), 0o644); err != nil {
		t.Fatal(err)
	}
	set["data.path"], set["data.features"] = data, "f0,f1,f2,f3"
	var log bytes.Buffer
	_, err := Run(context.Background(), Env{Stdout: &log, Stderr: &log}, RunOptions{ConfigFile: cfg, Set: set, Isolation: "inprocess"})
	return log.String(), err
}

// pretrainedSource writes n blob rows to a Parquet file in a fresh
// directory and runs pretrainedConfig on them into dir/src, returning the
// three paths.
func pretrainedSource(t *testing.T, n int) (dir, data, src string) {
	t.Helper()
	dir = t.TempDir()
	rec := blobsRecord(n)
	defer rec.Release()
	data = filepath.Join(dir, "blobs.parquet")
	writeParquetFile(t, data, rec, int64(n))
	src = filepath.Join(dir, "src")
	if log, err := runPretrained(t, data, map[string]string{"out": src}); err != nil {
		t.Fatalf("pretraining run: %v\n%s", err, log)
	}
	return dir, data, src
}

// TestPretrainedEncoderReplacesPretraining checks that train.pretrained
// loads a run's encoder instead of pretraining: the embeddings of a run
// that starts from it are the source run's, bit for bit, and so are its
// clusters (same seed).
func TestPretrainedEncoderReplacesPretraining(t *testing.T) {
	dir, data, src := pretrainedSource(t, 600)
	for _, from := range []string{src, filepath.Join(src, ModelDir)} {
		out := filepath.Join(dir, "from-"+filepath.Base(from))
		log, err := runPretrained(t, data, map[string]string{"out": out, "train.pretrained": from})
		if err != nil {
			t.Fatalf("run from %s: %v\n%s", from, err, log)
		}
		if !strings.Contains(log, "pretraining skipped") || strings.Contains(log, "pretrain:") {
			t.Errorf("run from %s pretrained anyway:\n%s", from, log)
		}
		want, got := readParquet(t, filepath.Join(src, AssignmentsFile)), readParquet(t, filepath.Join(out, AssignmentsFile))
		defer want.Release()
		defer got.Release()
		for _, col := range []string{"cluster", "embedding"} {
			a, b := columnStrings(want, col), columnStrings(got, col)
			if !slices.Equal(a, b) {
				t.Errorf("run from %s: column %s differs from the source run's", from, col)
			}
		}
	}
}

// columnStrings renders every value of a column, for exact comparison.
func columnStrings(tbl arrow.Table, name string) []string {
	return column(tbl, name, func(a arrow.Array) []string {
		out := make([]string, a.Len())
		for i := range out {
			out[i] = a.(interface{ ValueStr(int) string }).ValueStr(i)
		}
		return out
	})
}

// TestPretrainedMismatchIsAnError checks that a pretrained model that does
// not fit the run is refused with a message that names the difference.
func TestPretrainedMismatchIsAnError(t *testing.T) {
	dir, data, src := pretrainedSource(t, 300)
	identity := trainTiny(t, data, "f0,f1,f2,f3", 3, nil)
	for _, tc := range []struct {
		name string
		set  map[string]string
		want string
	}{
		{"missing", map[string]string{"train.pretrained": filepath.Join(dir, "nope")}, "not a model"},
		{"other encoder", map[string]string{"train.pretrained": identity}, `its encoder is "identity"`},
		{"other width", map[string]string{"train.pretrained": src, "encoder.config.embedding": "3"}, "embedding width 2"},
		{"other layers", map[string]string{"train.pretrained": src, "encoder.config.hidden": "[16]"}, "train.pretrained"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out")
			tc.set["out"] = out
			_, err := runPretrained(t, data, tc.set)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
			if _, serr := os.Stat(out); !os.IsNotExist(serr) {
				t.Errorf("failed run left %s behind", out)
			}
		})
	}
}
