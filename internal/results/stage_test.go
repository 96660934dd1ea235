package results

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// tree returns "name=content" for every file under dir but the markers,
// sorted.
func tree(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || d.Name() == MarkerFile {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		out = append(out, filepath.ToSlash(rel)+"="+string(b))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

// entries lists the names in dir.
func entries(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names
}

func TestStageCommitNewDir(t *testing.T) {
	parent := filepath.Join(t.TempDir(), "runs")
	out := filepath.Join(parent, "exp1")
	s, err := NewStage(out)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, s.Path("metrics.json"), "m")
	writeFile(t, s.Path("sub/model.bin"), "w")
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Fatalf("output directory exists before Commit: %v", err)
	}
	if err := s.Commit(); err != nil {
		t.Fatal(err)
	}
	if got, want := tree(t, out), []string{"metrics.json=m", "sub/model.bin=w"}; !slices.Equal(got, want) {
		t.Errorf("output %v, want %v", got, want)
	}
	if got := entries(t, parent); !slices.Equal(got, []string{"exp1"}) {
		t.Errorf("parent holds %v, want only exp1 (no staging directory)", got)
	}
	if st, _ := os.Stat(out); st.Mode().Perm() != 0o755 {
		t.Errorf("output directory mode %v, want 0755", st.Mode().Perm())
	}
	if err := s.Commit(); err == nil {
		t.Error("second Commit: want an error")
	}
	if err := s.Abort(); err != nil {
		t.Errorf("Abort after Commit: %v", err)
	}
	if got := tree(t, out); len(got) != 2 {
		t.Errorf("Abort after Commit changed the output: %v", got)
	}
}

// TestStageCommitReplacesAsAWhole checks that Commit replaces an output
// directory deepclust wrote as a whole: no file of the old one survives,
// e.g. the assignments.arrow of an earlier prediction beside a new
// assignments.parquet.
func TestStageCommitReplacesAsAWhole(t *testing.T) {
	parent := t.TempDir()
	out := filepath.Join(parent, "out")
	first, err := NewStage(out)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, first.Path("metrics.json"), "old")
	writeFile(t, first.Path("assignments.arrow"), "stale")
	writeFile(t, first.Path("model/b"), "old b")
	if err := first.Commit(); err != nil {
		t.Fatal(err)
	}
	s, err := NewStage(out)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, s.Path("metrics.json"), "new")
	writeFile(t, s.Path("model/a"), "new a")
	writeFile(t, s.Path("assignments.parquet"), "p")
	if err := s.Commit(); err != nil {
		t.Fatal(err)
	}
	want := []string{"assignments.parquet=p", "metrics.json=new", "model/a=new a"}
	if got := tree(t, out); !slices.Equal(got, want) {
		t.Errorf("output %v, want %v", got, want)
	}
	if got := entries(t, parent); !slices.Equal(got, []string{"out"}) {
		t.Errorf("parent holds %v, want only out", got)
	}
	// A directory written before the marker existed, holding only
	// deepclust's outputs, is replaced too.
	os.Remove(filepath.Join(out, MarkerFile))
	s, err = NewStage(out)
	if err != nil {
		t.Fatalf("an unmarked directory of outputs: %v", err)
	}
	writeFile(t, s.Path("metrics.json"), "newer")
	if err := s.Commit(); err != nil {
		t.Fatal(err)
	}
	if got := tree(t, out); !slices.Equal(got, []string{"metrics.json=newer"}) {
		t.Errorf("output %v", got)
	}
}

// TestCheckOutUpFront checks the output directories refused before any
// work: an empty path, a file, a directory holding files deepclust did not
// write (so that --out . or --out ~ cannot be replaced), one whose model is
// a file, and an unwritable parent; and that none of them is changed.
func TestCheckOutUpFront(t *testing.T) {
	parent := t.TempDir()
	file := filepath.Join(parent, "file")
	writeFile(t, file, "x")
	foreign := filepath.Join(parent, "foreign")
	writeFile(t, filepath.Join(foreign, "notes.txt"), "keep")
	writeFile(t, filepath.Join(foreign, "metrics.json"), "m")
	modelFile := filepath.Join(parent, "modelfile")
	writeFile(t, filepath.Join(modelFile, "metrics.json"), "m")
	writeFile(t, filepath.Join(modelFile, "model"), "not a folder")
	empty := filepath.Join(parent, "empty")
	os.Mkdir(empty, 0o755)
	for _, tc := range []struct{ dir, want string }{
		{"", "empty path"},
		{file, "is a file"},
		{foreign, "holds notes.txt"},
		{modelFile, "holds model"},
	} {
		if _, err := NewStage(tc.dir); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("NewStage(%q): %v, want an error saying %q", tc.dir, err, tc.want)
		}
	}
	if got := tree(t, foreign); !slices.Equal(got, []string{"metrics.json=m", "notes.txt=keep"}) {
		t.Errorf("refused directory changed: %v", got)
	}
	if s, err := NewStage(empty); err != nil {
		t.Errorf("empty directory: %v", err)
	} else {
		s.Abort()
	}
	if os.Geteuid() != 0 {
		locked := filepath.Join(parent, "locked")
		os.Mkdir(locked, 0o555)
		defer os.Chmod(locked, 0o755)
		if _, err := NewStage(filepath.Join(locked, "out")); err == nil || !strings.Contains(err.Error(), "staging directory") {
			t.Errorf("unwritable parent: %v", err)
		}
	}
	if got := entries(t, parent); !slices.Equal(got, []string{"empty", "file", "foreign", "locked", "modelfile"}) && !slices.Equal(got, []string{"empty", "file", "foreign", "modelfile"}) {
		t.Errorf("parent holds %v: a refused stage left something behind", got)
	}
}

func TestStageAbortLeavesNothing(t *testing.T) {
	parent := t.TempDir()
	out := filepath.Join(parent, "out")
	writeFile(t, filepath.Join(out, "metrics.json"), "old")
	s, err := NewStage(out)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, s.Path("metrics.json"), "new")
	writeFile(t, s.Path("extra"), "x")
	if err := s.Abort(); err != nil {
		t.Fatal(err)
	}
	if got := tree(t, out); !slices.Equal(got, []string{"metrics.json=old"}) {
		t.Errorf("output %v after Abort, want it unchanged", got)
	}
	if got := entries(t, parent); !slices.Equal(got, []string{"out"}) {
		t.Errorf("parent holds %v after Abort, want only out", got)
	}
	if err := s.Commit(); err == nil {
		t.Error("Commit after Abort: want an error")
	}
}

func TestStagePathStaysInside(t *testing.T) {
	s, err := NewStage(filepath.Join(t.TempDir(), "out"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Abort()
	for _, name := range []string{"../../etc/passwd", "/abs", "a/../../b"} {
		p := s.Path(name)
		if rel, err := filepath.Rel(s.Dir(), p); err != nil || rel == ".." || filepath.IsAbs(rel) || len(rel) >= 2 && rel[:2] == ".." {
			t.Errorf("Path(%q) = %s escapes the stage %s", name, p, s.Dir())
		}
	}
}

// TestStageCrashBeforeCommit runs a child process that stages a file and
// exits without Commit or Abort: the output directory must be unchanged,
// and the next stage for it removes the staging directory the crash left,
// but not one without a marker nor one of a live process.
func TestStageCrashBeforeCommit(t *testing.T) {
	if out := os.Getenv("DEEPCLUST_STAGE_CRASH_OUT"); out != "" {
		s, err := NewStage(out)
		if err != nil {
			os.Exit(3)
		}
		if err := os.WriteFile(s.Path("metrics.json"), []byte("new"), 0o644); err != nil {
			os.Exit(4)
		}
		os.Exit(1) // the crash
	}
	parent := t.TempDir()
	out := filepath.Join(parent, "out")
	writeFile(t, filepath.Join(out, "metrics.json"), "old")
	cmd := exec.Command(os.Args[0], "-test.run=^TestStageCrashBeforeCommit$")
	cmd.Env = append(os.Environ(), "DEEPCLUST_STAGE_CRASH_OUT="+out)
	err := cmd.Run()
	if exit, ok := err.(*exec.ExitError); !ok || exit.ExitCode() != 1 {
		t.Fatalf("child process: %v, want exit status 1", err)
	}
	if got := tree(t, out); !slices.Equal(got, []string{"metrics.json=old"}) {
		t.Errorf("output %v after a crash, want it unchanged", got)
	}
	left := entries(t, parent)
	if len(left) != 2 || !strings.HasPrefix(left[0], ".out.tmp-") {
		t.Fatalf("after the crash the parent holds %v, want out and its staging directory", left)
	}
	// Not ours: no marker. Alive: this process's own stage.
	foreign := filepath.Join(parent, ".out.tmp-foreign")
	writeFile(t, filepath.Join(foreign, "x"), "x")
	live, err := NewStage(out)
	if err != nil {
		t.Fatal(err)
	}
	defer live.Abort()
	got := entries(t, parent)
	if slices.Contains(got, left[0]) || !slices.Contains(got, ".out.tmp-foreign") || !slices.Contains(got, filepath.Base(live.Dir())) {
		t.Errorf("after a new stage the parent holds %v: want the crashed run's staging directory gone, the unmarked one and the live one kept", got)
	}
	if removed := RemoveStale(out); len(removed) != 0 {
		t.Errorf("RemoveStale removed %v while their writers run or they are not ours", removed)
	}
}

// TestCommitKilledBetweenRenames simulates a Commit killed after it moved
// the old output aside and before it renamed the new one in: the next
// stage puts the old output back.
func TestCommitKilledBetweenRenames(t *testing.T) {
	parent := t.TempDir()
	out := filepath.Join(parent, "out")
	old := filepath.Join(parent, ".out.old-123")
	writeFile(t, filepath.Join(old, "metrics.json"), "old")
	// The marker of a process that has ended.
	dead := `{"tool":"deepclust","owner":{"pid":2147483646,"host":"` + Self().Host + `"}}`
	writeFile(t, filepath.Join(old, MarkerFile), dead)
	if got := RemoveStale(out); !slices.Equal(got, []string{old}) {
		t.Fatalf("RemoveStale: %v", got)
	}
	if got := tree(t, out); !slices.Equal(got, []string{"metrics.json=old"}) {
		t.Errorf("output %v, want the old one back", got)
	}
}

func TestOwnerAlive(t *testing.T) {
	me := Self()
	if !me.Alive() {
		t.Fatal("this process is not alive")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	gone := Owner{PID: cmd.Process.Pid, Host: me.Host, Boot: me.Boot}
	if gone.Alive() {
		t.Errorf("ended process %v is alive", gone)
	}
	if (Owner{PID: me.PID, Host: me.Host, Boot: me.Boot, Start: me.Start + 1}).Alive() && me.Start != 0 {
		t.Error("another process with this PID is taken for this one")
	}
	if !(Owner{PID: 1, Host: me.Host + "-other"}).Alive() {
		t.Error("another host's writer must be taken as alive")
	}
}
