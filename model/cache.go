package model

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"time"

	"github.com/deepclust/deepclust/config"
	"github.com/deepclust/deepclust/pipeline"
	"github.com/deepclust/deepclust/sdk"
)

// cacheFormat is the version of the cache's entries and keys; a change to
// either bumps it, so old entries are never read.
const cacheFormat = 1

// Files of a cache entry.
const (
	entryFile     = "entry.json"
	encoderState  = "encoder.bin"
	clustererFile = "clusterer.bin"
	embeddingFile = "z.f32"
	labelsFile    = "labels.i32"
)

// stageCache keeps trained stages under a directory, one entry a key:
// DIR/KEY/ holding entry.json (what the entry holds, with each file's
// SHA-256) and the files. Entries are written into a temporary directory
// and renamed into place, so a reader sees a whole entry or none; an entry
// whose files do not match entry.json is removed and the stage retrained.
type stageCache struct {
	dir string
	log io.Writer
	// keepScores keeps the scores of joint training's history, which the
	// cache drops (the labels are not part of the key).
	keepScores bool
}

// entry is one cache entry as entry.json records it, with its files.
type entry struct {
	Format int    `json:"format"`
	Key    string `json:"key"`
	Stage  string `json:"stage"`
	Rows   int    `json:"rows"`
	Dim    int    `json:"dim"`
	// Joint says the stage trained jointly with its clusterer: the entry
	// then holds the clusterer's state and labels, and Report.
	Joint  bool              `json:"joint"`
	Files  map[string]string `json:"sha256"`
	Report pipeline.Report   `json:"report"`

	data map[string][]byte
}

// openCache returns the cache at dir (config.DefaultCacheDir when empty)
// and removes the temporary directories of writers that died over an
// hour ago.
func openCache(dir string, log io.Writer) *stageCache {
	if dir == "" {
		dir = config.DefaultCacheDir()
	}
	c := &stageCache{dir: dir, log: log}
	if tmps, err := filepath.Glob(filepath.Join(dir, ".tmp-*")); err == nil {
		for _, t := range tmps {
			if fi, err := os.Stat(t); err == nil && time.Since(fi.ModTime()) > time.Hour {
				os.RemoveAll(t)
			}
		}
	}
	return c
}

func (c *stageCache) path(key string) string { return filepath.Join(c.dir, key) }

// get returns the entry of key when it is whole and holds rows × dim
// embeddings; a corrupt entry is reported, removed and missed.
func (c *stageCache) get(key string, rows, dim int) (*entry, bool) {
	var e *entry
	ok := c.open(c.path(key), entryFile, "entry", "training again", func(dir string, b []byte) (err error) {
		e, err = readEntry(dir, b, key, rows, dim)
		return err
	})
	return e, ok
}

// open reads the index file of the cache directory dir and hands it to
// read. A missing entry is a miss; one that read refuses is reported (as
// what, followed by then), removed and missed; a usable one is marked as
// used now (PruneCache).
func (c *stageCache) open(dir, index, what, then string, read func(dir string, b []byte) error) bool {
	b, err := os.ReadFile(filepath.Join(dir, index))
	if os.IsNotExist(err) {
		return false
	}
	if err == nil {
		err = read(dir, b)
	}
	if err != nil {
		fmt.Fprintf(c.log, "stage cache: %s %s is unusable (%v): removing it and %s\n", what, dir, err, then)
		os.RemoveAll(dir)
		return false
	}
	touch(dir)
	return true
}

// checkedFiles reads the named files of dir, each checked against its
// SHA-256 in sums, which the index file recorded.
func checkedFiles(dir, index string, sums map[string]string, names ...string) (map[string][]byte, error) {
	data := make(map[string][]byte, len(names))
	for _, name := range names {
		sum, ok := sums[name]
		if !ok {
			return nil, fmt.Errorf("%s lists no %s", index, name)
		}
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return nil, err
		}
		if got := sha(b); got != sum {
			return nil, fmt.Errorf("%s has SHA-256 %.12s…, %s says %.12s…", name, got, index, sum)
		}
		data[name] = b
	}
	return data, nil
}

func readEntry(dir string, b []byte, key string, rows, dim int) (*entry, error) {
	e := &entry{}
	if err := json.Unmarshal(b, e); err != nil {
		return nil, fmt.Errorf("reading %s: %w", entryFile, err)
	}
	switch {
	case e.Format != cacheFormat || e.Key != key:
		return nil, fmt.Errorf("%s is of format %d for key %.12s, want format %d for key %.12s", entryFile, e.Format, e.Key, cacheFormat, key)
	case e.Rows != rows || e.Dim != dim:
		return nil, fmt.Errorf("it holds %d × %d embeddings, want %d × %d", e.Rows, e.Dim, rows, dim)
	}
	want := []string{encoderState, embeddingFile}
	if e.Joint {
		want = append(want, clustererFile, labelsFile)
	}
	var err error
	if e.data, err = checkedFiles(dir, entryFile, e.Files, want...); err != nil {
		return nil, err
	}
	if len(e.data[embeddingFile]) != 4*rows*dim || e.Joint && len(e.data[labelsFile]) != 4*rows {
		return nil, fmt.Errorf("its embeddings or labels have the wrong size")
	}
	return e, nil
}

// restore loads the entry into the configured stage st and returns the
// stage's result on input: the cached one when the stage trained jointly,
// else cluster init on the cached embeddings (which, like the rest of a
// stage without joint training, does not depend on pretraining's random
// draws). With fits, the stage cache holding the entry, cluster init
// loads the clusterer's cached fit when there is one (fitCached) and
// caches a new one.
func (e *entry) restore(ctx context.Context, st *stage, input pipeline.Source, seed uint64, p pipeline.Progress, fits *stageCache) (res *pipeline.Result, fitCached bool, err error) {
	if err := st.model.Encoder.Load(ctx, e.data[encoderState]); err != nil {
		return nil, false, fmt.Errorf("loading the encoder: %w", err)
	}
	z := sdk.NewTensor(e.Rows, e.Dim)
	for i := range z.Data {
		z.Data[i] = math.Float32frombits(binary.LittleEndian.Uint32(e.data[embeddingFile][4*i:]))
	}
	if e.Joint {
		if err := st.model.Clusterer.Load(ctx, e.data[clustererFile]); err != nil {
			return nil, false, fmt.Errorf("loading the clusterer: %w", err)
		}
		labels := make([]int32, e.Rows)
		for i := range labels {
			labels[i] = int32(binary.LittleEndian.Uint32(e.data[labelsFile][4*i:]))
		}
		r := e.Report
		r.Seconds = map[string]float64{}
		return &pipeline.Result{Labels: labels, Z: z, Report: r}, false, nil
	}
	s := st.spec.Train
	s.PretrainEpochs = 0
	m := st.model
	var fk string
	if fits != nil && m.Clusterer != nil {
		if fk, err = fitKey(st, e.Key); err != nil {
			return nil, false, err
		}
		if a, state, ok := fits.getFit(e.Key, fk, e.Rows); ok {
			m.Clusterer, fitCached = &fitted{Clusterer: m.Clusterer, state: state, a: a}, true
		}
	}
	if res, err = pipeline.Cluster(ctx, m, input, z, s, seed, p); err != nil {
		return nil, false, err
	}
	res.Report.PretrainLoss = e.Report.PretrainLoss
	res.Report.PretrainHistory = e.Report.PretrainHistory
	if fk != "" && !fitCached {
		if err := fits.putFit(ctx, st, e.Key, fk, res); err != nil {
			fmt.Fprintf(fits.log, "stage %s: clusterer fit not cached: %v\n", st.spec.Name, err)
		}
	}
	return res, fitCached, nil
}

// put stores the trained stage st with its result under key.
func (c *stageCache) put(ctx context.Context, key string, st *stage, res *pipeline.Result) error {
	e := entry{Format: cacheFormat, Key: key, Stage: st.spec.Name, Rows: res.Z.Rows(), Dim: res.Z.Cols(),
		Joint: st.spec.Train.Epochs > 0, Files: map[string]string{}, data: map[string][]byte{}}
	var err error
	if e.data[encoderState], err = st.model.Encoder.Save(ctx); err != nil {
		return fmt.Errorf("saving the encoder: %w", err)
	}
	z := make([]byte, 4*len(res.Z.Data))
	for i, v := range res.Z.Data {
		binary.LittleEndian.PutUint32(z[4*i:], math.Float32bits(v))
	}
	e.data[embeddingFile] = z
	e.Report = pipeline.Report{PretrainLoss: res.Report.PretrainLoss, PretrainHistory: res.Report.PretrainHistory}
	if e.Joint {
		if e.data[clustererFile], err = st.model.Clusterer.Save(ctx); err != nil {
			return fmt.Errorf("saving the clusterer: %w", err)
		}
		labels := make([]byte, 4*len(res.Labels))
		for i, l := range res.Labels {
			binary.LittleEndian.PutUint32(labels[4*i:], uint32(l))
		}
		e.data[labelsFile] = labels
		e.Report = res.Report
		if !c.keepScores {
			e.Report.Scores = nil
			e.Report.History = append([]pipeline.Epoch(nil), res.Report.History...)
			for i := range e.Report.History {
				e.Report.History[i].Scores = nil
			}
		}
	}
	for name, b := range e.data {
		e.Files[name] = sha(b)
	}
	b, err := json.MarshalIndent(e, "", "  ")
	if err != nil {
		return err
	}
	files := map[string][]byte{entryFile: b}
	for name, d := range e.data {
		files[name] = d
	}
	if err := c.writeDir(c.path(key), files); err != nil {
		return err
	}
	if !e.Joint && st.model.Clusterer != nil {
		// A fresh fit of the clusterer: res is cluster init's result.
		fk, err := fitKey(st, key)
		if err == nil {
			err = c.putFit(ctx, st, key, fk, res)
		}
		if err != nil {
			fmt.Fprintf(c.log, "stage %s: clusterer fit not cached: %v\n", st.spec.Name, err)
		}
	}
	return nil
}

// writeDir writes files into a new directory final, replacing any: into a
// temporary directory of the cache first, renamed into place, so that a
// reader sees the whole directory or none.
func (c *stageCache) writeDir(final string, files map[string][]byte) error {
	if err := os.MkdirAll(c.dir, 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(c.dir, ".tmp-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(tmp, name), b, 0o644); err != nil {
			return err
		}
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return err
	}
	os.RemoveAll(final)
	if err := os.Rename(tmp, final); err != nil && !os.IsExist(err) {
		return err
	}
	return nil
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// fingerprint hashes the samples of src in row order (their shape and
// float32 bits, not their labels): the input key of the first stage.
func fingerprint(ctx context.Context, src pipeline.Source) (string, error) {
	h := sha256.New()
	fmt.Fprintf(h, "rows %d shape %v\n", src.Rows(), src.SampleShape())
	var buf []byte
	err := src.InOrder(ctx, 4096, func(_ int, x sdk.Tensor) error {
		buf = buf[:0]
		for _, v := range x.Data {
			buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(v))
		}
		h.Write(buf)
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("fingerprinting the input: %w", err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// pluginKey is what identifies a plugin in a stage key: name and version,
// the SHA-256 of an external binary, and the resolved config.
type pluginKey struct {
	Name    string     `json:"name"`
	Version string     `json:"version"`
	Binary  string     `json:"binary,omitempty"`
	Config  sdk.Config `json:"config"`
}

// stageKey is the cache key of stage st: a SHA-256 of the cache format,
// the stage's seed, its input's key, the input shape, its encoder and
// losses (resolved configs), its schedule, the encoder's starting state
// when it comes from train.pretrained or SetPretrained, and its clusterer when the stage
// trains jointly with it. A stage without joint training leaves its
// clusterer out, so changing only that clusterer reuses the entry.
// Isolation and timeouts, which do not change results, are left out.
func stageKey(ctx context.Context, seed uint64, st *stage, input string) (string, error) {
	key := struct {
		Format     int               `json:"format"`
		Seed       uint64            `json:"seed"`
		Input      string            `json:"input"`
		InputShape []int             `json:"input_shape"`
		Encoder    pluginKey         `json:"encoder"`
		Losses     []pluginKey       `json:"losses"`
		Weights    []float64         `json:"weights"`
		Phases     [][]string        `json:"phases"`
		Train      pipeline.Schedule `json:"train"`
		Pretrained string            `json:"pretrained,omitempty"`
		Clusterer  *pluginKey        `json:"clusterer,omitempty"`
	}{Format: cacheFormat, Seed: stageSeed(seed, st.index), Input: input, InputShape: st.inputShape, Train: st.spec.Train}
	var err error
	if key.Encoder, err = keyOf(st.spec.Encoder, st.encoder.Description()); err != nil {
		return "", err
	}
	for i, l := range st.spec.Losses {
		k, err := keyOf(l.PluginSpec, st.losses[i].Description())
		if err != nil {
			return "", err
		}
		key.Losses = append(key.Losses, k)
		key.Weights = append(key.Weights, l.Weight)
		key.Phases = append(key.Phases, l.Stages)
	}
	if st.spec.Pretrained != "" || st.pretrained != nil {
		b, err := st.model.Encoder.Save(ctx)
		if err != nil {
			return "", fmt.Errorf("saving the pretrained encoder: %w", err)
		}
		key.Pretrained = sha(b)
	}
	if st.spec.Train.Epochs > 0 {
		k, err := keyOf(*st.spec.Clusterer, st.clusterer.Description())
		if err != nil {
			return "", err
		}
		key.Clusterer = &k
	}
	b, err := json.Marshal(key)
	if err != nil {
		return "", fmt.Errorf("stage key: %w", err)
	}
	return sha(b), nil
}

func keyOf(spec config.PluginSpec, d sdk.Description) (pluginKey, error) {
	k := pluginKey{Name: d.Name, Version: d.Version, Config: spec.Config}
	if spec.Path != "" {
		b, err := os.ReadFile(spec.Path)
		if err != nil {
			return k, fmt.Errorf("stage key: reading plugin %s: %w", spec.Path, err)
		}
		k.Binary = sha(b)
	}
	return k, nil
}
