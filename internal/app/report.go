package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/deepclust/deepclust/config"
	"github.com/deepclust/deepclust/internal/results"
	"github.com/deepclust/deepclust/model"
	"github.com/deepclust/deepclust/pipeline"
	"github.com/deepclust/deepclust/report"
	"github.com/deepclust/deepclust/sdk"
	"github.com/deepclust/deepclust/validity"
)

// ReportFile is the HTML report written beside the other outputs.
const ReportFile = "report.html"

// inputIndexLimit bounds n·(features) of an input whose validity indices
// are computed too; inputSilhouetteRows is the size of its silhouette
// sample.
const (
	inputIndexLimit     = 10_000_000
	inputSilhouetteRows = 2000
)

// indices returns the validity indices of z (nil, with a message on log,
// when they do not apply, e.g. a single cluster).
func indices(log io.Writer, what string, z sdk.Tensor, labels []int32, maxRows int, seed uint64) *validity.Indices {
	ix, err := validity.Compute(z, labels, maxRows, seed)
	if err != nil {
		fmt.Fprintf(log, "validity indices of the %s: not computed: %v\n", what, err)
		return nil
	}
	return &ix
}

// inputIndices returns the validity indices of the input samples x when
// they are small enough (n·features ≤ inputIndexLimit), nil otherwise.
func inputIndices(log io.Writer, x sdk.Tensor, labels []int32, seed uint64) *validity.Indices {
	if x.Empty() || x.Rows() != len(labels) || x.Rows()*x.Cols() > inputIndexLimit {
		return nil
	}
	flat := sdk.Tensor{Shape: []int{x.Rows(), x.Cols()}, Data: x.Data}
	return indices(log, "input features", flat, labels, inputSilhouetteRows, seed)
}

// writeReport renders r into path and returns how long it took.
func writeReport(path string, r report.Run) (time.Duration, error) {
	begin := time.Now()
	f, err := os.Create(path)
	if err != nil {
		return 0, fmt.Errorf("writing the report: %w", err)
	}
	if err := report.Write(f, r); err != nil {
		f.Close()
		return 0, fmt.Errorf("writing %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return 0, fmt.Errorf("writing %s: %w", path, err)
	}
	return time.Since(begin), nil
}

// printSizes prints the per-cluster size table when there are at most 30
// clusters: rows of ten clusters with their sizes and shares.
func printSizes(w io.Writer, clusters []int32) {
	var k int32 = -1
	for _, c := range clusters {
		k = max(k, c)
	}
	if k < 0 || k >= 30 {
		return
	}
	sizes := make([]int, k+1)
	for _, c := range clusters {
		if c >= 0 {
			sizes[c]++
		}
	}
	n := float64(len(clusters))
	for lo := 0; lo < len(sizes); lo += 10 {
		hi := min(lo+10, len(sizes))
		var cl, sz, sh strings.Builder
		for j := lo; j < hi; j++ {
			fmt.Fprintf(&cl, "%7d", j)
			fmt.Fprintf(&sz, "%7d", sizes[j])
			fmt.Fprintf(&sh, "%6.1f%%", 100*float64(sizes[j])/n)
		}
		fmt.Fprintf(w, "cluster%s\nsize   %s\nshare  %s\n", cl.String(), sz.String(), sh.String())
	}
}

// ReportOptions are the inputs of Report.
type ReportOptions struct {
	// Dir is a run's or a prediction's output directory.
	Dir string
	// Data, when set, is the input whose rows the assignments number, for
	// the image grid or feature profile; default: the run's data.path.
	Data string
	// Out is the report file; default Dir/report.html.
	Out string
}

// reportMetrics is what Report reads of metrics.json: a run's or a
// prediction's.
type reportMetrics struct {
	Data string `json:"data"`
	model.Report
	*validity.Indices
	InputIndices *validity.Indices `json:"input_indices"`
}

// Report writes the HTML report of an existing run or prediction output
// directory (its assignments.parquet, metrics.json and, for a run,
// model/config.yaml), atomically.
func Report(ctx context.Context, env Env, opt ReportOptions) error {
	start := time.Now()
	a, err := results.ReadAssignments(filepath.Join(opt.Dir, AssignmentsFile))
	if err != nil {
		return err
	}
	var met reportMetrics
	if b, err := os.ReadFile(filepath.Join(opt.Dir, MetricsFile)); err != nil {
		return fmt.Errorf("report: %w", err)
	} else if err := json.Unmarshal(b, &met); err != nil {
		return fmt.Errorf("report: reading %s: %w", filepath.Join(opt.Dir, MetricsFile), err)
	}
	r := report.Run{Title: opt.Dir, Source: met.Data, Clusters: a.Clusters, Z: a.Z, Truth: a.Truth,
		Indices: met.Indices, InputIndices: met.InputIndices, Seconds: met.Seconds, Seed: 1}
	if met.Scores != nil {
		r.Scores = met.Scores
	} else if a.Truth != nil {
		if r.Scores, err = pipeline.Score(a.Truth, a.Clusters); err != nil {
			return fmt.Errorf("report: %w", err)
		}
	}
	if len(met.Stages) > 0 {
		r.Fit = &met.Report
	}
	if r.Indices == nil {
		r.Indices = indices(env.Stderr, "embeddings", a.Z, a.Clusters, 0, 1)
	}
	cfgFile := filepath.Join(opt.Dir, ModelDir, model.ConfigFile)
	var cfg *config.Config
	if b, err := os.ReadFile(cfgFile); err == nil {
		r.Config = string(b)
		if cfg, err = config.Load(config.Options{File: cfgFile, NoEnv: true}); err != nil {
			fmt.Fprintf(env.Stderr, "report: %s: %v (no images or feature profile)\n", cfgFile, err)
			cfg = nil
		}
	}
	if x, names, err := reportInput(cfg, opt.Data, a.Rows); err != nil {
		fmt.Fprintf(env.Stderr, "report: input not shown: %v\n", err)
	} else {
		r.X, r.Features = x, names
	}
	out := opt.Out
	if out == "" {
		out = filepath.Join(opt.Dir, ReportFile)
	}
	tmp, err := os.CreateTemp(filepath.Dir(out), ".report-*.html")
	if err != nil {
		return fmt.Errorf("writing the report: %w", err)
	}
	tmp.Close()
	defer os.Remove(tmp.Name())
	if _, err := writeReport(tmp.Name(), r); err != nil {
		return err
	}
	// CreateTemp makes the file private; the report is an output like the
	// others, readable as they are.
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return fmt.Errorf("writing the report: %w", err)
	}
	if err := os.Rename(tmp.Name(), out); err != nil {
		return fmt.Errorf("writing the report: %w", err)
	}
	info, err := os.Stat(out)
	if err != nil {
		return fmt.Errorf("writing the report: %w", err)
	}
	fmt.Fprintf(env.Stdout, "report: %s (%.1f MB, %.1f s)\n", out, float64(info.Size())/1e6, time.Since(start).Seconds())
	return nil
}

// reportInput loads the input rows the assignments refer to: from path, or
// the run's data.path, with the run's data section; nil without a config
// and a path.
func reportInput(cfg *config.Config, path string, rows []int64) (sdk.Tensor, []string, error) {
	if cfg == nil && path == "" {
		return sdk.Tensor{}, nil, errors.New("no model/config.yaml and no --data")
	}
	var spec config.DataSpec
	format := "auto"
	if cfg != nil {
		spec, format = cfg.Data, cfg.Data.Format
		if path == "" {
			path = cfg.Data.Path
		}
	}
	if path == "" && cfg == nil {
		return sdk.Tensor{}, nil, errors.New("no input path")
	}
	ds, err := model.LoadData(spec, path, format)
	if err != nil {
		return sdk.Tensor{}, nil, err
	}
	size := ds.X.Cols()
	out := sdk.Tensor{Shape: append([]int{len(rows)}, ds.X.Shape[1:]...), Data: make([]float32, len(rows)*size)}
	for i, r := range rows {
		if r < 0 || int(r) >= ds.X.Rows() {
			return sdk.Tensor{}, nil, fmt.Errorf("%s has %d rows, the assignments refer to row %d", ds.Source, ds.X.Rows(), r)
		}
		copy(out.Data[i*size:(i+1)*size], ds.X.Data[int(r)*size:(int(r)+1)*size])
	}
	return out, spec.Features, nil
}
