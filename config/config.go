package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/viper"

	"github.com/deepclust/deepclust/internal/knn"
	"github.com/deepclust/deepclust/pipeline"
	"github.com/deepclust/deepclust/sdk"
)

// EnvPrefix starts every environment variable deepclust reads.
const EnvPrefix = "DEEPCLUST_"

// PluginSpec says which plugin fills a role and how to run it.
type PluginSpec struct {
	// Plugin is a built-in plugin name; ignored when Path is set.
	Plugin string
	// Path is an external plugin binary: an absolute path once loaded (a
	// config file's relative paths are relative to its directory, those of
	// overrides to the working directory).
	Path string
	// SHA256 optionally pins the external binary.
	SHA256 string
	// Args are command-line arguments for the external binary.
	Args []string
	// Env names the host's environment variables the plugin process gets
	// besides the base ones (plugins.BaseEnv).
	Env []string
	// Isolation is IsolationInProcess or IsolationProcess.
	Isolation string
	// Timeout bounds one plugin call.
	Timeout time.Duration
	// Raw is the plugin's own config as given, before ResolvePlugins.
	Raw map[string]any
	// Config is the plugin's config resolved against its Description.
	Config sdk.Config
}

// Label names the plugin for messages: its name, or its path.
func (p PluginSpec) Label() string {
	if p.Path != "" {
		return p.Path
	}
	return p.Plugin
}

// LossSpec is one entry of a losses list.
type LossSpec struct {
	PluginSpec
	// Weight is α_k.
	Weight float64
	// Stages lists the phases where the loss applies: "pretrain", "train".
	Stages []string
}

// In reports whether the loss takes part in the given phase.
func (l LossSpec) In(phase string) bool {
	for _, s := range l.Stages {
		if s == phase {
			return true
		}
	}
	return false
}

// DataSpec says where the input comes from and how to read it.
type DataSpec struct {
	Path     string
	Format   string
	Features []string
	Label    string
	Shape    []int
	Scale    string
	Limit    int
	// Stream trains on the input read in passes instead of loaded.
	Stream bool
	// ShuffleRows bounds the shuffle buffer of a streamed input.
	ShuffleRows int
	// Nulls is what a null feature does in a streamed input.
	Nulls string
}

// CacheSpec configures the stage cache.
type CacheSpec struct {
	// Enabled reuses and stores trained stages.
	Enabled bool
	// Dir is the cache directory; empty for the default (DefaultCacheDir).
	Dir string
}

// CheckpointSpec configures the checkpoints of a run.
type CheckpointSpec struct {
	// Enabled writes checkpoints that deepclust run --resume continues
	// from.
	Enabled bool
	// Interval, when > 0, adds a checkpoint within an epoch once that long
	// has passed since the last one; checkpoints are always written at
	// every epoch boundary.
	Interval time.Duration
}

// Stage is one stage of a pipeline: an encoder trained on its losses with
// its schedule, and optionally a clusterer. Stage i+1 trains on the
// embeddings of stage i; the last stage's clusterer gives the assignments.
type Stage struct {
	// Name labels the stage in messages, metrics and the model.
	Name  string
	Train pipeline.Schedule
	// Pretrained is a previous run's output (or its model/ folder) whose
	// encoder weights replace pretraining; empty to pretrain.
	Pretrained string
	Encoder    PluginSpec
	// Clusterer is nil for a stage that only transforms its input.
	Clusterer *PluginSpec
	Losses    []LossSpec
}

// Config is a fully loaded and checked run configuration.
type Config struct {
	Seed     uint64
	Out      string
	Progress string
	Data     DataSpec
	Cache    CacheSpec
	// Checkpoint configures the checkpoints of deepclust run.
	Checkpoint CheckpointSpec
	// Stages are the pipeline's stages in order; a config without a
	// stages list is one stage.
	Stages []Stage
	// Notes are what Load chose on its own, in one line each, for the run
	// to say (see AutoK).
	Notes []string
}

// Last returns the last stage, whose clusterer gives the assignments.
func (c *Config) Last() *Stage { return &c.Stages[len(c.Stages)-1] }

// Options are the sources Load reads besides the defaults and the
// DEEPCLUST_* environment variables.
type Options struct {
	// File is a YAML, TOML or JSON config file; empty for none.
	File string
	// Set holds command-line overrides by dotted key; they win over all.
	// Items of the stages and losses lists are reached by index:
	// "stages.1.train.epochs" or "stages[1].losses[0].weight".
	Set map[string]string
	// NoEnv ignores the environment, for printing the pure defaults.
	NoEnv bool
}

// override is one value from the environment or the command line.
type override struct {
	path  []string
	value string
	// from names the override in errors.
	from string
}

// Load reads and checks a configuration: the defaults, then the file, then
// DEEPCLUST_* variables, then Set. Plugin sections keep their raw config;
// call ResolvePlugins to check them against the plugins.
//
// A config either lists stages or gives one stage's sections (encoder,
// clusterer, losses, train) at the top level; with neither, the default
// stages apply (DefaultStages). Overrides of the top-level sections also
// make a config single-stage when they name the encoder (encoder.plugin or
// encoder.path).
func Load(opt Options) (*Config, error) {
	tree := map[string]any{}
	if opt.File != "" {
		var err error
		if tree, err = readFile(opt.File); err != nil {
			return nil, err
		}
		if err := anchorPluginPaths(tree, opt.File); err != nil {
			return nil, err
		}
	}
	var over []override
	if !opt.NoEnv {
		env, err := envOverrides(os.Environ())
		if err != nil {
			return nil, err
		}
		over = append(over, env...)
	}
	keys := make([]string, 0, len(opt.Set))
	for k := range opt.Set {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		from := fmt.Sprintf("override %s=%s", k, opt.Set[k])
		path, ok := keyPath(k)
		if !ok {
			return nil, fmt.Errorf("%s: unknown config key %q", from, k)
		}
		over = append(over, override{path: path, value: opt.Set[k], from: from})
	}
	if err := chooseForm(tree, over, opt.File); err != nil {
		return nil, err
	}
	for _, o := range over {
		if err := setPath(tree, o.path, o.value); err != nil {
			return nil, fmt.Errorf("%s: %w", o.from, err)
		}
	}
	c, err := decode(tree)
	if err != nil {
		return nil, err
	}
	if opt.File == "" && c.Data.Path != "" && !setsK(over) {
		c.autoK()
	}
	// What is still relative came from an override: the working directory.
	for _, p := range c.pluginSpecs() {
		if p.Path != "" && !filepath.IsAbs(p.Path) {
			abs, err := filepath.Abs(p.Path)
			if err != nil {
				return nil, fmt.Errorf("plugin path %s: %w", p.Path, err)
			}
			p.Path = abs
		}
	}
	return c, nil
}

// autoKNote is the note of a run on the default pipeline with the user's
// own data and no k given: the default k = 10 is the built-in MNIST's number
// of digits, so on other data the kmeans clusterer chooses k (k: auto).
const autoKNote = "k: auto (the default k = 10 is the digit count of the built-in MNIST; on your data k-means chooses k in k_range [2, 20] by silhouette); set stages.%d.clusterer.config.k to fix it"

// setsK reports whether an override sets a clusterer's k.
func setsK(over []override) bool {
	for _, o := range over {
		if n := len(o.path); n >= 3 && o.path[n-3] == "clusterer" && o.path[n-2] == "config" && o.path[n-1] == "k" {
			return true
		}
	}
	return false
}

// autoK sets k: auto on the last stage's built-in kmeans clusterer (the
// default pipeline's), and says so in Notes.
func (c *Config) autoK() {
	cl := c.Last().Clusterer
	if cl == nil || cl.Plugin != "kmeans" || cl.Path != "" {
		return
	}
	if cl.Raw == nil {
		cl.Raw = map[string]any{}
	}
	cl.Raw["k"] = "auto"
	c.Notes = append(c.Notes, fmt.Sprintf(autoKNote, len(c.Stages)-1))
}

// anchorPluginPaths makes the relative plugin paths of a config file's
// tree relative to the file's directory. A plugin path is never looked up
// on PATH: a config cannot run a command by its bare name.
func anchorPluginPaths(tree map[string]any, file string) error {
	abs, err := filepath.Abs(file)
	if err != nil {
		return fmt.Errorf("config %s: %w", file, err)
	}
	dir := filepath.Dir(abs)
	anchor := func(section any) {
		m, ok := section.(map[string]any)
		if !ok {
			return
		}
		if p, ok := m["path"].(string); ok && p != "" && !filepath.IsAbs(p) {
			m["path"] = filepath.Join(dir, p)
		}
	}
	stages := []any{tree}
	if items, ok := tree["stages"].([]any); ok {
		stages = items
	}
	for _, st := range stages {
		m, ok := st.(map[string]any)
		if !ok {
			continue
		}
		anchor(m["encoder"])
		anchor(m["clusterer"])
		if losses, ok := m["losses"].([]any); ok {
			for _, l := range losses {
				anchor(l)
			}
		}
	}
	return nil
}

// pluginSpecs returns every plugin section of c, stage by stage: encoder,
// clusterer, losses.
func (c *Config) pluginSpecs() []*PluginSpec {
	var out []*PluginSpec
	for i := range c.Stages {
		s := &c.Stages[i]
		out = append(out, &s.Encoder)
		if s.Clusterer != nil {
			out = append(out, s.Clusterer)
		}
		for j := range s.Losses {
			out = append(out, &s.Losses[j].PluginSpec)
		}
	}
	return out
}

// chooseForm settles whether tree is a single stage or a stages list,
// putting the default stages in when it gives neither, and rejects
// overrides that do not fit the form.
func chooseForm(tree map[string]any, over []override, file string) error {
	top := ""
	for _, s := range stageSections {
		if _, ok := tree[s]; ok {
			top = s
		}
	}
	_, staged := tree["stages"]
	if top != "" && staged {
		return fmt.Errorf("config %s: give either a stages list or the top-level %s section of a single stage, not both", file, top)
	}
	if top == "" && !staged {
		for _, o := range over {
			if len(o.path) == 2 && o.path[0] == "encoder" && (o.path[1] == "plugin" || o.path[1] == "path") {
				top = "encoder"
			}
		}
	}
	if top == "" && !staged {
		tree["stages"] = DefaultStages()
		staged = true
	}
	for _, o := range over {
		switch {
		case staged && contains(stageSections, o.path[0]):
			n := 1
			if items, ok := tree["stages"].([]any); ok {
				n = len(items)
			}
			hint := fmt.Sprintf("stages.N.%s for stage N from 0 to %d", strings.Join(o.path, "."), n-1)
			if o.path[0] == "clusterer" {
				hint = fmt.Sprintf("stages.%d.%s for the last stage's clusterer", n-1, strings.Join(o.path, "."))
			}
			return fmt.Errorf("%s: this config has stages: set %s", o.from, hint)
		case !staged && o.path[0] == "stages":
			return fmt.Errorf("%s: this config has no stages list (it is one stage): set %s", o.from, strings.Join(o.path[2:], "."))
		}
	}
	return nil
}

func readFile(path string) (map[string]any, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("reading config %s: %w", path, err)
	}
	ext := strings.TrimPrefix(filepath.Ext(path), ".")
	switch ext {
	case "yaml", "yml", "json", "toml":
	default:
		return nil, fmt.Errorf("reading config %s: unsupported extension %q (want .yaml, .yml, .json or .toml)", path, ext)
	}
	fv := viper.New()
	fv.SetConfigFile(path)
	if err := fv.ReadInConfig(); err != nil {
		return nil, fmt.Errorf("reading config %s: %s", path, oneLine(err.Error()))
	}
	for _, k := range fv.AllKeys() {
		if _, ok := keyPath(k); !ok {
			return nil, fmt.Errorf("config %s: unknown key %q", path, k)
		}
	}
	tree, _ := normalize(fv.AllSettings()).(map[string]any)
	return tree, nil
}

// normalize returns v with every map turned into a map[string]any with
// lower-case keys, recursively, and every list into a []any.
func normalize(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[strings.ToLower(k)] = normalize(e)
		}
		return out
	case map[any]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[strings.ToLower(fmt.Sprint(k))] = normalize(e)
		}
		return out
	case []map[string]any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = normalize(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = normalize(e)
		}
		return out
	}
	return v
}

// keyPath splits a dotted key ("stages.1.train.epochs", or with brackets
// "stages[1].train.epochs") into its path and reports whether the schema
// has it: a core key, a key of a stage's sections (at the top level or
// under stages.N), or the stages or losses list itself.
func keyPath(key string) ([]string, bool) {
	key = strings.ToLower(strings.NewReplacer("[", ".", "]", "").Replace(key))
	path := strings.Split(key, ".")
	if _, ok := findKey(CoreKeys, key); ok {
		return path, true
	}
	switch {
	case key == "stages":
		return path, true
	case path[0] == "stages":
		if len(path) < 3 || !isIndex(path[1]) {
			return nil, false
		}
		return path, stageKeyOK(path[2:], true)
	}
	return path, stageKeyOK(path, false)
}

// stageKeyOK reports whether path names a key inside a stage.
func stageKeyOK(path []string, named bool) bool {
	switch path[0] {
	case "name":
		return named && len(path) == 1
	case "train":
		_, ok := findKey(TrainKeys, strings.Join(path, "."))
		return ok && len(path) == 2
	case "encoder", "clusterer":
		return len(path) == 1 || sectionPathOK(path[1:])
	case "losses":
		if len(path) == 1 {
			return true
		}
		if !isIndex(path[1]) || len(path) < 3 {
			return false
		}
		if _, ok := findKey(LossKeys, "."+path[2]); ok && len(path) == 3 {
			return true
		}
		return path[2] == "config" && len(path) <= 4
	}
	return false
}

// sectionPathOK reports whether path is a key of a plugin section: a
// host-side key, config, or one field of config.
func sectionPathOK(path []string) bool {
	if path[0] == "config" {
		return len(path) <= 2
	}
	_, ok := sectionKey(path[0])
	return ok && len(path) == 1
}

func isIndex(s string) bool {
	n, err := strconv.Atoi(s)
	return err == nil && n >= 0 && strconv.Itoa(n) == s
}

// envOverrides maps every DEEPCLUST_* variable to a key path. A variable
// that maps to no key is an error naming it.
func envOverrides(environ []string) ([]override, error) {
	var out []override
	sort.Strings(environ)
	for _, kv := range environ {
		name, value, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(name, EnvPrefix) || internalEnv[name] {
			continue
		}
		path, ok := envPath(strings.TrimPrefix(name, EnvPrefix))
		if !ok {
			return nil, fmt.Errorf("environment variable %s: no such config key", name)
		}
		out = append(out, override{path: path, value: value, from: "environment variable " + name})
	}
	return out, nil
}

// envPath maps the part of a variable's name after DEEPCLUST_ to a key
// path: TRAIN_EPOCHS is train.epochs, STAGES_1_ENCODER_CONFIG_LR is
// stages.1.encoder.config.lr, LOSSES_0_WEIGHT is losses.0.weight.
func envPath(name string) ([]string, bool) {
	for _, k := range CoreKeys {
		if envName(k.Name) == EnvPrefix+name {
			return strings.Split(k.Name, "."), true
		}
	}
	if i, rest, ok := indexed(name, "STAGES_"); ok {
		p, ok := envStagePath(rest, true)
		return append([]string{"stages", i}, p...), ok
	}
	return envStagePath(name, false)
}

// indexed splits PREFIX<digits>_REST into the index and REST.
func indexed(name, prefix string) (string, string, bool) {
	if !strings.HasPrefix(name, prefix) {
		return "", "", false
	}
	i, rest, ok := strings.Cut(name[len(prefix):], "_")
	return i, rest, ok && isIndex(i) && rest != ""
}

func envStagePath(name string, named bool) ([]string, bool) {
	if name == "NAME" && named {
		return []string{"name"}, true
	}
	for _, k := range TrainKeys {
		if envName(k.Name) == EnvPrefix+name {
			return strings.Split(k.Name, "."), true
		}
	}
	for _, section := range []string{"ENCODER_", "CLUSTERER_"} {
		if rest, ok := strings.CutPrefix(name, section); ok {
			p, ok := envSectionPath(rest, nil)
			return append([]string{strings.ToLower(strings.TrimSuffix(section, "_"))}, p...), ok
		}
	}
	if j, rest, ok := indexed(name, "LOSSES_"); ok {
		p, ok := envSectionPath(rest, LossKeys)
		return append([]string{"losses", j}, p...), ok
	}
	return nil, false
}

// envSectionPath maps the rest of a plugin section's variable: a host-side
// key (or one of extra, given with a leading dot) or CONFIG_FIELD.
func envSectionPath(name string, extra []Key) ([]string, bool) {
	if f, ok := strings.CutPrefix(name, "CONFIG_"); ok && f != "" {
		return []string{"config", strings.ToLower(f)}, true
	}
	for _, k := range append(SectionKeys("", "", ""), extra...) {
		if strings.ToUpper(k.Name[1:]) == name {
			return []string{k.Name[1:]}, true
		}
	}
	return nil, false
}

// internalEnv lists DEEPCLUST_* variables that are not config keys.
var internalEnv = map[string]bool{"DEEPCLUST_PLUGIN": true}

func envName(key string) string {
	return EnvPrefix + strings.ToUpper(strings.ReplaceAll(key, ".", "_"))
}

// setPath sets the value at path in tree, creating sections on the way.
// List items must exist already, except that a stage's missing losses
// list stands for the default one.
func setPath(tree map[string]any, path []string, value string) error {
	var cur any = tree
	for i, p := range path {
		last := i == len(path)-1
		switch c := cur.(type) {
		case map[string]any:
			if last {
				c[p] = value
				return nil
			}
			next, ok := c[p]
			if !ok || next == nil {
				if p == "losses" {
					next = defaultLosses()
				} else {
					next = map[string]any{}
				}
				c[p] = next
			}
			cur = next
		case []any:
			n, _ := strconv.Atoi(p)
			if n >= len(c) {
				return fmt.Errorf("%s has %d items, no item %d", strings.Join(path[:i], "."), len(c), n)
			}
			if last {
				return fmt.Errorf("%s: set a key of the item, not the item", strings.Join(path, "."))
			}
			cur = c[n]
		default:
			return fmt.Errorf("%s is not a section", strings.Join(path[:i], "."))
		}
	}
	return nil
}

func defaultLosses() []any {
	out := make([]any, len(DefaultLosses))
	for i, m := range DefaultLosses {
		out[i] = normalize(m)
	}
	return out
}

// lookup returns the value at a dotted key of tree, if any.
func lookup(tree map[string]any, key string) (any, bool) {
	var cur any = tree
	for _, p := range strings.Split(key, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = m[p]; !ok {
			return nil, false
		}
	}
	return cur, true
}

func decode(tree map[string]any) (*Config, error) {
	vals := make(map[string]any, len(CoreKeys))
	for _, k := range CoreKeys {
		raw, ok := lookup(tree, k.Name)
		if !ok {
			raw = k.Default
		}
		val, err := parseKey(k, raw)
		if err != nil {
			return nil, err
		}
		vals[k.Name] = val
	}
	seed := vals["seed"].(int)
	if seed < 0 {
		return nil, fmt.Errorf("config key %q: must be ≥ 0, got %d", "seed", seed)
	}
	c := &Config{
		Seed:     uint64(seed),
		Out:      vals["out"].(string),
		Progress: vals["progress"].(string),
		Data: DataSpec{
			Path: vals["data.path"].(string), Format: vals["data.format"].(string),
			Features: vals["data.features"].([]string), Label: vals["data.label"].(string),
			Shape: vals["data.shape"].([]int), Scale: vals["data.scale"].(string), Limit: vals["data.limit"].(int),
			Stream: vals["data.stream"].(bool), ShuffleRows: vals["data.shuffle_rows"].(int), Nulls: vals["data.nulls"].(string),
		},
		Cache:      CacheSpec{Enabled: vals["cache.enabled"].(bool), Dir: vals["cache.dir"].(string)},
		Checkpoint: CheckpointSpec{Enabled: vals["checkpoint.enabled"].(bool)},
	}
	interval, err := time.ParseDuration(vals["checkpoint.interval"].(string))
	if err != nil || interval < 0 {
		return nil, fmt.Errorf("config key %q: want a duration ≥ 0 such as 5m or 30s, got %q", "checkpoint.interval", vals["checkpoint.interval"])
	}
	c.Checkpoint.Interval = interval
	if raw, ok := tree["stages"]; ok {
		items, ok := raw.([]any)
		if !ok || len(items) == 0 {
			return nil, fmt.Errorf("config key %q: want a list of one or more stage sections, got %v", "stages", raw)
		}
		for i, it := range items {
			m, ok := it.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("config key \"stages[%d]\": want a section with encoder, losses, train and an optional clusterer, got %T", i, it)
			}
			s, err := stageEntry(fmt.Sprintf("stages[%d].", i), m, false)
			if err != nil {
				return nil, err
			}
			if s.Name == "" {
				s.Name = fmt.Sprintf("stage%d", i+1)
			}
			c.Stages = append(c.Stages, s)
		}
	} else {
		s, err := stageEntry("", tree, true)
		if err != nil {
			return nil, err
		}
		s.Name = "stage1"
		c.Stages = []Stage{s}
	}
	return c, c.check()
}

// stageEntry decodes one stage from its section m; keys name it in
// errors. A single-stage config (single) always has a clusterer, dec by
// default; a stage of a list has one only when it gives the section.
func stageEntry(prefix string, m map[string]any, single bool) (Stage, error) {
	var s Stage
	for k := range m {
		if !single && k != "name" && !contains(stageSections, k) {
			return s, fmt.Errorf("config key %q: unknown key", prefix+k)
		}
	}
	if !single {
		name, err := parseKey(Key{Name: prefix + "name", Type: sdk.TypeString}, orDefault(m["name"], ""))
		if err != nil {
			return s, err
		}
		s.Name = name.(string)
	}
	train, _ := m["train"].(map[string]any)
	if t, ok := m["train"]; ok && train == nil && t != nil {
		return s, fmt.Errorf("config key %q: want a section, got %T", prefix+"train", t)
	}
	for k := range train {
		if _, ok := findKey(TrainKeys, "train."+k); !ok {
			return s, fmt.Errorf("config key %q: unknown key", prefix+"train."+k)
		}
	}
	vals := map[string]any{}
	for _, k := range TrainKeys {
		sub := strings.TrimPrefix(k.Name, "train.")
		raw, ok := train[sub]
		if !ok {
			raw = k.Default
			if sub == "epochs" && !single && m["clusterer"] == nil {
				raw = 0
			}
		}
		k.Name = prefix + k.Name
		val, err := parseKey(k, raw)
		if err != nil {
			return s, err
		}
		vals[sub] = val
	}
	s.Pretrained = vals["pretrained"].(string)
	s.Train = pipeline.Schedule{
		BatchSize: vals["batch_size"].(int), PretrainEpochs: vals["pretrain_epochs"].(int),
		PretrainLR: vals["pretrain_lr"].(float64), PretrainDecay: vals["pretrain_decay"].(string),
		PretrainSampler: vals["pretrain_sampler"].(string), Neighbors: vals["neighbors"].(int),
		KNNSearch: scheduleKNNSearch(vals["knn_search"].(string)), Epochs: vals["epochs"].(int),
		LR: vals["lr"].(float64), Beta: vals["beta"].(float64), Tol: vals["tol"].(float64),
		UpdateInterval: vals["update_interval"].(int), Sampler: vals["sampler"].(string),
	}
	var err error
	if s.Encoder, err = pluginSection(prefix+"encoder", m["encoder"], "mlp"); err != nil {
		return s, err
	}
	if raw, ok := m["clusterer"]; ok || single {
		clu, err := pluginSection(prefix+"clusterer", raw, "dec")
		if err != nil {
			return s, err
		}
		s.Clusterer = &clu
	}
	if s.Losses, err = lossList(prefix, m["losses"]); err != nil {
		return s, err
	}
	return s, nil
}

// scheduleKNNSearch is a train.knn_search value as pipeline.Schedule
// holds it: auto is "" (see Schedule.KNNSearch).
func scheduleKNNSearch(v string) string {
	if v == knn.MethodAuto {
		return ""
	}
	return v
}

func orDefault(v, def any) any {
	if v == nil {
		return def
	}
	return v
}

func parseKey(k Key, raw any) (any, error) {
	val, err := sdk.ParseValue(k.Type, raw)
	if err != nil {
		return nil, fmt.Errorf("config key %q: %w", k.Name, err)
	}
	if s, ok := val.(string); ok && len(k.Enum) > 0 && !contains(k.Enum, s) {
		return nil, fmt.Errorf("config key %q: %q is not one of %s", k.Name, s, strings.Join(k.Enum, ", "))
	}
	return val, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// pluginSection decodes a plugin section (encoder or clusterer, or an item
// of losses with its extra keys already taken out) named name; plugin is
// its default plugin.
func pluginSection(name string, raw any, plugin string) (PluginSpec, error) {
	m, ok := raw.(map[string]any)
	if raw != nil && !ok {
		return PluginSpec{}, fmt.Errorf("config key %q: want a section, got %T", name, raw)
	}
	vals := map[string]any{}
	for k := range m {
		if _, ok := sectionKey(k); !ok && k != "config" {
			return PluginSpec{}, fmt.Errorf("config key %q: unknown key", name+"."+k)
		}
	}
	for _, k := range SectionKeys("", plugin, "") {
		sub := k.Name[1:]
		v, ok := m[sub]
		if !ok {
			v = k.Default
		}
		k.Name = name + k.Name
		val, err := parseKey(k, v)
		if err != nil {
			return PluginSpec{}, err
		}
		vals[sub] = val
	}
	timeout, err := parseTimeout(name+".timeout", vals["timeout"].(string))
	if err != nil {
		return PluginSpec{}, err
	}
	env, err := checkEnvNames(name+".env", vals["env"].([]string))
	if err != nil {
		return PluginSpec{}, err
	}
	cfg := map[string]any{}
	if c, ok := m["config"]; ok && c != nil {
		if cfg, ok = c.(map[string]any); !ok {
			return PluginSpec{}, fmt.Errorf("config key %q: want a section, got %T", name+".config", c)
		}
	}
	return PluginSpec{
		Plugin: vals["plugin"].(string), Path: vals["path"].(string),
		SHA256: vals["sha256"].(string), Args: vals["args"].([]string), Env: env,
		Isolation: vals["isolation"].(string), Timeout: timeout, Raw: cfg,
	}, nil
}

// checkEnvNames checks the variable names of a section's env key.
func checkEnvNames(key string, names []string) ([]string, error) {
	for _, n := range names {
		if n == "" || strings.ContainsAny(n, "= \t\x00") {
			return nil, fmt.Errorf("config key %q: %q is not an environment variable name", key, n)
		}
	}
	return names, nil
}

func parseTimeout(key, s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("config key %q: want a positive duration such as 30s, got %q", key, s)
	}
	return d, nil
}

func lossList(prefix string, raw any) ([]LossSpec, error) {
	if raw == nil {
		raw = defaultLosses()
	}
	items, ok := raw.([]any)
	if !ok {
		return nil, fmt.Errorf("config key %q: want a list of loss sections, got %T", prefix+"losses", raw)
	}
	out := make([]LossSpec, 0, len(items))
	for i, it := range items {
		name := fmt.Sprintf("%slosses[%d]", prefix, i)
		m, ok := it.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("config key %q: want a section with plugin, weight and config, got %T", name, it)
		}
		spec, err := lossEntry(name, m)
		if err != nil {
			return nil, err
		}
		out = append(out, spec)
	}
	return out, nil
}

func lossEntry(name string, m map[string]any) (LossSpec, error) {
	section := map[string]any{}
	vals := map[string]any{}
	for k, v := range m {
		if _, ok := findKey(LossKeys[len(LossKeys)-2:], "."+k); ok {
			continue
		}
		if _, ok := sectionKey(k); !ok && k != "config" {
			return LossSpec{}, fmt.Errorf("config key %q: unknown key", name+"."+k)
		}
		section[k] = v
	}
	for _, k := range LossKeys[len(LossKeys)-2:] {
		raw, ok := m[k.Name[1:]]
		if !ok {
			raw = k.Default
		}
		k.Name = name + k.Name
		val, err := parseKey(k, raw)
		if err != nil {
			return LossSpec{}, err
		}
		vals[k.Name] = val
	}
	spec, err := pluginSection(name, section, "reconstruction")
	if err != nil {
		return LossSpec{}, err
	}
	stages := vals[name+".stages"].([]string)
	for _, s := range stages {
		if s != pipeline.StagePretrain && s != pipeline.StageTrain {
			return LossSpec{}, fmt.Errorf("config key %q: %q is not one of pretrain, train", name+".stages", s)
		}
	}
	return LossSpec{PluginSpec: spec, Weight: vals[name+".weight"].(float64), Stages: stages}, nil
}

// check enforces what the types alone do not: ranges, and that the stages
// fit together.
func (c *Config) check() error {
	if c.Data.ShuffleRows <= 0 {
		return fmt.Errorf("config key %q: must be > 0, got %d", "data.shuffle_rows", c.Data.ShuffleRows)
	}
	if c.Data.Limit < 0 {
		return fmt.Errorf("config key %q: must be ≥ 0, got %d", "data.limit", c.Data.Limit)
	}
	names := map[string]bool{}
	for i, s := range c.Stages {
		prefix := ""
		if len(c.Stages) > 1 || s.Name != "stage1" {
			prefix = fmt.Sprintf("stages[%d].", i)
		}
		if names[s.Name] {
			return fmt.Errorf("config key %q: two stages are named %q", prefix+"name", s.Name)
		}
		names[s.Name] = true
		if err := checkSchedule(prefix, s.Train); err != nil {
			return err
		}
		for j, l := range s.Losses {
			if l.Weight < 0 {
				return fmt.Errorf("config key \"%slosses[%d].weight\": must be ≥ 0, got %v", prefix, j, l.Weight)
			}
		}
		if s.Clusterer == nil && s.Train.Epochs > 0 {
			return fmt.Errorf("config key %q: a stage without a clusterer has no joint training: set it to 0 or give the stage a clusterer", prefix+"train.epochs")
		}
	}
	if c.Last().Clusterer == nil {
		return fmt.Errorf("config key \"stages[%d].clusterer\": the last stage needs a clusterer: it gives the assignments", len(c.Stages)-1)
	}
	return nil
}

func checkSchedule(prefix string, t pipeline.Schedule) error {
	if t.BatchSize <= 0 {
		return fmt.Errorf("config key %q: must be > 0, got %d", prefix+"train.batch_size", t.BatchSize)
	}
	nonNeg := []struct {
		key string
		v   float64
	}{
		{"train.pretrain_epochs", float64(t.PretrainEpochs)}, {"train.epochs", float64(t.Epochs)},
		{"train.pretrain_lr", t.PretrainLR}, {"train.lr", t.LR}, {"train.beta", t.Beta},
		{"train.tol", t.Tol}, {"train.update_interval", float64(t.UpdateInterval)},
	}
	for _, p := range nonNeg {
		if p.v < 0 {
			return fmt.Errorf("config key %q: must be ≥ 0, got %v", prefix+p.key, p.v)
		}
	}
	if err := t.Validate(); err != nil {
		return fmt.Errorf("config key %q: %w", prefix+"train", err)
	}
	return nil
}

// Descriptions holds the plugin Descriptions of a config's sections, as
// ResolvePlugins saw them, for writing the config back out.
type Descriptions struct {
	Stages []StageDescriptions
}

// StageDescriptions are the Descriptions of one stage's plugins.
type StageDescriptions struct {
	Encoder sdk.Description
	// Clusterer is nil when the stage has none.
	Clusterer *sdk.Description
	Losses    []sdk.Description
}

// ErrSkipPlugin, returned by the describe function of ResolvePlugins,
// leaves that section unresolved: its Config nil, its Description zero.
var ErrSkipPlugin = errors.New("plugin not described")

// ResolvePlugins checks every plugin section's config against the
// Description that describe returns for it, filling in defaults, stage by
// stage in the order encoder, clusterer, losses. It returns the
// Descriptions it saw.
func (c *Config) ResolvePlugins(describe func(kind sdk.Kind, spec PluginSpec) (sdk.Description, error)) (Descriptions, error) {
	var out Descriptions
	resolve := func(section string, kind sdk.Kind, p *PluginSpec) (sdk.Description, error) {
		d, err := describe(kind, *p)
		if errors.Is(err, ErrSkipPlugin) {
			return sdk.Description{}, nil
		}
		if err != nil {
			return d, err
		}
		if p.Config, err = sdk.ResolveConfig(d, p.Raw); err != nil {
			return d, fmt.Errorf("%s.config: %w", section, err)
		}
		return d, nil
	}
	for i := range c.Stages {
		s := &c.Stages[i]
		prefix := ""
		if len(c.Stages) > 1 {
			prefix = fmt.Sprintf("stages[%d].", i)
		}
		var sd StageDescriptions
		var err error
		if sd.Encoder, err = resolve(prefix+"encoder", sdk.KindEncoder, &s.Encoder); err != nil {
			return out, err
		}
		if s.Clusterer != nil {
			d, err := resolve(prefix+"clusterer", sdk.KindClusterer, s.Clusterer)
			if err != nil {
				return out, err
			}
			sd.Clusterer = &d
		}
		for j := range s.Losses {
			d, err := resolve(fmt.Sprintf("%slosses[%d]", prefix, j), sdk.KindLoss, &s.Losses[j].PluginSpec)
			if err != nil {
				return out, err
			}
			sd.Losses = append(sd.Losses, d)
		}
		out.Stages = append(out.Stages, sd)
	}
	return out, nil
}

// DefaultCacheDir is the stage cache directory when cache.dir is empty:
// deepclust/stages under os.UserCacheDir, or under the system's temporary
// directory when the user has none.
func DefaultCacheDir() string {
	dir, err := os.UserCacheDir()
	if err != nil {
		dir = os.TempDir()
	}
	return filepath.Join(dir, "deepclust", "stages")
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
