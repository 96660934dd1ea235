package main

import (
	"cmp"
	"context"
	"flag"
	"fmt"
	"io"
	"math"
	"reflect"
	"slices"
	"time"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/apache/beam/sdks/v2/go/pkg/beam"

	"github.com/deepclust/deepclust/clusterers/kmeans"
	"github.com/deepclust/deepclust/sdk"
)

// KMeansOptions are the inputs of a distributed k-means.
type KMeansOptions struct {
	// Data is a Parquet file or a directory of them; Features, Label and
	// Nulls choose and read its columns as predict does.
	Data     string
	Features []string
	Nulls    string
	// ModelDir, when set, clusters the model's embeddings (the last
	// stage's z) instead of the raw features.
	ModelDir string
	// K is the number of clusters; Iters the number of Lloyd (or
	// mini-batch) steps; Tol stops Lloyd early, as scikit-learn's relative
	// tol (0: only when the centroids stop moving).
	K, Iters int
	Tol      float64
	// Sample is the number of rows k-means++ seeds on (a uniform sample
	// chosen by a hash of the seed and the row number).
	Sample int
	// MiniBatch, when > 0, makes each step a mini-batch step on about
	// that many rows (sampled per step) instead of a Lloyd step on all.
	MiniBatch int
	// DEC adds the soft cluster frequencies f_j = Σ_i q_ij of DEC's
	// target distribution at the final centroids, with Student-t degrees
	// of freedom Alpha.
	DEC   bool
	Alpha float64
	Seed  uint64
	// BatchRows bounds the rows read at once.
	BatchRows int
	// Out is the output directory: centroids.json, committed when the job
	// succeeds.
	Out    string
	Runner string
}

// CentroidsFile is the output of kmeans.
const CentroidsFile = "centroids.json"

func kmeansFlags(fs *flag.FlagSet) *KMeansOptions {
	opt := &KMeansOptions{}
	fs.StringVar(&opt.Data, "data", "", "Parquet file or directory of Parquet files (Hive partitions too)")
	fs.Var((*commaFlag)(&opt.Features), "features", "feature columns, comma-separated (default: the one list column, or every numeric column but the label)")
	fs.StringVar(&opt.Nulls, "nulls", "", "null or NaN feature values: error (default), drop the row, or zero")
	fs.StringVar(&opt.ModelDir, "model", "", "cluster this model's embeddings instead of the features")
	fs.IntVar(&opt.K, "k", 10, "number of clusters")
	fs.IntVar(&opt.Iters, "iters", 20, "Lloyd (or mini-batch) steps, chained in one job")
	fs.Float64Var(&opt.Tol, "tol", 0, "stop Lloyd when the summed squared centroid shift is at most tol × the mean feature variance (0: when they stop moving, up to float64 rounding)")
	fs.IntVar(&opt.Sample, "sample", 100000, "rows k-means++ seeds on")
	fs.IntVar(&opt.MiniBatch, "mini-batch", 0, "rows per mini-batch step (0: Lloyd steps on all rows)")
	fs.BoolVar(&opt.DEC, "dec", false, "also compute DEC's soft cluster frequencies f_j at the final centroids")
	fs.Float64Var(&opt.Alpha, "alpha", 1, "Student-t degrees of freedom for --dec")
	fs.Uint64Var(&opt.Seed, "seed", 1, "seed of the sample and of k-means++")
	fs.IntVar(&opt.BatchRows, "batch-rows", 0, "rows read at once (default 65536)")
	fs.StringVar(&opt.Out, "out", "", "output directory (centroids.json), committed when the job succeeds")
	return opt
}

// KMeansResult is the content of centroids.json.
type KMeansResult struct {
	K, D int
	// Centroids holds the k centres, row-major k × d.
	Centroids []float64
	// Steps is the number of steps run (fewer than asked when Lloyd
	// converged), and Inertia the inertia Σ_i ‖z_i − μ_{s_i}‖² of every
	// Lloyd step against the centroids it started from.
	Steps   int
	Inertia []float64
	// Frequencies are DEC's f_j = Σ_i q_ij (with --dec).
	Frequencies []float64 `json:",omitempty"`
	Rows        int64
	Seconds     float64
	Runner      string
}

// Block is a block of rows of one shard: their input row numbers and
// their vectors (features or embeddings), row-major rows × D.
type Block struct {
	Shard int
	D     int
	Rows  []int64
	Z     []float32
}

// Centroids is the state carried from one k-means step to the next (as a
// singleton side input): the centres, row-major K × D in float64, the
// mini-batch weights, and whether Lloyd has converged.
type Centroids struct {
	K, D      int
	C         []float64
	Weights   []float64
	Step      int
	Converged bool
	Inertia   []float64
	// TolAbs is the absolute bound on the squared centroid shift.
	TolAbs float64
}

// StepStats are the statistics of one k-means step over some rows: per
// cluster the float64 sums of their vectors (row-major K × D) and their
// counts, the inertia against the step's centroids, and the K rows
// farthest from their centres (for empty clusters).
type StepStats struct {
	K, D    int
	Sums    []float64
	Counts  []int64
	Inertia float64
	Far     []FarRow
}

// FarRow is a row and its squared distance to its nearest centre.
type FarRow struct {
	Dist  float64
	Row   int64
	Label int32
	Z     []float32
}

func init() {
	for _, v := range []any{Block{}, Centroids{}, StepStats{}, FarRow{}, Sample{}, Moments{}, Frequencies{},
		embedFn{}, stepFn{}, miniStepFn{}, fractionFn{}, stepCombineFn{}, updateFn{}, sampleFn{}, seedFn{}, momentsFn{}, tolFn{}, decStatsFn{}, freqCombineFn{}, kmeansOutFn{}} {
		beam.RegisterType(reflect.TypeOf(v))
	}
}

// KMeans runs a distributed k-means and commits centroids.json to opt.Out.
func KMeans(ctx context.Context, opt KMeansOptions, stdout io.Writer) error {
	start := time.Now()
	switch {
	case opt.Data == "" || opt.Out == "":
		return fmt.Errorf("%w: kmeans needs --data and --out", errUsage)
	case opt.K < 1 || opt.Iters < 0 || opt.Sample < opt.K || opt.MiniBatch < 0 || !(opt.Tol >= 0) || !(opt.Alpha > 0):
		return fmt.Errorf("%w: kmeans needs --k ≥ 1, --iters ≥ 0, --sample ≥ k, --mini-batch ≥ 0, --tol ≥ 0 and --alpha > 0", errUsage)
	case !slices.Contains([]string{"", "error", "drop", "zero"}, opt.Nulls):
		return fmt.Errorf("%w: unknown --nulls %q (want error, drop or zero)", errUsage, opt.Nulls)
	}
	in, err := listInput(ctx, opt.Data, "")
	if err != nil {
		return err
	}
	src, err := blockSource(ctx, opt.Features, opt.Nulls, opt.ModelDir, opt.BatchRows, in)
	if err != nil {
		return err
	}
	var res KMeansResult
	err = runStaged(ctx, opt.Out, opt.Runner, CentroidsFile, &res, func(s beam.Scope, dir string) {
		blocks := beam.ParDo(s, src, buildShards(s, in))
		moments := beam.Combine(s, &momentsFn{}, blocks)
		cents := seedCentroids(s, blocks, opt.K, opt.Sample, opt.Seed)
		if opt.Tol > 0 {
			cents = beam.ParDo(s, &tolFn{Tol: opt.Tol}, cents, beam.SideInput{Input: moments})
		}
		for i := range opt.Iters {
			if opt.MiniBatch > 0 {
				cents = miniBatchStep(s, blocks, cents, opt.MiniBatch, opt.Seed+uint64(i)+1)
			} else {
				cents = lloydStep(s, blocks, cents)
			}
		}
		freqs := beam.Create(s, Frequencies{})
		if opt.DEC {
			freqs = decFrequencies(s, blocks, cents, opt.Alpha)
		}
		beam.ParDo0(s, &kmeansOutFn{Path: joinPath(dir, CentroidsFile), Runner: opt.Runner, Start: start.UnixNano()}, cents,
			beam.SideInput{Input: freqs}, beam.SideInput{Input: moments})
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "k-means: n=%d k=%d, %d of %d steps", res.Rows, opt.K, res.Steps, opt.Iters)
	if len(res.Inertia) > 0 {
		fmt.Fprintf(stdout, ", inertia %.6g", res.Inertia[len(res.Inertia)-1])
	}
	fmt.Fprintf(stdout, "  %.1f s  -> %s\n", time.Since(start).Seconds(), opt.Out)
	return nil
}

// runStaged builds the pipeline construct adds (given the staging
// directory it writes into), runs it, reads the JSON file result it wrote
// into v, and commits the staging directory to out: nothing is visible at
// out unless all of that succeeded.
func runStaged(ctx context.Context, out, runner, result string, v any, construct func(s beam.Scope, dir string)) error {
	stage, err := newStage(ctx, out)
	if err != nil {
		return err
	}
	defer stage.abort(context.WithoutCancel(ctx))
	p, s := beam.NewPipelineWithRoot()
	if err := build(func() { construct(s, stage.tmp) }); err != nil {
		return err
	}
	if err := runPipeline(ctx, runner, p); err != nil {
		return err
	}
	if err := readJSONFile(ctx, stage.path(result), v); err != nil {
		return err
	}
	if err := stage.remove(ctx, AssignmentsDir); err != nil {
		return err
	}
	return stage.commit(ctx)
}

// embedFn reads a shard into blocks of vectors: its features, or with a
// model its embeddings (the model loaded once per worker).
type embedFn struct {
	Spec      columnSpec
	Model     string
	Shape     []int
	BatchRows int

	m *loadedModel
}

// Setup loads the model, if any.
func (f *embedFn) Setup(ctx context.Context) error {
	if f.Model == "" {
		return nil
	}
	m, err := acquireModel(ctx, modelKey{dir: f.Model})
	if err != nil {
		return taggedf("loading model %s: %v", f.Model, err)
	}
	f.m = m
	return nil
}

// Teardown gives the model back.
func (f *embedFn) Teardown() {
	releaseModel(modelKey{dir: f.Model}, f.m)
	f.m = nil
}

// ProcessElement emits the blocks of one shard.
func (f *embedFn) ProcessElement(ctx context.Context, sh Shard, emit func(Block)) error {
	return withShard(ctx, sh, f.Spec, f.BatchRows, func(pf *parquetFile, sc *shardColumns) error {
		sc.cols.Label = -1 // labels play no part
		sc.stringLabel = false
		return pf.records(ctx, sc, sh, f.Spec.Keys, memory.DefaultAllocator, func(rec arrow.Record, first int64) error {
			shape := f.Shape
			if shape == nil {
				shape = []int{recordWidth(rec, sc)}
			}
			b, err := extract(rec, first, sc, f.Spec.Nulls, shape, nil)
			if err != nil {
				return err
			}
			b.Release()
			if len(b.Rows) == 0 {
				return nil
			}
			z := b.X
			if f.m != nil {
				pr, _, err := f.m.assign(ctx, b.X, false)
				if err != nil {
					return fmt.Errorf("rows from %d: %w", first, err)
				}
				z = pr.Z
			}
			emit(Block{Shard: sh.Index, D: z.Cols(), Rows: b.Rows, Z: z.Data})
			return nil
		})
	})
}

// recordWidth is the number of features per row of a record: the list
// size, or the number of numeric columns.
func recordWidth(rec arrow.Record, sc *shardColumns) int {
	col := rec.Column(sc.cols.Features[0])
	switch a := col.(type) {
	case interface{ ValueOffsets(int) (int64, int64) }:
		for i := 0; i < a.(arrow.Array).Len(); i++ {
			if !col.IsNull(i) {
				lo, hi := a.ValueOffsets(i)
				return int(hi - lo)
			}
		}
		return 0
	}
	if fl, ok := col.DataType().(*arrow.FixedSizeListType); ok {
		return int(fl.Len())
	}
	return len(sc.cols.Features)
}

// Sample is a sample of rows with their vectors, sorted by row number
// after ExtractOutput.
type Sample struct {
	D    int
	Rows []int64
	Keys []uint64
	Z    []float32
}

// sampleFn keeps the Size rows of smallest key splitMix(Seed ^
// splitMix(row)): a uniform sample that does not depend on how the rows
// were sharded or bundled.
type sampleFn struct {
	Size int
	Seed uint64
}

// CreateAccumulator starts an empty sample.
func (f *sampleFn) CreateAccumulator() Sample { return Sample{} }

// AddInput adds a block's rows.
func (f *sampleFn) AddInput(a Sample, b Block) Sample {
	keys := make([]uint64, len(b.Rows))
	for i, r := range b.Rows {
		keys[i] = splitMix(f.Seed ^ splitMix(uint64(r)))
	}
	return f.keep(a, Sample{D: b.D, Rows: b.Rows, Keys: keys, Z: b.Z})
}

// MergeAccumulators merges two samples.
func (f *sampleFn) MergeAccumulators(a, b Sample) Sample { return f.keep(a, b) }

// ExtractOutput sorts the sample by row.
func (f *sampleFn) ExtractOutput(a Sample) Sample {
	return reorder(a, func(i, j int) int { return cmp.Compare(a.Rows[i], a.Rows[j]) }, len(a.Rows))
}

// keep returns the Size rows of a and b with the smallest keys.
func (f *sampleFn) keep(a, b Sample) Sample {
	d := max(a.D, b.D)
	all := Sample{D: d, Rows: append(slices.Clip(a.Rows), b.Rows...), Keys: append(slices.Clip(a.Keys), b.Keys...), Z: append(slices.Clip(a.Z), b.Z...)}
	if len(all.Rows) <= f.Size {
		return all
	}
	return reorder(all, func(i, j int) int { return cmp.Compare(all.Keys[i], all.Keys[j]) }, f.Size)
}

// reorder returns the first n rows of s in the order cmp gives.
func reorder(s Sample, less func(i, j int) int, n int) Sample {
	idx := make([]int, len(s.Rows))
	for i := range idx {
		idx[i] = i
	}
	slices.SortFunc(idx, less)
	out := Sample{D: s.D, Rows: make([]int64, n), Keys: make([]uint64, n), Z: make([]float32, 0, n*s.D)}
	for to, from := range idx[:n] {
		out.Rows[to], out.Keys[to] = s.Rows[from], s.Keys[from]
		out.Z = append(out.Z, s.Z[from*s.D:(from+1)*s.D]...)
	}
	return out
}

// splitMix is SplitMix64's output function, a bijective mixer.
func splitMix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// seedFn seeds the centroids by k-means++ on the sample: the greedy
// k-means++ of clusterers/kmeans (kmeans.PlusPlus), so that with a sample
// holding every row it starts where kmeans.Cluster's first run starts.
type seedFn struct {
	K    int
	Seed uint64
}

// ProcessElement seeds from the sample.
func (f *seedFn) ProcessElement(s Sample) (Centroids, error) {
	if len(s.Rows) < f.K {
		return Centroids{}, taggedf("k-means++: %d rows for k=%d clusters", len(s.Rows), f.K)
	}
	z := sdk.Tensor{Shape: []int{len(s.Rows), s.D}, Data: s.Z}
	c, err := kmeans.PlusPlus(z, f.K, f.Seed)
	if err != nil {
		return Centroids{}, taggedf("k-means++: %v", err)
	}
	return Centroids{K: f.K, D: s.D, C: c}, nil
}

// seedCentroids adds the sampling and the seeding.
func seedCentroids(s beam.Scope, blocks beam.PCollection, k, size int, seed uint64) beam.PCollection {
	s = s.Scope("kmeans++")
	sample := beam.Combine(s, &sampleFn{Size: size, Seed: seed}, blocks)
	return beam.ParDo(s, &seedFn{K: k, Seed: seed}, sample)
}

// stepFn assigns each row of a block to its nearest centroid and sums the
// vectors per cluster: the map side of a Lloyd step. The label is
// argmin_j ‖z − μ_j‖² computed in float64 term by term, ties to the lower
// index: the reference label of clusterers/kmeans.
type stepFn struct {
	// Fraction, when in (0, 1), keeps only the rows whose key
	// splitMix(Seed ^ splitMix(row)) falls below Fraction × 2⁶⁴ (a
	// mini-batch).
	Fraction float64
	Seed     uint64

	c Centroids
}

// StartBundle reads the centroids once per bundle.
func (f *stepFn) StartBundle(c func(*Centroids) bool, _ func(StepStats)) {
	c(&f.c)
}

// ProcessElement emits the statistics of one block.
func (f *stepFn) ProcessElement(b Block, _ func(*Centroids) bool, emit func(StepStats)) error {
	c := f.c
	if c.Converged {
		return nil
	}
	if b.D != c.D {
		return taggedf("k-means: rows of width %d, centroids of width %d", b.D, c.D)
	}
	st := StepStats{K: c.K, D: c.D, Sums: make([]float64, c.K*c.D), Counts: make([]int64, c.K)}
	limit := uint64(math.MaxUint64)
	if f.Fraction > 0 && f.Fraction < 1 {
		limit = uint64(f.Fraction * math.MaxUint64)
	}
	for i, r := range b.Rows {
		if limit != math.MaxUint64 && splitMix(f.Seed^splitMix(uint64(r))) >= limit {
			continue
		}
		z := b.Z[i*b.D : (i+1)*b.D]
		label, dist := nearest(z, c.C, c.K)
		sum := st.Sums[label*c.D : (label+1)*c.D]
		for t, v := range z {
			sum[t] += float64(v)
		}
		st.Counts[label]++
		st.Inertia += dist
		st.Far = keepFar(st.Far, FarRow{Dist: dist, Row: r, Label: int32(label), Z: z}, c.K)
	}
	emit(st)
	return nil
}

// nearest is the nearest centre of z and its squared distance.
func nearest(z []float32, c []float64, k int) (int, float64) {
	d := len(z)
	best, bestDist := 0, math.Inf(1)
	for j := range k {
		var s float64
		for t, v := range z {
			u := float64(v) - c[j*d+t]
			s += u * u
		}
		if s < bestDist {
			best, bestDist = j, s
		}
	}
	return best, bestDist
}

// farther orders rows farthest first, ties to the lower row.
func farther(a, b FarRow) int {
	if c := cmp.Compare(b.Dist, a.Dist); c != 0 {
		return c
	}
	return cmp.Compare(a.Row, b.Row)
}

// keepFar adds r to the k farthest rows.
func keepFar(far []FarRow, r FarRow, k int) []FarRow {
	if len(far) == k && farther(r, far[k-1]) >= 0 {
		return far
	}
	r.Z = slices.Clone(r.Z)
	i, _ := slices.BinarySearchFunc(far, r, farther)
	far = slices.Insert(far, i, r)
	if len(far) > k {
		far = far[:k]
	}
	return far
}

// stepCombineFn merges step statistics: sums and counts add, the
// farthest rows merge.
type stepCombineFn struct{}

// CreateAccumulator starts empty statistics.
func (stepCombineFn) CreateAccumulator() StepStats { return StepStats{} }

// AddInput adds one block's statistics.
func (stepCombineFn) AddInput(a, b StepStats) StepStats { return mergeStep(a, b) }

// MergeAccumulators merges two partial statistics.
func (stepCombineFn) MergeAccumulators(a, b StepStats) StepStats { return mergeStep(a, b) }

// ExtractOutput returns the merged statistics.
func (stepCombineFn) ExtractOutput(a StepStats) StepStats { return a }

func mergeStep(a, b StepStats) StepStats {
	if a.Sums == nil {
		return b
	}
	if b.Sums == nil {
		return a
	}
	out := StepStats{K: a.K, D: a.D, Sums: slices.Clone(a.Sums), Counts: slices.Clone(a.Counts), Inertia: a.Inertia + b.Inertia}
	for i, v := range b.Sums {
		out.Sums[i] += v
	}
	for j, n := range b.Counts {
		out.Counts[j] += n
	}
	out.Far = slices.Clone(a.Far)
	for _, r := range b.Far {
		out.Far = keepFar(out.Far, r, a.K)
	}
	return out
}

// updateFn turns a step's merged statistics into the next centroids.
type updateFn struct {
	MiniBatch bool
}

// ProcessElement computes the next centroids from the previous ones
// (main input) and the step's statistics (side input).
func (f *updateFn) ProcessElement(prev Centroids, stats func(*StepStats) bool) (Centroids, error) {
	var st StepStats
	stats(&st)
	next := prev
	next.Step++
	if prev.Converged || st.Sums == nil {
		next.Converged = prev.Converged
		return next, nil
	}
	next.C = slices.Clone(prev.C)
	next.Inertia = append(slices.Clone(prev.Inertia), st.Inertia)
	if f.MiniBatch {
		miniBatchUpdate(&next, st)
		return next, nil
	}
	shift := lloydUpdate(&next, st, prev.C)
	next.Converged = shift <= max(prev.TolAbs, roundingShift(st, next.C))
	return next, nil
}

// roundingShift bounds the squared centroid shift that the order of the
// float64 sums alone can cause, (N·u)²·Σ_j‖μ_j‖² for N rows (u = 2⁻⁵³):
// the runner chooses the merge order, so with tol 0 a step that moved no
// row may still shift the centroids by that much. Moving one row shifts a
// centroid of n rows by about ‖z‖/n, far above it.
func roundingShift(st StepStats, c []float64) float64 {
	var n int64
	for _, x := range st.Counts {
		n += x
	}
	var norm float64
	for _, v := range c {
		norm += v * v
	}
	e := float64(n) * 0x1p-53
	return e * e * norm
}

// lloydUpdate moves each centroid to its cluster's mean, as
// clusterers/kmeans does: an empty cluster first takes the row farthest
// from its centre (farthest first, ties to the lower row), whose vector
// leaves its own cluster's sum; the mean is the sum times 1/count. It
// returns the summed squared shift.
func lloydUpdate(c *Centroids, st StepStats, prev []float64) float64 {
	d := c.D
	sums, sizes := slices.Clone(st.Sums), slices.Clone(st.Counts)
	e := 0
	for j := range c.K {
		if sizes[j] != 0 || e >= len(st.Far) {
			continue
		}
		far := st.Far[e]
		e++
		from := int(far.Label)
		for t, v := range far.Z {
			sums[from*d+t] -= float64(v)
			sums[j*d+t] = float64(v)
		}
		sizes[j] = 1
		sizes[from]--
	}
	var shift float64
	for j := range c.K {
		scale := 1.0
		if sizes[j] > 0 {
			scale = 1 / float64(sizes[j])
		}
		for t := range d {
			v := sums[j*d+t] * scale
			dv := v - prev[j*d+t]
			shift += dv * dv
			c.C[j*d+t] = v
		}
	}
	return shift
}

// miniBatchUpdate is scikit-learn's MiniBatchKMeans centre update: each
// centre moves to the weighted mean of itself (with the weight of all the
// rows it took so far) and the batch's rows assigned to it.
func miniBatchUpdate(c *Centroids, st StepStats) {
	d := c.D
	if c.Weights == nil {
		c.Weights = make([]float64, c.K)
	} else {
		c.Weights = slices.Clone(c.Weights)
	}
	for j := range c.K {
		n := float64(st.Counts[j])
		if n == 0 {
			continue
		}
		w := c.Weights[j]
		for t := range d {
			c.C[j*d+t] = (c.C[j*d+t]*w + st.Sums[j*d+t]) / (w + n)
		}
		c.Weights[j] = w + n
	}
}

// lloydStep chains one Lloyd step: statistics of every block against the
// centroids (a side input read once per bundle), one global combine, and
// the update.
func lloydStep(s beam.Scope, blocks, cents beam.PCollection) beam.PCollection {
	s = s.Scope("lloyd")
	stats := beam.ParDo(s, &stepFn{}, blocks, beam.SideInput{Input: cents})
	total := beam.Combine(s, &stepCombineFn{}, beam.Flatten(s, stats, beam.Create(s, StepStats{})))
	return beam.ParDo(s, &updateFn{}, cents, beam.SideInput{Input: total})
}

// miniBatchStep chains one mini-batch step on the rows a hash of seed
// selects (about size of them, from the row count in the moments).
func miniBatchStep(s beam.Scope, blocks, cents beam.PCollection, size int, seed uint64) beam.PCollection {
	s = s.Scope("minibatch")
	moments := beam.Combine(s, &momentsFn{}, blocks)
	frac := beam.ParDo(s, &fractionFn{Size: size}, moments)
	stats := beam.ParDo(s, &miniStepFn{Seed: seed}, blocks, beam.SideInput{Input: cents}, beam.SideInput{Input: frac})
	total := beam.Combine(s, &stepCombineFn{}, beam.Flatten(s, stats, beam.Create(s, StepStats{})))
	return beam.ParDo(s, &updateFn{MiniBatch: true}, cents, beam.SideInput{Input: total})
}

// fractionFn is the fraction of the rows a mini-batch of Size takes.
type fractionFn struct {
	Size int
}

// ProcessElement computes the fraction from the row count.
func (f *fractionFn) ProcessElement(m Moments) float64 {
	return float64(f.Size) / float64(max(m.N, 1))
}

// miniStepFn is stepFn with the sampling fraction as a side input.
type miniStepFn struct {
	Seed uint64
	step stepFn
}

// StartBundle reads the centroids and the fraction once per bundle.
func (f *miniStepFn) StartBundle(c func(*Centroids) bool, frac func(*float64) bool, _ func(StepStats)) {
	f.step = stepFn{Seed: f.Seed}
	c(&f.step.c)
	frac(&f.step.Fraction)
	if f.step.Fraction >= 1 {
		f.step.Fraction = 0
	}
}

// ProcessElement emits the statistics of the block's sampled rows.
func (f *miniStepFn) ProcessElement(b Block, _ func(*Centroids) bool, _ func(*float64) bool, emit func(StepStats)) error {
	return f.step.ProcessElement(b, nil, emit)
}

// Moments are the row count and per-feature sums and sums of squares.
type Moments struct {
	N      int64
	Sum    []float64
	SumSq  []float64
	Finite bool
}

// momentsFn combines Moments over blocks.
type momentsFn struct{}

// CreateAccumulator starts empty moments.
func (momentsFn) CreateAccumulator() Moments { return Moments{} }

// AddInput adds a block.
func (momentsFn) AddInput(m Moments, b Block) Moments {
	if m.Sum == nil {
		m.Sum, m.SumSq = make([]float64, b.D), make([]float64, b.D)
	} else {
		m.Sum, m.SumSq = slices.Clone(m.Sum), slices.Clone(m.SumSq)
	}
	for i := range b.Rows {
		for t, v := range b.Z[i*b.D : (i+1)*b.D] {
			m.Sum[t] += float64(v)
			m.SumSq[t] += float64(v) * float64(v)
		}
	}
	m.N += int64(len(b.Rows))
	return m
}

// MergeAccumulators adds two moments.
func (momentsFn) MergeAccumulators(a, b Moments) Moments {
	if a.Sum == nil {
		return b
	}
	if b.Sum == nil {
		return a
	}
	out := Moments{N: a.N + b.N, Sum: slices.Clone(a.Sum), SumSq: slices.Clone(a.SumSq)}
	for t := range out.Sum {
		out.Sum[t] += b.Sum[t]
		out.SumSq[t] += b.SumSq[t]
	}
	return out
}

// ExtractOutput returns the moments.
func (momentsFn) ExtractOutput(m Moments) Moments { return m }

// tolFn sets the absolute tolerance from the relative one: tol × the mean
// over features of their variance (scikit-learn's _tolerance), the
// variance from one pass of sums and sums of squares.
type tolFn struct {
	Tol float64
}

// ProcessElement sets TolAbs.
func (f *tolFn) ProcessElement(c Centroids, moments func(*Moments) bool) Centroids {
	var m Moments
	moments(&m)
	var v float64
	for t := range m.Sum {
		mean := m.Sum[t] / float64(m.N)
		v += max(m.SumSq[t]/float64(m.N)-mean*mean, 0)
	}
	c.TolAbs = f.Tol * v / float64(len(m.Sum))
	return c
}

// Frequencies are DEC's soft cluster frequencies f_j = Σ_i q_ij.
type Frequencies struct {
	F []float64
}

// decStatsFn sums the Student-t soft assignments of a block's rows.
type decStatsFn struct {
	Alpha float64
	c     Centroids
}

// StartBundle reads the centroids once per bundle.
func (f *decStatsFn) StartBundle(c func(*Centroids) bool) { c(&f.c) }

// ProcessElement emits Σ_i q_ij over the block, with q as DEC defines it
// (clusterers/dec): q_ij ∝ (1 + ‖z_i − μ_j‖²/α)^(−(α+1)/2), normalised
// over j, computed in the log domain.
func (f *decStatsFn) ProcessElement(b Block, _ func(*Centroids) bool) Frequencies {
	c := f.c
	out := Frequencies{F: make([]float64, c.K)}
	logq := make([]float64, c.K)
	for i := range b.Rows {
		z := b.Z[i*b.D : (i+1)*b.D]
		top := math.Inf(-1)
		for j := range c.K {
			var s float64
			for t, v := range z {
				u := float64(v) - c.C[j*c.D+t]
				s += u * u
			}
			logq[j] = -(f.Alpha + 1) / 2 * math.Log1p(s/f.Alpha)
			top = max(top, logq[j])
		}
		var norm float64
		for j := range logq {
			logq[j] = math.Exp(logq[j] - top)
			norm += logq[j]
		}
		for j, q := range logq {
			out.F[j] += q / norm
		}
	}
	return out
}

// freqCombineFn adds frequencies.
type freqCombineFn struct{}

// CreateAccumulator starts at zero.
func (freqCombineFn) CreateAccumulator() Frequencies { return Frequencies{} }

// AddInput adds a block's frequencies.
func (freqCombineFn) AddInput(a, b Frequencies) Frequencies { return addFreq(a, b) }

// MergeAccumulators adds two partial frequencies.
func (freqCombineFn) MergeAccumulators(a, b Frequencies) Frequencies { return addFreq(a, b) }

// ExtractOutput returns the frequencies.
func (freqCombineFn) ExtractOutput(a Frequencies) Frequencies { return a }

func addFreq(a, b Frequencies) Frequencies {
	if a.F == nil {
		return b
	}
	if b.F == nil {
		return a
	}
	out := Frequencies{F: slices.Clone(a.F)}
	for j, v := range b.F {
		out.F[j] += v
	}
	return out
}

// decFrequencies adds DEC's target-distribution statistics at the given
// centroids: one more global combine.
func decFrequencies(s beam.Scope, blocks, cents beam.PCollection, alpha float64) beam.PCollection {
	s = s.Scope("dec")
	part := beam.ParDo(s, &decStatsFn{Alpha: alpha}, blocks, beam.SideInput{Input: cents})
	return beam.Combine(s, &freqCombineFn{}, beam.Flatten(s, part, beam.Create(s, Frequencies{})))
}

// kmeansOutFn writes centroids.json.
type kmeansOutFn struct {
	Path   string
	Runner string
	Start  int64
}

// ProcessElement writes the result.
func (f *kmeansOutFn) ProcessElement(ctx context.Context, c Centroids, freqs func(*Frequencies) bool, moments func(*Moments) bool) error {
	var fr Frequencies
	freqs(&fr)
	var m Moments
	moments(&m)
	r := KMeansResult{K: c.K, D: c.D, Centroids: c.C, Steps: len(c.Inertia), Inertia: c.Inertia, Frequencies: fr.F, Rows: m.N,
		Seconds: time.Since(time.Unix(0, f.Start)).Seconds(), Runner: f.Runner}
	if err := writeJSON(ctx, f.Path, r); err != nil {
		return taggedf("writing %s: %v", f.Path, err)
	}
	return nil
}
