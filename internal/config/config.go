package config

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/spf13/viper"

	"github.com/deepclust/deepclust/pipeline"
	"github.com/deepclust/deepclust/sdk"
)

// EnvPrefix starts every environment variable deepclust reads.
const EnvPrefix = "DEEPCLUST_"

// PluginSpec says which plugin fills a role and how to run it.
type PluginSpec struct {
	// Plugin is a built-in plugin name; ignored when Path is set.
	Plugin string
	// Path is an external plugin binary.
	Path string
	// SHA256 optionally pins the external binary.
	SHA256 string
	// Args are command-line arguments for the external binary.
	Args []string
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

// LossSpec is one entry of the losses list.
type LossSpec struct {
	PluginSpec
	// Weight is α_k.
	Weight float64
	// Stages lists where the loss applies: "pretrain", "train".
	Stages []string
}

// In reports whether the loss takes part in the given stage.
func (l LossSpec) In(stage string) bool {
	for _, s := range l.Stages {
		if s == stage {
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

// Config is a fully loaded and checked run configuration.
type Config struct {
	Seed     uint64
	Out      string
	Progress string
	Data     DataSpec
	Train    pipeline.Schedule
	// Pretrained is a previous run's output (or its model/ folder) whose
	// encoder weights replace pretraining; empty to pretrain.
	Pretrained string
	Encoder    PluginSpec
	Clusterer  PluginSpec
	Losses     []LossSpec
}

// Options are the sources Load reads besides the defaults and the
// DEEPCLUST_* environment variables.
type Options struct {
	// File is a YAML, TOML or JSON config file; empty for none.
	File string
	// Set holds command-line overrides by dotted key; they win over all.
	Set map[string]string
	// NoEnv ignores the environment, for printing the pure defaults.
	NoEnv bool
}

// Load reads and checks a configuration. Plugin sections keep their raw
// config; call ResolvePlugins to check them against the plugins.
func Load(opt Options) (*Config, error) {
	v := viper.New()
	for _, k := range CoreKeys {
		v.SetDefault(k.Name, k.Default)
	}
	if opt.File != "" {
		if err := readFile(v, opt.File); err != nil {
			return nil, err
		}
	}
	if !opt.NoEnv {
		if err := bindEnv(v, os.Environ()); err != nil {
			return nil, err
		}
	}
	keys := make([]string, 0, len(opt.Set))
	for k := range opt.Set {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		key := strings.ToLower(k)
		if !knownKey(key) {
			return nil, fmt.Errorf("override %s=%s: unknown config key %q", k, opt.Set[k], k)
		}
		v.Set(key, opt.Set[k])
	}
	return decode(v)
}

func readFile(v *viper.Viper, path string) error {
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("reading config %s: %w", path, err)
	}
	ext := strings.TrimPrefix(filepath.Ext(path), ".")
	switch ext {
	case "yaml", "yml", "json", "toml":
	default:
		return fmt.Errorf("reading config %s: unsupported extension %q (want .yaml, .yml, .json or .toml)", path, ext)
	}
	fv := viper.New()
	fv.SetConfigFile(path)
	if err := fv.ReadInConfig(); err != nil {
		return fmt.Errorf("reading config %s: %s", path, oneLine(err.Error()))
	}
	for _, k := range fv.AllKeys() {
		if !knownKey(k) {
			return fmt.Errorf("config %s: unknown key %q", path, k)
		}
	}
	if err := v.MergeConfigMap(fv.AllSettings()); err != nil {
		return fmt.Errorf("reading config %s: %w", path, err)
	}
	return nil
}

// knownKey reports whether a flattened key belongs to the schema: a core
// key, a key under a plugin section's config, or the losses list.
func knownKey(k string) bool {
	if k == "losses" || k == "encoder.config" || k == "clusterer.config" {
		return true
	}
	if strings.HasPrefix(k, "encoder.config.") || strings.HasPrefix(k, "clusterer.config.") {
		return !strings.Contains(strings.SplitN(k, ".", 3)[2], ".")
	}
	for _, c := range CoreKeys {
		if c.Name == k {
			return true
		}
	}
	return false
}

// bindEnv binds every DEEPCLUST_* variable to its key. Binding each key
// explicitly is what makes viper's Get see it (AutomaticEnv alone is
// ignored for keys viper does not already know). A variable that maps to
// no key is an error naming it.
func bindEnv(v *viper.Viper, environ []string) error {
	byEnv := make(map[string]string, len(CoreKeys))
	for _, k := range CoreKeys {
		byEnv[envName(k.Name)] = k.Name
	}
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(name, EnvPrefix) || internalEnv[name] {
			continue
		}
		key, ok := byEnv[name]
		if !ok {
			for _, section := range []string{"encoder", "clusterer"} {
				p := envName(section + ".config.")
				if strings.HasPrefix(name, p) && len(name) > len(p) {
					key, ok = section+".config."+strings.ToLower(name[len(p):]), true
				}
			}
		}
		if !ok {
			return fmt.Errorf("environment variable %s: no such config key", name)
		}
		if err := v.BindEnv(key, name); err != nil {
			return fmt.Errorf("environment variable %s: %w", name, err)
		}
	}
	return nil
}

// internalEnv lists DEEPCLUST_* variables that are not config keys.
var internalEnv = map[string]bool{"DEEPCLUST_PLUGIN": true}

func envName(key string) string {
	return EnvPrefix + strings.ToUpper(strings.ReplaceAll(key, ".", "_"))
}

func decode(v *viper.Viper) (*Config, error) {
	vals := make(map[string]any, len(CoreKeys))
	for _, k := range CoreKeys {
		val, err := parseKey(k, v.Get(k.Name))
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
		Seed:       uint64(seed),
		Out:        vals["out"].(string),
		Progress:   vals["progress"].(string),
		Pretrained: vals["train.pretrained"].(string),
		Data: DataSpec{
			Path: vals["data.path"].(string), Format: vals["data.format"].(string),
			Features: vals["data.features"].([]string), Label: vals["data.label"].(string),
			Shape: vals["data.shape"].([]int), Scale: vals["data.scale"].(string), Limit: vals["data.limit"].(int),
			Stream: vals["data.stream"].(bool), ShuffleRows: vals["data.shuffle_rows"].(int), Nulls: vals["data.nulls"].(string),
		},
		Train: pipeline.Schedule{
			BatchSize: vals["train.batch_size"].(int), PretrainEpochs: vals["train.pretrain_epochs"].(int),
			PretrainLR: vals["train.pretrain_lr"].(float64), PretrainDecay: vals["train.pretrain_decay"].(string),
			PretrainSampler: vals["train.pretrain_sampler"].(string), Neighbors: vals["train.neighbors"].(int),
			Epochs: vals["train.epochs"].(int),
			LR:     vals["train.lr"].(float64), Beta: vals["train.beta"].(float64), Tol: vals["train.tol"].(float64),
			UpdateInterval: vals["train.update_interval"].(int), Sampler: vals["train.sampler"].(string),
		},
	}
	var err error
	if c.Encoder, err = pluginSection(v, "encoder", vals); err != nil {
		return nil, err
	}
	if c.Clusterer, err = pluginSection(v, "clusterer", vals); err != nil {
		return nil, err
	}
	if c.Losses, err = lossList(v.Get("losses")); err != nil {
		return nil, err
	}
	return c, c.check()
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

func pluginSection(v *viper.Viper, section string, vals map[string]any) (PluginSpec, error) {
	timeout, err := parseTimeout(section+".timeout", vals[section+".timeout"].(string))
	if err != nil {
		return PluginSpec{}, err
	}
	raw := map[string]any{}
	prefix := section + ".config."
	for _, k := range v.AllKeys() {
		if strings.HasPrefix(k, prefix) {
			raw[k[len(prefix):]] = v.Get(k)
		}
	}
	return PluginSpec{
		Plugin: vals[section+".plugin"].(string), Path: vals[section+".path"].(string),
		SHA256: vals[section+".sha256"].(string), Args: vals[section+".args"].([]string),
		Isolation: vals[section+".isolation"].(string), Timeout: timeout, Raw: raw,
	}, nil
}

func parseTimeout(key, s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("config key %q: want a positive duration such as 30s, got %q", key, s)
	}
	return d, nil
}

func lossList(raw any) ([]LossSpec, error) {
	if raw == nil {
		raw = DefaultLosses
	}
	var items []any
	switch x := raw.(type) {
	case []any:
		items = x
	case []map[string]any:
		for _, m := range x {
			items = append(items, m)
		}
	default:
		return nil, fmt.Errorf("config key %q: want a list of loss sections, got %T", "losses", raw)
	}
	out := make([]LossSpec, 0, len(items))
	for i, it := range items {
		m, ok := it.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("config key \"losses[%d]\": want a section with plugin, weight and config, got %T", i, it)
		}
		spec, err := lossEntry(i, m)
		if err != nil {
			return nil, err
		}
		out = append(out, spec)
	}
	return out, nil
}

func lossEntry(i int, m map[string]any) (LossSpec, error) {
	name := fmt.Sprintf("losses[%d]", i)
	vals := map[string]any{}
	for k := range m {
		if k == "config" {
			continue
		}
		if _, ok := lossKey(k); !ok {
			return LossSpec{}, fmt.Errorf("config key %q: unknown key", name+"."+k)
		}
	}
	for _, k := range LossKeys {
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
	timeout, err := parseTimeout(name+".timeout", vals[name+".timeout"].(string))
	if err != nil {
		return LossSpec{}, err
	}
	cfg := map[string]any{}
	if c, ok := m["config"]; ok && c != nil {
		if cfg, ok = c.(map[string]any); !ok {
			return LossSpec{}, fmt.Errorf("config key %q: want a section, got %T", name+".config", c)
		}
	}
	stages := vals[name+".stages"].([]string)
	for _, s := range stages {
		if s != "pretrain" && s != "train" {
			return LossSpec{}, fmt.Errorf("config key %q: %q is not one of pretrain, train", name+".stages", s)
		}
	}
	return LossSpec{
		PluginSpec: PluginSpec{
			Plugin: vals[name+".plugin"].(string), Path: vals[name+".path"].(string),
			SHA256: vals[name+".sha256"].(string), Args: vals[name+".args"].([]string),
			Isolation: vals[name+".isolation"].(string), Timeout: timeout, Raw: cfg,
		},
		Weight: vals[name+".weight"].(float64),
		Stages: stages,
	}, nil
}

func lossKey(name string) (Key, bool) {
	for _, k := range LossKeys {
		if k.Name[1:] == name {
			return k, true
		}
	}
	return Key{}, false
}

// check enforces ranges that the types alone do not.
func (c *Config) check() error {
	positive := []struct {
		key string
		v   int
	}{{"train.batch_size", c.Train.BatchSize}, {"data.shuffle_rows", c.Data.ShuffleRows}}
	for _, p := range positive {
		if p.v <= 0 {
			return fmt.Errorf("config key %q: must be > 0, got %d", p.key, p.v)
		}
	}
	nonNeg := []struct {
		key string
		v   float64
	}{
		{"train.pretrain_epochs", float64(c.Train.PretrainEpochs)}, {"train.epochs", float64(c.Train.Epochs)},
		{"train.pretrain_lr", c.Train.PretrainLR}, {"train.lr", c.Train.LR}, {"train.beta", c.Train.Beta},
		{"train.tol", c.Train.Tol}, {"data.limit", float64(c.Data.Limit)}, {"train.update_interval", float64(c.Train.UpdateInterval)},
	}
	for _, p := range nonNeg {
		if p.v < 0 {
			return fmt.Errorf("config key %q: must be ≥ 0, got %v", p.key, p.v)
		}
	}
	for i, l := range c.Losses {
		if l.Weight < 0 {
			return fmt.Errorf("config key \"losses[%d].weight\": must be ≥ 0, got %v", i, l.Weight)
		}
	}
	return nil
}

// ResolvePlugins checks every plugin section's config against the
// Description that describe returns for it, filling in defaults.
func (c *Config) ResolvePlugins(describe func(kind sdk.Kind, spec PluginSpec) (sdk.Description, error)) error {
	resolve := func(section string, kind sdk.Kind, p *PluginSpec) error {
		d, err := describe(kind, *p)
		if err != nil {
			return err
		}
		if p.Config, err = sdk.ResolveConfig(d, p.Raw); err != nil {
			return fmt.Errorf("%s.config: %w", section, err)
		}
		return nil
	}
	if err := resolve("encoder", sdk.KindEncoder, &c.Encoder); err != nil {
		return err
	}
	if err := resolve("clusterer", sdk.KindClusterer, &c.Clusterer); err != nil {
		return err
	}
	for i := range c.Losses {
		if err := resolve(fmt.Sprintf("losses[%d]", i), sdk.KindLoss, &c.Losses[i].PluginSpec); err != nil {
			return err
		}
	}
	return nil
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
