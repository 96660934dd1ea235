package app

import (
	"context"
	"encoding/json"
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
	// Resume is the output directory of a killed run to continue from its
	// checkpoint (OUT.checkpoint), with the config, seed and options that
	// run had; ConfigFile and Set must then be empty, but for a Set of
	// "progress".
	Resume string
}

// runFlags are the options of a run that its checkpoint keeps, for a
// resume.
type runFlags struct {
	NoCache   bool   `json:"no_cache,omitempty"`
	NoReport  bool   `json:"no_report,omitempty"`
	Isolation string `json:"isolation,omitempty"`
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
// config's out directory and prints the metrics. With checkpoints on
// (checkpoint.enabled), the run keeps a checkpoint in OUT.checkpoint while
// it trains and removes it once the outputs are written; a run killed
// before is continued by Run with Resume set to its output directory.
func Run(ctx context.Context, env Env, opt RunOptions) (_ *model.Report, err error) {
	start := time.Now()
	var cfg *config.Config
	var ck *model.Checkpoint
	if opt.Resume != "" {
		if cfg, ck, err = resumed(&opt); err != nil {
			return nil, err
		}
	} else if cfg, err = config.Load(config.Options{File: opt.ConfigFile, Set: opt.Set}); err != nil {
		return nil, err
	}
	if cfg.Out == "" {
		return nil, fmt.Errorf("config key \"out\": empty; give an output directory")
	}
	inputs := map[string]string{"the input data": cfg.Data.Path}
	for _, s := range cfg.Stages {
		if s.Pretrained != "" {
			inputs["train.pretrained of stage "+s.Name] = s.Pretrained
		}
	}
	if err := checkApart(cfg.Out, inputs); err != nil {
		return nil, err
	}
	stage, err := results.NewStage(cfg.Out)
	if err != nil {
		return nil, err
	}
	defer stage.Abort()
	if ck == nil && cfg.Checkpoint.Enabled {
		if ck, err = model.NewCheckpoint(model.CheckpointDir(cfg.Out), runFlags{NoCache: opt.NoCache, NoReport: opt.NoReport, Isolation: opt.Isolation}); err != nil {
			return nil, err
		}
	}
	if ck != nil {
		defer func() {
			switch {
			case err == nil:
			case ck.HasProgress() && !strings.Contains(err.Error(), ck.Dir()):
				err = fmt.Errorf("%w (the checkpoint %s keeps the run's progress: deepclust run --resume %s continues it)", err, ck.Dir(), cfg.Out)
			case !ck.HasProgress():
				ck.Remove()
			}
		}()
	}
	m, err := model.New(ctx, cfg, model.Options{
		Log: env.Stderr, Progress: progress.New(cfg.Progress, env.Stderr), Isolation: opt.Isolation, NoCache: opt.NoCache, Checkpoint: ck,
		PluginLog: env.pluginLog(),
	})
	if err != nil {
		return nil, err
	}
	defer m.Close()
	if ck != nil {
		if err := ck.Check(m); err != nil {
			return nil, err
		}
	}

	src, source, err := model.OpenData(ctx, cfg.Data)
	if err != nil {
		return nil, err
	}
	loadTime := time.Since(start)
	fmt.Fprintf(env.Stderr, "data: %s, %d samples of shape %v\n", source, src.Rows(), src.SampleShape())
	for _, n := range cfg.Notes {
		fmt.Fprintln(env.Stderr, n)
	}
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
	if ck != nil {
		if err := ck.Remove(); err != nil {
			fmt.Fprintf(env.Stderr, "warning: %v\n", err)
		}
	}
	printSizes(env.Stdout, res.Labels)
	printSummary(env, report, cfg.Out)
	return &report, nil
}

// resumed opens the checkpoint of the killed run that wrote opt.Resume
// and returns that run's config, with opt completed by the run's own
// options (flags given now win: they change how the run is shown or
// isolated, not its results).
func resumed(opt *RunOptions) (*config.Config, *model.Checkpoint, error) {
	progress, hasProgress := opt.Set["progress"]
	if opt.ConfigFile != "" || len(opt.Set) > 1 || len(opt.Set) == 1 && !hasProgress {
		return nil, nil, fmt.Errorf("--resume continues the run with its own config: give no --config, --set, --data, --out or --seed")
	}
	ck, err := model.OpenCheckpoint(model.CheckpointDir(opt.Resume))
	if err != nil {
		return nil, nil, err
	}
	cfg, err := config.Load(config.Options{File: ck.ConfigFile(), NoEnv: true})
	if err != nil {
		return nil, nil, fmt.Errorf("checkpoint %s: %w", ck.Dir(), err)
	}
	cfg.Out = opt.Resume
	if hasProgress {
		cfg.Progress = progress
	}
	var flags runFlags
	if info := ck.Info(); len(info.Run) > 0 {
		if err := json.Unmarshal(info.Run, &flags); err != nil {
			return nil, nil, fmt.Errorf("checkpoint %s: the run's options: %w", ck.Dir(), err)
		}
	}
	opt.NoCache = opt.NoCache || flags.NoCache
	opt.NoReport = opt.NoReport || flags.NoReport
	if opt.Isolation == "" {
		opt.Isolation = flags.Isolation
	}
	// The config's relative paths were relative to the killed run's
	// working directory.
	if wd, err := os.Getwd(); err == nil && wd != ck.Info().WorkDir {
		from := func(p string) string {
			if p == "" || filepath.IsAbs(p) {
				return p
			}
			return filepath.Join(ck.Info().WorkDir, p)
		}
		cfg.Data.Path, cfg.Cache.Dir = from(cfg.Data.Path), from(cfg.Cache.Dir)
		for i := range cfg.Stages {
			cfg.Stages[i].Pretrained = from(cfg.Stages[i].Pretrained)
		}
	}
	return cfg, ck, nil
}

// checkApart refuses an output directory that is, holds or lies inside
// one of the inputs (named by what they are): writing it replaces the
// output directory as a whole.
func checkApart(out string, inputs map[string]string) error {
	o := absolute(out)
	for what, in := range inputs {
		if in == "" || in == lake.Stdin {
			continue
		}
		i := absolute(in)
		switch {
		case o == i:
			return fmt.Errorf("output directory %s is %s", out, what)
		case within(i, o):
			return fmt.Errorf("output directory %s holds %s (%s), which writing the outputs would replace", out, what, in)
		case within(o, i):
			return fmt.Errorf("output directory %s is inside %s (%s)", out, what, in)
		}
	}
	return nil
}

// absolute returns path made absolute, with the symbolic links of its
// longest existing prefix followed.
func absolute(path string) string {
	p, err := filepath.Abs(path)
	if err != nil {
		return filepath.Clean(path)
	}
	rest := ""
	for dir := p; ; dir = filepath.Dir(dir) {
		if real, err := filepath.EvalSymlinks(dir); err == nil {
			return filepath.Join(real, rest)
		}
		if filepath.Dir(dir) == dir {
			return p
		}
		rest = filepath.Join(filepath.Base(dir), rest)
	}
}

// within reports whether path lies strictly inside dir (both absolute and
// clean).
func within(path, dir string) bool {
	rel, err := filepath.Rel(dir, path)
	return err == nil && rel != "." && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel)
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
		case s.Cached && s.ClustererCached:
			st += " (cached)"
		case s.Cached:
			// The stage's training came from the stage cache; its
			// clusterer, if any, was fitted (its time is in the total).
			st += " (training cached)"
		case s.PretrainCached && s.TrainSamplesPerSecond > 0:
			st += fmt.Sprintf(" (pretraining cached, %.0f samples/s)", s.TrainSamplesPerSecond)
		case s.PretrainCached:
			st += " (pretraining cached)"
		case s.TrainSamplesPerSecond > 0:
			st += fmt.Sprintf(" (%.0f samples/s)", s.TrainSamplesPerSecond)
		}
		stages = append(stages, st)
	}
	fmt.Fprintf(env.Stdout, "n=%d k=%d  %.1f s [%s]  -> %s\n", r.N, r.K, r.Seconds["total"], strings.Join(stages, ", "), out)
}
