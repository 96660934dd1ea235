package model

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestListAndPruneCache lists the entries twoStages leaves in the stage
// cache (two stages and their two pretrainings), then prunes by age and
// all.
func TestListAndPruneCache(t *testing.T) {
	dir := t.TempDir()
	if got, err := ListCache(filepath.Join(dir, "absent")); err != nil || got != nil {
		t.Fatalf("an absent cache: %v, %v", got, err)
	}
	fit(t, load(t, twoStages, map[string]string{"cache.dir": dir}), blobs(120, 2), Options{})
	all, err := ListCache(dir)
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]int{}
	for _, e := range all {
		kinds[e.Kind]++
		if e.Bytes <= 0 || e.Rows != 120 || e.Kind == "stage" && e.Stage == "" {
			t.Errorf("entry %+v", e)
		}
	}
	if len(all) != 4 || kinds["stage"] != 2 || kinds["pretrain"] != 2 {
		t.Fatalf("%d entries %v, want 2 stages and 2 pretrainings", len(all), kinds)
	}
	old := time.Now().Add(-48 * time.Hour)
	if err := os.Chtimes(filepath.Join(dir, all[0].Key), old, old); err != nil {
		t.Fatal(err)
	}
	removed, err := PruneCache(dir, 24*time.Hour)
	if err != nil || len(removed) != 1 || removed[0].Key != all[0].Key {
		t.Fatalf("pruning entries unused for a day removed %+v (%v), want %s", removed, err, all[0].Key)
	}
	if _, err := PruneCache(dir, -time.Hour); err == nil {
		t.Error("a negative age was accepted")
	}
	if removed, err = PruneCache(dir, 0); err != nil || len(removed) != 3 {
		t.Fatalf("pruning all removed %d (%v), want 3", len(removed), err)
	}
	if left, _ := ListCache(dir); len(left) != 0 {
		t.Fatalf("%d entries left", len(left))
	}
}
