package app

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/apache/arrow/go/v15/arrow"

	"github.com/deepclust/deepclust/internal/config"
	"github.com/deepclust/deepclust/internal/dataset"
	"github.com/deepclust/deepclust/internal/lake"
	"github.com/deepclust/deepclust/internal/progress"
	"github.com/deepclust/deepclust/internal/results"
	"github.com/deepclust/deepclust/pipeline"
	"github.com/deepclust/deepclust/sdk"
)

// Output file names inside --out.
const (
	AssignmentsFile = "assignments.parquet"
	MetricsFile     = "metrics.json"
	ModelDir        = "model"
	ConfigFile      = "config.yaml"
	ManifestFile    = "manifest.json"
	EncoderFile     = "encoder.bin"
	ClustererFile   = "clusterer.bin"
)

// RunOptions are the inputs of Run besides the environment variables.
type RunOptions struct {
	// ConfigFile is a YAML/TOML/JSON config; empty for the defaults.
	ConfigFile string
	// Set overrides config keys, e.g. {"train.epochs": "5"}.
	Set map[string]string
	// Isolation, when set, overrides every plugin section's isolation.
	Isolation string
}

// Metrics is the content of metrics.json.
type Metrics struct {
	Version string `json:"version"`
	Data    string `json:"data"`
	pipeline.Report
}

// Manifest describes a saved model.
type Manifest struct {
	Version      string            `json:"version"`
	InputShape   []int             `json:"input_shape"`
	EmbeddingDim int               `json:"embedding_dim"`
	Plugins      map[string]string `json:"plugins"`
}

// Version is the deepclust version, printed by "deepclust version" and
// recorded in outputs; set at build time with
// -ldflags "-X github.com/deepclust/deepclust/internal/app.Version=...".
var Version = "0.1.0-dev"

// Run trains the pipeline a config describes, writes its outputs into the
// config's out directory and prints the metrics.
func Run(ctx context.Context, env Env, opt RunOptions) (*pipeline.Report, error) {
	start := time.Now()
	cfg, err := config.Load(config.Options{File: opt.ConfigFile, Set: opt.Set})
	if err != nil {
		return nil, err
	}
	if err := forceIsolation(cfg, opt.Isolation); err != nil {
		return nil, err
	}
	stage, err := results.NewStage(cfg.Out)
	if err != nil {
		return nil, err
	}
	defer stage.Abort()

	src, source, err := openInput(ctx, cfg.Data)
	if err != nil {
		return nil, err
	}
	shape := src.SampleShape()
	loadTime := time.Since(start)
	fmt.Fprintf(env.Stderr, "data: %s, %d samples of shape %v\n", source, src.Rows(), shape)

	s, err := newSession(env)
	if err != nil {
		return nil, err
	}
	defer s.close()
	descs, err := s.resolve(ctx, cfg)
	if err != nil {
		return nil, err
	}
	model, dim, err := configure(ctx, s, cfg, shape)
	if err != nil {
		return nil, err
	}
	if cfg.Pretrained != "" {
		if err := loadPretrained(ctx, cfg.Pretrained, model.Encoder, descs.Encoder, shape, dim); err != nil {
			return nil, err
		}
		fmt.Fprintf(env.Stderr, "encoder: pretrained weights from %s (pretraining skipped)\n", cfg.Pretrained)
		cfg.Train.PretrainEpochs = 0
	}
	res, err := pipeline.Train(ctx, model, src, cfg.Train, cfg.Seed, progress.New(cfg.Progress, env.Stderr))
	if err != nil {
		return nil, err
	}

	begin := time.Now()
	if err := writeAssignments(stage.Path(AssignmentsFile), res, src.Truth(), cfg.Data.Stream); err != nil {
		return nil, err
	}
	man := Manifest{Version: Version, InputShape: shape, EmbeddingDim: dim, Plugins: map[string]string{
		"encoder": descs.Encoder.Name + " " + descs.Encoder.Version, "clusterer": descs.Clusterer.Name + " " + descs.Clusterer.Version,
	}}
	if err := saveModel(ctx, stage, cfg, descs, man, model); err != nil {
		return nil, err
	}
	report := res.Report
	report.Seconds["load"] = loadTime.Seconds()
	report.Seconds["write"] = time.Since(begin).Seconds()
	report.Seconds["total"] = time.Since(start).Seconds()
	if err := results.WriteJSON(stage.Path(MetricsFile), Metrics{Version: Version, Data: source, Report: report}); err != nil {
		return nil, err
	}
	if err := stage.Commit(); err != nil {
		return nil, err
	}
	printSummary(env, report, cfg.Out)
	return &report, nil
}

// openInput opens the training input: in memory, or with data.stream a
// Parquet/Arrow input read again on every pass (bounded memory). It also
// returns a description of the input for messages and metrics.
func openInput(ctx context.Context, d config.DataSpec) (pipeline.Source, string, error) {
	if !d.Stream {
		if d.Nulls != lake.NullsError {
			return nil, "", fmt.Errorf("data.nulls %q needs data.stream: a loaded input treats nulls as errors", d.Nulls)
		}
		data, err := loadData(d, d.Path, d.Format)
		if err != nil {
			return nil, "", err
		}
		return pipeline.Data{X: data.X, Labels: data.Labels}, data.Source, nil
	}
	switch {
	case d.Path == "" || d.Path == lake.Stdin || !lake.Streams(d.Path, d.Format):
		return nil, "", fmt.Errorf("data.stream needs a Parquet or Arrow file or directory in data.path, got %q", d.Path)
	case d.Scale != "none":
		return nil, "", fmt.Errorf("data.stream reads the input in passes and cannot scale it: set data.scale to none")
	case d.Limit != 0:
		return nil, "", fmt.Errorf("data.stream reads the whole input: set data.limit to 0")
	}
	s, err := lake.OpenStream(ctx, d.Path, lake.Options{
		Format: d.Format, Features: d.Features, Label: d.Label, SampleShape: d.Shape, Nulls: d.Nulls,
	}, d.ShuffleRows)
	if err != nil {
		return nil, "", err
	}
	return s, d.Path + " (streamed)", nil
}

// writeAssignments writes the run's assignments file: in memory, or for a
// streamed run through the streaming writer in row groups, with the label
// column (results.ColumnLabel) when the input has labels, as in memory.
func writeAssignments(path string, res *pipeline.Result, truth []int32, streamed bool) error {
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

// loadData reads the input a data section describes from path.
func loadData(d config.DataSpec, path, format string) (*dataset.Dataset, error) {
	ds, err := dataset.Load(path, dataset.Options{
		Format: format, FeatureColumns: d.Features, LabelColumn: d.Label, SampleShape: d.Shape, Scale: d.Scale,
	})
	if err != nil {
		return nil, err
	}
	if d.Limit > 0 && d.Limit < ds.X.Rows() {
		ds.X = sdk.Tensor{Shape: append([]int{d.Limit}, ds.X.Shape[1:]...), Data: ds.X.Data[:d.Limit*ds.X.Cols()]}
		if ds.Labels != nil {
			ds.Labels = ds.Labels[:d.Limit]
		}
	}
	return ds, nil
}

// configure sets up the opened plugins of s (encoder, clusterer, losses in
// cfg's order) for samples of the given shape.
func configure(ctx context.Context, s *session, cfg *config.Config, shape []int) (pipeline.Model, int, error) {
	var m pipeline.Model
	enc, err := s.opened[0].Encoder()
	if err != nil {
		return m, 0, err
	}
	if err := enc.Configure(ctx, sdk.Setup{Config: cfg.Encoder.Config, InputShape: shape, Seed: seedFor(cfg.Seed, 0)}); err != nil {
		return m, 0, err
	}
	dim, err := enc.EmbeddingDim(ctx)
	if err != nil {
		return m, 0, err
	}
	clu, err := s.opened[1].Clusterer()
	if err != nil {
		return m, 0, err
	}
	if err := clu.Configure(ctx, sdk.Setup{Config: cfg.Clusterer.Config, InputShape: shape, EmbeddingDim: dim, Seed: seedFor(cfg.Seed, 1)}); err != nil {
		return m, 0, err
	}
	m.Encoder, m.Clusterer = enc, clu
	for i, spec := range cfg.Losses {
		l, err := s.opened[2+i].Loss()
		if err != nil {
			return m, 0, err
		}
		if err := l.Configure(ctx, sdk.Setup{Config: spec.Config, InputShape: shape, EmbeddingDim: dim, Seed: seedFor(cfg.Seed, 2+i)}); err != nil {
			return m, 0, err
		}
		m.Losses = append(m.Losses, pipeline.Loss{
			Name: s.opened[2+i].Description().Name, Loss: l, Weight: spec.Weight,
			Pretrain: spec.In(pipeline.StagePretrain), Train: spec.In(pipeline.StageTrain),
		})
	}
	return m, dim, nil
}

// loadPretrained loads into enc the encoder of the run output (or model
// folder) dir, after checking that it was trained by the same encoder
// plugin on samples of the same shape with the same embedding width.
func loadPretrained(ctx context.Context, dir string, enc sdk.Encoder, d sdk.Description, shape []int, dim int) error {
	folder := modelFolder(dir)
	var man Manifest
	if err := readJSON(filepath.Join(folder, ManifestFile), &man); err != nil {
		return fmt.Errorf("train.pretrained %s: not a model (a run's output directory or its model/ folder): %w", dir, err)
	}
	switch name, _, _ := strings.Cut(man.Plugins["encoder"], " "); {
	case name != d.Name:
		return fmt.Errorf("train.pretrained %s: its encoder is %q, this run's is %q", dir, name, d.Name)
	case !slices.Equal(man.InputShape, shape):
		return fmt.Errorf("train.pretrained %s: trained on samples of shape %v, this data has shape %v", dir, man.InputShape, shape)
	case man.EmbeddingDim != dim:
		return fmt.Errorf("train.pretrained %s: embedding width %d, this encoder's is %d", dir, man.EmbeddingDim, dim)
	}
	if err := loadEncoder(ctx, folder, enc); err != nil {
		return fmt.Errorf("train.pretrained %s: %w", dir, err)
	}
	return nil
}

// saveModel writes the model directory into the stage.
func saveModel(ctx context.Context, stage *results.Stage, cfg *config.Config, d config.Descriptions, man Manifest, m pipeline.Model) error {
	var buf bytes.Buffer
	if err := config.Write(&buf, cfg, d, false); err != nil {
		return err
	}
	files := map[string][]byte{ConfigFile: buf.Bytes()}
	var err error
	if files[EncoderFile], err = m.Encoder.Save(ctx); err != nil {
		return fmt.Errorf("saving the encoder: %w", err)
	}
	if files[ClustererFile], err = m.Clusterer.Save(ctx); err != nil {
		return fmt.Errorf("saving the clusterer: %w", err)
	}
	if err := os.MkdirAll(stage.Path(ModelDir), 0o755); err != nil {
		return fmt.Errorf("writing the model: %w", err)
	}
	for name, b := range files {
		if err := os.WriteFile(stage.Path(filepath.Join(ModelDir, name)), b, 0o644); err != nil {
			return fmt.Errorf("writing the model: %w", err)
		}
	}
	return results.WriteJSON(stage.Path(filepath.Join(ModelDir, ManifestFile)), man)
}

func printSummary(env Env, r pipeline.Report, out string) {
	if r.Scores != nil {
		fmt.Fprintf(env.Stdout, "ACC %.4f  NMI %.4f  ARI %.4f  ", r.ACC, r.NMI, r.ARI)
	}
	fmt.Fprintf(env.Stdout, "n=%d k=%d  %.1f s  %.0f train samples/s  -> %s\n", r.N, r.K, r.Seconds["total"], r.TrainSamplesPerSecond, out)
}
