package app

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/apache/arrow/go/v15/arrow"

	"github.com/deepclust/deepclust/config"
	"github.com/deepclust/deepclust/internal/lake"
	"github.com/deepclust/deepclust/internal/progress"
	"github.com/deepclust/deepclust/internal/results"
	"github.com/deepclust/deepclust/model"
	"github.com/deepclust/deepclust/pipeline"
	"github.com/deepclust/deepclust/report"
	"github.com/deepclust/deepclust/sdk"
	"github.com/deepclust/deepclust/validity"
)

// Output file names inside --out.
const (
	AssignmentsFile = "assignments.parquet"
	MetricsFile     = "metrics.json"
	ModelDir        = "model"
)

// RunOptions are the inputs of Run besides the environment variables.
type RunOptions struct {
	// ConfigFile is a YAML/TOML/JSON config; empty for the defaults.
	ConfigFile string
	// Set overrides config keys, e.g. {"train.epochs": "5"}.
	Set map[string]string
	// Isolation, when set, overrides every plugin section's isolation.
	Isolation string
	// NoCache neither reads nor writes the stage cache.
	NoCache bool
	// NoReport skips report.html.
	NoReport bool
}

// Metrics is the content of metrics.json: the fit's report, and the
// internal validity indices (top-level silhouette, davies_bouldin,
// calinski_harabasz, silhouette_rows, silhouette_sampled) of the final
// embeddings and, when the input is small enough, of the input features
// as read (before data.scale).
type Metrics struct {
	Version string `json:"version"`
	Data    string `json:"data"`
	model.Report
	*validity.Indices
	InputIndices *validity.Indices `json:"input_indices,omitempty"`
}

// Version is the deepclust version, printed by "deepclust version" and
// recorded in outputs: the model package's.
var Version = model.Version

// Run trains the pipeline a config describes, writes its outputs into the
// config's out directory and prints the metrics.
func Run(ctx context.Context, env Env, opt RunOptions) (*model.Report, error) {
	start := time.Now()
	cfg, err := config.Load(config.Options{File: opt.ConfigFile, Set: opt.Set})
	if err != nil {
		return nil, err
	}
	if cfg.Out == "" {
		return nil, fmt.Errorf("config key \"out\": empty; give an output directory")
	}
	stage, err := results.NewStage(cfg.Out)
	if err != nil {
		return nil, err
	}
	defer stage.Abort()
	m, err := model.New(ctx, cfg, model.Options{
		Log: env.Stderr, Progress: progress.New(cfg.Progress, env.Stderr), Isolation: opt.Isolation, NoCache: opt.NoCache,
	})
	if err != nil {
		return nil, err
	}
	defer m.Close()

	src, source, err := model.OpenData(ctx, cfg.Data)
	if err != nil {
		return nil, err
	}
	loadTime := time.Since(start)
	fmt.Fprintf(env.Stderr, "data: %s, %d samples of shape %v\n", source, src.Rows(), src.SampleShape())
	res, err := m.Fit(ctx, src)
	if err != nil {
		return nil, err
	}

	begin := time.Now()
	if err := writeAssignments(stage.Path(AssignmentsFile), res, src.Truth(), cfg.Data.Stream); err != nil {
		return nil, err
	}
	if err := m.Save(ctx, stage.Path(ModelDir)); err != nil {
		return nil, err
	}
	report := res.Report
	met := Metrics{Version: Version, Data: source}
	idxBegin := time.Now()
	met.Indices = indices(env.Stderr, "embeddings", res.Z, res.Labels, 0, cfg.Seed)
	var x sdk.Tensor
	if d, ok := src.(pipeline.Data); ok {
		x = d.X
		met.InputIndices = inputIndices(env.Stderr, x, res.Labels, cfg.Seed)
	}
	report.Seconds["indices"] = time.Since(idxBegin).Seconds()
	report.Seconds["load"] = loadTime.Seconds()
	report.Seconds["write"] = time.Since(begin).Seconds()
	report.Seconds["total"] = time.Since(start).Seconds()
	met.Report = report
	if !opt.NoReport {
		resolved, err := os.ReadFile(filepath.Join(stage.Path(ModelDir), model.ConfigFile))
		if err != nil {
			return nil, fmt.Errorf("reading the resolved config for the report: %w", err)
		}
		took, err := writeReport(stage.Path(ReportFile), reportRun(cfg, source, res, src.Truth(), x, met, string(resolved)))
		if err != nil {
			return nil, err
		}
		report.Seconds["report"] = took.Seconds()
		report.Seconds["total"] = time.Since(start).Seconds()
		met.Report = report
	}
	if err := results.WriteJSON(stage.Path(MetricsFile), met); err != nil {
		return nil, err
	}
	if err := stage.Commit(); err != nil {
		return nil, err
	}
	printSizes(env.Stdout, res.Labels)
	printSummary(env, report, cfg.Out)
	return &report, nil
}

// reportRun gathers what report.html shows of a run.
func reportRun(cfg *config.Config, source string, res *model.Result, truth []int32, x sdk.Tensor, met Metrics, resolved string) report.Run {
	fit := met.Report
	return report.Run{
		Title: cfg.Out, Source: source, Clusters: res.Labels, Z: res.Z, Truth: truth, X: x, Features: cfg.Data.Features,
		Indices: met.Indices, InputIndices: met.InputIndices, Scores: fit.Scores, Fit: &fit, Seconds: fit.Seconds,
		Config: resolved, Seed: cfg.Seed,
	}
}

// writeAssignments writes the run's assignments file: in memory, or for a
// streamed run through the streaming writer in row groups, with the label
// column (results.ColumnLabel) when the input has labels, as in memory.
func writeAssignments(path string, res *model.Result, truth []int32, streamed bool) error {
	if !streamed {
		return results.WriteAssignments(path, res.Labels, res.Z, truth)
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	defer f.Close()
	var ids []arrow.Field
	if truth != nil {
		ids = []arrow.Field{labelField}
	}
	w, err := lake.NewWriter(f, ids, res.Z.Cols(), lake.WriterOptions{})
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	const chunk = 1 << 16
	d := res.Z.Cols()
	rows := make([]int64, 0, chunk)
	for lo := 0; lo < res.Z.Rows(); lo += chunk {
		hi := min(lo+chunk, res.Z.Rows())
		rows = rows[:0]
		for r := lo; r < hi; r++ {
			rows = append(rows, int64(r))
		}
		out := lake.Output{Rows: rows, Clusters: res.Labels[lo:hi], Z: sdk.Tensor{Shape: []int{hi - lo, d}, Data: res.Z.Data[lo*d : hi*d]}}
		if truth != nil {
			out.IDs = []arrow.Array{labelColumn(truth[lo:hi], hi-lo)}
		}
		err := w.Write(out)
		for _, a := range out.IDs {
			a.Release()
		}
		if err != nil {
			return fmt.Errorf("writing %s: %w", path, err)
		}
	}
	// Closing the writer closes the file too.
	if err := w.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

func printSummary(env Env, r model.Report, out string) {
	if r.Scores != nil {
		fmt.Fprintf(env.Stdout, "ACC %.4f  NMI %.4f  ARI %.4f  ", r.ACC, r.NMI, r.ARI)
	}
	var stages []string
	for _, s := range r.Stages {
		st := fmt.Sprintf("%s %.1f s", s.Name, s.Seconds["total"])
		switch {
		case s.Cached:
			st += " (cached)"
		case s.TrainSamplesPerSecond > 0:
			st += fmt.Sprintf(" (%.0f samples/s)", s.TrainSamplesPerSecond)
		}
		stages = append(stages, st)
	}
	fmt.Fprintf(env.Stdout, "n=%d k=%d  %.1f s [%s]  -> %s\n", r.N, r.K, r.Seconds["total"], strings.Join(stages, ", "), out)
}
