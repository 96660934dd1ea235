package config

import (
	"bytes"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestPluginPathsAreAnchored checks that a config file's relative plugin
// paths are relative to the file's directory, whatever the working
// directory, that absolute ones stay, and that a path given by --set or
// DEEPCLUST_* is relative to the working directory. None is left bare for
// a PATH lookup.
func TestPluginPathsAreAnchored(t *testing.T) {
	file := writeFile(t, "c.yaml", `
stages:
  - encoder:
      path: plug/enc
    clusterer:
      path: /opt/clu
    losses:
      - path: ../loss
      - plugin: reconstruction
`)
	dir := filepath.Dir(file)
	cwd := t.TempDir()
	t.Chdir(cwd)
	c, err := Load(Options{File: file, NoEnv: true})
	if err != nil {
		t.Fatal(err)
	}
	s := c.Stages[0]
	got := []string{s.Encoder.Path, s.Clusterer.Path, s.Losses[0].Path, s.Losses[1].Path}
	want := []string{filepath.Join(dir, "plug", "enc"), "/opt/clu", filepath.Join(filepath.Dir(dir), "loss"), ""}
	if !slices.Equal(got, want) {
		t.Fatalf("paths %q, want %q", got, want)
	}
	c, err = Load(Options{File: file, NoEnv: true, Set: map[string]string{"stages.0.encoder.path": "bin/enc"}})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := c.Stages[0].Encoder.Path, filepath.Join(cwd, "bin", "enc"); got != want {
		t.Errorf("--set path: %q, want %q", got, want)
	}
	t.Setenv("DEEPCLUST_ENCODER_PATH", "my-plugin")
	c, err = Load(Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := c.Stages[0].Encoder.Path, filepath.Join(cwd, "my-plugin"); got != want {
		t.Errorf("DEEPCLUST_ENCODER_PATH: %q, want %q", got, want)
	}
}

// TestPluginEnvKey checks the env key of a plugin section: read from a
// file, --set and DEEPCLUST_*, checked, written back.
func TestPluginEnvKey(t *testing.T) {
	file := writeFile(t, "c.yaml", "encoder:\n  path: ./p\n  env: [CUDA_VISIBLE_DEVICES, MY_TOKEN]\nlosses:\n  - plugin: reconstruction\n    env: [A]\n")
	c, err := Load(Options{File: file, NoEnv: true, Set: map[string]string{"clusterer.env": "B,C"}})
	if err != nil {
		t.Fatal(err)
	}
	s := c.Stages[0]
	if !slices.Equal(s.Encoder.Env, []string{"CUDA_VISIBLE_DEVICES", "MY_TOKEN"}) || !slices.Equal(s.Losses[0].Env, []string{"A"}) || !slices.Equal(s.Clusterer.Env, []string{"B", "C"}) {
		t.Fatalf("env: encoder %q, losses[0] %q, clusterer %q", s.Encoder.Env, s.Losses[0].Env, s.Clusterer.Env)
	}
	t.Setenv("DEEPCLUST_STAGES_0_LOSSES_0_ENV", "D")
	if c, err = Load(Options{}); err != nil || !slices.Equal(c.Stages[0].Losses[0].Env, []string{"D"}) {
		t.Fatalf("DEEPCLUST_STAGES_0_LOSSES_0_ENV: %v, %v", err, c)
	}
	var b bytes.Buffer
	if err := Write(&b, c, Descriptions{}, true); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), `env: ["D"]`) || !strings.Contains(b.String(), "# Names of environment variables a plugin process gets") {
		t.Errorf("written config lacks the env key or its comment:\n%s", b.String())
	}
	_, err = Load(Options{NoEnv: true, Set: map[string]string{"stages.0.encoder.env": "A=B"}})
	if err == nil || !strings.Contains(err.Error(), `config key "stages[0].encoder.env": "A=B" is not an environment variable name`) {
		t.Errorf("env A=B: got %v", err)
	}
}
