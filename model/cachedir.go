package model

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/deepclust/deepclust/config"
)

// CacheEntry is one entry of the stage cache: a trained stage (with the
// clusterer fits cached beside it) or a stage's pretraining.
type CacheEntry struct {
	// Key is the entry's directory name under the cache directory.
	Key string
	// Kind is "stage" or "pretrain".
	Kind string
	// Stage is the name of the stage that wrote a stage entry.
	Stage string
	// Rows is the number of samples the stage trained on.
	Rows int
	// Bytes is the size of the entry's files.
	Bytes int64
	// Used is when the entry was last written or read.
	Used time.Time
}

// ListCache returns the entries of the stage cache in dir
// (config.DefaultCacheDir when empty), the most recently used first; an
// absent directory has none. Temporary directories of writers in progress
// are left out.
func ListCache(dir string) ([]CacheEntry, error) {
	if dir == "" {
		dir = config.DefaultCacheDir()
	}
	des, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("stage cache %s: %w", dir, err)
	}
	var out []CacheEntry
	for _, de := range des {
		if !de.IsDir() || strings.HasPrefix(de.Name(), ".") {
			continue
		}
		path := filepath.Join(dir, de.Name())
		fi, err := os.Stat(path)
		if err != nil {
			continue
		}
		e := CacheEntry{Key: de.Name(), Kind: "stage", Used: fi.ModTime()}
		if strings.HasPrefix(e.Key, pretrainPrefix) {
			e.Kind = "pretrain"
			var p pretrainEntry
			if b, err := os.ReadFile(filepath.Join(path, pretrainFile)); err == nil && json.Unmarshal(b, &p) == nil {
				e.Rows = p.Rows
			}
		} else {
			var s entry
			if b, err := os.ReadFile(filepath.Join(path, entryFile)); err == nil && json.Unmarshal(b, &s) == nil {
				e.Stage, e.Rows = s.Stage, s.Rows
			}
		}
		filepath.WalkDir(path, func(_ string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				if info, err := d.Info(); err == nil {
					e.Bytes += info.Size()
				}
			}
			return nil
		})
		out = append(out, e)
	}
	slices.SortFunc(out, func(a, b CacheEntry) int { return b.Used.Compare(a.Used) })
	return out, nil
}

// PruneCache removes the entries of the stage cache in dir
// (config.DefaultCacheDir when empty) last used more than olderThan ago,
// every entry when olderThan is 0, and returns the removed ones.
func PruneCache(dir string, olderThan time.Duration) ([]CacheEntry, error) {
	if dir == "" {
		dir = config.DefaultCacheDir()
	}
	if olderThan < 0 {
		return nil, fmt.Errorf("stage cache: prune needs an age ≥ 0, not %s", olderThan)
	}
	all, err := ListCache(dir)
	if err != nil {
		return nil, err
	}
	var removed []CacheEntry
	for _, e := range all {
		if olderThan > 0 && time.Since(e.Used) <= olderThan {
			continue
		}
		if err := os.RemoveAll(filepath.Join(dir, e.Key)); err != nil {
			return removed, fmt.Errorf("stage cache: removing %s: %w", e.Key, err)
		}
		removed = append(removed, e)
	}
	return removed, nil
}

// touch marks a cache directory as used now, for PruneCache.
func touch(dir string) {
	now := time.Now()
	os.Chtimes(dir, now, now)
}
