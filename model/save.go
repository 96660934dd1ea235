package model

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/deepclust/deepclust/config"
	"github.com/deepclust/deepclust/dataset"
	"github.com/deepclust/deepclust/internal/results"
	"github.com/deepclust/deepclust/plugins"
)

// Files of a model folder.
const (
	// ConfigFile is the resolved config, which Load reads back.
	ConfigFile = "config.yaml"
	// ManifestFile describes the model: Manifest as JSON.
	ManifestFile = "manifest.json"
	// EncoderFile and ClustererFile hold a stage's plugin states, in the
	// stage's folder.
	EncoderFile   = "encoder.bin"
	ClustererFile = "clusterer.bin"
)

// Version is the deepclust version recorded in saved models and outputs;
// set at build time with
// -ldflags "-X github.com/deepclust/deepclust/model.Version=...".
var Version = "0.2.0-dev"

// Manifest describes a saved model. Its top-level fields describe the
// model as a whole (the first stage's input, the last stage's embedding
// and plugins); Stages describes each stage. A model saved before stages
// existed has no Stages and its files at the top of the folder.
type Manifest struct {
	Version      string            `json:"version"`
	InputShape   []int             `json:"input_shape"`
	EmbeddingDim int               `json:"embedding_dim"`
	Plugins      map[string]string `json:"plugins"`
	// Scaler is the scaling of the input fitted on the training samples,
	// which Predict applies; nil for none.
	Scaler *dataset.Scaler `json:"scaler,omitempty"`
	// ConfigSHA256 is the SHA-256 of ConfigFile; Load refuses a config
	// that does not match (absent in models saved before it existed).
	ConfigSHA256 string          `json:"config_sha256,omitempty"`
	Stages       []StageManifest `json:"stages,omitempty"`
	// legacy marks a manifest saved before stages, without checksums.
	legacy bool
}

// StageManifest describes one stage of a saved model.
type StageManifest struct {
	Name string `json:"name"`
	// Dir is the stage's folder, relative to the model folder.
	Dir          string            `json:"dir"`
	InputShape   []int             `json:"input_shape"`
	EmbeddingDim int               `json:"embedding_dim"`
	Plugins      map[string]string `json:"plugins"`
	// SHA256 maps each file of the stage's folder to its SHA-256; Load
	// refuses a file that does not match.
	SHA256 map[string]string `json:"sha256"`
}

// Save writes the fitted model into the folder dir, atomically: a failure
// leaves dir as it was, and success replaces dir as a whole. dir must be
// new, empty or a folder deepclust wrote (see results.CheckOut). The folder holds ConfigFile, ManifestFile and one
// folder per stage (stage1, stage2, ...) with the stage's EncoderFile and,
// when the stage has a clusterer, ClustererFile.
func (m *Model) Save(ctx context.Context, dir string) error {
	if !m.fitted {
		return errors.New("model: Save before Fit")
	}
	st, err := results.NewStage(dir)
	if err != nil {
		return err
	}
	defer st.Abort()
	var buf bytes.Buffer
	if err := config.Write(&buf, m.cfg, m.descs, false); err != nil {
		return err
	}
	if err := os.WriteFile(st.Path(ConfigFile), buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("writing the model: %w", err)
	}
	last := m.stages[len(m.stages)-1]
	man := Manifest{Version: Version, InputShape: m.InputShape(), EmbeddingDim: m.EmbeddingDim(), Plugins: last.plugins(), Scaler: m.scaler,
		ConfigSHA256: sha(buf.Bytes())}
	for _, s := range m.stages {
		sm := StageManifest{Name: s.spec.Name, Dir: fmt.Sprintf("stage%d", s.index+1), InputShape: s.inputShape, EmbeddingDim: s.dim,
			Plugins: s.plugins(), SHA256: map[string]string{}}
		files := map[string][]byte{}
		var err error
		if files[EncoderFile], err = s.model.Encoder.Save(ctx); err != nil {
			return fmt.Errorf("saving stage %s's encoder: %w", s.spec.Name, err)
		}
		if s.model.Clusterer != nil {
			if files[ClustererFile], err = s.model.Clusterer.Save(ctx); err != nil {
				return fmt.Errorf("saving stage %s's clusterer: %w", s.spec.Name, err)
			}
		}
		if err := os.MkdirAll(st.Path(sm.Dir), 0o755); err != nil {
			return fmt.Errorf("writing the model: %w", err)
		}
		for name, b := range files {
			sm.SHA256[name] = sha(b)
			if err := os.WriteFile(st.Path(filepath.Join(sm.Dir, name)), b, 0o644); err != nil {
				return fmt.Errorf("writing the model: %w", err)
			}
		}
		man.Stages = append(man.Stages, sm)
	}
	if err := results.WriteJSON(st.Path(ManifestFile), man); err != nil {
		return err
	}
	return st.Commit()
}

// plugins names the stage's encoder and clusterer with their versions.
func (s *stage) plugins() map[string]string {
	d := s.encoder.Description()
	p := map[string]string{"encoder": d.Name + " " + d.Version}
	if s.clusterer != nil {
		d := s.clusterer.Description()
		p["clusterer"] = d.Name + " " + d.Version
	}
	return p
}

// Folder returns the model folder of dir: dir/model when dir is a run's
// output directory, dir itself otherwise.
func Folder(dir string) string {
	if _, err := os.Stat(filepath.Join(dir, "model", ManifestFile)); err == nil {
		return filepath.Join(dir, "model")
	}
	return dir
}

// ReadManifest reads the manifest of the model in dir (a model folder or a
// run's output directory).
func ReadManifest(dir string) (*Manifest, error) {
	var man Manifest
	if err := readJSON(filepath.Join(Folder(dir), ManifestFile), &man); err != nil {
		return nil, fmt.Errorf("model %s: not a model (a run's output directory or its model/ folder): %w", dir, err)
	}
	if len(man.Stages) == 0 {
		// A model saved before stages: one stage, files at the top.
		man.Stages = []StageManifest{{Name: "stage1", Dir: ".", InputShape: man.InputShape, EmbeddingDim: man.EmbeddingDim, Plugins: man.Plugins}}
		man.legacy = true
	}
	for i := range man.Stages {
		if !man.legacy && man.Stages[i].SHA256 == nil {
			// Every file must then have a checksum.
			man.Stages[i].SHA256 = map[string]string{}
		}
	}
	return &man, nil
}

// Load reads the model saved in dir (a model folder, or a run's output
// directory holding one) for prediction: every stage's encoder and the
// last stage's clusterer, checked against the manifest's checksums.
// Losses and the clusterers of earlier stages, which prediction does not
// use, are not opened.
func Load(ctx context.Context, dir string, opt Options) (*Model, error) {
	folder := Folder(dir)
	man, err := ReadManifest(dir)
	if err != nil {
		return nil, err
	}
	cfgFile := filepath.Join(folder, ConfigFile)
	if man.ConfigSHA256 != "" {
		b, err := os.ReadFile(cfgFile)
		if err != nil {
			return nil, fmt.Errorf("model %s: %w", dir, err)
		}
		if sha(b) != man.ConfigSHA256 {
			return nil, fmt.Errorf("model %s: %s does not match the manifest's SHA-256: the file was changed or damaged after the model was saved", dir, cfgFile)
		}
	}
	cfg, err := config.Load(config.Options{File: cfgFile, NoEnv: true})
	if err != nil {
		return nil, fmt.Errorf("model %s: %w", dir, err)
	}
	if len(cfg.Stages) != len(man.Stages) {
		return nil, fmt.Errorf("model %s: %s has %d stages, %s %d", dir, ConfigFile, len(cfg.Stages), ManifestFile, len(man.Stages))
	}
	for i := range cfg.Stages {
		cfg.Stages[i].Losses = nil
		if i < len(cfg.Stages)-1 {
			cfg.Stages[i].Clusterer = nil
		}
	}
	m, err := New(ctx, cfg, opt)
	if err != nil {
		return nil, fmt.Errorf("model %s: %w", dir, err)
	}
	m.scaler = man.Scaler
	if err := m.agree(man); err != nil {
		m.Close()
		return nil, fmt.Errorf("model %s: %w", dir, err)
	}
	if err := m.load(ctx, folder, man); err != nil {
		m.Close()
		return nil, fmt.Errorf("model %s: %w", dir, err)
	}
	m.fitted = true
	return m, nil
}

// agree checks that the manifest describes the model the config builds:
// the same stage names and, stage by stage, the same encoder and (for the
// last stage, the only clusterer Load opens) clusterer plugins, also in
// the manifest's top-level plugins, which describe the last stage.
func (m *Model) agree(man *Manifest) error {
	for i, s := range m.stages {
		sm := man.Stages[i]
		if !man.legacy && sm.Name != s.spec.Name {
			return fmt.Errorf("%s names stage %d %q, %s %q: the model folder was changed after it was saved", ManifestFile, i+1, sm.Name, ConfigFile, s.spec.Name)
		}
		if err := s.agree(sm.Plugins); err != nil {
			return err
		}
	}
	return m.stages[len(m.stages)-1].agree(man.Plugins)
}

// agree checks that the encoder and clusterer that saved names (role:
// "name version") are the stage's.
func (s *stage) agree(saved map[string]string) error {
	roles := map[string]*plugins.Plugin{"encoder": s.encoder, "clusterer": s.clusterer}
	for _, role := range []string{"encoder", "clusterer"} {
		p := roles[role]
		if p == nil {
			continue
		}
		name, _, _ := strings.Cut(saved[role], " ")
		if name != p.Description().Name {
			return fmt.Errorf("%s says stage %s's %s is %q, %s names %q: the model folder was changed after it was saved", ManifestFile, s.spec.Name, role, name, ConfigFile, p.Description().Name)
		}
	}
	return nil
}

// load configures every stage for its saved input shape and loads its
// states.
func (m *Model) load(ctx context.Context, folder string, man *Manifest) error {
	for i, s := range m.stages {
		sm := man.Stages[i]
		if err := s.configure(ctx, m.cfg.Seed, sm.InputShape); err != nil {
			return err
		}
		if s.dim != sm.EmbeddingDim {
			return fmt.Errorf("stage %s: the encoder gives embeddings of width %d, the manifest says %d", s.spec.Name, s.dim, sm.EmbeddingDim)
		}
		if i > 0 && !slices.Equal(sm.InputShape, []int{m.stages[i-1].dim}) {
			return fmt.Errorf("stage %s: input shape %v does not follow the previous stage's width %d", s.spec.Name, sm.InputShape, m.stages[i-1].dim)
		}
		b, err := readState(folder, sm, EncoderFile)
		if err != nil {
			return err
		}
		if err := s.model.Encoder.Load(ctx, b); err != nil {
			return fmt.Errorf("loading %s: %w", filepath.Join(sm.Dir, EncoderFile), err)
		}
		if s.model.Clusterer == nil {
			continue
		}
		if b, err = readState(folder, sm, ClustererFile); err != nil {
			return err
		}
		if err := s.model.Clusterer.Load(ctx, b); err != nil {
			return fmt.Errorf("loading %s: %w", filepath.Join(sm.Dir, ClustererFile), err)
		}
	}
	return nil
}

// readState reads a stage's file and checks it against the manifest's
// SHA-256. Only a model saved before stages existed (whose manifest has
// no stages, and no checksums) is read unchecked.
func readState(folder string, sm StageManifest, name string) ([]byte, error) {
	path := filepath.Join(folder, sm.Dir, name)
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading the model: %w", err)
	}
	want, ok := sm.SHA256[name]
	switch {
	case !ok && sm.SHA256 != nil:
		// ReadManifest gives every stage of a staged manifest a map.
		return nil, fmt.Errorf("%s lists no SHA-256 of %s: the manifest was changed or damaged after it was saved", ManifestFile, path)
	case ok && sha(b) != want:
		return nil, fmt.Errorf("%s does not match the manifest's SHA-256: the file was changed or damaged after it was saved", path)
	}
	return b, nil
}

// loadPretrained loads into st's configured encoder the encoder of the
// stage of the model in dir with the same index (or of its only stage),
// after checking that it was trained by the same encoder plugin on samples
// of the same shape with the same embedding width.
func loadPretrained(ctx context.Context, dir string, st *stage, stages int) error {
	man, err := ReadManifest(dir)
	if err != nil {
		return fmt.Errorf("train.pretrained %s: %w", dir, err)
	}
	var sm StageManifest
	switch {
	case len(man.Stages) == 1:
		sm = man.Stages[0]
	case len(man.Stages) == stages:
		sm = man.Stages[st.index]
	default:
		return fmt.Errorf("train.pretrained %s: the model has %d stages, this config %d: say which by giving one with the same stages or a single stage", dir, len(man.Stages), stages)
	}
	d := st.encoder.Description()
	switch name, _, _ := strings.Cut(sm.Plugins["encoder"], " "); {
	case name != d.Name:
		return fmt.Errorf("train.pretrained %s: its encoder is %q, this stage's is %q", dir, name, d.Name)
	case !slices.Equal(sm.InputShape, st.inputShape):
		return fmt.Errorf("train.pretrained %s: trained on samples of shape %v, this stage's input has shape %v", dir, sm.InputShape, st.inputShape)
	case sm.EmbeddingDim != st.dim:
		return fmt.Errorf("train.pretrained %s: embedding width %d, this encoder's is %d", dir, sm.EmbeddingDim, st.dim)
	}
	b, err := readState(Folder(dir), sm, EncoderFile)
	if err != nil {
		return fmt.Errorf("train.pretrained %s: %w", dir, err)
	}
	if err := st.model.Encoder.Load(ctx, b); err != nil {
		return fmt.Errorf("train.pretrained %s: loading %s: %w", dir, EncoderFile, err)
	}
	return nil
}

func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("reading %s: %w", path, err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("reading %s: %w", path, err)
	}
	return nil
}
