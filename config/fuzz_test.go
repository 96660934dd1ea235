package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzLoad feeds the loader arbitrary config files (YAML, JSON or TOML,
// by the first byte of ext) and one --set override: it returns a checked
// config of at least one stage or an error, and never panics.
func FuzzLoad(f *testing.F) {
	for _, s := range []struct {
		ext  byte
		body string
		set  string
	}{
		{'y', "seed: 3\ndata:\n  path: x.csv\n", "train.epochs=2"},
		{'y', "encoder:\n  plugin: mlp\n  config:\n    hidden: [8, 4]\nclusterer:\n  plugin: kmeans\n  config:\n    k: 3\n", "clusterer.config.k=4"},
		{'y', "stages:\n  - encoder:\n      plugin: identity\n    clusterer:\n      plugin: gmm\n", "stages.0.train.epochs=1"},
		{'j', `{"seed": 1, "losses": [{"plugin": "reconstruction", "weight": 2}]}`, "losses[0].weight=3"},
		{'t', "seed = 5\n[train]\nbatch_size = 64\n", "seed=6"},
		{'y', "seed: [1, 2\n", ""},
	} {
		f.Add(s.ext, []byte(s.body), s.set)
	}
	f.Fuzz(func(t *testing.T, ext byte, body []byte, set string) {
		name := map[byte]string{'j': "c.json", 't': "c.toml"}[ext]
		if name == "" {
			name = "c.yaml"
		}
		p := filepath.Join(t.TempDir(), name)
		if err := os.WriteFile(p, body, 0o644); err != nil {
			t.Fatal(err)
		}
		opt := Options{File: p, NoEnv: true}
		if k, v, ok := strings.Cut(set, "="); ok {
			opt.Set = map[string]string{k: v}
		}
		c, err := Load(opt)
		if err != nil {
			return
		}
		if c == nil || len(c.Stages) == 0 {
			t.Fatalf("Load accepted a config without stages: %+v", c)
		}
	})
}
