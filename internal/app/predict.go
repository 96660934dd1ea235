package app

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/deepclust/deepclust/internal/config"
	"github.com/deepclust/deepclust/internal/results"
	"github.com/deepclust/deepclust/pipeline"
)

// PredictOptions are the inputs of Predict.
type PredictOptions struct {
	// ModelDir is a run's output directory or its model/ directory.
	ModelDir string
	// Data is the input to assign; Format overrides the model's data.format.
	Data, Format string
	// Out is the output directory.
	Out string
	// Isolation, when set, overrides every plugin section's isolation.
	Isolation string
}

// Predict assigns new data with a saved model and writes
// assignments.parquet and metrics.json into opt.Out.
func Predict(ctx context.Context, env Env, opt PredictOptions) error {
	start := time.Now()
	dir := opt.ModelDir
	if _, err := os.Stat(filepath.Join(dir, ModelDir, ManifestFile)); err == nil {
		dir = filepath.Join(dir, ModelDir)
	}
	var man Manifest
	if err := readJSON(filepath.Join(dir, ManifestFile), &man); err != nil {
		return fmt.Errorf("model %s: %w", opt.ModelDir, err)
	}
	cfg, err := config.Load(config.Options{File: filepath.Join(dir, ConfigFile)})
	if err != nil {
		return fmt.Errorf("model %s: %w", opt.ModelDir, err)
	}
	cfg.Losses = nil
	if err := forceIsolation(cfg, opt.Isolation); err != nil {
		return err
	}
	stage, err := results.NewStage(opt.Out)
	if err != nil {
		return err
	}
	defer stage.Abort()

	format := cfg.Data.Format
	if opt.Format != "" {
		format = opt.Format
	}
	data, err := loadData(cfg.Data, opt.Data, format)
	if err != nil {
		return err
	}
	if shape := data.X.Shape[1:]; !slices.Equal(shape, man.InputShape) {
		return fmt.Errorf("%s: samples of shape %v, but the model was trained on shape %v", opt.Data, shape, man.InputShape)
	}
	s, err := newSession(env)
	if err != nil {
		return err
	}
	defer s.close()
	if _, err := s.resolve(ctx, cfg); err != nil {
		return err
	}
	model, _, err := configure(ctx, s, cfg, man.InputShape)
	if err != nil {
		return err
	}
	if err := loadState(ctx, dir, model); err != nil {
		return err
	}
	z, err := pipeline.Embed(ctx, model.Encoder, data.X, 1024)
	if err != nil {
		return err
	}
	a, err := model.Clusterer.Assign(ctx, z)
	if err != nil {
		return fmt.Errorf("clusterer Assign: %w", err)
	}
	if err := results.WriteAssignments(stage.Path(AssignmentsFile), a.Labels, z, data.Labels); err != nil {
		return err
	}
	report := pipeline.Report{N: data.X.Rows(), K: countLabels(a.Labels), Seconds: map[string]float64{"total": time.Since(start).Seconds()}, Stop: "none"}
	if data.Labels != nil {
		if report.Scores, err = pipeline.Score(data.Labels, a.Labels); err != nil {
			return err
		}
	}
	if err := results.WriteJSON(stage.Path(MetricsFile), Metrics{Version: Version, Data: data.Source, Report: report}); err != nil {
		return err
	}
	if err := stage.Commit(); err != nil {
		return err
	}
	printSummary(env, report, opt.Out)
	return nil
}

func loadState(ctx context.Context, dir string, m pipeline.Model) error {
	enc, err := os.ReadFile(filepath.Join(dir, EncoderFile))
	if err != nil {
		return fmt.Errorf("reading the model: %w", err)
	}
	if err := m.Encoder.Load(ctx, enc); err != nil {
		return fmt.Errorf("loading %s: %w", filepath.Join(dir, EncoderFile), err)
	}
	clu, err := os.ReadFile(filepath.Join(dir, ClustererFile))
	if err != nil {
		return fmt.Errorf("reading the model: %w", err)
	}
	if err := m.Clusterer.Load(ctx, clu); err != nil {
		return fmt.Errorf("loading %s: %w", filepath.Join(dir, ClustererFile), err)
	}
	return nil
}

func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("reading %s: %w", path, err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("reading %s: %w", path, err)
	}
	return nil
}

func countLabels(labels []int32) int {
	k := int32(0)
	for _, l := range labels {
		k = max(k, l+1)
	}
	return int(k)
}
