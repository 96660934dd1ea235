package config

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/deepclust/deepclust/sdk"
)

func writeFile(t *testing.T, name, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

const sample = `
seed: 7
train:
  epochs: 3
  batch_size: 128
encoder:
  plugin: mlp
  config:
    hidden: [64, 32]
    lr: 0.01
clusterer:
  config:
    k: 4
losses:
  - plugin: reconstruction
    weight: 0.5
    config:
      kind: bce
`

func TestLoadPrecedence(t *testing.T) {
	file := writeFile(t, "c.yaml", sample)
	for k, v := range map[string]string{"DEEPCLUST_TRAIN_EPOCHS": "5", "DEEPCLUST_ENCODER_CONFIG_LR": "0.02", "DEEPCLUST_CLUSTERER_CONFIG_N_INIT": "3", "DEEPCLUST_PLUGIN": "cookie"} {
		t.Setenv(k, v)
	}
	c, err := Load(Options{File: file, Set: map[string]string{"train.epochs": "9", "seed": "11"}})
	if err != nil {
		t.Fatal(err)
	}
	if c.Seed != 11 || c.Stages[0].Train.Epochs != 9 {
		t.Errorf("flags must win: seed %d epochs %d", c.Seed, c.Stages[0].Train.Epochs)
	}
	if c2, err := Load(Options{File: file}); err != nil {
		t.Error(err)
	} else if c2.Stages[0].Train.Epochs != 5 {
		t.Errorf("env must override the file: epochs %d", c2.Stages[0].Train.Epochs)
	}
	s := c.Stages[0]
	if s.Train.BatchSize != 128 || s.Train.PretrainEpochs != 100 {
		t.Errorf("file and defaults: batch %d pretrain %d", s.Train.BatchSize, s.Train.PretrainEpochs)
	}
	if got := s.Encoder.Raw["lr"]; got != "0.02" {
		t.Errorf("env must override the file's nested plugin key: lr = %v", got)
	}
	if got := s.Clusterer.Raw["n_init"]; got != "3" {
		t.Errorf("env must reach plugin keys absent from the file: n_init = %v", got)
	}
	if !reflect.DeepEqual(s.Encoder.Raw["hidden"], []any{64, 32}) {
		t.Errorf("hidden = %#v", s.Encoder.Raw["hidden"])
	}
	if len(s.Losses) != 1 || s.Losses[0].Weight != 0.5 || s.Losses[0].Raw["kind"] != "bce" || !s.Losses[0].In("pretrain") {
		t.Errorf("losses = %+v", s.Losses)
	}
	if s.Encoder.Timeout != 10*time.Minute || s.Encoder.Isolation != IsolationInProcess {
		t.Errorf("plugin defaults: %+v", s.Encoder)
	}
}

func TestLoadDefaults(t *testing.T) {
	c, err := Load(Options{})
	if err != nil {
		t.Fatal(err)
	}
	if c.Data.Path != "" || len(c.Stages) != 2 || c.Stages[0].Clusterer != nil || c.Last().Clusterer == nil || !c.Cache.Enabled {
		t.Fatalf("defaults: %+v", c)
	}
	if c.Stages[0].Name != "autoencoder" || c.Stages[0].Train.Epochs != 0 || c.Stages[1].Train.PretrainSampler != "neighbors" {
		t.Fatalf("default stages: %+v", c.Stages)
	}
	// A single-stage file keeps its single-stage defaults.
	single, err := Load(Options{File: writeFile(t, "s.yaml", "encoder:\n  plugin: mlp\n")})
	if err != nil {
		t.Fatal(err)
	}
	if len(single.Stages) != 1 || single.Stages[0].Clusterer == nil || single.Stages[0].Clusterer.Plugin != "dec" || len(single.Stages[0].Losses) != 1 || single.Stages[0].Train.Epochs != 50 {
		t.Fatalf("single-stage defaults: %+v", single.Stages)
	}
}

func TestLoadErrorsNameTheKey(t *testing.T) {
	for _, tc := range []struct {
		name, file string
		env        []string
		set        map[string]string
		want       string
	}{
		{name: "unknown file key", file: "train:\n  epoch: 3\n", want: `unknown key "train.epoch"`},
		{name: "unknown section", file: "trian:\n  epochs: 3\n", want: `unknown key "trian.epochs"`},
		{name: "wrong type", file: "train:\n  epochs: many\n", want: `config key "train.epochs": want an integer`},
		{name: "bad enum", file: "data:\n  format: xls\n", want: `config key "data.format": "xls" is not one of`},
		{name: "negative", file: "train:\n  beta: -1\n", want: `config key "train.beta": must be ≥ 0`},
		{name: "bad timeout", file: "encoder:\n  timeout: soon\n", want: `config key "encoder.timeout"`},
		{name: "bad sampler", file: "train:\n  pretrain_sampler: neighbours\n", want: `config key "train.pretrain_sampler": "neighbours" is not one of shuffle, neighbors`},
		{name: "bad knn search", file: "train:\n  knn_search: hnsw\n", want: `config key "train.knn_search": "hnsw" is not one of auto, exact, approx`},
		{name: "stages and sections", file: "encoder:\n  plugin: mlp\nstages:\n  - encoder: {plugin: mlp}\n", want: "not both"},
		{name: "unknown stage key", file: "stages:\n  - encodr: {plugin: mlp}\n", want: `config key "stages[0].encodr": unknown key`},
		{name: "unknown stage train key", file: "stages:\n  - train: {epoch: 1}\n    clusterer: {plugin: kmeans}\n", want: `config key "stages[0].train.epoch": unknown key`},
		{name: "last stage without clusterer", file: "stages:\n  - encoder: {plugin: mlp}\n", want: `the last stage needs a clusterer`},
		{name: "joint training without clusterer", file: "stages:\n  - train: {epochs: 3}\n  - clusterer: {plugin: kmeans}\n", want: `config key "stages[0].train.epochs": a stage without a clusterer`},
		{name: "duplicate stage names", file: "stages:\n  - name: a\n  - name: a\n    clusterer: {plugin: kmeans}\n", want: `two stages are named "a"`},
		{name: "top-level override on stages", set: map[string]string{"train.epochs": "5"}, want: "this config has stages: set stages.N.train.epochs for stage N from 0 to 1"},
		{name: "stage index out of range", set: map[string]string{"stages.7.train.epochs": "5"}, want: "stages has 2 items, no item 7"},
		{name: "stage override on a single stage", file: "encoder:\n  plugin: mlp\n", set: map[string]string{"stages.0.train.epochs": "5"}, want: "this config has no stages list"},
		{name: "unknown stage override", set: map[string]string{"stages.0.train.epoks": "5"}, want: `unknown config key "stages.0.train.epoks"`},
		{name: "empty env value is an error like an empty --set", env: []string{"DEEPCLUST_SEED="}, want: `config key "seed": want an integer, got ""`},
		{name: "empty --set value", set: map[string]string{"seed": ""}, want: `config key "seed": want an integer, got ""`},
		{name: "unknown indexed env", env: []string{"DEEPCLUST_STAGES_0_TRAIN_EPOKS=3"}, want: "environment variable DEEPCLUST_STAGES_0_TRAIN_EPOKS: no such config key"},
		{name: "unknown loss key", file: "losses:\n  - plugin: reconstruction\n    wieght: 1\n", want: `config key "losses[0].wieght": unknown key`},
		{name: "bad stage", file: "losses:\n  - stages: [later]\n", want: `"later" is not one of pretrain, train`},
		{name: "unknown env", file: "encoder:\n  plugin: mlp\n", env: []string{"DEEPCLUST_TRAIN_EPOCS=3"}, want: "environment variable DEEPCLUST_TRAIN_EPOCS: no such config key"},
		{name: "env wrong type", file: "encoder:\n  plugin: mlp\n", env: []string{"DEEPCLUST_TRAIN_BATCH_SIZE=big"}, want: `config key "train.batch_size": want an integer, got "big"`},
		{name: "unknown override", file: "encoder:\n  plugin: mlp\n", set: map[string]string{"train.bogus": "1"}, want: `unknown config key "train.bogus"`},
		{name: "broken yaml", file: "train: [\n", want: "reading config"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, kv := range tc.env {
				k, v, _ := strings.Cut(kv, "=")
				t.Setenv(k, v)
			}
			opt := Options{Set: tc.set}
			if tc.file != "" {
				opt.File = writeFile(t, "c.yaml", tc.file)
			}
			_, err := Load(opt)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("error is not one line: %q", err)
			}
		})
	}
	if _, err := Load(Options{File: "/nonexistent/c.yaml"}); err == nil || !strings.Contains(err.Error(), "/nonexistent/c.yaml") {
		t.Fatalf("missing file: %v", err)
	}
}

var fakeDesc = sdk.Description{Name: "fake", Version: "1", Fields: []sdk.Field{
	{Name: "lr", Type: sdk.TypeFloat, Default: 0.001, Doc: "Learning rate."},
	{Name: "hidden", Type: sdk.TypeInts, Default: []int{8}, Doc: "Widths."},
	{Name: "kind", Type: sdk.TypeString, Default: "mse", Enum: []string{"mse", "bce"}},
	{Name: "k", Type: sdk.TypeInt, Default: 10},
	{Name: "n_init", Type: sdk.TypeInt, Default: 10},
}}

func describeFake(kind sdk.Kind, _ PluginSpec) (sdk.Description, error) {
	d := fakeDesc
	d.Kind = kind
	return d, nil
}

func TestResolvePluginsAndWriteRoundTrip(t *testing.T) {
	for _, body := range []string{sample, staged} {
		c, err := Load(Options{File: writeFile(t, "c.yaml", body)})
		if err != nil {
			t.Fatal(err)
		}
		d, err := c.ResolvePlugins(describeFake)
		if err != nil {
			t.Fatal(err)
		}
		s := c.Last()
		if s.Encoder.Config.Float("lr") != 0.01 || s.Clusterer.Config.Int("k") != 4 || s.Losses[0].Config.String("kind") != "bce" {
			t.Fatalf("resolved: %+v %+v %+v", s.Encoder.Config, s.Clusterer.Config, s.Losses[0].Config)
		}
		for _, docs := range []bool{false, true} {
			var buf bytes.Buffer
			if err := Write(&buf, c, d, docs); err != nil {
				t.Fatal(err)
			}
			back, err := Load(Options{File: writeFile(t, "back.yaml", buf.String())})
			if err != nil {
				t.Fatalf("reading back (docs %v): %v\n%s", docs, err, buf.String())
			}
			if _, err := back.ResolvePlugins(describeFake); err != nil {
				t.Fatal(err)
			}
			for _, cc := range []*Config{c, back} {
				for i := range cc.Stages {
					st := &cc.Stages[i]
					st.Encoder.Raw = nil
					if st.Clusterer != nil {
						st.Clusterer.Raw = nil
					}
					for j := range st.Losses {
						st.Losses[j].Raw = nil
					}
				}
			}
			if !reflect.DeepEqual(c, back) {
				t.Fatalf("round trip (docs %v) changed the config:\n%+v\n%+v\n%s", docs, c, back, buf.String())
			}
		}
	}
}

const staged = `
seed: 3
stages:
  - name: ae
    train:
      pretrain_epochs: 2
    encoder:
      plugin: mlp
    losses:
      - plugin: reconstruction
        stages: [pretrain]
  - train:
      epochs: 1
    encoder:
      config:
        lr: 0.01
    clusterer:
      config:
        k: 4
    losses:
      - weight: 0.5
        config:
          kind: bce
`

// TestKNNSearchKey checks train.knn_search: auto (the default) reaches
// the schedule as "" (so stage cache keys of earlier runs stay valid),
// exact and approx as themselves, and a written config reads back the
// same.
func TestKNNSearchKey(t *testing.T) {
	c, err := Load(Options{File: writeFile(t, "c.yaml", staged), Set: map[string]string{"stages.1.train.knn_search": "approx"}})
	if err != nil {
		t.Fatal(err)
	}
	if a, b := c.Stages[0].Train.KNNSearch, c.Stages[1].Train.KNNSearch; a != "" || b != "approx" {
		t.Fatalf("knn_search: stage 0 %q, stage 1 %q; want \"\" (auto) and approx", a, b)
	}
	d, err := c.ResolvePlugins(describeFake)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := Write(&buf, c, d, false); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), `knn_search: "auto"`) || !strings.Contains(buf.String(), `knn_search: "approx"`) {
		t.Errorf("written config lacks knn_search auto and approx:\n%s", buf.String())
	}
	back, err := Load(Options{File: writeFile(t, "back.yaml", buf.String())})
	if err != nil {
		t.Fatal(err)
	}
	if back.Stages[0].Train != c.Stages[0].Train || back.Stages[1].Train != c.Stages[1].Train {
		t.Errorf("round trip changed the schedules: %+v, %+v", back.Stages[0].Train, back.Stages[1].Train)
	}
}

func TestStagesOverrides(t *testing.T) {
	t.Run("file, env and flags", testStagesFileEnvFlags)
	t.Run("default and single stages", testStagesDefaultAndSingle)
}

func testStagesFileEnvFlags(t *testing.T) {
	file := writeFile(t, "c.yaml", staged)
	t.Setenv("DEEPCLUST_STAGES_0_TRAIN_PRETRAIN_EPOCHS", "7")
	t.Setenv("DEEPCLUST_STAGES_1_LOSSES_0_CONFIG_KIND", "mse")
	t.Setenv("DEEPCLUST_STAGES_1_ENCODER_CONFIG_HIDDEN", "16,8")
	c, err := Load(Options{File: file, Set: map[string]string{
		"stages[1].losses[0].weight": "0.25", "stages.0.losses.0.config.kind": "bce", "stages.1.name": "joint", "stages.1.clusterer.config.k": "5",
	}})
	if err != nil {
		t.Fatal(err)
	}
	a, b := c.Stages[0], c.Stages[1]
	if a.Name != "ae" || b.Name != "joint" || a.Train.PretrainEpochs != 7 || a.Train.Epochs != 0 || a.Clusterer != nil {
		t.Errorf("stage 0: %+v", a)
	}
	if b.Losses[0].Weight != 0.25 || b.Losses[0].Raw["kind"] != "mse" || a.Losses[0].Raw["kind"] != "bce" {
		t.Errorf("losses: %+v / %+v", a.Losses, b.Losses)
	}
	if b.Encoder.Raw["hidden"] != "16,8" || b.Encoder.Raw["lr"] != 0.01 || b.Clusterer.Raw["k"] != "5" {
		t.Errorf("stage 1 plugins: %+v %+v", b.Encoder.Raw, b.Clusterer.Raw)
	}
	if b.Train.Epochs != 1 || b.Train.PretrainEpochs != 100 {
		t.Errorf("stage 1 train: %+v", b.Train)
	}
}

func testStagesDefaultAndSingle(t *testing.T) {
	// A stage without losses stands for the default list, which an
	// override reaches by index; the losses of a single stage too.
	c, err := Load(Options{Set: map[string]string{"stages.1.losses.0.weight": "2"}})
	if err != nil {
		t.Fatal(err)
	}
	if c.Stages[1].Losses[0].Weight != 2 || c.Stages[1].Losses[0].Plugin != "contrastive" {
		t.Errorf("default stages override: %+v", c.Stages[1].Losses)
	}
	c, err = Load(Options{File: writeFile(t, "s.yaml", "encoder:\n  plugin: mlp\n"), Set: map[string]string{"losses.0.weight": "3"}})
	if err != nil {
		t.Fatal(err)
	}
	if c.Stages[0].Losses[0].Weight != 3 || c.Stages[0].Losses[0].Plugin != "reconstruction" {
		t.Errorf("single-stage losses override: %+v", c.Stages[0].Losses)
	}
	// Naming the encoder on the command line makes the defaults one stage.
	c, err = Load(Options{Set: map[string]string{"encoder.plugin": "identity", "clusterer.plugin": "spectral", "train.epochs": "0"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Stages) != 1 || c.Stages[0].Encoder.Plugin != "identity" || c.Stages[0].Clusterer.Plugin != "spectral" || c.Stages[0].Train.Epochs != 0 {
		t.Errorf("single stage from flags: %+v", c.Stages)
	}
}

func TestResolvePluginsRejectsUnknownPluginKey(t *testing.T) {
	c, err := Load(Options{File: writeFile(t, "c.yaml", staged), Set: map[string]string{"stages.0.encoder.config.lrr": "1"}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.ResolvePlugins(describeFake)
	if err == nil || !strings.Contains(err.Error(), `stages[0].encoder.config: encoder "fake": unknown config key "lrr"`) {
		t.Fatalf("got %v", err)
	}
}

// TestCheckpointKeys checks checkpoint.enabled and checkpoint.interval:
// the defaults (on, epoch boundaries only), a Go duration, a written
// config that reads back the same, and the errors of a negative or
// unparsable interval.
func TestCheckpointKeys(t *testing.T) {
	c, err := Load(Options{File: writeFile(t, "c.yaml", staged)})
	if err != nil {
		t.Fatal(err)
	}
	if !c.Checkpoint.Enabled || c.Checkpoint.Interval != 0 {
		t.Fatalf("defaults: %+v", c.Checkpoint)
	}
	c, err = Load(Options{File: writeFile(t, "c.yaml", staged), Set: map[string]string{"checkpoint.interval": "5m", "checkpoint.enabled": "false"}})
	if err != nil {
		t.Fatal(err)
	}
	if c.Checkpoint.Enabled || c.Checkpoint.Interval != 5*time.Minute {
		t.Fatalf("set: %+v", c.Checkpoint)
	}
	d, err := c.ResolvePlugins(describeFake)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := Write(&buf, c, d, false); err != nil {
		t.Fatal(err)
	}
	back, err := Load(Options{File: writeFile(t, "back.yaml", buf.String())})
	if err != nil || back.Checkpoint != c.Checkpoint {
		t.Fatalf("read back: %+v, %v", back, err)
	}
	for _, bad := range []string{"-1s", "soon"} {
		_, err := Load(Options{File: writeFile(t, "c.yaml", staged), Set: map[string]string{"checkpoint.interval": bad}})
		if err == nil || !strings.Contains(err.Error(), "checkpoint.interval") {
			t.Errorf("interval %q: %v", bad, err)
		}
	}
}
