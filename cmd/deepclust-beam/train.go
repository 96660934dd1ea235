package main

import (
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/apache/beam/sdks/v2/go/pkg/beam"

	"github.com/deepclust/deepclust/config"
	"github.com/deepclust/deepclust/dataset"
	"github.com/deepclust/deepclust/encoders/mlp"
	"github.com/deepclust/deepclust/model"
	"github.com/deepclust/deepclust/pipeline"
	"github.com/deepclust/deepclust/sdk"
)

// TrainOptions are the inputs of a distributed training by model
// averaging.
type TrainOptions struct {
	// Config is a deepclust config file; Data the Parquet lake (it
	// replaces the config's data.path).
	Config, Data string
	// Epochs is the number of model-averaging epochs of the first stage's
	// pretraining (0: the config's pretrain_epochs).
	Epochs int
	// Workers is the number of model replicas: the input's row-group
	// shards are dealt round-robin to them.
	Workers int
	// Out is the output directory: model/ (what deepclust predict loads)
	// and metrics.json, committed when everything succeeded.
	Out string
	// Staging, when set, is where the epochs' averaged weights go (a
	// directory every worker reaches, e.g. on GCS); by default beside Out.
	Staging string
	// LRScale multiplies the first stage's learning rate on the replicas
	// (0 or 1: the config's rate). Averaging W replicas that each take
	// 1/W of an epoch's steps acts like a W-times larger batch; scaling
	// the rate is the usual compensation (linear: W for SGD, Goyal et
	// al. 2017; √W for Adam, Malladi et al. 2022).
	LRScale float64
	// ReplicaBatch is the replicas' batch size in the first stage's
	// pretraining (0: the config's batch_size / Workers, at least 1, which
	// keeps the steps per epoch and the rows per averaged step those of
	// one machine).
	ReplicaBatch int
	// Rounds is the number of averaging rounds per epoch (0 or 1: once,
	// at the end of the epoch). In each round every replica trains on
	// 1/Rounds of its rows (a random part, drawn afresh each epoch), then
	// the replicas' states are averaged: local SGD with fewer local steps
	// between averages (Stich 2019; Lin et al. 2020). The rounds of an
	// epoch are chained in one job.
	Rounds int
	Runner string
}

func trainFlags(fs *flag.FlagSet) *TrainOptions {
	opt := &TrainOptions{}
	fs.StringVar(&opt.Config, "config", "", "deepclust config file (the same as deepclust run's)")
	fs.StringVar(&opt.Data, "data", "", "Parquet file or directory of Parquet files (Hive partitions too); replaces data.path")
	fs.IntVar(&opt.Epochs, "epochs", 0, "model-averaging epochs of the first stage's pretraining (default: its pretrain_epochs)")
	fs.IntVar(&opt.Workers, "workers", 4, "model replicas, each training an epoch on its share of the row groups")
	fs.StringVar(&opt.Out, "out", "", "output directory (local): model/ and metrics.json, committed when training succeeded")
	fs.Float64Var(&opt.LRScale, "lr-scale", 1, "multiplies the first stage's encoder lr on the replicas (model averaging acts like a --workers times larger batch; see docs/scale.md)")
	fs.IntVar(&opt.ReplicaBatch, "replica-batch", 0, "the replicas' batch size in the first stage's pretraining (default: its batch_size / --workers, which keeps one machine's steps per epoch)")
	fs.IntVar(&opt.Rounds, "rounds", defaultRounds, "averaging rounds per epoch: each replica trains on 1/rounds of its rows, then the states are averaged (see docs/scale.md)")
	fs.StringVar(&opt.Staging, "staging", "", "directory every worker reaches for the epochs' averaged weights, e.g. gs://BUCKET/tmp (default: beside --out)")
	return opt
}

// defaultRounds is --rounds' default (see docs/scale.md for the
// measurements that chose it).
const defaultRounds = 4

// TrainMetrics is the content of metrics.json of train.
type TrainMetrics struct {
	Epochs, Workers int
	// Rounds is the number of averaging rounds per epoch; ReplicaBatch
	// the replicas' batch size.
	Rounds, ReplicaBatch int
	// WorkerRows are the rows of each replica (in an epoch).
	WorkerRows []int64
	// Losses is the sample-weighted mean over replicas of each epoch's
	// mean pretraining loss.
	Losses []float64
	// Seconds: "averaging" the Beam job (all epochs), "driver" the rest of
	// the training on the driver (later stages, clusterer), "total".
	Seconds map[string]float64
	// Report is the driver's model.Fit report: every stage with its
	// k-means scores when the data are labelled.
	Report model.Report
	Runner string
}

// WorkerState is one replica's encoder state after an epoch, with its
// number of rows and its epoch's mean loss.
type WorkerState struct {
	Worker int
	Rows   int64
	Loss   float64
	State  []byte
}

// TrainWeights are the broadcast weights (the encoder state that starts
// an epoch; nil for the encoder's own initialisation) or a round's
// average, with the round's mean loss and the replicas' rows.
type TrainWeights struct {
	State  []byte
	Losses []float64
	Rows   []int64
}

// Replicas is the accumulator of the averaging: the replicas' states as
// they came, not yet summed, in ascending worker order. ExtractOutput
// sums them in that order, so the average is the same, bit for bit,
// whatever order and merge tree the runner combines them in (float64
// addition is not associative). The price is memory: the combining
// worker holds every replica's state of the round at once (W × the
// state, e.g. 40 MB per replica for N2D's autoencoder with Adam's
// moments).
type Replicas struct {
	States []WorkerState
}

func init() {
	for _, v := range []any{WorkerState{}, TrainWeights{}, Replicas{}, RoundLoss{}, keyWorkerFn{}, readWeightsFn{}, localEpochFn{}, averageFn{}, roundLossFn{}, epochOutFn{}} {
		beam.RegisterType(reflect.TypeOf(v))
	}
	beam.RegisterCoder(reflect.TypeOf(Replicas{}), encodeReplicas, decodeReplicas)
}

// Train trains the config's first stage by model averaging on the lake,
// then the rest of the model on the driver, and commits the model and
// metrics.json to opt.Out.
func Train(ctx context.Context, opt TrainOptions, stdout, stderr io.Writer) error {
	start := time.Now()
	switch {
	case opt.Config == "" || opt.Data == "" || opt.Out == "":
		return fmt.Errorf("%w: train needs --config, --data and --out", errUsage)
	case opt.Epochs < 0 || opt.Workers < 1:
		return fmt.Errorf("%w: train needs --epochs ≥ 0 and --workers ≥ 1", errUsage)
	case opt.LRScale < 0 || math.IsNaN(opt.LRScale) || math.IsInf(opt.LRScale, 0):
		return fmt.Errorf("%w: train needs a finite --lr-scale ≥ 0 (0 means 1), not %g", errUsage, opt.LRScale)
	case opt.ReplicaBatch < 0:
		return fmt.Errorf("%w: train needs --replica-batch ≥ 0, not %d", errUsage, opt.ReplicaBatch)
	case opt.Rounds < 0:
		return fmt.Errorf("%w: train needs --rounds ≥ 0, not %d", errUsage, opt.Rounds)
	case strings.Contains(opt.Out, "://"):
		return fmt.Errorf("%w: train writes the model to a local --out, not %s", errUsage, opt.Out)
	}
	cfg, err := config.Load(config.Options{File: opt.Config, NoEnv: true})
	if err != nil {
		return err
	}
	cfg.Data.Path, cfg.Data.Format = opt.Data, "parquet"
	st := &cfg.Stages[0]
	switch kind, err := model.ScaleKind(cfg.Data); {
	case err != nil:
		return err
	case kind != dataset.ScaleNone:
		return fmt.Errorf("train: data.scale resolves to %s; model averaging needs data.scale: none (workers cannot share a scaling fitted on all rows; scale the lake beforehand)", kind)
	case st.Encoder.Plugin != "mlp" || st.Encoder.Path != "":
		return fmt.Errorf("train: the first stage's encoder is %q; model averaging supports the mlp encoder", st.Encoder.Label())
	case st.Train.PretrainEpochs == 0 && opt.Epochs == 0:
		return fmt.Errorf("train: the first stage has no pretraining epochs to distribute (set --epochs)")
	}
	if opt.Epochs > 0 {
		st.Train.PretrainEpochs = opt.Epochs
	}
	epochs := st.Train.PretrainEpochs
	rounds := max(opt.Rounds, 1)
	// Progress on stderr, unless the config turns it off: a line per
	// epoch (one Beam job each), then the driver's stage lines.
	logw := stderr
	if cfg.Progress == "off" {
		logw = io.Discard
	}
	replicaBatch := opt.ReplicaBatch
	if replicaBatch == 0 {
		replicaBatch = max(st.Train.BatchSize/opt.Workers, 1)
	}
	m, err := model.New(ctx, cfg, model.Options{})
	if err != nil {
		return err
	}
	var yaml bytes.Buffer
	rcfg, err := replicaConfig(m.Config(), opt.LRScale, replicaBatch, rounds)
	if err == nil {
		err = config.Write(&yaml, rcfg, m.Descriptions(), false)
	}
	if err != nil {
		m.Close()
		return err
	}
	in, err := listInput(ctx, opt.Data, "")
	if err != nil {
		m.Close()
		return err
	}
	stage, err := newStage(ctx, opt.Out)
	if err != nil {
		return err
	}
	defer stage.abort(context.WithoutCancel(ctx))
	src := &embedFn{Spec: columnSpec{Features: cfg.Data.Features, Label: cfg.Data.Label, Keys: in.Keys, Nulls: cfg.Data.Nulls}, BatchRows: defaultBatchRows}
	// The epochs' averaged weights go to a work directory the workers
	// reach: beside --out, or under --staging (e.g. on GCS).
	work, err := trainWork(ctx, opt, stage)
	if err != nil {
		return err
	}
	defer work.st.RemoveAll(context.WithoutCancel(ctx), work.dir)
	// The initial weights: the encoder's own initialisation for the
	// config's seed, as deepclust run starts, for rows of the input's width.
	width, err := inputWidth(ctx, src, in)
	if err == nil {
		var init []byte
		if init, _, err = m.PretrainStage(ctx, 0, pipeline.Data{X: sdk.NewTensor(1, width)}, nil, 0, 0, 0); err == nil {
			err = writeBytes(ctx, joinPath(work.dir, "epoch0.state"), init)
		}
	}
	m.Close()
	if err != nil {
		return fmt.Errorf("train: initial weights: %w", err)
	}
	// One job per epoch (a driver loop): Prism keeps every PCollection of
	// a job in memory, and an epoch moves a few encoder states per round.
	// The rounds of an epoch are chained in its job, each round's average
	// the next one's side input.
	var tw TrainWeights
	statePath := joinPath(work.dir, "epoch0.state")
	for e := range epochs {
		p, s := beam.NewPipelineWithRoot()
		out := joinPath(work.dir, fmt.Sprintf("epoch%d", e+1))
		err := build(func() {
			parts := beam.GroupByKey(s, beam.ParDo(s, &keyWorkerFn{Workers: opt.Workers}, buildShards(s, in)))
			weights := beam.ParDo(s, &readWeightsFn{Path: statePath}, beam.Impulse(s))
			var losses []beam.PCollection
			for r := range rounds {
				states := beam.ParDo(s, &localEpochFn{Config: yaml.String(), Epoch: e, Round: r, Rounds: rounds, Seed: cfg.Seed, Src: *src},
					parts, beam.SideInput{Input: weights})
				weights = beam.Combine(s, &averageFn{}, states)
				losses = append(losses, beam.ParDo(s, &roundLossFn{Round: r}, weights))
			}
			beam.ParDo0(s, &epochOutFn{Path: out}, weights, beam.SideInput{Input: beam.Flatten(s, losses...)})
		})
		if err != nil {
			return err
		}
		if err := runPipeline(ctx, opt.Runner, p); err != nil {
			return err
		}
		var ew TrainWeights
		if err := readJSONFile(ctx, out+".json", &ew); err != nil {
			return err
		}
		for _, f := range []string{statePath, out + ".json"} {
			if err := work.st.RemoveAll(ctx, f); err != nil {
				return fmt.Errorf("train: removing %s: %w", f, err)
			}
		}
		statePath = out + ".state"
		tw.Losses, tw.Rows = append(tw.Losses, ew.Losses...), ew.Rows
		done := time.Since(start)
		eta := time.Duration(float64(done) / float64(e+1) * float64(epochs-e-1))
		loss := math.NaN()
		if len(ew.Losses) > 0 {
			loss = ew.Losses[len(ew.Losses)-1]
		}
		fmt.Fprintf(logw, "train: epoch %d/%d: loss %.5g (the replicas' mean), elapsed %s, ETA %s (the averaging; the driver's part follows)\n",
			e+1, epochs, loss, done.Round(time.Second), eta.Round(time.Second))
	}
	averaged := time.Since(start)
	state, err := readFile(ctx, statePath)
	if err != nil {
		return err
	}
	if err := stage.remove(ctx, AssignmentsDir); err != nil {
		return err
	}
	// The rest on the driver: the first stage's weights are the averaged
	// ones; cluster init, joint training and later stages run as in
	// deepclust run.
	begin := time.Now()
	m, err = model.New(ctx, cfg, model.Options{Log: logw})
	if err != nil {
		return err
	}
	defer m.Close()
	if err := m.SetPretrained(0, state); err != nil {
		return err
	}
	// Streamed: the driver reads the lake in passes, in bounded memory.
	cfg.Data.Stream = true
	data, _, err := model.OpenData(ctx, cfg.Data)
	if err != nil {
		return err
	}
	res, err := m.Fit(ctx, data)
	if err != nil {
		return err
	}
	if err := m.Save(ctx, stage.path(trainModelDir)); err != nil {
		return err
	}
	met := TrainMetrics{Epochs: epochs, Workers: opt.Workers, Rounds: rounds, ReplicaBatch: replicaBatch, WorkerRows: tw.Rows, Losses: tw.Losses, Report: res.Report, Runner: opt.Runner,
		Seconds: map[string]float64{"averaging": averaged.Seconds(), "driver": time.Since(begin).Seconds(), "total": time.Since(start).Seconds()}}
	if err := writeJSON(ctx, stage.path(MetricsFile), met); err != nil {
		return err
	}
	// The epochs' weights are no part of the output.
	if err := work.st.RemoveAll(ctx, work.dir); err != nil {
		return fmt.Errorf("train: removing %s: %w", work.dir, err)
	}
	if err := stage.commit(ctx); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "train: %d epochs on %d workers (%d rounds per epoch, batches of %d), loss %s", epochs, opt.Workers, rounds, replicaBatch, lossList(tw.Losses))
	if sc := res.Report.Stages; len(sc) > 0 && sc[0].Scores != nil {
		fmt.Fprintf(stdout, ", k-means on the first stage's codes ACC %.4f", sc[0].Scores.ACC)
	}
	if s := res.Report.Scores; s != nil {
		fmt.Fprintf(stdout, ", clusters ACC %.4f NMI %.4f", s.ACC, s.NMI)
	}
	fmt.Fprintf(stdout, "  %.1f s  -> %s\n", time.Since(start).Seconds(), opt.Out)
	return nil
}

// replicaConfig is the config the replicas train with: cfg with the
// first stage's encoder lr multiplied by scale, when batch > 0 its batch
// size set to batch, and its pretraining epochs multiplied by rounds (a
// round is one pretraining "epoch" of a replica over its part of the
// rows, so that a decaying learning rate follows the rounds); cfg itself
// unchanged: the driver's later training keeps the config's.
func replicaConfig(cfg *config.Config, scale float64, batch, rounds int) (*config.Config, error) {
	if scale == 0 {
		scale = 1
	}
	rounds = max(rounds, 1)
	if scale == 1 && batch == 0 && rounds == 1 {
		return cfg, nil
	}
	out := *cfg
	out.Stages = slices.Clone(cfg.Stages)
	if batch > 0 {
		out.Stages[0].Train.BatchSize = batch
	}
	out.Stages[0].Train.PretrainEpochs *= rounds
	if scale != 1 {
		enc := &out.Stages[0].Encoder
		lr, ok := enc.Config["lr"].(float64)
		if !ok {
			return nil, fmt.Errorf("train: --lr-scale: the first stage's encoder has no numeric lr (%T)", enc.Config["lr"])
		}
		enc.Config = maps.Clone(enc.Config)
		enc.Config["lr"] = lr * scale
	}
	return &out, nil
}

// workDir is a directory of train's epoch files and its storage.
type workDir struct {
	st  Storage
	dir string
}

// trainWork makes the directory of the epochs' averaged weights: in the
// staging directory beside --out, or a new one under --staging.
func trainWork(ctx context.Context, opt TrainOptions, stage *stage) (workDir, error) {
	if opt.Staging == "" {
		w := workDir{st: stage.st, dir: stage.path("epochs")}
		return w, w.st.MkdirAll(ctx, w.dir)
	}
	st, err := storageFor(opt.Staging)
	if err != nil {
		return workDir{}, err
	}
	w := workDir{st: st, dir: joinPath(opt.Staging, "deepclust-beam-train-"+randomSuffix())}
	if err := st.MkdirAll(ctx, w.dir); err != nil {
		return workDir{}, fmt.Errorf("--staging %s: %w", opt.Staging, err)
	}
	return w, nil
}

// trainModelDir is the model folder inside train's output directory.
const trainModelDir = "model"

func lossList(l []float64) string {
	if len(l) == 0 {
		return "-"
	}
	return fmt.Sprintf("%.5g → %.5g", l[0], l[len(l)-1])
}

// keyWorkerFn deals the row-group shards to the replicas: shard i goes to
// replica i mod Workers.
type keyWorkerFn struct {
	Workers int
}

// ProcessElement keys a shard by its replica.
func (f *keyWorkerFn) ProcessElement(sh Shard) (int, Shard) {
	return sh.Index % f.Workers, sh
}

// replica is a model built from the resolved config, on a worker.
type replica struct {
	m *model.Model
}

// open builds the model from the config text.
func (r *replica) open(ctx context.Context, text string) error {
	dir, err := os.MkdirTemp("", "deepclust-beam-config-")
	if err != nil {
		return taggedf("train: %v", err)
	}
	defer os.RemoveAll(dir)
	file := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(file, []byte(text), 0o644); err != nil {
		return taggedf("train: %v", err)
	}
	cfg, err := config.Load(config.Options{File: file, NoEnv: true})
	if err != nil {
		return taggedf("train: the config: %v", err)
	}
	if r.m, err = model.New(ctx, cfg, model.Options{}); err != nil {
		return taggedf("train: %v", err)
	}
	return nil
}

func (r *replica) close() {
	if r.m != nil {
		r.m.Close()
		r.m = nil
	}
}

// readWeightsFn reads the weights an epoch starts from (the previous
// epoch's average, or the initial weights), to broadcast them as a side
// input.
type readWeightsFn struct {
	Path string
}

// ProcessElement reads the state file.
func (f *readWeightsFn) ProcessElement(ctx context.Context, _ []byte) (TrainWeights, error) {
	b, err := readFile(ctx, f.Path)
	if err != nil {
		return TrainWeights{}, taggedf("train: reading the weights: %v", err)
	}
	return TrainWeights{State: b}, nil
}

// inputWidth is the number of features per row: that of the first rows
// of the input (read on the driver, one row group).
func inputWidth(ctx context.Context, src *embedFn, in *Input) (int, error) {
	for _, f := range in.Files {
		pf, err := openParquet(ctx, f.Path, src.BatchRows, memory.DefaultAllocator)
		if err != nil {
			return 0, fmt.Errorf("reading %s: %w", f.Path, err)
		}
		groups := pf.rowGroups()
		pf.Close()
		for g, n := range groups {
			if n == 0 {
				continue
			}
			width := 0
			err := src.ProcessElement(ctx, Shard{File: f, RowGroup: g, Rows: n}, func(b Block) { width = max(width, b.D) })
			if err != nil {
				// A DoFn's error, here called on the driver.
				if msg := err.Error(); strings.HasPrefix(msg, tagOpen) {
					err = errors.New(strings.TrimSuffix(strings.TrimPrefix(msg, tagOpen), tagClose))
				}
				return 0, err
			}
			if width > 0 {
				return width, nil
			}
		}
	}
	return 0, fmt.Errorf("reading %s: no rows", in.Path)
}

// localEpochFn trains one replica for one round of an epoch from the
// broadcast weights (a side input read once per bundle).
type localEpochFn struct {
	Config string
	Epoch  int
	// Round is the round of the epoch, of Rounds (0 means 1).
	Round, Rounds int
	Seed          uint64
	// Src reads a shard's rows.
	Src embedFn

	r replica
	w TrainWeights
}

// Setup builds the model.
func (f *localEpochFn) Setup(ctx context.Context) error { return f.r.open(ctx, f.Config) }

// Teardown closes it.
func (f *localEpochFn) Teardown() { f.r.close() }

// StartBundle reads the weights.
func (f *localEpochFn) StartBundle(w func(*TrainWeights) bool, _ func(WorkerState)) {
	f.w = TrainWeights{}
	w(&f.w)
}

// ProcessElement reads the replica's shards (in input order, into
// memory), keeps the round's part of the rows (roundRows) and trains it
// for one pass: the batches are drawn from a seed of the config's seed,
// the round's index over the whole training (Epoch × Rounds + Round) and
// the replica.
func (f *localEpochFn) ProcessElement(ctx context.Context, worker int, shards func(*Shard) bool, _ func(*TrainWeights) bool, emit func(WorkerState)) error {
	var list []Shard
	var sh Shard
	for shards(&sh) {
		list = append(list, sh)
	}
	slices.SortFunc(list, func(a, b Shard) int { return cmp.Compare(a.Index, b.Index) })
	var b Block
	for _, sh := range list {
		err := f.Src.ProcessElement(ctx, sh, func(x Block) {
			if b.D == 0 {
				b.D = x.D
			}
			b.Rows, b.Z = append(b.Rows, x.Rows...), append(b.Z, x.Z...)
		})
		if err != nil {
			return err
		}
		if len(b.Z) != len(b.Rows)*b.D {
			return taggedf("train: %s: rows of another width than the replica's first (%d)", sh.File.Path, b.D)
		}
	}
	rounds := max(f.Rounds, 1)
	if rounds > 1 {
		keep := roundRows(len(b.Rows), rounds, f.Round, splitMix(f.Seed^splitMix(uint64(f.Epoch)<<32|uint64(worker)))^roundSalt)
		z := make([]float32, 0, len(keep)*b.D)
		for _, i := range keep {
			z = append(z, b.Z[i*b.D:(i+1)*b.D]...)
		}
		b.Rows, b.Z = make([]int64, len(keep)), z
	}
	if len(b.Rows) == 0 {
		return nil
	}
	x := sdk.Tensor{Shape: []int{len(b.Rows), b.D}, Data: b.Z}
	k := f.Epoch*rounds + f.Round
	seed := splitMix(f.Seed ^ splitMix(uint64(k)<<32|uint64(worker)))
	state, hist, err := f.r.m.PretrainStage(ctx, 0, pipeline.Data{X: x}, f.w.State, k, k+1, seed)
	if err != nil {
		return taggedf("train: epoch %d, round %d, worker %d: %v", f.Epoch+1, f.Round+1, worker, err)
	}
	loss := math.NaN()
	if len(hist) > 0 {
		loss = hist[0]
	}
	emit(WorkerState{Worker: worker, Rows: int64(len(b.Rows)), Loss: loss, State: state})
	return nil
}

// roundSalt separates the seed of an epoch's split of a replica's rows
// into rounds from its batches' seeds.
const roundSalt = 0x726f756e6473 // "rounds"

// roundRows are the indices, ascending, of the rows of round r of rounds
// among a replica's n rows: a permutation of 0..n-1 drawn with math/rand/v2's
// PCG seeded (seed, 0) is cut into rounds consecutive parts, part r
// holding the permuted positions [r·n/rounds, (r+1)·n/rounds).
func roundRows(n, rounds, r int, seed uint64) []int {
	perm := rand.New(rand.NewPCG(seed, 0)).Perm(n)
	keep := perm[r*n/rounds : (r+1)*n/rounds]
	slices.Sort(keep)
	return keep
}

// RoundLoss is one round's sample-weighted mean loss and the rows each
// replica trained in it.
type RoundLoss struct {
	Round int
	Loss  float64
	Rows  []int64
}

// roundLossFn takes a round's loss and rows from its average.
type roundLossFn struct {
	Round int
}

// ProcessElement drops the state.
func (f *roundLossFn) ProcessElement(w TrainWeights) RoundLoss {
	return RoundLoss{Round: f.Round, Loss: w.Losses[0], Rows: w.Rows}
}

// averageFn averages the replicas' encoder states weighted by their rows
// (FedAvg): parameters and Adam's moments (or SGD's momentum) alike, each
// the float64 sum from 0 of rows × value in ascending worker order,
// divided by the rows and rounded to float32; the step counts are the
// largest; the loss is the rows-weighted mean, summed in the same order.
// The accumulator keeps the states unsummed (Replicas), so that the
// result does not depend on the runner's order of combining.
type averageFn struct{}

// CreateAccumulator starts an empty set of replicas.
func (averageFn) CreateAccumulator() Replicas { return Replicas{} }

// AddInput adds one replica.
func (averageFn) AddInput(a Replicas, s WorkerState) (Replicas, error) {
	if s.Worker < 0 {
		return Replicas{}, taggedf("train: a state of worker %d", s.Worker)
	}
	if _, err := mlp.ReadWeights(s.State); err != nil {
		return Replicas{}, taggedf("train: worker %d: %v", s.Worker, err)
	}
	return mergeReplicas(a, Replicas{States: []WorkerState{s}})
}

// MergeAccumulators joins two sets of replicas.
func (averageFn) MergeAccumulators(a, b Replicas) (Replicas, error) { return mergeReplicas(a, b) }

// ExtractOutput sums the replicas in ascending worker order, divides by
// the rows and writes the mean into the lowest-numbered replica's state
// (a single replica's state is its own mean).
func (averageFn) ExtractOutput(a Replicas) (TrainWeights, error) {
	var rows int64
	var lossSum float64
	for _, s := range a.States {
		rows += s.Rows
		lossSum += float64(s.Rows) * s.Loss
	}
	if rows == 0 {
		return TrainWeights{}, taggedf("train: no replica trained")
	}
	n := float64(rows)
	out := TrainWeights{State: a.States[0].State, Losses: []float64{lossSum / n}, Rows: make([]int64, a.States[len(a.States)-1].Worker+1)}
	for _, s := range a.States {
		out.Rows[s.Worker] = s.Rows
	}
	if len(a.States) == 1 {
		return out, nil
	}
	// One replica decoded at a time, added into the float64 sums.
	var params []float64
	var slots [][]float64
	var sum mlp.Weights
	for k, s := range a.States {
		w, err := mlp.ReadWeights(s.State)
		if err != nil {
			return TrainWeights{}, taggedf("train: worker %d: %v", s.Worker, err)
		}
		if k == 0 {
			sum = mlp.Weights{Steps: w.Steps, Adam: w.Adam}
			params, slots = make([]float64, len(w.Params)), make([][]float64, len(w.Slots))
			for j := range slots {
				slots[j] = make([]float64, len(w.Params))
			}
		}
		if len(w.Params) != len(params) || len(w.Slots) != len(slots) || w.Adam != sum.Adam {
			return TrainWeights{}, taggedf("train: replicas with different networks or optimisers (workers %d and %d)", a.States[0].Worker, s.Worker)
		}
		sum.Steps = [2]uint64{max(sum.Steps[0], w.Steps[0]), max(sum.Steps[1], w.Steps[1])}
		r := float64(s.Rows)
		addScaled(params, w.Params, r)
		for j, sl := range w.Slots {
			if len(sl) != len(params) {
				return TrainWeights{}, taggedf("train: worker %d: an optimiser slot of %d values for %d parameters", s.Worker, len(sl), len(params))
			}
			addScaled(slots[j], sl, r)
		}
	}
	sum.Params = mean32(params, n)
	for _, sl := range slots {
		sum.Slots = append(sum.Slots, mean32(sl, n))
	}
	state, err := mlp.WriteWeights(out.State, sum)
	if err != nil {
		return TrainWeights{}, taggedf("train: averaging: %v", err)
	}
	out.State = state
	return out, nil
}

// addScaled adds r × v to sum, element by element.
func addScaled(sum []float64, v []float32, r float64) {
	for i, x := range v {
		sum[i] += r * float64(x)
	}
}

func mean32(v []float64, n float64) []float32 {
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = float32(x / n)
	}
	return out
}

// mergeReplicas joins two sets of replicas, each in ascending worker
// order, into one (either may be empty); a worker in both is an error.
func mergeReplicas(a, b Replicas) (Replicas, error) {
	if len(a.States) == 0 {
		return b, nil
	}
	if len(b.States) == 0 {
		return a, nil
	}
	out := Replicas{States: make([]WorkerState, 0, len(a.States)+len(b.States))}
	i, j := 0, 0
	for i < len(a.States) || j < len(b.States) {
		switch {
		case j == len(b.States) || i < len(a.States) && a.States[i].Worker < b.States[j].Worker:
			out.States = append(out.States, a.States[i])
			i++
		case i == len(a.States) || b.States[j].Worker < a.States[i].Worker:
			out.States = append(out.States, b.States[j])
			j++
		default:
			return Replicas{}, taggedf("train: worker %d's state came twice to the averaging", a.States[i].Worker)
		}
	}
	return out, nil
}

// epochOutFn writes an epoch's averaged weights (its last round's,
// Path.state) and its mean loss and replica rows (Path.json): the loss is
// the rounds' losses weighted by their rows, the rows summed over the
// rounds.
type epochOutFn struct {
	Path string
}

// ProcessElement writes the two files.
func (f *epochOutFn) ProcessElement(ctx context.Context, w TrainWeights, rounds func(*RoundLoss) bool) error {
	var list []RoundLoss
	var rl RoundLoss
	for rounds(&rl) {
		list = append(list, rl)
	}
	// In round order, so that the sum is the same in every run.
	slices.SortFunc(list, func(a, b RoundLoss) int { return cmp.Compare(a.Round, b.Round) })
	out := TrainWeights{Losses: w.Losses, Rows: w.Rows}
	if len(list) > 1 {
		var sum, n float64
		out.Rows = nil
		for _, r := range list {
			var m int64
			for i, v := range r.Rows {
				if i >= len(out.Rows) {
					out.Rows = append(out.Rows, 0)
				}
				out.Rows[i] += v
				m += v
			}
			sum += r.Loss * float64(m)
			n += float64(m)
		}
		out.Losses = []float64{sum / n}
	}
	if err := writeBytes(ctx, f.Path+".state", w.State); err != nil {
		return taggedf("writing %s.state: %v", f.Path, err)
	}
	if err := writeJSON(ctx, f.Path+".json", out); err != nil {
		return taggedf("writing %s.json: %v", f.Path, err)
	}
	return nil
}

// encodeReplicas is the binary coder of the averaging's accumulator: the
// count, then per replica its worker, rows, loss bits, the state's length
// and the state.
func encodeReplicas(a Replicas) ([]byte, error) {
	le := binary.LittleEndian
	size := 8
	for _, s := range a.States {
		size += 32 + len(s.State)
	}
	out := le.AppendUint64(make([]byte, 0, size), uint64(len(a.States)))
	for _, s := range a.States {
		for _, v := range []uint64{uint64(int64(s.Worker)), uint64(s.Rows), math.Float64bits(s.Loss), uint64(len(s.State))} {
			out = le.AppendUint64(out, v)
		}
		out = append(out, s.State...)
	}
	return out, nil
}

func decodeReplicas(b []byte) (Replicas, error) {
	le := binary.LittleEndian
	if len(b) < 8 {
		return Replicas{}, errors.New("replicas: truncated header")
	}
	count := le.Uint64(b)
	b = b[8:]
	if count > uint64(len(b))/32 {
		return Replicas{}, errors.New("replicas: size does not match its header")
	}
	a := Replicas{States: make([]WorkerState, 0, count)}
	for range count {
		if len(b) < 32 {
			return Replicas{}, errors.New("replicas: truncated replica")
		}
		s := WorkerState{Worker: int(int64(le.Uint64(b))), Rows: int64(le.Uint64(b[8:])), Loss: math.Float64frombits(le.Uint64(b[16:]))}
		size := le.Uint64(b[24:])
		b = b[32:]
		if size > uint64(len(b)) {
			return Replicas{}, errors.New("replicas: truncated state")
		}
		s.State, b = slices.Clone(b[:size]), b[size:]
		if k := len(a.States); s.Worker < 0 || k > 0 && s.Worker <= a.States[k-1].Worker {
			return Replicas{}, errors.New("replicas: workers out of order")
		}
		a.States = append(a.States, s)
	}
	if len(b) != 0 {
		return Replicas{}, errors.New("replicas: size does not match its header")
	}
	return a, nil
}
