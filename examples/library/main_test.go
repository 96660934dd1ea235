package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"

	"github.com/deepclust/deepclust/dataset"
)

// small is a two-stage config small enough for a test: an autoencoder,
// then a UMAP-loss network with k-means, on 1,500 of the built-in MNIST
// images.
const small = `
data:
  limit: 1500
progress: off
stages:
  - name: autoencoder
    train: {pretrain_epochs: 3}
    encoder:
      plugin: mlp
      config: {hidden: [64], embedding: 8}
    losses:
      - plugin: reconstruction
        stages: [pretrain]
  - name: manifold
    train: {pretrain_epochs: 2, pretrain_sampler: neighbors, neighbors: 5, epochs: 0}
    encoder:
      plugin: mlp
      config: {hidden: [32], embedding: 4}
    losses:
      - plugin: contrastive
        stages: [pretrain]
        config: {kind: umap}
    clusterer:
      plugin: kmeans
      config: {k: 10, n_init: 2}
`

// TestLibraryReproducesTheCommand trains the same config with the same
// seed through the library and through the deepclust command (built from
// the same source), and checks that the assignments are the same.
func TestLibraryReproducesTheCommand(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("DEEPCLUST_CACHE_ENABLED", "false")
	cfg := filepath.Join(dir, "small.yaml")
	if err := os.WriteFile(cfg, []byte(small), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := run(context.Background(), cfg, "", filepath.Join(dir, "lib"), 3); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "deepclust")
	build := exec.Command("go", "build", "-o", bin, "./cmd/deepclust")
	build.Dir = "../.."
	if b, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building deepclust: %v\n%s", err, b)
	}
	cli := filepath.Join(dir, "cli")
	if b, err := exec.Command(bin, "run", "--config", cfg, "--seed", "3", "--out", cli).CombinedOutput(); err != nil {
		t.Fatalf("deepclust run: %v\n%s", err, b)
	}
	// The command's assignments, read through the public dataset package:
	// its cluster column as the labels.
	ds, err := dataset.Load(filepath.Join(cli, "assignments.parquet"), dataset.Options{FeatureColumns: []string{"embedding"}, LabelColumn: "cluster"})
	if err != nil {
		t.Fatal(err)
	}
	if len(lastLabels) != 1500 || !slices.Equal(ds.Labels, lastLabels) {
		t.Fatalf("the library's %d assignments differ from the command's %d", len(lastLabels), len(ds.Labels))
	}
}
