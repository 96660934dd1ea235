package config

import (
	"os"
	"path/filepath"
	"testing"
)

// TestAutoKOnUserData: with no config file and the user's own data, the
// default pipeline's kmeans gets k: auto and a note says so; a k given by
// --set, a config file or the built-in data (no path) keep k as given.
func TestAutoKOnUserData(t *testing.T) {
	k := func(c *Config) any { return c.Last().Clusterer.Raw["k"] }
	c, err := Load(Options{Set: map[string]string{"data.path": "my.csv"}, NoEnv: true})
	if err != nil {
		t.Fatal(err)
	}
	if k(c) != "auto" || len(c.Notes) != 1 {
		t.Errorf("user data, no k: k %v, notes %q; want auto and one note", k(c), c.Notes)
	}
	c, err = Load(Options{Set: map[string]string{"data.path": "my.csv", "stages.1.clusterer.config.k": "6"}, NoEnv: true})
	if err != nil {
		t.Fatal(err)
	}
	if k(c) == "auto" || len(c.Notes) != 0 {
		t.Errorf("k given: k %v, notes %q; want the given k and no note", k(c), c.Notes)
	}
	c, err = Load(Options{NoEnv: true})
	if err != nil {
		t.Fatal(err)
	}
	if k(c) == "auto" || len(c.Notes) != 0 {
		t.Errorf("built-in data: k %v, notes %q; want 10 and no note", k(c), c.Notes)
	}
	file := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(file, []byte("data:\n  path: my.csv\nclusterer:\n  plugin: kmeans\n  config:\n    k: 4\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err = Load(Options{File: file, NoEnv: true})
	if err != nil {
		t.Fatal(err)
	}
	if k(c) == "auto" || len(c.Notes) != 0 {
		t.Errorf("config file: k %v, notes %q; want the file's k and no note", k(c), c.Notes)
	}
}
