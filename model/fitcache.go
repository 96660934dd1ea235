package model

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"

	"github.com/deepclust/deepclust/pipeline"
	"github.com/deepclust/deepclust/sdk"
)

// A stage without joint training is cached without its clusterer (its key
// leaves the clusterer out), so a cached stage still runs cluster init.
// Its clusterer's fit is cached too, beside the stage's entry: DIR/KEY/
// fit-FITKEY/ holds fit.json, the clusterer's state after Fit and the
// labels Fit returned, FITKEY hashing the stage's key and the clusterer
// (name, version, binary, config). A stage taken from the cache with a
// clusterer whose fit is cached then loads that state instead of fitting
// again: the same labels, state and selections, as the fit is a function
// of the embeddings, the clusterer and its seed (all in FITKEY).

// A fit entry's index file, directory prefix and format; its other files
// are clustererFile and labelsFile.
const (
	fitFile   = "fit.json"
	fitPrefix = "fit-"
	fitFormat = 1
)

// fitEntry is fit.json: what a clusterer's Fit returned besides labels,
// with the SHA-256 of each file.
type fitEntry struct {
	subIndex
	Selection *sdk.KSelection      `json:"k_selection,omitempty"`
	Params    []sdk.ParamSelection `json:"param_selections,omitempty"`
}

// fitKey is the key of the fit of stage st's clusterer on the embeddings
// of the stage cached under stageKey.
func fitKey(st *stage, stageKey string) (string, error) {
	k, err := keyOf(*st.spec.Clusterer, st.clusterer.Description())
	if err != nil {
		return "", err
	}
	b, err := json.Marshal(struct {
		Format    int       `json:"format"`
		Stage     string    `json:"stage"`
		Clusterer pluginKey `json:"clusterer"`
	}{fitFormat, stageKey, k})
	if err != nil {
		return "", fmt.Errorf("fit key: %w", err)
	}
	return sha(b), nil
}

func (c *stageCache) fitPath(stageKey, key string) string {
	return filepath.Join(c.path(stageKey), fitPrefix+key)
}

// getFit returns the cached fit of key for rows samples, as the
// assignment Fit returned and the clusterer's state; a corrupt entry is
// reported, removed and missed.
func (c *stageCache) getFit(stageKey, key string, rows int) (a sdk.Assignment, state []byte, ok bool) {
	ok = c.open(c.fitPath(stageKey, key), fitFile, "clusterer fit", "fitting again", func(dir string, b []byte) (err error) {
		a, state, err = readFit(dir, b, key, rows)
		return err
	})
	return a, state, ok
}

func readFit(dir string, b []byte, key string, rows int) (sdk.Assignment, []byte, error) {
	var f fitEntry
	if err := json.Unmarshal(b, &f); err != nil {
		return sdk.Assignment{}, nil, fmt.Errorf("reading %s: %w", fitFile, err)
	}
	if f.Format != fitFormat || f.Key != key || f.Rows != rows {
		return sdk.Assignment{}, nil, fmt.Errorf("%s is of format %d for key %.12s and %d rows, want format %d, key %.12s, %d rows", fitFile, f.Format, f.Key, f.Rows, fitFormat, key, rows)
	}
	data, err := checkedFiles(dir, fitFile, f.Files, clustererFile, labelsFile)
	if err != nil {
		return sdk.Assignment{}, nil, err
	}
	if len(data[labelsFile]) != 4*rows {
		return sdk.Assignment{}, nil, fmt.Errorf("its labels have the wrong size")
	}
	a := sdk.Assignment{Labels: make([]int32, rows), Selection: f.Selection, Params: f.Params}
	for i := range a.Labels {
		a.Labels[i] = int32(binary.LittleEndian.Uint32(data[labelsFile][4*i:]))
	}
	return a, data[clustererFile], nil
}

// putFit stores the fit of stage st's clusterer, as its current state and
// res (the result of cluster init alone: its labels, k and param
// selections), under key beside the stage's entry, which must exist.
func (c *stageCache) putFit(ctx context.Context, st *stage, stageKey, key string, res *pipeline.Result) error {
	state, err := st.model.Clusterer.Save(ctx)
	if err != nil {
		return fmt.Errorf("saving the clusterer: %w", err)
	}
	labels := make([]byte, 4*len(res.Labels))
	for i, l := range res.Labels {
		binary.LittleEndian.PutUint32(labels[4*i:], uint32(l))
	}
	f := fitEntry{subIndex: subIndex{Format: fitFormat, Key: key, Rows: len(res.Labels), Files: map[string]string{clustererFile: sha(state), labelsFile: sha(labels)}},
		Selection: res.Report.KSelection, Params: res.Report.ParamSelections}
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return err
	}
	return c.writeDir(c.fitPath(stageKey, key), map[string][]byte{clustererFile: state, labelsFile: labels, fitFile: b})
}

// fitted is a clusterer whose Fit loads a cached state and returns the
// cached assignment instead of fitting; its other calls go to the
// clusterer.
type fitted struct {
	sdk.Clusterer
	state []byte
	a     sdk.Assignment
}

// Fit implements sdk.Clusterer.
func (f *fitted) Fit(ctx context.Context, z sdk.Tensor) (sdk.Assignment, error) {
	if z.Rows() != len(f.a.Labels) {
		return sdk.Assignment{}, fmt.Errorf("cached clusterer fit of %d samples for %d", len(f.a.Labels), z.Rows())
	}
	if err := f.Clusterer.Load(ctx, f.state); err != nil {
		return sdk.Assignment{}, fmt.Errorf("loading the cached clusterer fit: %w", err)
	}
	a := f.a
	a.Labels = slices.Clone(a.Labels)
	return a, nil
}
