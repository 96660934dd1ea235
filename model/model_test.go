package model

import (
	"bytes"
	"context"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/deepclust/deepclust/config"
	"github.com/deepclust/deepclust/pipeline"
	"github.com/deepclust/deepclust/plugins"
	"github.com/deepclust/deepclust/sdk"
)

// blobs returns n samples of 6 features around 3 well-separated centres,
// with their labels.
func blobs(n int, seed uint64) pipeline.Data {
	rng := rand.New(rand.NewPCG(seed, 7))
	x := sdk.NewTensor(n, 6)
	labels := make([]int32, n)
	for i := range n {
		c := i % 3
		labels[i] = int32(c)
		for j := range 6 {
			centre := 0.0
			if j%3 == c {
				centre = 4
			}
			x.Data[i*6+j] = float32(centre + rng.NormFloat64()*0.3)
		}
	}
	return pipeline.Data{X: x, Labels: labels}
}

// twoStages is an autoencoder stage without a clusterer, then a second
// encoder with k-means.
const twoStages = `
seed: 4
progress: off
stages:
  - name: ae
    train: {pretrain_epochs: 3, batch_size: 32}
    encoder:
      plugin: mlp
      config: {hidden: [16], embedding: 4, lr: 0.01}
    losses:
      - plugin: reconstruction
        stages: [pretrain]
  - name: second
    train: {pretrain_epochs: 2, batch_size: 32, epochs: 0}
    encoder:
      plugin: mlp
      config: {hidden: [8], embedding: 3, lr: 0.01}
    losses:
      - plugin: reconstruction
        stages: [pretrain]
    clusterer:
      plugin: kmeans
      config: {k: 3, n_init: 2}
`

func load(t *testing.T, body string, set map[string]string) *config.Config {
	t.Helper()
	file := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(file, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(config.Options{File: file, Set: set, NoEnv: true})
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func fit(t *testing.T, cfg *config.Config, data pipeline.Data, opt Options) (*Model, *Result, string) {
	t.Helper()
	var log bytes.Buffer
	opt.Log = &log
	m, err := New(context.Background(), cfg, opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	res, err := m.Fit(context.Background(), data)
	if err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	return m, res, log.String()
}

// TestFitSavePredict trains two stages, saves them, loads the model back
// and checks that Predict on the training samples gives Fit's labels.
func TestFitSavePredict(t *testing.T) {
	data := blobs(300, 1)
	cfg := load(t, twoStages, map[string]string{"cache.enabled": "false"})
	m, res, log := fit(t, cfg, data, Options{})
	r := res.Report
	if len(r.Stages) != 2 || r.Stages[0].Name != "ae" || r.Stages[0].EmbeddingDim != 4 || r.Stages[1].EmbeddingDim != 3 {
		t.Fatalf("stage reports %+v", r.Stages)
	}
	for _, s := range r.Stages {
		if s.Scores == nil || s.Seconds["total"] <= 0 || s.Cached {
			t.Errorf("stage %s: %+v", s.Name, s)
		}
	}
	if r.Scores == nil || r.N != 300 || r.K != 3 || len(res.Labels) != 300 || res.Z.Cols() != 3 {
		t.Fatalf("report %+v", r.Report)
	}
	if !strings.Contains(log, "stage 1/2 ae: encoder mlp on 300 samples of shape [6]") {
		t.Errorf("log lacks the stage line:\n%s", log)
	}
	dir := filepath.Join(t.TempDir(), "model")
	if err := m.Save(context.Background(), dir); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{ConfigFile, ManifestFile, "stage1/encoder.bin", "stage2/encoder.bin", "stage2/clusterer.bin"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("saved model lacks %s", f)
		}
	}
	back, err := Load(context.Background(), dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer back.Close()
	p, err := back.Predict(context.Background(), data.X)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(p.Labels, res.Labels) || !slices.Equal(p.Z.Data, res.Z.Data) {
		t.Fatal("Predict on the training samples differs from Fit")
	}
	if _, err := back.Predict(context.Background(), sdk.NewTensor(2, 5)); err == nil || !strings.Contains(err.Error(), "shape [5]") {
		t.Errorf("wrong shape: %v", err)
	}
	// A state file changed on disk is refused.
	enc := filepath.Join(dir, "stage1", EncoderFile)
	b, _ := os.ReadFile(enc)
	b[len(b)/2] ^= 1
	os.WriteFile(enc, b, 0o644)
	if _, err := Load(context.Background(), dir, Options{}); err == nil || !strings.Contains(err.Error(), "does not match the manifest's SHA-256") {
		t.Errorf("altered weights: %v", err)
	}
}

// TestLabelsUnused checks that the labels change only the scores.
func TestLabelsUnused(t *testing.T) {
	data := blobs(240, 2)
	_, with, _ := fit(t, load(t, twoStages, map[string]string{"cache.enabled": "false"}), data, Options{})
	_, without, _ := fit(t, load(t, twoStages, map[string]string{"cache.enabled": "false"}), pipeline.Data{X: data.X}, Options{})
	if !slices.Equal(with.Labels, without.Labels) || without.Report.Scores != nil || without.Report.Stages[0].Scores != nil {
		t.Fatal("labels changed the assignments, or were scored when absent")
	}
}

// TestStageCache checks that a re-run takes its stages from the cache with
// the same result, that changing only the last stage's clusterer reuses
// the stages, and that a corrupted entry is retrained, not used.
func TestStageCache(t *testing.T) {
	data := blobs(300, 3)
	cacheDir := t.TempDir()
	set := map[string]string{"cache.dir": cacheDir}
	_, first, _ := fit(t, load(t, twoStages, set), data, Options{})
	if first.Report.Stages[0].Cached || first.Report.Stages[0].Key == "" {
		t.Fatalf("first run: %+v", first.Report.Stages[0])
	}
	againModel, again, log := fit(t, load(t, twoStages, set), data, Options{})
	if !again.Report.Stages[0].Cached || !again.Report.Stages[1].Cached || !slices.Equal(again.Labels, first.Labels) {
		t.Fatalf("re-run: cached %v %v, same labels %v\n%s", again.Report.Stages[0].Cached, again.Report.Stages[1].Cached, slices.Equal(again.Labels, first.Labels), log)
	}
	// The second stage's clusterer fit came from the cache as well, and
	// the loaded clusterer assigns as the fitted one.
	if !again.Report.Stages[1].ClustererCached || !strings.Contains(log, "its clusterer's fit too") || again.Report.Scores == nil || *again.Report.Scores != *first.Report.Scores {
		t.Fatalf("re-run: clusterer fit cached %v, scores %v and %v\n%s", again.Report.Stages[1].ClustererCached, again.Report.Scores, first.Report.Scores, log)
	}
	if p, err := againModel.Predict(context.Background(), data.X); err != nil || !slices.Equal(p.Labels, first.Labels) {
		t.Fatalf("the cached clusterer fit predicts other labels (%v)", err)
	}
	// Only the last clusterer changes: both stages come from the cache,
	// the clusterer is fitted anew, and its fit is cached for the next run.
	set2 := map[string]string{"cache.dir": cacheDir, "stages.1.clusterer.config.n_init": "3"}
	_, changed, _ := fit(t, load(t, twoStages, set2), data, Options{})
	if !changed.Report.Stages[0].Cached || !changed.Report.Stages[1].Cached || changed.Report.Stages[1].ClustererCached {
		t.Fatalf("clusterer change: %+v", changed.Report.Stages)
	}
	_, changedAgain, _ := fit(t, load(t, twoStages, set2), data, Options{})
	if !changedAgain.Report.Stages[1].ClustererCached || !slices.Equal(changedAgain.Labels, changed.Labels) {
		t.Fatalf("changed clusterer, re-run: fit cached %v, same labels %v", changedAgain.Report.Stages[1].ClustererCached, slices.Equal(changedAgain.Labels, changed.Labels))
	}
	// A damaged fit is removed and fitted again, to the same labels.
	fits, err := filepath.Glob(filepath.Join(cacheDir, first.Report.Stages[1].Key, fitPrefix+"*", labelsFile))
	if err != nil || len(fits) != 2 {
		t.Fatalf("%d cached fits of the second stage (%v), want 2", len(fits), err)
	}
	for _, f := range fits {
		b, _ := os.ReadFile(f)
		b[0] ^= 1
		os.WriteFile(f, b, 0o644)
	}
	_, refit, log := fit(t, load(t, twoStages, set), data, Options{})
	if refit.Report.Stages[1].ClustererCached || !strings.Contains(log, "clusterer fit") || !slices.Equal(refit.Labels, first.Labels) {
		t.Fatalf("damaged fit: cached %v, same labels %v\n%s", refit.Report.Stages[1].ClustererCached, slices.Equal(refit.Labels, first.Labels), log)
	}
	// The second stage changes: the first is reused, the second trained.
	set3 := map[string]string{"cache.dir": cacheDir, "stages.1.train.pretrain_epochs": "3"}
	_, later, _ := fit(t, load(t, twoStages, set3), data, Options{})
	if !later.Report.Stages[0].Cached || later.Report.Stages[1].Cached {
		t.Fatalf("second-stage change: %+v", later.Report.Stages)
	}
	// Corrupt the first stage's embeddings: retrained, same result.
	z := filepath.Join(cacheDir, first.Report.Stages[0].Key, embeddingFile)
	b, err := os.ReadFile(z)
	if err != nil {
		t.Fatal(err)
	}
	b[3] ^= 0x40
	if err := os.WriteFile(z, b, 0o644); err != nil {
		t.Fatal(err)
	}
	_, healed, log := fit(t, load(t, twoStages, set), data, Options{})
	if healed.Report.Stages[0].Cached || !strings.Contains(log, "unusable") || !slices.Equal(healed.Labels, first.Labels) {
		t.Fatalf("corrupt entry: cached %v, same labels %v\n%s", healed.Report.Stages[0].Cached, slices.Equal(healed.Labels, first.Labels), log)
	}
	// NoCache reads nothing.
	_, bypass, _ := fit(t, load(t, twoStages, set), data, Options{NoCache: true})
	if bypass.Report.Stages[0].Cached {
		t.Fatal("NoCache used the cache")
	}
}

// TestJointStageCache checks a cached stage with joint training: its
// clusterer state and labels come back as trained.
func TestJointStageCache(t *testing.T) {
	data := blobs(240, 4)
	set := map[string]string{"cache.dir": t.TempDir(), "stages.1.train.epochs": "2"}
	_, first, _ := fit(t, load(t, twoStages, set), data, Options{})
	m, again, _ := fit(t, load(t, twoStages, set), data, Options{})
	if !again.Report.Stages[1].Cached || !slices.Equal(again.Labels, first.Labels) {
		t.Fatalf("joint stage: cached %v, same labels %v", again.Report.Stages[1].Cached, slices.Equal(again.Labels, first.Labels))
	}
	p, err := m.Predict(context.Background(), data.X)
	if err != nil {
		t.Fatal(err)
	}
	agree := 0
	for i := range p.Labels {
		if p.Labels[i] == first.Labels[i] {
			agree++
		}
	}
	if agree < len(p.Labels)*95/100 {
		t.Fatalf("the cached clusterer assigns %d of %d rows as trained", agree, len(p.Labels))
	}
}

// shrink is a loss plugin value, registered through Options.Plugins: the
// mean of ‖z_i‖², which counts its calls.
type shrink struct{ calls *int }

func (s shrink) Describe() sdk.Description {
	return sdk.Description{Kind: sdk.KindLoss, Name: "shrink", Version: "1", Doc: "Mean squared norm of the embeddings."}
}
func (s shrink) Configure(context.Context, sdk.Setup) error { return nil }
func (s shrink) Eval(_ context.Context, in sdk.LossInput) (sdk.LossOutput, error) {
	*s.calls++
	n := float64(in.Z.Rows())
	g := sdk.Tensor{Shape: in.Z.Shape, Data: make([]float32, len(in.Z.Data))}
	var v float64
	for i, z := range in.Z.Data {
		v += float64(z) * float64(z) / n
		g.Data[i] = float32(2 * float64(z) / n)
	}
	return sdk.LossOutput{Value: v, GradZ: g}, nil
}

// TestPluginValues builds a stage from a Go plugin value registered
// beside the built-ins and named in the config.
func TestPluginValues(t *testing.T) {
	calls := 0
	body := strings.Replace(twoStages, "      - plugin: reconstruction\n        stages: [pretrain]\n  - name: second", "      - plugin: reconstruction\n        stages: [pretrain]\n      - plugin: shrink\n        weight: 0.01\n        stages: [pretrain]\n  - name: second", 1)
	cfg := load(t, body, map[string]string{"cache.enabled": "false"})
	_, res, _ := fit(t, cfg, blobs(90, 5), Options{Plugins: []plugins.Factory{func() sdk.Describer { return shrink{&calls} }}})
	if calls == 0 || len(res.Labels) != 90 {
		t.Fatalf("the plugin value was called %d times", calls)
	}
}

// TestLaterStageConfigErrorBeforeTraining checks that a config error only
// a later stage's plugin finds (its Configure) ends Fit before the first
// stage trains.
func TestLaterStageConfigErrorBeforeTraining(t *testing.T) {
	cfg := load(t, twoStages, map[string]string{"cache.enabled": "false", "stages.1.clusterer.config.k": "0"})
	var log bytes.Buffer
	m, err := New(context.Background(), cfg, Options{Log: &log})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	_, err = m.Fit(context.Background(), blobs(300, 1))
	if err == nil || !strings.Contains(err.Error(), "stage second") {
		t.Fatalf("k = 0 in the second stage: %v", err)
	}
	if strings.Contains(log.String(), "stage 1/2") {
		t.Errorf("the first stage started before the second's config error:\n%s", log.String())
	}
}

// TestPretrainingReused trains the second stage of twoStages without joint
// training, then the same stage with joint training: the second run takes
// that stage's pretraining from the stage cache and ends exactly as the
// same run without the cache; a stage that pretrains otherwise does not
// reuse it.
func TestPretrainingReused(t *testing.T) {
	data := blobs(240, 8)
	cacheDir := t.TempDir()
	joint := strings.Replace(twoStages, "epochs: 0", "epochs: 3, tol: 0", 1)
	fit(t, load(t, twoStages, map[string]string{"cache.dir": cacheDir}), data, Options{})
	_, want, _ := fit(t, load(t, joint, map[string]string{"cache.enabled": "false"}), data, Options{})
	_, got, log := fit(t, load(t, joint, map[string]string{"cache.dir": cacheDir}), data, Options{})
	s := got.Report.Stages
	if !s[0].Cached || s[1].Cached || !s[1].PretrainCached || !strings.Contains(log, "its pretraining taken from the stage cache") {
		t.Fatalf("joint run after the plain one: stage 1 cached %v, stage 2 cached %v, pretraining cached %v\n%s", s[0].Cached, s[1].Cached, s[1].PretrainCached, log)
	}
	if !slices.Equal(got.Labels, want.Labels) || !slices.Equal(got.Z.Data, want.Z.Data) ||
		!slices.Equal(s[1].PretrainHistory, want.Report.Stages[1].PretrainHistory) || len(s[1].History) != len(want.Report.Stages[1].History) {
		t.Fatal("the joint run from the cached pretraining differs from one without the cache")
	}
	for i, h := range s[1].History {
		if w := want.Report.Stages[1].History[i]; h.Loss != w.Loss || h.LabelChange != w.LabelChange {
			t.Fatalf("joint-training epoch %d: loss %v, change %v; without the cache %v, %v", i+1, h.Loss, h.LabelChange, w.Loss, w.LabelChange)
		}
	}
	// Another pretraining learning rate: pretrained anew.
	other := map[string]string{"cache.dir": cacheDir, "stages.1.train.pretrain_lr": "0.02"}
	_, fresh, _ := fit(t, load(t, joint, other), data, Options{})
	if fresh.Report.Stages[1].PretrainCached {
		t.Fatal("a stage with another pretraining learning rate reused the cached pretraining")
	}
}
