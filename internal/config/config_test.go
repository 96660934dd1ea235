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
	if c.Seed != 11 || c.Train.Epochs != 9 {
		t.Errorf("flags must win: seed %d epochs %d", c.Seed, c.Train.Epochs)
	}
	if c2, err := Load(Options{File: file}); err != nil {
		t.Error(err)
	} else if c2.Train.Epochs != 5 {
		t.Errorf("env must override the file: epochs %d", c2.Train.Epochs)
	}
	if c.Train.BatchSize != 128 || c.Train.PretrainEpochs != 100 {
		t.Errorf("file and defaults: batch %d pretrain %d", c.Train.BatchSize, c.Train.PretrainEpochs)
	}
	if got := c.Encoder.Raw["lr"]; got != "0.02" {
		t.Errorf("env must override the file's nested plugin key: lr = %v", got)
	}
	if got := c.Clusterer.Raw["n_init"]; got != "3" {
		t.Errorf("env must reach plugin keys absent from the file: n_init = %v", got)
	}
	if !reflect.DeepEqual(c.Encoder.Raw["hidden"], []any{64, 32}) {
		t.Errorf("hidden = %#v", c.Encoder.Raw["hidden"])
	}
	if len(c.Losses) != 1 || c.Losses[0].Weight != 0.5 || c.Losses[0].Raw["kind"] != "bce" || !c.Losses[0].In("pretrain") {
		t.Errorf("losses = %+v", c.Losses)
	}
	if c.Encoder.Timeout != 10*time.Minute || c.Encoder.Isolation != IsolationInProcess {
		t.Errorf("plugin defaults: %+v", c.Encoder)
	}
}

func TestLoadDefaults(t *testing.T) {
	c, err := Load(Options{})
	if err != nil {
		t.Fatal(err)
	}
	if c.Data.Path != "" || c.Encoder.Plugin != "mlp" || c.Clusterer.Plugin != "dec" || len(c.Losses) != 1 {
		t.Fatalf("defaults: %+v", c)
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
		{name: "unknown loss key", file: "losses:\n  - plugin: reconstruction\n    wieght: 1\n", want: `config key "losses[0].wieght": unknown key`},
		{name: "bad stage", file: "losses:\n  - stages: [later]\n", want: `"later" is not one of pretrain, train`},
		{name: "unknown env", env: []string{"DEEPCLUST_TRAIN_EPOCS=3"}, want: "environment variable DEEPCLUST_TRAIN_EPOCS: no such config key"},
		{name: "env wrong type", env: []string{"DEEPCLUST_TRAIN_BATCH_SIZE=big"}, want: `config key "train.batch_size": want an integer, got "big"`},
		{name: "unknown override", set: map[string]string{"train.bogus": "1"}, want: `unknown config key "train.bogus"`},
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
	c, err := Load(Options{File: writeFile(t, "c.yaml", sample)})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.ResolvePlugins(describeFake); err != nil {
		t.Fatal(err)
	}
	if c.Encoder.Config.Float("lr") != 0.01 || c.Clusterer.Config.Int("k") != 4 || c.Losses[0].Config.String("kind") != "bce" {
		t.Fatalf("resolved: %+v %+v %+v", c.Encoder.Config, c.Clusterer.Config, c.Losses[0].Config)
	}
	d := Descriptions{Encoder: fakeDesc, Clusterer: fakeDesc, Losses: []sdk.Description{fakeDesc}}
	for _, docs := range []bool{false, true} {
		var buf bytes.Buffer
		if err := Write(&buf, c, d, docs); err != nil {
			t.Fatal(err)
		}
		back, err := Load(Options{File: writeFile(t, "back.yaml", buf.String())})
		if err != nil {
			t.Fatalf("reading back (docs %v): %v\n%s", docs, err, buf.String())
		}
		if err := back.ResolvePlugins(describeFake); err != nil {
			t.Fatal(err)
		}
		for _, p := range []*PluginSpec{&c.Encoder, &c.Clusterer, &c.Losses[0].PluginSpec, &back.Encoder, &back.Clusterer, &back.Losses[0].PluginSpec} {
			p.Raw = nil
		}
		if !reflect.DeepEqual(c, back) {
			t.Fatalf("round trip (docs %v) changed the config:\n%+v\n%+v\n%s", docs, c, back, buf.String())
		}
	}
}

func TestResolvePluginsRejectsUnknownPluginKey(t *testing.T) {
	c, err := Load(Options{Set: map[string]string{"encoder.config.lrr": "1"}})
	if err != nil {
		t.Fatal(err)
	}
	err = c.ResolvePlugins(describeFake)
	if err == nil || !strings.Contains(err.Error(), `encoder.config: encoder "fake": unknown config key "lrr"`) {
		t.Fatalf("got %v", err)
	}
}
