package main

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"reflect"
	"slices"
	"time"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/apache/beam/sdks/v2/go/pkg/beam"

	"github.com/deepclust/deepclust/dataset"
	"github.com/deepclust/deepclust/model"
	"github.com/deepclust/deepclust/pipeline"
	"github.com/deepclust/deepclust/sdk"
)

// PredictOptions are the inputs of a distributed predict: the flags of
// deepclust predict that apply to Parquet input and output.
type PredictOptions struct {
	// ModelDir is a run's output directory or its model/ directory.
	ModelDir string
	// Data is a Parquet file or a directory of them (Hive partitions too);
	// Format is "", auto or parquet.
	Data, Format string
	// Out is the output directory: metrics.json and assignments/, one
	// Parquet part per input row group.
	Out string
	// Isolation, when set, overrides every plugin section's isolation.
	Isolation string
	// IDs, Features, Label, Nulls, Distance, Soft, BatchRows, RowGroupRows
	// and Compression are deepclust predict's flags of the same names.
	IDs          []string
	Features     []string
	Label        string
	Nulls        string
	Distance     bool
	Soft         bool
	BatchRows    int
	RowGroupRows int
	Compression  string
	// Runner names the Beam runner (prism, direct, dataflow, flink,
	// spark, universal); its own options come from Beam's flags.
	Runner string
}

// PredictMetrics is the content of metrics.json, with the fields of
// deepclust predict's and the number of shards.
type PredictMetrics struct {
	Version string `json:"version"`
	Data    string `json:"data"`
	N       int64  `json:"n"`
	Dropped int64  `json:"dropped"`
	K       int    `json:"k"`
	*pipeline.Scores
	Seconds       map[string]float64 `json:"seconds"`
	RowsPerSecond float64            `json:"rows_per_s"`
	Shards        int64              `json:"shards"`
	Runner        string             `json:"runner"`
}

// The files of a distributed predict's output directory.
const (
	// AssignmentsDir holds the predictions, part-NNNNNN.parquet for the
	// row group NNNNNN of the input (files in path order, then row groups).
	AssignmentsDir = "assignments"
	// MetricsFile is the job's summary.
	MetricsFile = "metrics.json"
	// statsFile is where the job leaves its merged statistics for the
	// driver; it is removed before the commit.
	statsFile = "_stats.json"
)

// predictPlan is what the driver decides before the job: the input files,
// the columns and the output schema, all checked on the first file.
type predictPlan struct {
	in        *Input
	spec      columnSpec
	shape     []int
	dim, soft int
	label     bool
	strLabel  bool
}

// Predict runs a distributed predict and commits its output to opt.Out
// only when the job succeeded.
func Predict(ctx context.Context, opt PredictOptions, stdout io.Writer) error {
	start := time.Now()
	if err := checkPredictOptions(opt); err != nil {
		return err
	}
	plan, err := planPredict(ctx, opt)
	if err != nil {
		return err
	}
	stage, err := newStage(ctx, opt.Out)
	if err != nil {
		return err
	}
	defer stage.abort(context.WithoutCancel(ctx))
	p, s := beam.NewPipelineWithRoot()
	if err := build(func() { buildPredict(s, opt, plan, stage.path(AssignmentsDir), stage.path(statsFile)) }); err != nil {
		return err
	}
	if err := runPipeline(ctx, opt.Runner, p); err != nil {
		return err
	}
	st, err := readStats(ctx, stage.path(statsFile))
	if err != nil {
		return err
	}
	m, err := predictMetrics(opt, plan, st, time.Since(start))
	if err != nil {
		return err
	}
	if err := writeJSON(ctx, stage.path(MetricsFile), m); err != nil {
		return err
	}
	if err := stage.remove(ctx, statsFile); err != nil {
		return err
	}
	if err := stage.commit(ctx); err != nil {
		return err
	}
	if m.Scores != nil {
		fmt.Fprintf(stdout, "ACC %.4f  NMI %.4f  ARI %.4f  ", m.ACC, m.NMI, m.ARI)
	}
	fmt.Fprintf(stdout, "n=%d k=%d  %d shards  %.1f s  %.0f rows/s  -> %s\n", m.N, m.K, m.Shards, m.Seconds["total"], m.RowsPerSecond, opt.Out)
	return nil
}

func checkPredictOptions(opt PredictOptions) error {
	switch {
	case opt.ModelDir == "" || opt.Data == "" || opt.Out == "":
		return fmt.Errorf("%w: predict needs --model, --data and --out", errUsage)
	case opt.Data == "-" || opt.Out == "-":
		return fmt.Errorf("%w: deepclust-beam reads and writes files: --data - and --out - are for deepclust predict", errUsage)
	case !slices.Contains([]string{"", "error", "drop", "zero"}, opt.Nulls):
		return fmt.Errorf("%w: unknown --nulls %q (want error, drop or zero)", errUsage, opt.Nulls)
	case opt.BatchRows < 0:
		return fmt.Errorf("%w: --batch-rows %d is negative", errUsage, opt.BatchRows)
	case opt.RowGroupRows < 0:
		return fmt.Errorf("%w: --row-group-size %d is negative", errUsage, opt.RowGroupRows)
	}
	if _, err := parquetCodec(opt.Compression); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	return nil
}

// planPredict loads the model once in the driver (so that a bad model
// directory fails before any job), lists the input and chooses the
// columns on its first file.
func planPredict(ctx context.Context, opt PredictOptions) (*predictPlan, error) {
	l, err := acquireModel(ctx, modelKey{dir: opt.ModelDir, isolation: opt.Isolation, distance: opt.Distance})
	if err != nil {
		return nil, err
	}
	defer l.m.Close()
	cfg := l.m.Config()
	format := cfg.Data.Format
	if opt.Format != "" {
		format = opt.Format
	}
	in, err := listInput(ctx, opt.Data, format)
	if err != nil {
		return nil, err
	}
	spec := columnSpec{Features: cfg.Data.Features, Label: cfg.Data.Label, IDs: opt.IDs, Keys: in.Keys, Nulls: opt.Nulls}
	if len(opt.Features) > 0 {
		spec.Features = opt.Features
	}
	if opt.Label != "" {
		spec.Label = opt.Label
	}
	plan := &predictPlan{in: in, spec: spec, shape: l.m.InputShape(), dim: l.m.EmbeddingDim()}
	first := in.Files[0].Path
	pf, err := openParquet(ctx, first, max(opt.BatchRows, 1), memory.DefaultAllocator)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", first, err)
	}
	sc, err := spec.choose(pf)
	pf.Close()
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", first, err)
	}
	plan.label = sc.cols.Label >= 0 && !slices.ContainsFunc(sc.ids, func(f arrow.Field) bool { return f.Name == columnLabel })
	plan.strLabel = sc.stringLabel
	if _, err := outputSchema(sc.ids, plan.label, plan.dim, opt.Distance, 0); err != nil {
		return nil, err
	}
	if opt.Soft {
		// The width of the soft assignments, from one zero sample.
		pr, _, err := l.assign(ctx, sdk.NewTensor(append([]int{1}, plan.shape...)...), true)
		if err != nil {
			return nil, err
		}
		plan.soft = pr.Soft.Cols()
	}
	return plan, nil
}

// buildPredict adds the distributed predict to the pipeline: the files'
// footers give each row group's rows (read in parallel), one combine
// turns them into row offsets, each file expands into its row-group
// shards, a reshuffle spreads the shards over the workers, and predictFn
// writes one part per shard and emits its statistics, which statsFn
// merges into one record for the driver.
func buildPredict(s beam.Scope, opt PredictOptions, plan *predictPlan, partsDir, statsPath string) {
	s = s.Scope("predict")
	batchRows := opt.BatchRows
	if batchRows == 0 {
		batchRows = defaultBatchRows
	}
	shards := buildShards(s, plan.in)
	dict := beam.Create(s, LabelSeen{})
	if plan.strLabel {
		seen := beam.ParDo(s, &labelScanFn{Spec: plan.spec, BatchRows: batchRows}, shards)
		dict = beam.Combine(s, &labelDictFn{}, beam.Flatten(s, seen, dict))
	}
	ids := make([]string, len(plan.spec.IDs))
	copy(ids, plan.spec.IDs)
	stats := beam.ParDo(s, &predictFn{
		Model: opt.ModelDir, Isolation: opt.Isolation, Spec: plan.spec, Shape: plan.shape, Dim: plan.dim,
		Label: plan.label, Distance: opt.Distance, Soft: plan.soft, BatchRows: batchRows,
		RowGroupRows: opt.RowGroupRows, Compression: opt.Compression, PartsDir: partsDir,
	}, shards, beam.SideInput{Input: dict})
	total := beam.Combine(s, &statsFn{}, beam.Flatten(s, stats, beam.Create(s, ShardStats{MaxCluster: 0})))
	beam.ParDo0(s, &writeStatsFn{Path: statsPath}, total)
}

// defaultBatchRows is the batch size when --batch-rows is 0, as deepclust
// predict's.
const defaultBatchRows = 65536

// buildShards returns the row-group shards of the input, reshuffled.
func buildShards(s beam.Scope, in *Input) beam.PCollection {
	files := beam.Create(s, toAny(in.Files)...)
	rows := beam.ParDo(s, &footerFn{}, beam.Reshuffle(s, files))
	table := beam.Combine(s, &rowTableFn{}, rows)
	shards := beam.ParDo(s, &expandFn{Keys: in.Keys}, files, beam.SideInput{Input: table})
	return beam.Reshuffle(s, shards)
}

func toAny[T any](v []T) []any {
	out := make([]any, len(v))
	for i, x := range v {
		out[i] = x
	}
	return out
}

func init() {
	for _, v := range []any{
		InputFile{}, FileRows{}, RowTable{}, Shard{}, LabelSeen{}, ShardStats{}, dataset.PartitionKey{},
		footerFn{}, rowTableFn{}, expandFn{}, labelScanFn{}, labelDictFn{}, predictFn{}, statsFn{}, writeStatsFn{},
	} {
		beam.RegisterType(reflect.TypeOf(v))
	}
}

// footerFn reads a file's footer: the rows of its row groups.
type footerFn struct{}

// ProcessElement reads one footer.
func (footerFn) ProcessElement(ctx context.Context, f InputFile) (FileRows, error) {
	pf, err := openParquet(ctx, f.Path, 1, memory.DefaultAllocator)
	if err != nil {
		return FileRows{}, taggedf("reading %s: %v", f.Path, err)
	}
	defer pf.Close()
	return FileRows{Index: f.Index, RowGroups: pf.rowGroups()}, nil
}

// RowTable holds every file's row-group sizes, by file index.
type RowTable struct {
	Files []FileRows
}

// rowTableFn gathers the footers' row counts into one RowTable.
type rowTableFn struct{}

// CreateAccumulator starts an empty table.
func (rowTableFn) CreateAccumulator() RowTable { return RowTable{} }

// AddInput adds one file.
func (rowTableFn) AddInput(t RowTable, f FileRows) RowTable {
	t.Files = append(t.Files, f)
	return t
}

// MergeAccumulators merges two tables.
func (rowTableFn) MergeAccumulators(a, b RowTable) RowTable {
	a.Files = append(a.Files, b.Files...)
	return a
}

// ExtractOutput sorts the files by index.
func (rowTableFn) ExtractOutput(t RowTable) RowTable {
	slices.SortFunc(t.Files, func(a, b FileRows) int { return cmp.Compare(a.Index, b.Index) })
	return t
}

// expandFn turns a file into its row-group shards, with row offsets and
// shard indices from the row table, which it reads once per bundle.
type expandFn struct {
	Keys []dataset.PartitionKey
	// firstRow and firstShard are, per file, the input row number of its
	// first row and the index of its first shard.
	firstRow   []int64
	firstShard []int
	rows       [][]int64
}

// StartBundle reads the row table side input.
func (f *expandFn) StartBundle(table func(*RowTable) bool, _ func(Shard)) {
	var t RowTable
	table(&t)
	f.firstRow = make([]int64, len(t.Files)+1)
	f.firstShard = make([]int, len(t.Files)+1)
	f.rows = make([][]int64, len(t.Files))
	for i, fr := range t.Files {
		var n int64
		for _, r := range fr.RowGroups {
			n += r
		}
		f.rows[i] = fr.RowGroups
		f.firstRow[i+1] = f.firstRow[i] + n
		f.firstShard[i+1] = f.firstShard[i] + len(fr.RowGroups)
	}
}

// ProcessElement emits the shards of one file.
func (f *expandFn) ProcessElement(in InputFile, _ func(*RowTable) bool, emit func(Shard)) error {
	if in.Index >= len(f.rows) {
		return taggedf("reading %s: no footer for file %d", in.Path, in.Index)
	}
	row := f.firstRow[in.Index]
	for rg, n := range f.rows[in.Index] {
		if n > 0 {
			emit(Shard{Index: f.firstShard[in.Index] + rg, File: in, RowGroup: rg, Row: row, Rows: n})
		}
		row += n
	}
	return nil
}

// LabelSeen lists string labels with the input row of their first
// appearance; the merged one, sorted by row, numbers them as deepclust
// predict does (order of first appearance).
type LabelSeen struct {
	Values []string
	Rows   []int64
}

// labelScanFn reads the label column of a shard.
type labelScanFn struct {
	Spec      columnSpec
	BatchRows int
}

// ProcessElement finds where each label of the shard first appears.
func (f *labelScanFn) ProcessElement(ctx context.Context, sh Shard) (LabelSeen, error) {
	seen := map[string]int64{}
	err := withShard(ctx, sh, f.Spec, f.BatchRows, func(pf *parquetFile, sc *shardColumns) error {
		if !sc.stringLabel {
			return fmt.Errorf("label column %q does not hold strings here, but does in the first file", sc.schema.Field(sc.cols.Label).Name)
		}
		label := sc.schema.Field(sc.cols.Label).Name
		// Only the label column is read.
		only := &shardColumns{schema: arrow.NewSchema([]arrow.Field{sc.schema.Field(sc.cols.Label)}, nil)}
		fileSchema, _ := pf.fr.Schema()
		for i, fl := range fileSchema.Fields() {
			if fl.Name == label {
				only.leaves = appendLeaves(nil, pf.fr.Manifest.Fields[i])
			}
		}
		if only.leaves == nil {
			return fmt.Errorf("partition column %q cannot be a string label", label)
		}
		return pf.records(ctx, only, sh, nil, memory.DefaultAllocator, func(rec arrow.Record, first int64) error {
			col, ok := rec.Column(0).(interface{ Value(int) string })
			if !ok {
				return fmt.Errorf("label column %q has type %s here", label, rec.Column(0).DataType())
			}
			for i := 0; i < int(rec.NumRows()); i++ {
				if rec.Column(0).IsNull(i) {
					continue
				}
				if _, ok := seen[col.Value(i)]; !ok {
					seen[col.Value(i)] = first + int64(i)
				}
			}
			return nil
		})
	})
	if err != nil {
		return LabelSeen{}, err
	}
	out := LabelSeen{}
	for v, r := range seen {
		out.Values, out.Rows = append(out.Values, v), append(out.Rows, r)
	}
	return out, nil
}

// labelDictFn merges LabelSeen records, keeping each label's first row.
type labelDictFn struct{}

// CreateAccumulator starts an empty list.
func (labelDictFn) CreateAccumulator() LabelSeen { return LabelSeen{} }

// AddInput adds one shard's labels.
func (labelDictFn) AddInput(a, b LabelSeen) LabelSeen { return mergeSeen(a, b) }

// MergeAccumulators merges two lists.
func (labelDictFn) MergeAccumulators(a, b LabelSeen) LabelSeen { return mergeSeen(a, b) }

// ExtractOutput sorts the labels by first appearance.
func (labelDictFn) ExtractOutput(a LabelSeen) LabelSeen {
	idx := make([]int, len(a.Values))
	for i := range idx {
		idx[i] = i
	}
	slices.SortFunc(idx, func(i, j int) int { return cmp.Compare(a.Rows[i], a.Rows[j]) })
	out := LabelSeen{Values: make([]string, len(idx)), Rows: make([]int64, len(idx))}
	for to, from := range idx {
		out.Values[to], out.Rows[to] = a.Values[from], a.Rows[from]
	}
	return out
}

func mergeSeen(a, b LabelSeen) LabelSeen {
	first := make(map[string]int64, len(a.Values)+len(b.Values))
	for _, s := range []LabelSeen{a, b} {
		for i, v := range s.Values {
			if r, ok := first[v]; !ok || s.Rows[i] < r {
				first[v] = s.Rows[i]
			}
		}
	}
	out := LabelSeen{}
	for v, r := range first {
		out.Values, out.Rows = append(out.Values, v), append(out.Rows, r)
	}
	return out
}

// withShard opens a shard's file, chooses its columns and calls fn,
// naming the file in any error.
func withShard(ctx context.Context, sh Shard, spec columnSpec, batchRows int, fn func(*parquetFile, *shardColumns) error) error {
	pf, err := openParquet(ctx, sh.File.Path, batchRows, memory.DefaultAllocator)
	if err != nil {
		return taggedf("reading %s: %v", sh.File.Path, err)
	}
	defer pf.Close()
	sc, err := spec.choose(pf)
	if err == nil {
		err = fn(pf, sc)
	}
	if err != nil {
		return taggedf("reading %s: %v", sh.File.Path, err)
	}
	return nil
}

// ShardStats is what a shard's predict tells the driver, merged by
// statsFn over all shards: rows and shards counted, the largest cluster,
// and the contingency table of labels and clusters as sorted pairs.
type ShardStats struct {
	Shards     int64
	Rows       int64
	Dropped    int64
	MaxCluster int32
	Labelled   bool
	Unlabelled bool
	// Pairs holds the (label, cluster) pairs, label<<32 | cluster, in
	// increasing order, and Counts their numbers of rows.
	Pairs  []int64
	Counts []int64
}

// predictFn predicts the rows of one shard and writes them as one part.
type predictFn struct {
	Model, Isolation string
	Spec             columnSpec
	Shape            []int
	Dim              int
	Label            bool
	Distance         bool
	Soft             int
	BatchRows        int
	RowGroupRows     int
	Compression      string
	PartsDir         string

	key  modelKey
	m    *loadedModel
	dict map[string]int32
}

// Setup loads the model, once per DoFn instance, from the worker's pool.
func (f *predictFn) Setup(ctx context.Context) error {
	f.key = modelKey{dir: f.Model, isolation: f.Isolation, distance: f.Distance}
	m, err := acquireModel(ctx, f.key)
	if err != nil {
		return taggedf("loading model %s: %v", f.Model, err)
	}
	f.m = m
	return nil
}

// StartBundle reads the label dictionary side input once per bundle.
func (f *predictFn) StartBundle(dict func(*LabelSeen) bool, _ func(ShardStats)) {
	var d LabelSeen
	dict(&d)
	f.dict = make(map[string]int32, len(d.Values))
	for i, v := range d.Values {
		f.dict[v] = int32(i)
	}
}

// Teardown gives the model back to the pool.
func (f *predictFn) Teardown() {
	releaseModel(f.key, f.m)
	f.m = nil
}

// ProcessElement predicts one shard.
func (f *predictFn) ProcessElement(ctx context.Context, sh Shard, _ func(*LabelSeen) bool, emit func(ShardStats)) error {
	st := ShardStats{Shards: 1}
	counts := map[int64]int64{}
	err := withShard(ctx, sh, f.Spec, f.BatchRows, func(pf *parquetFile, sc *shardColumns) error {
		label := sc.cols.Label >= 0 && !slices.ContainsFunc(sc.ids, func(fl arrow.Field) bool { return fl.Name == columnLabel })
		if f.Label && !label && sc.cols.Label >= 0 {
			return fmt.Errorf("an id column is called %q here but not in the first file", columnLabel)
		}
		schema, err := outputSchema(sc.ids, f.Label, f.Dim, f.Distance, f.Soft)
		if err != nil {
			return err
		}
		var w *partWriter
		var out io.WriteCloser
		defer func() {
			if out != nil {
				abortWrite(out)
			}
		}()
		err = pf.records(ctx, sc, sh, f.Spec.Keys, memory.DefaultAllocator, func(rec arrow.Record, first int64) error {
			b, err := extract(rec, first, sc, f.Spec.Nulls, f.Shape, f.dict)
			if err != nil {
				return err
			}
			defer b.Release()
			st.Dropped += b.dropped
			if len(b.Rows) == 0 {
				return nil
			}
			pr, dist, err := f.m.assign(ctx, b.X, f.Soft > 0)
			if err != nil {
				return fmt.Errorf("rows from %d: %w", first, err)
			}
			if f.Soft > 0 && pr.Soft.Cols() != f.Soft {
				return fmt.Errorf("soft assignments of width %d, %d in the first batch", pr.Soft.Cols(), f.Soft)
			}
			if w == nil {
				store, err := storageFor(f.PartsDir)
				if err != nil {
					return err
				}
				if err := store.MkdirAll(ctx, f.PartsDir); err != nil {
					return fmt.Errorf("writing predictions: %w", err)
				}
				if out, err = store.Create(ctx, joinPath(f.PartsDir, partName(sh.Index))); err != nil {
					return fmt.Errorf("writing predictions: %w", err)
				}
				if w, err = newPartWriter(out, schema, f.Label, len(sc.ids), f.RowGroupRows, f.Compression); err != nil {
					return fmt.Errorf("writing predictions: %w", err)
				}
			}
			if err := w.write(predictions{rows: b.Rows, ids: b.IDs, labels: b.Labels, clusters: pr.Labels, distance: dist, soft: pr.Soft, z: pr.Z}); err != nil {
				return fmt.Errorf("writing predictions: %w", err)
			}
			st.Rows += int64(len(b.Rows))
			for i, c := range pr.Labels {
				st.MaxCluster = max(st.MaxCluster, c)
				if b.Labels != nil {
					counts[int64(b.Labels[i])<<32|int64(uint32(c))]++
				}
			}
			if b.Labels != nil {
				st.Labelled = true
			} else {
				st.Unlabelled = true
			}
			return nil
		})
		if err != nil {
			return err
		}
		if w != nil {
			if err := w.close(); err != nil {
				return fmt.Errorf("writing predictions: %w", err)
			}
			err := out.Close()
			out = nil
			if err != nil {
				return fmt.Errorf("writing predictions: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	st.Pairs, st.Counts = sortedPairs(counts)
	emit(st)
	return nil
}

// partName is the file name of shard i's part.
func partName(i int) string { return fmt.Sprintf("part-%06d.parquet", i) }

func sortedPairs(m map[int64]int64) (pairs, counts []int64) {
	for p := range m {
		pairs = append(pairs, p)
	}
	slices.Sort(pairs)
	for _, p := range pairs {
		counts = append(counts, m[p])
	}
	return pairs, counts
}

// statsFn merges the shards' statistics.
type statsFn struct{}

// CreateAccumulator starts empty statistics.
func (statsFn) CreateAccumulator() ShardStats { return ShardStats{} }

// AddInput adds one shard's statistics.
func (statsFn) AddInput(a, b ShardStats) ShardStats { return mergeStats(a, b) }

// MergeAccumulators merges two partial statistics.
func (statsFn) MergeAccumulators(a, b ShardStats) ShardStats { return mergeStats(a, b) }

// ExtractOutput returns the merged statistics.
func (statsFn) ExtractOutput(a ShardStats) ShardStats { return a }

func mergeStats(a, b ShardStats) ShardStats {
	out := ShardStats{
		Shards: a.Shards + b.Shards, Rows: a.Rows + b.Rows, Dropped: a.Dropped + b.Dropped,
		MaxCluster: max(a.MaxCluster, b.MaxCluster),
		Labelled:   a.Labelled || b.Labelled, Unlabelled: a.Unlabelled || b.Unlabelled,
	}
	// Merge the two sorted pair lists.
	i, j := 0, 0
	for i < len(a.Pairs) || j < len(b.Pairs) {
		switch {
		case j == len(b.Pairs) || (i < len(a.Pairs) && a.Pairs[i] < b.Pairs[j]):
			out.Pairs, out.Counts = append(out.Pairs, a.Pairs[i]), append(out.Counts, a.Counts[i])
			i++
		case i == len(a.Pairs) || b.Pairs[j] < a.Pairs[i]:
			out.Pairs, out.Counts = append(out.Pairs, b.Pairs[j]), append(out.Counts, b.Counts[j])
			j++
		default:
			out.Pairs, out.Counts = append(out.Pairs, a.Pairs[i]), append(out.Counts, a.Counts[i]+b.Counts[j])
			i++
			j++
		}
	}
	return out
}

// writeStatsFn writes the merged statistics for the driver.
type writeStatsFn struct {
	Path string
}

// ProcessElement writes the statistics as JSON.
func (f *writeStatsFn) ProcessElement(ctx context.Context, s ShardStats) error {
	if err := writeJSON(ctx, f.Path, s); err != nil {
		return taggedf("writing the job's statistics: %v", err)
	}
	return nil
}

// readStats reads what writeStatsFn wrote.
func readStats(ctx context.Context, path string) (ShardStats, error) {
	var s ShardStats
	return s, readJSONFile(ctx, path, &s)
}

// readJSONFile reads what a job wrote as JSON, through the path's storage.
func readJSONFile(ctx context.Context, path string, v any) error {
	st, err := storageFor(path)
	if err != nil {
		return err
	}
	r, err := st.Open(ctx, path)
	if err != nil {
		return fmt.Errorf("reading the job's result: %w", err)
	}
	defer r.Close()
	if err := json.NewDecoder(r).Decode(v); err != nil {
		return fmt.Errorf("reading the job's result %s: %w", path, err)
	}
	return nil
}

// writeJSON writes v as indented JSON through the path's storage.
func writeJSON(ctx context.Context, path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return writeBytes(ctx, path, append(b, '\n'))
}

// predictMetrics turns the merged statistics into metrics.json, failing
// as deepclust predict fails on an input without rows.
func predictMetrics(opt PredictOptions, plan *predictPlan, s ShardStats, took time.Duration) (PredictMetrics, error) {
	switch {
	case s.Rows == 0 && s.Dropped == 0:
		return PredictMetrics{}, fmt.Errorf("reading %s: no rows", opt.Data)
	case s.Rows == 0:
		return PredictMetrics{}, fmt.Errorf("reading %s: no rows left after dropping %d with missing values", opt.Data, s.Dropped)
	}
	secs := took.Seconds()
	m := PredictMetrics{Version: model.Version, Data: opt.Data, N: s.Rows, Dropped: s.Dropped, K: int(s.MaxCluster) + 1,
		Seconds: map[string]float64{"total": secs}, RowsPerSecond: float64(s.Rows) / secs, Shards: s.Shards, Runner: opt.Runner}
	if s.Labelled && !s.Unlabelled {
		counts := make(map[model.LabelPair]int64, len(s.Pairs))
		for i, p := range s.Pairs {
			counts[model.LabelPair{Label: int32(p >> 32), Cluster: int32(uint32(p))}] = s.Counts[i]
		}
		sc, err := model.ScoreCounts(counts)
		if err != nil {
			return m, err
		}
		m.Scores = sc
	}
	return m, nil
}
