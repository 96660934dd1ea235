package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"math"
	"reflect"
	"slices"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"

	"github.com/deepclust/deepclust/clusterers/gmm"
)

// GMMOptions are the inputs of a distributed Gaussian-mixture fit by EM.
type GMMOptions struct {
	// Data, Features, Nulls and ModelDir choose the rows as kmeans does.
	Data     string
	Features []string
	Nulls    string
	ModelDir string
	// K is the number of components; Iters the most EM iterations, chained
	// in one job; Tol stops EM when the mean log-likelihood changes by less
	// (clusterers/gmm's tol; 0 runs every iteration); Reg is reg_covar.
	K, Iters int
	Tol, Reg float64
	// Covariance is gmm.CovarianceFull or gmm.CovarianceDiag.
	Covariance string
	// Init is gmm.InitKMeans (k-means++ on the sample, then KMeansIters
	// distributed Lloyd steps with tol 1e-4) or gmm.InitKMeansPlusPlus
	// (the k-means++ centres alone); the start is the hard
	// responsibilities of the nearest centre, turned into parameters by
	// one M-step. InitState, when set, is a gmm state file (the
	// clusterer's Save format) to start from instead.
	Init        string
	KMeansIters int
	InitState   string
	// Sample is the number of rows k-means++ seeds on; Seed is the
	// clusterer's seed (its first run's seed, gmm.RestartSeed(Seed, 0),
	// seeds k-means++ and the sample).
	Sample    int
	Seed      uint64
	BatchRows int
	// Out is the output directory: gmm.json and gmm.state, committed when
	// the job succeeds.
	Out    string
	Runner string
}

// Files of the gmm command's output.
const (
	GMMFile      = "gmm.json"
	GMMStateFile = "gmm.state"
)

func gmmFlags(fs *flag.FlagSet) *GMMOptions {
	opt := &GMMOptions{}
	fs.StringVar(&opt.Data, "data", "", "Parquet file or directory of Parquet files (Hive partitions too)")
	fs.Var((*commaFlag)(&opt.Features), "features", "feature columns, comma-separated (default: the one list column, or every numeric column but the label)")
	fs.StringVar(&opt.Nulls, "nulls", "", "null or NaN feature values: error (default), drop the row, or zero")
	fs.StringVar(&opt.ModelDir, "model", "", "fit the mixture on this model's embeddings instead of the features")
	fs.IntVar(&opt.K, "k", 10, "number of components")
	fs.IntVar(&opt.Iters, "iters", 20, "most EM iterations, chained in one job")
	fs.Float64Var(&opt.Tol, "tol", 1e-3, "stop when the mean log-likelihood changes by less (0: run every iteration)")
	fs.Float64Var(&opt.Reg, "reg-covar", 1e-6, "added to every covariance diagonal (scikit-learn's reg_covar)")
	fs.StringVar(&opt.Covariance, "covariance", gmm.CovarianceFull, "full or diag")
	fs.StringVar(&opt.Init, "init", gmm.InitKMeans, "kmeans (k-means++ then --kmeans-iters Lloyd steps) or kmeans++ (the seeds alone)")
	fs.IntVar(&opt.KMeansIters, "kmeans-iters", 20, "Lloyd steps of --init kmeans (tol 1e-4, as the gmm clusterer's k-means)")
	fs.StringVar(&opt.InitState, "init-state", "", "start from this gmm state file (a gmm.state, or a gmm clusterer's saved state) instead")
	fs.IntVar(&opt.Sample, "sample", 100000, "rows k-means++ seeds on")
	fs.Uint64Var(&opt.Seed, "seed", 1, "the gmm clusterer's seed (of the sample and of k-means++)")
	fs.IntVar(&opt.BatchRows, "batch-rows", 0, "rows read at once (default 65536)")
	fs.StringVar(&opt.Out, "out", "", "output directory (gmm.json, gmm.state), committed when the job succeeds")
	return opt
}

// GMMResult is the content of gmm.json.
type GMMResult struct {
	K, D       int
	Covariance string
	// Weights (K), Means (K × D) and Cov (K × D × D, or K × D for diag)
	// are the fitted parameters; gmm.state holds them in the clusterer's
	// Save format.
	Weights, Means, Cov []float64
	// Iterations is the number of EM iterations run, LowerBounds the mean
	// log-likelihood of each (under the parameters it started from, as
	// scikit-learn's lower_bound_), Converged whether tol stopped EM.
	Iterations  int
	LowerBounds []float64
	Converged   bool
	Rows        int64
	Seconds     float64
	Runner      string
}

// GMMState is the state carried from one EM iteration to the next (a
// singleton side input): the parameters, and the lower bounds so far.
type GMMState struct {
	K, Dim              int
	Diag                bool
	Weights, Means, Cov []float64
	LowerBounds         []float64
	Converged           bool
}

func (s GMMState) params() gmm.Params {
	return gmm.Params{K: s.K, Dim: s.Dim, Diag: s.Diag, Weights: s.Weights, Means: s.Means, Cov: s.Cov}
}

func stateOf(p gmm.Params) GMMState {
	return GMMState{K: p.K, Dim: p.Dim, Diag: p.Diag, Weights: p.Weights, Means: p.Means, Cov: p.Cov}
}

func init() {
	for _, v := range []any{GMMState{}, gmm.Stats{}, hardStatsFn{}, emStatsFn{}, gmmCombineFn{}, gmmStartFn{}, emUpdateFn{}, gmmOutFn{}} {
		beam.RegisterType(reflect.TypeOf(v))
	}
}

// GMM runs a distributed EM fit and commits gmm.json and gmm.state to
// opt.Out.
func GMM(ctx context.Context, opt GMMOptions, stdout io.Writer) error {
	start := time.Now()
	switch {
	case opt.Data == "" || opt.Out == "":
		return fmt.Errorf("%w: gmm needs --data and --out", errUsage)
	case opt.K < 1 || opt.Iters < 0 || opt.KMeansIters < 0 || opt.Sample < opt.K:
		return fmt.Errorf("%w: gmm needs --k ≥ 1, --iters ≥ 0, --kmeans-iters ≥ 0 and --sample ≥ k", errUsage)
	case !(opt.Tol >= 0) || math.IsInf(opt.Tol, 0) || !(opt.Reg >= 0) || math.IsInf(opt.Reg, 0):
		return fmt.Errorf("%w: gmm needs finite --tol ≥ 0 and --reg-covar ≥ 0", errUsage)
	case opt.Covariance != gmm.CovarianceFull && opt.Covariance != gmm.CovarianceDiag:
		return fmt.Errorf("%w: unknown --covariance %q (want full or diag)", errUsage, opt.Covariance)
	case opt.Init != gmm.InitKMeans && opt.Init != gmm.InitKMeansPlusPlus:
		return fmt.Errorf("%w: unknown --init %q (want kmeans or kmeans++)", errUsage, opt.Init)
	case !slices.Contains([]string{"", "error", "drop", "zero"}, opt.Nulls):
		return fmt.Errorf("%w: unknown --nulls %q (want error, drop or zero)", errUsage, opt.Nulls)
	}
	diag := opt.Covariance == gmm.CovarianceDiag
	var initial *gmm.Params
	if opt.InitState != "" {
		b, err := readFile(ctx, opt.InitState)
		if err != nil {
			return fmt.Errorf("--init-state: %w", err)
		}
		p, err := gmm.ParseState(b)
		if err != nil {
			return fmt.Errorf("--init-state %s: %w", opt.InitState, err)
		}
		if p.K != opt.K || p.Diag != diag {
			return fmt.Errorf("%w: --init-state %s has k=%d and diag=%v, the flags ask for k=%d and %s covariances", errUsage, opt.InitState, p.K, p.Diag, opt.K, opt.Covariance)
		}
		initial = &p
	}
	in, err := listInput(ctx, opt.Data, "")
	if err != nil {
		return err
	}
	src, err := blockSource(ctx, opt.Features, opt.Nulls, opt.ModelDir, opt.BatchRows, in)
	if err != nil {
		return err
	}
	var res GMMResult
	err = runStaged(ctx, opt.Out, opt.Runner, GMMFile, &res, func(s beam.Scope, dir string) {
		blocks := beam.ParDo(s, src, buildShards(s, in))
		moments := beam.Combine(s, &momentsFn{}, blocks)
		var params beam.PCollection
		if initial != nil {
			params = beam.Create(s, stateOf(*initial))
		} else {
			params = gmmStart(s, blocks, moments, opt, diag)
		}
		for range opt.Iters {
			params = emStep(s, blocks, params, opt.Reg, opt.Tol)
		}
		beam.ParDo0(s, &gmmOutFn{Dir: dir, Covariance: opt.Covariance, Runner: opt.Runner, Start: start.UnixNano()}, params,
			beam.SideInput{Input: moments})
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "gmm: n=%d k=%d %s, %d of %d EM iterations", res.Rows, opt.K, opt.Covariance, res.Iterations, opt.Iters)
	if n := len(res.LowerBounds); n > 0 {
		fmt.Fprintf(stdout, ", lower bound %.6g", res.LowerBounds[n-1])
	}
	if res.Converged {
		fmt.Fprint(stdout, " (converged)")
	}
	fmt.Fprintf(stdout, "  %.1f s  -> %s\n", time.Since(start).Seconds(), opt.Out)
	return nil
}

// blockSource is the DoFn that turns shards into blocks of vectors: the
// features, or with a model its embeddings.
func blockSource(ctx context.Context, features []string, nulls, modelDir string, batchRows int, in *Input) (*embedFn, error) {
	src := &embedFn{Spec: columnSpec{Features: features, Keys: in.Keys, Nulls: nulls}, Model: modelDir, BatchRows: batchRows}
	if src.BatchRows == 0 {
		src.BatchRows = defaultBatchRows
	}
	if modelDir == "" {
		return src, nil
	}
	l, err := acquireModel(ctx, modelKey{dir: modelDir})
	if err != nil {
		return nil, err
	}
	defer releaseModel(modelKey{dir: modelDir}, l)
	src.Shape = l.m.InputShape()
	src.Spec.Features, src.Spec.Label = l.m.Config().Data.Features, l.m.Config().Data.Label
	if len(features) > 0 {
		src.Spec.Features = features
	}
	return src, nil
}

// gmmStart adds the start of the EM run: k-means++ on the sample (seeded
// as the gmm clusterer's first run), the Lloyd steps of --init kmeans, the
// hard responsibilities of the nearest centre summed by one combine, and
// the initial M-step.
func gmmStart(s beam.Scope, blocks, moments beam.PCollection, opt GMMOptions, diag bool) beam.PCollection {
	seed := gmm.RestartSeed(opt.Seed, 0)
	cents := seedCentroids(s, blocks, opt.K, opt.Sample, seed)
	if opt.Init == gmm.InitKMeans {
		cents = beam.ParDo(s, &tolFn{Tol: 1e-4}, cents, beam.SideInput{Input: moments})
		for range opt.KMeansIters {
			cents = lloydStep(s, blocks, cents)
		}
	}
	s = s.Scope("gmm-start")
	hard := beam.ParDo(s, &hardStatsFn{Diag: diag}, blocks, beam.SideInput{Input: cents})
	total := beam.Combine(s, &gmmCombineFn{}, beam.Flatten(s, hard, beam.Create(s, gmm.Stats{})))
	return beam.ParDo(s, &gmmStartFn{Reg: opt.Reg}, total)
}

// emStep chains one EM iteration: the E-step statistics of every block
// under the parameters (a side input read once per bundle), one global
// combine, and the M-step.
func emStep(s beam.Scope, blocks, params beam.PCollection, reg, tol float64) beam.PCollection {
	s = s.Scope("em")
	stats := beam.ParDo(s, &emStatsFn{}, blocks, beam.SideInput{Input: params})
	total := beam.Combine(s, &gmmCombineFn{}, beam.Flatten(s, stats, beam.Create(s, gmm.Stats{})))
	return beam.ParDo(s, &emUpdateFn{Reg: reg, Tol: tol}, params, beam.SideInput{Input: total})
}

// hardStatsFn sums a block's rows with the hard responsibilities of their
// nearest centre (float64 distances term by term, ties to the lower
// index, as the gmm clusterer labels its k-means++ start), about the
// centres.
type hardStatsFn struct {
	Diag bool
	c    Centroids
}

// StartBundle reads the centres once per bundle.
func (f *hardStatsFn) StartBundle(c func(*Centroids) bool, _ func(gmm.Stats)) { c(&f.c) }

// ProcessElement emits the block's hard statistics.
func (f *hardStatsFn) ProcessElement(b Block, _ func(*Centroids) bool, emit func(gmm.Stats)) error {
	c := f.c
	if b.D != c.D {
		return taggedf("gmm: rows of width %d, centres of width %d", b.D, c.D)
	}
	labels := make([]int32, len(b.Rows))
	for i := range b.Rows {
		j, _ := nearest(b.Z[i*b.D:(i+1)*b.D], c.C, c.K)
		labels[i] = int32(j)
	}
	st := gmm.NewStats(c.K, c.D, f.Diag, c.C)
	if err := gmm.AddHard(b.Z, labels, &st); err != nil {
		return taggedf("gmm start, rows from %d: %v", firstRow(b), err)
	}
	emit(st)
	return nil
}

func firstRow(b Block) int64 {
	if len(b.Rows) == 0 {
		return 0
	}
	return b.Rows[0]
}

// emStatsFn is the E-step of a block: the responsibilities under the
// parameters and the shifted moments they weigh.
type emStatsFn struct {
	st  GMMState
	e   *gmm.EStep
	err error
}

// StartBundle reads the parameters and factors their covariances once per
// bundle.
func (f *emStatsFn) StartBundle(p func(*GMMState) bool, _ func(gmm.Stats)) {
	f.st = GMMState{}
	p(&f.st)
	f.e, f.err = nil, nil
	if !f.st.Converged {
		f.e, f.err = gmm.NewEStep(f.st.params())
	}
}

// ProcessElement emits the block's statistics (nothing once EM has
// converged).
func (f *emStatsFn) ProcessElement(b Block, _ func(*GMMState) bool, emit func(gmm.Stats)) error {
	switch {
	case f.st.Converged:
		return nil
	case f.err != nil:
		return taggedf("gmm E-step: %v", f.err)
	case b.D != f.st.Dim:
		return taggedf("gmm: rows of width %d, components of width %d", b.D, f.st.Dim)
	}
	st := f.e.NewStats()
	if err := f.e.Add(b.Z, len(b.Rows), &st); err != nil {
		return taggedf("gmm E-step, block of rows from %d (shard %d): %v", firstRow(b), b.Shard, err)
	}
	emit(st)
	return nil
}

// gmmCombineFn adds statistics.
type gmmCombineFn struct{}

// CreateAccumulator starts empty statistics.
func (gmmCombineFn) CreateAccumulator() gmm.Stats { return gmm.Stats{} }

// AddInput adds one block's statistics.
func (gmmCombineFn) AddInput(a, b gmm.Stats) (gmm.Stats, error) { return mergeGMM(a, b) }

// MergeAccumulators merges two partial statistics.
func (gmmCombineFn) MergeAccumulators(a, b gmm.Stats) (gmm.Stats, error) { return mergeGMM(a, b) }

// ExtractOutput returns the merged statistics.
func (gmmCombineFn) ExtractOutput(a gmm.Stats) gmm.Stats { return a }

// mergeGMM adds b to a copy of a.
func mergeGMM(a, b gmm.Stats) (gmm.Stats, error) {
	var out gmm.Stats
	if err := out.Merge(a); err != nil {
		return gmm.Stats{}, err
	}
	if err := out.Merge(b); err != nil {
		return gmm.Stats{}, taggedf("%v", err)
	}
	return out, nil
}

// gmmStartFn turns the hard statistics into the initial parameters (one
// M-step with π_j = n_j/N).
type gmmStartFn struct {
	Reg float64
}

// ProcessElement computes the initial parameters.
func (f *gmmStartFn) ProcessElement(st gmm.Stats) (GMMState, error) {
	p, err := gmm.MStep(st, f.Reg, true)
	if err != nil {
		return GMMState{}, taggedf("gmm start: %v", err)
	}
	return stateOf(p), nil
}

// emUpdateFn is the M-step of an iteration: the next parameters from the
// merged statistics, and the convergence test on the lower bound.
type emUpdateFn struct {
	Reg, Tol float64
}

// ProcessElement computes the next state from the previous one (main
// input) and the iteration's statistics (side input).
func (f *emUpdateFn) ProcessElement(prev GMMState, stats func(*gmm.Stats) bool) (GMMState, error) {
	var st gmm.Stats
	stats(&st)
	if prev.Converged || st.K == 0 {
		return prev, nil
	}
	p, err := gmm.MStep(st, f.Reg, false)
	if err != nil {
		return GMMState{}, taggedf("gmm M-step %d: %v", len(prev.LowerBounds)+1, err)
	}
	next := stateOf(p)
	lb, last := st.LogLik/float64(st.N), math.Inf(-1)
	if n := len(prev.LowerBounds); n > 0 {
		last = prev.LowerBounds[n-1]
	}
	next.LowerBounds = append(slices.Clone(prev.LowerBounds), lb)
	next.Converged = math.Abs(lb-last) < f.Tol
	return next, nil
}

// gmmOutFn writes gmm.json and gmm.state.
type gmmOutFn struct {
	Dir        string
	Covariance string
	Runner     string
	Start      int64
}

// ProcessElement writes the result.
func (f *gmmOutFn) ProcessElement(ctx context.Context, s GMMState, moments func(*Moments) bool) error {
	var m Moments
	moments(&m)
	state, err := s.params().State()
	if err != nil {
		return taggedf("gmm: final parameters: %v", err)
	}
	path := joinPath(f.Dir, GMMStateFile)
	if err := writeBytes(ctx, path, state); err != nil {
		return taggedf("writing %s: %v", path, err)
	}
	r := GMMResult{K: s.K, D: s.Dim, Covariance: f.Covariance, Weights: s.Weights, Means: s.Means, Cov: s.Cov,
		Iterations: len(s.LowerBounds), LowerBounds: s.LowerBounds, Converged: s.Converged, Rows: m.N,
		Seconds: time.Since(time.Unix(0, f.Start)).Seconds(), Runner: f.Runner}
	path = joinPath(f.Dir, GMMFile)
	if err := writeJSON(ctx, path, r); err != nil {
		return taggedf("writing %s: %v", path, err)
	}
	return nil
}

// writeBytes writes b through the path's storage (atomically on local
// disks).
func writeBytes(ctx context.Context, path string, b []byte) error {
	st, err := storageFor(path)
	if err != nil {
		return err
	}
	w, err := st.Create(ctx, path)
	if err != nil {
		return err
	}
	if _, err := w.Write(b); err != nil {
		abortWrite(w)
		return err
	}
	return w.Close()
}

// readFile reads a whole file through the path's storage.
func readFile(ctx context.Context, path string) ([]byte, error) {
	st, err := storageFor(path)
	if err != nil {
		return nil, err
	}
	r, err := st.Open(ctx, path)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	return b, nil
}
