package results

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// Stage is a temporary directory where a run writes its outputs before they
// are moved into the output directory. It lives beside the output
// directory, in the same parent, so the moves are renames within one file
// system.
type Stage struct {
	outDir string
	tmp    string
	done   bool
}

// NewStage creates a stage for outDir, creating outDir's parent if needed
// (outDir itself is only created by Commit).
func NewStage(outDir string) (*Stage, error) {
	outDir = filepath.Clean(outDir)
	parent, base := filepath.Split(outDir)
	if parent == "" {
		parent = "."
	}
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return nil, fmt.Errorf("creating output parent directory: %w", err)
	}
	tmp, err := os.MkdirTemp(parent, "."+base+".tmp-")
	if err != nil {
		return nil, fmt.Errorf("creating staging directory for %s: %w", outDir, err)
	}
	// MkdirTemp makes the directory private; it becomes outDir when outDir
	// does not exist, so give it a directory's usual mode.
	if err := os.Chmod(tmp, 0o755); err != nil {
		os.RemoveAll(tmp)
		return nil, fmt.Errorf("creating staging directory for %s: %w", outDir, err)
	}
	return &Stage{outDir: outDir, tmp: tmp}, nil
}

// Dir returns the staging directory.
func (s *Stage) Dir() string { return s.tmp }

// Path returns where to write the output called name (which may contain
// slashes; the caller creates subdirectories). Names cannot escape the
// stage: ".." components are dropped at its root.
func (s *Stage) Path(name string) string {
	return filepath.Join(s.tmp, filepath.Clean(string(filepath.Separator)+name))
}

// Commit moves everything staged into the output directory, creating it and
// replacing files of the same name (each replacement is an atomic rename),
// and removes the stage. When outDir does not exist yet the whole stage is
// renamed into place in one step.
func (s *Stage) Commit() error {
	if s.done {
		return errors.New("stage already committed or aborted")
	}
	err := os.Rename(s.tmp, s.outDir)
	if err != nil {
		if err = merge(s.tmp, s.outDir); err == nil {
			err = os.RemoveAll(s.tmp)
		}
	}
	if err != nil {
		return fmt.Errorf("committing outputs to %s: %w", s.outDir, err)
	}
	s.done = true
	return nil
}

// merge moves the entries of src into dst, recursing into directories that
// exist in both.
func merge(src, dst string) error {
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return err
	}
	entries, err := os.ReadDir(src)
	if err != nil {
		return err
	}
	for _, e := range entries {
		from, to := filepath.Join(src, e.Name()), filepath.Join(dst, e.Name())
		if st, err := os.Stat(to); e.IsDir() && err == nil && st.IsDir() {
			if err := merge(from, to); err != nil {
				return err
			}
			continue
		}
		if err := os.Rename(from, to); err != nil {
			return err
		}
	}
	return nil
}

// Abort removes the stage and everything written there; outDir is left
// untouched. Abort after Commit does nothing, so it can be deferred.
func (s *Stage) Abort() error {
	if s.done {
		return nil
	}
	s.done = true
	if err := os.RemoveAll(s.tmp); err != nil {
		return fmt.Errorf("removing staging directory %s: %w", s.tmp, err)
	}
	return nil
}
