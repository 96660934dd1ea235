package results

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
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

// tree returns "name=content" for every file under dir, sorted.
func tree(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
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

func TestStageCommitReplacesAndKeeps(t *testing.T) {
	parent := t.TempDir()
	out := filepath.Join(parent, "out")
	writeFile(t, filepath.Join(out, "metrics.json"), "old")
	writeFile(t, filepath.Join(out, "notes.txt"), "keep")
	writeFile(t, filepath.Join(out, "sub", "a"), "old a")
	writeFile(t, filepath.Join(out, "sub", "b"), "keep b")
	s, err := NewStage(out)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, s.Path("metrics.json"), "new")
	writeFile(t, s.Path("sub/a"), "new a")
	writeFile(t, s.Path("assignments.parquet"), "p")
	if err := s.Commit(); err != nil {
		t.Fatal(err)
	}
	want := []string{"assignments.parquet=p", "metrics.json=new", "notes.txt=keep", "sub/a=new a", "sub/b=keep b"}
	if got := tree(t, out); !slices.Equal(got, want) {
		t.Errorf("output %v, want %v", got, want)
	}
	if got := entries(t, parent); !slices.Equal(got, []string{"out"}) {
		t.Errorf("parent holds %v, want only out", got)
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
// exits without Commit or Abort: the output directory must be unchanged.
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
	out := filepath.Join(t.TempDir(), "out")
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
}
