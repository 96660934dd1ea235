package main

import (
	"context"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem/memfs"
)

// TestPredictOnBeamFileSystem runs predict with the model, the lake and
// the output on Beam's in-memory file system (memfs://, the stand-in for
// an object store such as gs://), and checks that it writes the same rows
// as the same predict on local files.
func TestPredictOnBeamFileSystem(t *testing.T) {
	dir := t.TempDir()
	lake := filepath.Join(dir, "lake")
	spec := lakeSpec{files: 2, groups: 2, groupRows: 30, dim: 6, seed: 21}
	writeLake(t, lake, spec)
	modelDir := trainModel(t, dir, spec.dim)
	// Copy the lake and the model into memfs.
	for _, src := range []string{lake, modelDir} {
		err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(dir, p)
			memfs.Write("memfs://mem/"+filepath.ToSlash(rel), b)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	ctx := context.Background()
	local := filepath.Join(dir, "local")
	opt := PredictOptions{ModelDir: modelDir, Data: lake, Out: local, IDs: []string{"id"}, Runner: "prism"}
	if err := Predict(ctx, opt, io.Discard); err != nil {
		t.Fatal(err)
	}
	opt = PredictOptions{ModelDir: "memfs://mem/model", Data: "memfs://mem/lake", Out: "memfs://mem/out", IDs: []string{"id"}, Runner: "prism"}
	if err := Predict(ctx, opt, io.Discard); err != nil {
		t.Fatal(err)
	}
	// Copy the output back to read it.
	st, err := storageFor("memfs://mem/out")
	if err != nil {
		t.Fatal(err)
	}
	files, err := st.List(ctx, "memfs://mem/out")
	if err != nil {
		t.Fatal(err)
	}
	back := filepath.Join(dir, "back")
	var parts, metrics int
	for _, f := range files {
		rel := f.Path[len("memfs://mem/out/"):]
		switch filepath.Dir(rel) {
		case AssignmentsDir:
			parts++
		case ".":
			metrics++
		}
		if err := copyOut(ctx, st, f.Path, filepath.Join(back, rel)); err != nil {
			t.Fatal(err)
		}
	}
	if parts != spec.files*spec.groups || metrics != 1 {
		t.Fatalf("memfs output: %d parts and %d other files (%v)", parts, metrics, files)
	}
	want := readOutput(t, filepath.Join(local, AssignmentsDir))
	got := readOutput(t, filepath.Join(back, AssignmentsDir))
	if len(got.rows) != len(want.rows) {
		t.Fatalf("%d rows on memfs, %d locally", len(got.rows), len(want.rows))
	}
	for id, w := range want.rows {
		if got.rows[id] != w {
			t.Fatalf("id %s: memfs %s, local %s", id, got.rows[id], w)
		}
	}
	// No staging objects are left in memfs.
	fsys, _ := filesystem.New(ctx, "memfs://mem")
	all, _ := fsys.List(ctx, "memfs://mem/.*")
	if len(all) > 0 {
		t.Errorf("staging objects left: %v", all)
	}
}
