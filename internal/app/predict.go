package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"

	"github.com/deepclust/deepclust/config"
	"github.com/deepclust/deepclust/internal/lake"
	"github.com/deepclust/deepclust/internal/metrics"
	"github.com/deepclust/deepclust/internal/results"
	"github.com/deepclust/deepclust/model"
	"github.com/deepclust/deepclust/pipeline"
	"github.com/deepclust/deepclust/report"
	"github.com/deepclust/deepclust/sdk"
	"github.com/deepclust/deepclust/validity"
)

// PredictionsArrowFile is the file predict writes with --output-format
// arrow (an Arrow IPC stream); Parquet output goes to AssignmentsFile.
const PredictionsArrowFile = "assignments.arrow"

// PredictOptions are the inputs of Predict. The fields after Isolation
// apply to streamed input (Parquet, Arrow, a directory of them, or "-").
type PredictOptions struct {
	// ModelDir is a run's output directory or its model/ directory.
	ModelDir string
	// Data is the input to assign, "-" for an Arrow IPC stream on Stdin;
	// Format overrides the model's data.format.
	Data, Format string
	// Out is the output directory, or "-" for an Arrow IPC stream on
	// Env.Stdout (no metrics.json then: the summary goes to Env.Stderr).
	Out string
	// Isolation, when set, overrides every plugin section's isolation.
	Isolation string

	// IDs names the input columns copied to the output unchanged.
	IDs []string
	// Features and Label, when set, override the model's data.features
	// and data.label.
	Features []string
	Label    string
	// OutputFormat is parquet (default; arrow when Out is "-") or arrow.
	OutputFormat string
	// RowGroupRows and Compression shape the output (see lake.WriterOptions).
	RowGroupRows int
	Compression  string
	// BatchRows bounds the rows read and predicted at once.
	BatchRows int
	// Nulls is error, drop or zero (see lake.Options).
	Nulls string
	// Distance adds each row's distance to its cluster's centroid.
	Distance bool
	// Soft adds each row's soft assignments (clusterers that give them).
	Soft bool
	// Stdin is what Data "-" reads.
	Stdin io.Reader
	// NoReport skips report.html (written for idx and CSV input, which is
	// loaded whole; streamed input gets none).
	NoReport bool
}

// PredictMetrics is the content of predict's metrics.json.
type PredictMetrics struct {
	Version string `json:"version"`
	Data    string `json:"data"`
	// N is the number of rows assigned; Dropped the rows skipped for
	// missing values (--nulls drop).
	N       int64 `json:"n"`
	Dropped int64 `json:"dropped"`
	// K is one more than the largest cluster assigned.
	K int `json:"k"`
	*pipeline.Scores
	Seconds       map[string]float64 `json:"seconds"`
	RowsPerSecond float64            `json:"rows_per_s"`
	// Indices are the internal validity indices of the embeddings, for
	// input loaded whole (idx, CSV).
	*validity.Indices
}

// predictor is a loaded model ready to assign batches.
type predictor struct {
	m   *model.Model
	cfg *config.Config
	// centroids are the clusterer's centres, for distances.
	centroids sdk.Tensor
}

// Predict assigns new data with a saved model and writes the assignments
// (Parquet, or an Arrow IPC stream) and metrics.json into opt.Out,
// atomically: a failure leaves opt.Out as it was. Parquet and Arrow inputs
// stream batch by batch in bounded memory; idx and CSV inputs are loaded
// whole.
func Predict(ctx context.Context, env Env, opt PredictOptions) error {
	start := time.Now()
	var stage *results.Stage
	if opt.Out != lake.Stdin {
		if err := checkPredictOut(opt); err != nil {
			return err
		}
		var err error
		if stage, err = results.NewStage(opt.Out); err != nil {
			return err
		}
		defer stage.Abort()
	}
	m, err := model.Load(ctx, opt.ModelDir, model.Options{Log: env.Stderr, Isolation: opt.Isolation, PluginLog: env.pluginLog()})
	if err != nil {
		return err
	}
	defer m.Close()
	p := &predictor{m: m, cfg: m.Config()}
	format := p.cfg.Data.Format
	if opt.Format != "" {
		format = opt.Format
	}
	if !lake.Streams(opt.Data, format) {
		return predictInMemory(ctx, env, opt, p, format, start, stage)
	}
	return predictStream(ctx, env, opt, p, format, start, stage)
}

// checkPredictOut refuses, before any work, an output directory that is
// the model's own run directory, lies inside the model folder, holds it,
// or is, holds or lies inside the input data.
func checkPredictOut(opt PredictOptions) error {
	folder := model.Folder(opt.ModelDir)
	runDir := ""
	switch {
	case folder != opt.ModelDir:
		runDir = opt.ModelDir
	case filepath.Base(absolute(folder)) == ModelDir:
		if _, err := os.Stat(filepath.Join(filepath.Dir(absolute(folder)), MetricsFile)); err == nil {
			runDir = filepath.Dir(absolute(folder))
		}
	}
	if runDir != "" && absolute(opt.Out) == absolute(runDir) {
		return fmt.Errorf("output directory %s is the run directory of the model %s: predict into another directory, so that the run's outputs stay as they are", opt.Out, opt.ModelDir)
	}
	return checkApart(opt.Out, map[string]string{"the model": folder, "the input data": opt.Data})
}

// assign embeds and assigns one batch, with distances when centroids are
// loaded, and soft assignments when asked for.
func (p *predictor) assign(ctx context.Context, x sdk.Tensor, soft bool) (lake.Output, error) {
	pr, err := p.m.Predict(ctx, x)
	if err != nil {
		return lake.Output{}, err
	}
	out := lake.Output{Clusters: pr.Labels, Z: pr.Z}
	if soft {
		if pr.Soft.Empty() {
			return lake.Output{}, fmt.Errorf("--soft: clusterer %q gives no soft assignments (dec and gmm do)", p.cfg.Last().Clusterer.Label())
		}
		out.Soft = pr.Soft
	}
	if !p.centroids.Empty() {
		k := int32(p.centroids.Rows())
		out.Distance = make([]float32, pr.Z.Rows())
		for i, l := range pr.Labels {
			if l < 0 || l >= k {
				return lake.Output{}, fmt.Errorf("clusterer Assign: row %d has cluster %d, outside [0, %d)", i, l, k)
			}
			out.Distance[i] = euclidean(pr.Z.Row(i), p.centroids.Row(int(l)))
		}
	}
	return out, nil
}

// euclidean is ‖a − b‖₂, accumulated in float64.
func euclidean(a, b []float32) float32 {
	var s float64
	for i, v := range a {
		d := float64(v) - float64(b[i])
		s += d * d
	}
	return float32(math.Sqrt(s))
}

// predictInMemory is predict for idx and CSV input, loaded whole.
func predictInMemory(ctx context.Context, env Env, opt PredictOptions, p *predictor, format string, start time.Time, stage *results.Stage) error {
	switch {
	case opt.Data == lake.Stdin || opt.Out == lake.Stdin:
		return errors.New("--data - and --out - need Arrow IPC input (a stream on stdin) and work only with Parquet or Arrow data")
	case len(opt.IDs) > 0 || opt.Nulls != "" || opt.Distance || opt.Soft || opt.OutputFormat == lake.FormatArrow:
		return fmt.Errorf("%s: --id, --nulls, --distance, --soft and --output-format arrow need Parquet or Arrow input", opt.Data)
	}
	data, err := model.LoadData(p.cfg.Data, opt.Data, format)
	if err != nil {
		return err
	}
	if shape := data.X.Shape[1:]; !slices.Equal(shape, p.m.InputShape()) {
		return fmt.Errorf("%s: samples of shape %v, but the model was trained on shape %v", opt.Data, shape, p.m.InputShape())
	}
	o, err := p.assign(ctx, data.X, false)
	if err != nil {
		return err
	}
	if err := results.WriteAssignments(stage.Path(AssignmentsFile), o.Clusters, o.Z, data.Labels); err != nil {
		return err
	}
	var sc scorer
	if err := sc.add(o.Clusters, data.Labels); err != nil {
		return err
	}
	m, err := sc.metrics(data.Source, int64(len(o.Clusters)), 0, time.Since(start))
	if err != nil {
		return err
	}
	m.Indices = indices(env.Stderr, "embeddings", o.Z, o.Clusters, 0, p.cfg.Seed)
	if !opt.NoReport {
		took, err := writeReport(stage.Path(ReportFile), report.Run{
			Title: opt.Out, Source: data.Source, Clusters: o.Clusters, Z: o.Z, Truth: data.Labels, X: data.X,
			Features: p.cfg.Data.Features, Indices: m.Indices, Scores: m.Scores, Seconds: m.Seconds, Seed: p.cfg.Seed,
		})
		if err != nil {
			return err
		}
		m.Seconds["report"] = took.Seconds()
	}
	if err := results.WriteJSON(stage.Path(MetricsFile), m); err != nil {
		return err
	}
	if err := stage.Commit(); err != nil {
		return err
	}
	printPrediction(env.Stdout, m, opt.Out)
	return nil
}

// predictStream is predict for Parquet and Arrow input, batch by batch.
func predictStream(ctx context.Context, env Env, opt PredictOptions, p *predictor, format string, start time.Time, stage *results.Stage) error {
	if format != lake.FormatParquet && format != lake.FormatArrow {
		format = ""
	}
	features, label := p.cfg.Data.Features, p.cfg.Data.Label
	if len(opt.Features) > 0 {
		features = opt.Features
	}
	if opt.Label != "" {
		label = opt.Label
	}
	r, err := lake.Open(opt.Data, lake.Options{
		Format: format, Features: features, Label: label, IDs: opt.IDs, SampleShape: p.m.InputShape(),
		BatchRows: opt.BatchRows, Nulls: opt.Nulls, Stdin: opt.Stdin,
	})
	if err != nil {
		return err
	}
	defer r.Close()
	if opt.Distance {
		if p.centroids, err = p.m.Centroids(ctx); err != nil {
			return fmt.Errorf("--distance: %w", err)
		}
	}
	// The first batch is read before any output exists, so that bad input
	// leaves nothing behind.
	first, err := r.Next(ctx)
	if err != nil {
		return err
	}
	defer first.Release()

	outFormat := opt.OutputFormat
	if outFormat == "" && opt.Out == lake.Stdin {
		outFormat = lake.FormatArrow
	}
	// The first batch is assigned before the writer exists, which then
	// knows the width of the soft assignments.
	firstOut, err := p.assign(ctx, first.X, opt.Soft)
	if err != nil {
		return fmt.Errorf("rows from %d of %s: %w", first.RowOffset, opt.Data, err)
	}
	wopt := lake.WriterOptions{Format: outFormat, RowGroupRows: opt.RowGroupRows, Compression: opt.Compression, Distance: opt.Distance, Soft: firstOut.Soft.Cols()}
	var sink io.Writer = env.Stdout
	if stage != nil {
		name := AssignmentsFile
		if outFormat == lake.FormatArrow {
			name = PredictionsArrowFile
		}
		f, err := os.Create(stage.Path(name))
		if err != nil {
			return fmt.Errorf("writing predictions: %w", err)
		}
		defer f.Close()
		sink = f
	}
	idFields := r.IDFields()
	// The labels are copied to the output (as results.ColumnLabel) unless
	// an id column already carries them, so a prediction can be scored or
	// fed to the next stage of a chain like the in-memory output.
	passLabels := first.Labels != nil && !slices.ContainsFunc(idFields, func(f arrow.Field) bool { return f.Name == results.ColumnLabel })
	if passLabels {
		idFields = append(idFields, labelField)
	}
	w, err := lake.NewWriter(sink, idFields, p.m.EmbeddingDim(), wopt)
	if err != nil {
		return fmt.Errorf("writing predictions: %w", err)
	}
	var sc scorer
	b, o := first, firstOut
	for {
		o.Rows, o.IDs = b.Rows, b.IDs
		var labels arrow.Array
		if passLabels {
			labels = labelColumn(b.Labels, len(b.Rows))
			o.IDs = append(slices.Clip(b.IDs), labels)
		}
		err := w.Write(o)
		if labels != nil {
			labels.Release()
		}
		if err == nil {
			err = sc.add(o.Clusters, b.Labels)
		}
		b.Release()
		if err != nil {
			return fmt.Errorf("rows from %d of %s: %w", b.RowOffset, opt.Data, err)
		}
		if b, err = r.Next(ctx); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return err
		}
		if o, err = p.assign(ctx, b.X, opt.Soft); err != nil {
			b.Release()
			return fmt.Errorf("rows from %d of %s: %w", b.RowOffset, opt.Data, err)
		}
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("writing predictions: %w", err)
	}
	_, dropped := r.Rows()
	m, err := sc.metrics(opt.Data, w.Rows(), dropped, time.Since(start))
	if err != nil {
		return err
	}
	if stage == nil {
		printPrediction(env.Stderr, m, "stdout")
		return nil
	}
	if err := results.WriteJSON(stage.Path(MetricsFile), m); err != nil {
		return err
	}
	if err := stage.Commit(); err != nil {
		return err
	}
	printPrediction(env.Stdout, m, opt.Out)
	return nil
}

// labelField is the label column copied into an output written by the
// streaming writer; labelColumn builds its values.
var labelField = arrow.Field{Name: results.ColumnLabel, Type: arrow.PrimitiveTypes.Int32, Nullable: true}

// labelColumn returns labels as an Arrow column of n rows, all null when
// labels is nil (a later file without the label column).
func labelColumn(labels []int32, n int) arrow.Array {
	bld := array.NewInt32Builder(memory.DefaultAllocator)
	defer bld.Release()
	if labels == nil {
		bld.AppendNulls(n)
	} else {
		bld.AppendValues(labels, nil)
	}
	return bld.NewArray()
}

// scorer gathers what the metrics need batch by batch: the largest
// cluster and, when there are labels, the contingency table of labels and
// clusters, so its memory does not grow with the number of rows.
type scorer struct {
	maxCluster int32
	table      metrics.Counter
	labelled   bool
	unlabelled bool
}

func (s *scorer) add(pred, truth []int32) error {
	for _, l := range pred {
		s.maxCluster = max(s.maxCluster, l)
	}
	if truth == nil {
		s.unlabelled = true
		return nil
	}
	s.labelled = true
	return s.table.Add(truth, pred)
}

func (s *scorer) metrics(data string, n, dropped int64, d time.Duration) (PredictMetrics, error) {
	secs := d.Seconds()
	m := PredictMetrics{Version: Version, Data: data, N: n, Dropped: dropped, K: int(s.maxCluster) + 1,
		Seconds: map[string]float64{"total": secs}, RowsPerSecond: float64(n) / secs}
	if s.labelled && !s.unlabelled {
		t, err := s.table.Table()
		if err != nil {
			return m, fmt.Errorf("scoring: %w", err)
		}
		acc, err := t.ACC()
		if err != nil {
			return m, fmt.Errorf("scoring: %w", err)
		}
		m.Scores = &pipeline.Scores{ACC: acc, NMI: t.NMI(), ARI: t.ARI()}
	}
	return m, nil
}

func printPrediction(w io.Writer, m PredictMetrics, out string) {
	if m.Scores != nil {
		fmt.Fprintf(w, "ACC %.4f  NMI %.4f  ARI %.4f  ", m.ACC, m.NMI, m.ARI)
	}
	fmt.Fprintf(w, "n=%d k=%d  %.1f s  %.0f rows/s  -> %s\n", m.N, m.K, m.Seconds["total"], m.RowsPerSecond, out)
}
