// Command library trains a deepclust pipeline, saves it, loads it back and
// assigns samples with it, through deepclust's public Go packages alone
// (config, model, dataset): what `deepclust run` followed by
// `deepclust predict` does, for a Go program that embeds deepclust.
//
//	go run . -config ../../configs/default.yaml -out /tmp/lib-run
//
// With the same config and seed it gives the same assignments as the
// deepclust command (see main_test.go, which checks it).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/deepclust/deepclust/config"
	"github.com/deepclust/deepclust/model"
)

func main() {
	cfgFile := flag.String("config", "", "config file (YAML, TOML or JSON); empty for the defaults")
	data := flag.String("data", "", "input data; empty for the config's data.path")
	out := flag.String("out", "library-out", "directory for the saved model")
	seed := flag.Int("seed", -1, "seed; -1 for the config's")
	flag.Parse()
	if err := run(context.Background(), *cfgFile, *data, *out, *seed); err != nil {
		fmt.Fprintln(os.Stderr, "library:", err)
		os.Exit(1)
	}
}

// run fits the pipeline of cfgFile on data, saves it under out/model,
// loads it back and checks that it assigns the training samples as the
// fit did; it prints the scores when the data has labels and returns the
// labels through lastLabels for the tests.
func run(ctx context.Context, cfgFile, data, out string, seed int) error {
	set := map[string]string{}
	if data != "" {
		set["data.path"] = data
	}
	if seed >= 0 {
		set["seed"] = fmt.Sprint(seed)
	}
	cfg, err := config.Load(config.Options{File: cfgFile, Set: set})
	if err != nil {
		return err
	}
	m, err := model.New(ctx, cfg, model.Options{Log: os.Stderr})
	if err != nil {
		return err
	}
	defer m.Close()
	src, desc, err := model.OpenData(ctx, cfg.Data)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "data: %s, %d samples\n", desc, src.Rows())
	res, err := m.Fit(ctx, src)
	if err != nil {
		return err
	}
	dir := filepath.Join(out, "model")
	if err := m.Save(ctx, dir); err != nil {
		return err
	}

	loaded, err := model.Load(ctx, dir, model.Options{})
	if err != nil {
		return err
	}
	defer loaded.Close()
	ds, err := model.LoadData(cfg.Data, cfg.Data.Path, cfg.Data.Format)
	if err != nil {
		return err
	}
	pred, err := loaded.Predict(ctx, ds.X)
	if err != nil {
		return err
	}
	if !slices.Equal(pred.Labels, res.Labels) {
		return fmt.Errorf("the loaded model assigns the training samples differently from the fit")
	}
	lastLabels = res.Labels
	for _, s := range res.Report.Stages {
		fmt.Printf("stage %-12s %6.1f s  cached %v\n", s.Name, s.Seconds["total"], s.Cached)
	}
	if r := res.Report; r.Scores != nil {
		fmt.Printf("ACC %.4f  NMI %.4f  ARI %.4f  n=%d k=%d\n", r.ACC, r.NMI, r.ARI, r.N, r.K)
	} else {
		fmt.Printf("n=%d k=%d\n", res.Report.N, res.Report.K)
	}
	return nil
}

// lastLabels holds the labels of the last run, for the tests.
var lastLabels []int32
