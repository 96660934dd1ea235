package model

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/deepclust/deepclust/clusterers/kmeans"
	"github.com/deepclust/deepclust/config"
	"github.com/deepclust/deepclust/dataset"
	"github.com/deepclust/deepclust/pipeline"
	"github.com/deepclust/deepclust/plugins"
	"github.com/deepclust/deepclust/plugins/builtin"
	"github.com/deepclust/deepclust/sdk"
)

// Options configure New and Load.
type Options struct {
	// Log receives one line per stage and other messages; nil discards them.
	Log io.Writer
	// Progress displays training progress; nil shows none.
	Progress pipeline.Progress
	// Isolation, when set (config.IsolationInProcess or
	// config.IsolationProcess), overrides the isolation of every built-in
	// plugin section.
	Isolation string
	// NoCache ignores the config's stage cache for this model: nothing is
	// read from it or written to it.
	NoCache bool
	// Host runs the plugins; nil for NewHost(PluginLog).
	Host *plugins.Host
	// PluginLog, when set, receives the plugin host's log lines as they
	// come (go-plugin's, the plugin processes' stderr). Nil keeps them for
	// the log file a plugin failure writes, which the error names.
	PluginLog io.Writer
	// Plugins are Go plugin values to register beside the built-ins, so
	// that a config names them like built-ins (plugin: NAME). They run in
	// process only: a child process knows only the built-ins.
	Plugins []plugins.Factory
	// Checkpoint, when set, makes Fit write checkpoints there and, when it
	// comes from OpenCheckpoint, continue the run it holds.
	Checkpoint *Checkpoint
}

// Model is a pipeline of stages built from a config: every stage's
// plugins opened and their configs resolved. Fit trains it, Save writes
// it, Load reads one back and Predict assigns new samples. A Model's
// methods must not be called concurrently. Close stops its plugins.
type Model struct {
	cfg    *config.Config
	descs  config.Descriptions
	opt    Options
	host   *plugins.Host
	opened []*plugins.Plugin
	stages []*stage
	// scaler scales the model's input (nil: none).
	scaler *dataset.Scaler
	// fitted is set once every stage is configured and trained or loaded.
	fitted bool
}

// stage is one configured stage.
type stage struct {
	spec *config.Stage
	// index is the stage's position, for seeds and messages.
	index int
	// encoder, clusterer and losses are the opened plugins; clusterer is
	// nil for a stage without one.
	encoder   *plugins.Plugin
	clusterer *plugins.Plugin
	losses    []*plugins.Plugin
	// model holds the configured plugins once Configure ran.
	model pipeline.Model
	// inputShape and dim are the stage's sample shape and embedding width.
	inputShape []int
	dim        int
	// pretrained, set by SetPretrained, is loaded into the encoder in
	// place of pretraining.
	pretrained []byte
}

// Result is what Fit produces.
type Result struct {
	// Labels is the final cluster of every sample.
	Labels []int32
	// Z holds the last stage's embeddings, N × EmbeddingDim.
	Z sdk.Tensor
	// Report holds timings, scores and histories.
	Report Report
}

// Report summarises a fit: the last stage's pipeline report (its N, K,
// scores, history and throughput) with the whole fit's seconds, and one
// StageReport per stage.
type Report struct {
	pipeline.Report
	Stages []StageReport `json:"stages"`
}

// StageReport summarises one stage of a fit.
type StageReport struct {
	Name string `json:"name"`
	// Seconds is the stage's wall time in this fit, by phase and "total".
	Seconds map[string]float64 `json:"seconds"`
	// Cached says the stage was taken from the stage cache, with Key.
	Cached bool `json:"cached"`
	// PretrainCached says that the stage, trained, resumed from the cached
	// pretraining of another with the same encoder, pretraining losses and
	// schedule, seed and input, instead of pretraining.
	PretrainCached bool `json:"pretrain_cached,omitempty"`
	// ClustererCached says that the cached stage's clusterer fit came from
	// the stage cache too (a stage without joint training); it was not
	// fitted again.
	ClustererCached bool   `json:"clusterer_cached,omitempty"`
	Key             string `json:"cache_key,omitempty"`
	// Resumed says the stage continued from a checkpoint (or was complete
	// in it) instead of starting afresh.
	Resumed bool `json:"resumed,omitempty"`
	// EmbeddingDim is the width of the stage's embeddings.
	EmbeddingDim int `json:"embedding_dim"`
	// PretrainLoss is the mean loss of the last pretraining epoch (of the
	// run that trained the stage, when cached).
	PretrainLoss          float64 `json:"pretrain_loss"`
	TrainSamplesPerSecond float64 `json:"train_samples_per_s"`
	// PretrainHistory is the mean loss of every pretraining epoch, and
	// History the stage's joint-training record (pipeline.Report), for
	// training curves.
	PretrainHistory []float64        `json:"pretrain_history,omitempty"`
	History         []pipeline.Epoch `json:"history,omitempty"`
	// Scores, when the samples have labels, are those of a k-means (k the
	// number of distinct labels, 3 k-means++ restarts) on this stage's
	// embeddings, so that one sees which stage helps; Clusterer holds the
	// scores of the stage's own clusterer when it has one.
	Scores    *pipeline.Scores `json:"kmeans_scores,omitempty"`
	Clusterer *pipeline.Scores `json:"scores,omitempty"`
	// KSelection and ParamSelections say how the stage's clusterer chose
	// k and other hyper-parameters itself, without labels, when it did
	// (pipeline.Report); Fit prints one line for each.
	KSelection      *sdk.KSelection      `json:"k_selection,omitempty"`
	ParamSelections []sdk.ParamSelection `json:"param_selections,omitempty"`
}

// selections returns the stage's k selection, if any, followed by its
// param selections, all in the form of sdk.ParamSelection.
func (sr StageReport) selections() []sdk.ParamSelection {
	var out []sdk.ParamSelection
	if sr.KSelection != nil {
		out = append(out, sr.KSelection.Param())
	}
	return append(out, sr.ParamSelections...)
}

// NewHost returns a plugin host with every built-in plugin, whose
// out-of-process built-ins run as "deepclust plugin serve KIND NAME"
// children of the running binary. log, when set, receives the host's and
// the plugin processes' log lines (debug level and up) as they come; nil
// keeps them for a log file written when a plugin fails (plugins.Host).
func NewHost(log io.Writer) (*plugins.Host, error) {
	reg, err := builtin.Registry()
	if err != nil {
		return nil, err
	}
	var logger hclog.Logger
	if log != nil {
		logger = hclog.New(&hclog.LoggerOptions{Name: "deepclust", Output: log, Level: hclog.Debug})
	}
	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("finding the deepclust binary for out-of-process plugins: %w", err)
	}
	return &plugins.Host{
		Registry: reg,
		SelfCommand: func(kind sdk.Kind, name string) *exec.Cmd {
			return exec.Command(self, "plugin", "serve", string(kind), name)
		},
		Logger: logger,
	}, nil
}

// New opens the plugins of every stage of cfg and resolves their configs;
// the model is trained by Fit. cfg is used as it is and must not change
// afterwards. Close the model when done.
func New(ctx context.Context, cfg *config.Config, opt Options) (*Model, error) {
	if cfg == nil || len(cfg.Stages) == 0 {
		return nil, errors.New("model: the config has no stages")
	}
	if opt.Log == nil {
		opt.Log = io.Discard
	}
	if opt.Progress == nil {
		opt.Progress = pipeline.NoProgress{}
	}
	if err := forceIsolation(cfg, opt.Isolation); err != nil {
		return nil, err
	}
	m := &Model{cfg: cfg, opt: opt, host: opt.Host}
	if m.host == nil {
		var err error
		if m.host, err = NewHost(opt.PluginLog); err != nil {
			return nil, err
		}
	}
	for _, f := range opt.Plugins {
		if err := m.host.Registry.Register(f); err != nil {
			return nil, fmt.Errorf("model: registering a plugin value: %w", err)
		}
	}
	if err := m.open(ctx); err != nil {
		m.Close()
		return nil, err
	}
	return m, nil
}

// open starts every plugin of the config and resolves the config against
// their descriptions.
func (m *Model) open(ctx context.Context) error {
	var opened []*plugins.Plugin
	descs, err := m.cfg.ResolvePlugins(func(kind sdk.Kind, spec config.PluginSpec) (sdk.Description, error) {
		ps := plugins.Spec{Kind: kind, Path: spec.Path, SHA256: spec.SHA256, Args: spec.Args, Env: spec.Env, Timeout: spec.Timeout}
		if spec.Path == "" {
			ps.Name = spec.Plugin
			ps.Isolation = plugins.Isolation(spec.Isolation)
		}
		p, err := m.host.Open(ctx, ps)
		if err != nil {
			return sdk.Description{}, err
		}
		opened = append(opened, p)
		m.opened = append(m.opened, p)
		return p.Description(), nil
	})
	if err != nil {
		return err
	}
	m.descs = descs
	// ResolvePlugins opens them stage by stage: encoder, clusterer, losses.
	for i := range m.cfg.Stages {
		spec := &m.cfg.Stages[i]
		st := &stage{spec: spec, index: i, encoder: opened[0]}
		opened = opened[1:]
		if spec.Clusterer != nil {
			st.clusterer, opened = opened[0], opened[1:]
		}
		st.losses, opened = opened[:len(spec.Losses)], opened[len(spec.Losses):]
		m.stages = append(m.stages, st)
	}
	return nil
}

// Close stops every plugin the model opened.
func (m *Model) Close() error {
	for _, p := range m.opened {
		p.Close()
	}
	m.opened = nil
	return nil
}

// Config returns the model's resolved config.
func (m *Model) Config() *config.Config { return m.cfg }

// Descriptions returns the Descriptions of the model's plugins, stage by
// stage.
func (m *Model) Descriptions() config.Descriptions { return m.descs }

// InputShape returns the shape of one sample the model takes, once fitted
// or loaded.
func (m *Model) InputShape() []int {
	if len(m.stages) == 0 {
		return nil
	}
	return m.stages[0].inputShape
}

// EmbeddingDim returns the width of the last stage's embeddings, once
// fitted or loaded.
func (m *Model) EmbeddingDim() int {
	if len(m.stages) == 0 {
		return 0
	}
	return m.stages[len(m.stages)-1].dim
}

// configure sets up the stage's plugins for samples of the given shape.
func (st *stage) configure(ctx context.Context, seed uint64, shape []int) error {
	enc, err := st.encoder.Encoder()
	if err != nil {
		return err
	}
	base := stageSeed(seed, st.index)
	if err := enc.Configure(ctx, sdk.Setup{Config: st.spec.Encoder.Config, InputShape: shape, Seed: pluginSeed(base, 0)}); err != nil {
		return fmt.Errorf("stage %s: %w", st.spec.Name, err)
	}
	dim, err := enc.EmbeddingDim(ctx)
	if err != nil {
		return fmt.Errorf("stage %s: %w", st.spec.Name, err)
	}
	st.model = pipeline.Model{Encoder: enc}
	if st.clusterer != nil {
		clu, err := st.clusterer.Clusterer()
		if err != nil {
			return err
		}
		if err := clu.Configure(ctx, sdk.Setup{Config: st.spec.Clusterer.Config, InputShape: shape, EmbeddingDim: dim, Seed: pluginSeed(base, 1)}); err != nil {
			return fmt.Errorf("stage %s: %w", st.spec.Name, err)
		}
		st.model.Clusterer = clu
	}
	for i, spec := range st.spec.Losses {
		l, err := st.losses[i].Loss()
		if err != nil {
			return err
		}
		if err := l.Configure(ctx, sdk.Setup{Config: spec.Config, InputShape: shape, EmbeddingDim: dim, Seed: pluginSeed(base, 2+i)}); err != nil {
			return fmt.Errorf("stage %s: %w", st.spec.Name, err)
		}
		st.model.Losses = append(st.model.Losses, pipeline.Loss{
			Name: st.losses[i].Description().Name, Loss: l, Weight: spec.Weight,
			Pretrain: spec.In(pipeline.StagePretrain), Train: spec.In(pipeline.StageTrain),
		})
	}
	st.inputShape, st.dim = append([]int(nil), shape...), dim
	return nil
}

// stageSeed is the seed of stage i's pipeline: the run's seed for the
// first stage (so a single-stage config trains as it always did), a
// derived one after it.
func stageSeed(seed uint64, i int) uint64 {
	if i == 0 {
		return seed
	}
	return pluginSeed(seed, 1000+i)
}

// pluginSeed derives the seed of the i-th plugin of a stage from the
// stage's seed (SplitMix64), so that plugins draw independent streams.
func pluginSeed(seed uint64, i int) uint64 {
	z := seed + uint64(i+1)*0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// Fit trains every stage in order on src: stage i+1 on the embeddings of
// stage i, in memory. A stage whose config, seed and input match an entry
// of the stage cache is taken from it instead of trained. Labels in src,
// if any, are used only for the reports' scores.
func (m *Model) Fit(ctx context.Context, src pipeline.Source) (*Result, error) {
	if m.fitted {
		return nil, errors.New("model: already fitted or loaded; build a new model to train again")
	}
	start := time.Now()
	truth := src.Truth()
	kind, err := ScaleKind(m.cfg.Data)
	if err != nil {
		return nil, err
	}
	if m.scaler, err = fitScaler(ctx, kind, src); err != nil {
		return nil, err
	}
	if src, err = scaled(src, m.scaler); err != nil {
		return nil, err
	}
	if m.scaler != nil {
		fmt.Fprintf(m.opt.Log, "data: %s scaling of every feature, fitted on these samples (data.scale %s)\n", kind, m.cfg.Data.Scale)
	}
	// Every stage's plugins are configured before the first stage trains:
	// a config error that only a later stage's plugin finds (its Configure)
	// stops the run now, not after the stages before it have trained.
	shape := src.SampleShape()
	for _, st := range m.stages {
		if err := st.configure(ctx, m.cfg.Seed, shape); err != nil {
			return nil, err
		}
		shape = []int{st.dim}
	}
	var cache *stageCache
	if m.cfg.Cache.Enabled && !m.opt.NoCache {
		cache = openCache(m.cfg.Cache.Dir, m.opt.Log)
	}
	ck := m.opt.Checkpoint
	keyed := cache != nil || ck != nil
	input := src
	var inKey string
	var res *pipeline.Result
	report := Report{}
	for i, st := range m.stages {
		begin := time.Now()
		fmt.Fprintf(m.opt.Log, "stage %d/%d %s: %s\n", i+1, len(m.stages), st.spec.Name, describeStage(st.spec, input))
		if !slices.Equal(st.inputShape, input.SampleShape()) {
			return nil, fmt.Errorf("stage %s: configured for samples of shape %v, its input has %v", st.spec.Name, st.inputShape, input.SampleShape())
		}
		if st.pretrained != nil {
			if err := st.model.Encoder.Load(ctx, st.pretrained); err != nil {
				return nil, fmt.Errorf("stage %s: loading the given encoder weights: %w", st.spec.Name, err)
			}
			fmt.Fprintf(m.opt.Log, "stage %s: encoder weights given (pretraining skipped)\n", st.spec.Name)
			st.spec.Train.PretrainEpochs = 0
		} else if st.spec.Pretrained != "" {
			if err := loadPretrained(ctx, st.spec.Pretrained, st, len(m.stages)); err != nil {
				return nil, err
			}
			fmt.Fprintf(m.opt.Log, "stage %s: encoder weights from %s (pretraining skipped)\n", st.spec.Name, st.spec.Pretrained)
			st.spec.Train.PretrainEpochs = 0
		}
		sr := StageReport{Name: st.spec.Name, EmbeddingDim: st.dim}
		if keyed {
			if i == 0 {
				if inKey, err = fingerprint(ctx, input); err != nil {
					return nil, err
				}
				if ck != nil {
					if err := ck.begin(m, inKey); err != nil {
						return nil, err
					}
				}
			}
			if sr.Key, err = stageKey(ctx, m.cfg.Seed, st, inKey); err != nil {
				return nil, err
			}
		}
		if res, sr.Cached, sr.ClustererCached, sr.Resumed, sr.PretrainCached, err = m.trainStage(ctx, st, input, cache, sr.Key, inKey); err != nil {
			return nil, fmt.Errorf("stage %s: %w", st.spec.Name, err)
		}
		inKey = sr.Key
		sr.Seconds = res.Report.Seconds
		sr.Seconds["total"] = time.Since(begin).Seconds()
		sr.PretrainLoss, sr.TrainSamplesPerSecond, sr.Clusterer = res.Report.PretrainLoss, res.Report.TrainSamplesPerSecond, res.Report.Scores
		sr.PretrainHistory, sr.History = res.Report.PretrainHistory, res.Report.History
		sr.KSelection, sr.ParamSelections = res.Report.KSelection, res.Report.ParamSelections
		for _, sel := range sr.selections() {
			fmt.Fprintf(m.opt.Log, "stage %s: %s\n", st.spec.Name, sel)
		}
		if truth != nil {
			if sr.Scores, err = kmeansScores(res.Z, truth, stageSeed(m.cfg.Seed, i)); err != nil {
				return nil, fmt.Errorf("stage %s: scoring its embeddings: %w", st.spec.Name, err)
			}
			fmt.Fprintf(m.opt.Log, "stage %s: k-means on its embeddings: ACC %.4f NMI %.4f\n", st.spec.Name, sr.Scores.ACC, sr.Scores.NMI)
		}
		report.Stages = append(report.Stages, sr)
		input = pipeline.Data{X: res.Z, Labels: truth}
	}
	m.fitted = true
	report.Report = res.Report
	report.Seconds = map[string]float64{"total": time.Since(start).Seconds()}
	for _, sr := range report.Stages {
		report.Seconds[sr.Name] = sr.Seconds["total"]
	}
	return &Result{Labels: res.Labels, Z: res.Z, Report: report}, nil
}

// trainStage trains one configured stage on input, or takes it from the
// cache under key (cached) or from the checkpoint (resumed), and stores a
// newly trained stage in both. With a checkpoint, training saves its
// state there and, when resuming, continues from the saved one.
func (m *Model) trainStage(ctx context.Context, st *stage, input pipeline.Source, cache *stageCache, key, inKey string) (res *pipeline.Result, cached, fitCached, resumed, pretrainCached bool, err error) {
	seed := stageSeed(m.cfg.Seed, st.index)
	if cache != nil {
		if e, ok := cache.get(key, input.Rows(), st.dim); ok {
			res, fitCached, err := e.restore(ctx, st, input, seed, m.opt.Progress, cache)
			if err == nil {
				fmt.Fprintf(m.opt.Log, "stage %s: taken from the stage cache (%s)\n", st.spec.Name, cache.path(key))
				if fitCached {
					fmt.Fprintf(m.opt.Log, "stage %s: its clusterer's fit too (not fitted again)\n", st.spec.Name)
				}
				return res, true, fitCached, false, false, nil
			}
			fmt.Fprintf(m.opt.Log, "stage %s: cache entry %s unusable (%v): training\n", st.spec.Name, cache.path(key), err)
		}
	}
	ck := m.opt.Checkpoint
	var checkpoints pipeline.Checkpoints
	if ck != nil {
		if ck.resume {
			store := ck.stages()
			if e, ok := store.get(key, input.Rows(), st.dim); ok {
				res, fitCached, err := e.restore(ctx, st, input, seed, m.opt.Progress, store)
				if err == nil {
					fmt.Fprintf(m.opt.Log, "stage %s: completed before the interruption (checkpoint %s)\n", st.spec.Name, ck.dir)
					return res, false, fitCached, true, false, nil
				}
				fmt.Fprintf(m.opt.Log, "stage %s: its checkpoint is unusable (%v): training it again\n", st.spec.Name, err)
			}
			state, err := ck.loadState(st.index, key)
			if err != nil {
				fmt.Fprintf(m.opt.Log, "stage %s: its checkpoint is unusable (%v): training it from its start\n", st.spec.Name, err)
			} else if state != nil {
				fmt.Fprintf(m.opt.Log, "stage %s: resuming at %s (checkpoint %s)\n", st.spec.Name, resumeNote(state), ck.dir)
				checkpoints.Resume = state
				resumed = true
			}
		}
		checkpoints.Interval = m.cfg.Checkpoint.Interval
		checkpoints.Save = func(_ context.Context, s *pipeline.State) error { return ck.saveState(st.index, key, s) }
	}
	if cache != nil && st.spec.Train.PretrainEpochs > 0 {
		pk, err := pretrainKey(m.cfg.Seed, st, inKey)
		if err != nil {
			return nil, false, false, false, false, err
		}
		if pretrainCached = cache.pretrainHooks(pk, input.Rows(), &checkpoints); pretrainCached {
			fmt.Fprintf(m.opt.Log, "stage %s: its pretraining taken from the stage cache (%s)\n", st.spec.Name, cache.pretrainPath(pk))
		}
	}
	res, err = pipeline.TrainWith(ctx, st.model, input, st.spec.Train, seed, m.opt.Progress, checkpoints)
	if err != nil {
		if ck != nil {
			ck.flush() // the last state written reaches the disk before the run ends
		}
		return nil, false, false, false, false, err
	}
	if ck != nil {
		begin := time.Now()
		ck.stageDone(ctx, key, st, res)
		res.Report.Seconds[pipeline.StageCheckpoint] += time.Since(begin).Seconds()
	}
	if cache != nil {
		if err := cache.put(ctx, key, st, res); err != nil {
			fmt.Fprintf(m.opt.Log, "stage %s: not cached: %v\n", st.spec.Name, err)
		}
	}
	return res, false, false, resumed, pretrainCached, nil
}

// describeStage says in one line what a stage will do.
func describeStage(s *config.Stage, input pipeline.Source) string {
	var losses []string
	for _, l := range s.Losses {
		losses = append(losses, l.Label())
	}
	msg := fmt.Sprintf("encoder %s on %d samples of shape %v, losses [%s], %d pretraining epochs", s.Encoder.Label(), input.Rows(), input.SampleShape(), strings.Join(losses, ", "), s.Train.PretrainEpochs)
	if s.Clusterer != nil {
		msg += fmt.Sprintf(", clusterer %s", s.Clusterer.Label())
		if k, ok := s.Clusterer.Config["k"]; ok {
			msg += fmt.Sprintf(" (k %v)", k)
		}
		msg += fmt.Sprintf(", %d joint-training epochs", s.Train.Epochs)
	}
	return msg
}

// kmeansScores scores a k-means of z, with k the number of distinct
// labels, against the labels.
func kmeansScores(z sdk.Tensor, truth []int32, seed uint64) (*pipeline.Scores, error) {
	seen := map[int32]bool{}
	for _, l := range truth {
		seen[l] = true
	}
	k := min(len(seen), z.Rows())
	r, err := kmeans.Cluster(z, k, 3, 300, 1e-4, seed)
	if err != nil {
		return nil, err
	}
	return pipeline.Score(truth, r.Labels)
}

// forceIsolation sets the isolation of every built-in section of cfg.
func forceIsolation(cfg *config.Config, iso string) error {
	if iso == "" {
		return nil
	}
	if iso != config.IsolationInProcess && iso != config.IsolationProcess {
		return fmt.Errorf("isolation %q: want inprocess or process", iso)
	}
	for i := range cfg.Stages {
		s := &cfg.Stages[i]
		s.Encoder.Isolation = iso
		if s.Clusterer != nil {
			s.Clusterer.Isolation = iso
		}
		for j := range s.Losses {
			s.Losses[j].Isolation = iso
		}
	}
	return nil
}
