package results

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// Stage is a temporary directory where a run writes its outputs before they
// replace the output directory. It lives beside the output directory, in
// the same parent, so the moves are renames within one file system.
type Stage struct {
	outDir string
	tmp    string
	done   bool
}

// NewStage checks outDir (see CheckOut), removes the staging directories
// that killed runs left beside it, and creates a stage for it, creating
// outDir's parent if needed (outDir itself is only created by Commit).
func NewStage(outDir string) (*Stage, error) {
	outDir, err := resolve(outDir)
	if err != nil {
		return nil, err
	}
	if err := CheckOut(outDir); err != nil {
		return nil, err
	}
	parent, base := filepath.Split(outDir)
	if parent == "" {
		parent = "."
	}
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return nil, fmt.Errorf("output directory %s: creating its parent: %w", outDir, err)
	}
	RemoveStale(outDir)
	tmp, err := os.MkdirTemp(parent, "."+base+".tmp-")
	if err != nil {
		return nil, fmt.Errorf("output directory %s: creating a staging directory beside it: %w", outDir, err)
	}
	// MkdirTemp makes the directory private; it becomes outDir, so give it
	// a directory's usual mode.
	if err := os.Chmod(tmp, 0o755); err == nil {
		err = writeMarker(tmp)
	}
	if err != nil {
		os.RemoveAll(tmp)
		return nil, fmt.Errorf("output directory %s: creating a staging directory beside it: %w", outDir, err)
	}
	return &Stage{outDir: outDir, tmp: tmp}, nil
}

// resolve cleans dir and, when it is a symbolic link, follows it, so that
// the directory it names is replaced rather than the link.
func resolve(dir string) (string, error) {
	if dir == "" {
		return "", errors.New("output directory: empty path; give a directory")
	}
	dir = filepath.Clean(dir)
	if fi, err := os.Lstat(dir); err == nil && fi.Mode()&os.ModeSymlink != 0 {
		real, err := filepath.EvalSymlinks(dir)
		if err != nil {
			return "", fmt.Errorf("output directory %s: %w", dir, err)
		}
		return real, nil
	}
	return dir, nil
}

// outputName matches the files and folders deepclust writes into an
// output directory or model folder, for directories written before
// MarkerFile existed.
var outputName = regexp.MustCompile(`^(metrics\.json|assignments\.(parquet|arrow)|report\.html|config\.yaml|manifest\.json|encoder\.bin|clusterer\.bin|model|stage[0-9]+)$`)

// CheckOut reports, before any work, whether a run may write outDir: the
// path is not empty, and outDir does not exist or is a directory that
// deepclust wrote (it holds MarkerFile, or only deepclust's output files)
// or an empty one, which Commit will replace as a whole. That the parent
// is writable is checked by NewStage, which creates the staging directory
// there.
func CheckOut(outDir string) error {
	if outDir == "" {
		return errors.New("output directory: empty path; give a directory")
	}
	fi, err := os.Stat(outDir)
	switch {
	case os.IsNotExist(err):
		return nil
	case err != nil:
		return fmt.Errorf("output directory %s: %w", outDir, err)
	case !fi.IsDir():
		return fmt.Errorf("output directory %s is a file, not a directory", outDir)
	}
	if _, ok := readMarker(outDir); ok {
		return nil
	}
	entries, err := os.ReadDir(outDir)
	if err != nil {
		return fmt.Errorf("output directory %s: %w", outDir, err)
	}
	for _, e := range entries {
		dir := e.Name() == "model" || strings.HasPrefix(e.Name(), "stage")
		if !outputName.MatchString(e.Name()) || dir != e.IsDir() {
			return fmt.Errorf("output directory %s exists and holds %s, which deepclust did not write: a run replaces its output directory as a whole, so give a new or empty one", outDir, e.Name())
		}
	}
	return nil
}

// Dir returns the staging directory.
func (s *Stage) Dir() string { return s.tmp }

// Path returns where to write the output called name (which may contain
// slashes; the caller creates subdirectories). Names cannot escape the
// stage: ".." components are dropped at its root.
func (s *Stage) Path(name string) string {
	return filepath.Join(s.tmp, filepath.Clean(string(filepath.Separator)+name))
}

// Commit replaces the output directory with the stage as a whole: an
// existing output directory is first renamed aside, the stage renamed in
// its place, and the old one removed, so that the output directory never
// holds a mix of old and new files. If the second rename fails the old
// directory is put back.
func (s *Stage) Commit() error {
	if s.done {
		return errors.New("stage already committed or aborted")
	}
	if err := s.replace(); err != nil {
		return fmt.Errorf("committing outputs to %s: %w", s.outDir, err)
	}
	s.done = true
	return nil
}

func (s *Stage) replace() error {
	if err := CheckOut(s.outDir); err != nil {
		return err
	}
	_, err := os.Lstat(s.outDir)
	if os.IsNotExist(err) {
		return os.Rename(s.tmp, s.outDir)
	}
	parent, base := filepath.Split(s.outDir)
	if parent == "" {
		parent = "."
	}
	// A fresh name for the old directory: os.Rename does not replace a
	// directory, so the placeholder MkdirTemp made is removed first.
	old, err := os.MkdirTemp(parent, "."+base+".old-")
	if err == nil {
		err = os.Remove(old)
	}
	if err != nil {
		return err
	}
	if err := os.Rename(s.outDir, old); err != nil {
		return err
	}
	// The old directory now carries this process's marker, so that a run
	// killed before the next rename leaves it to RemoveStale to put back.
	mark := filepath.Join(old, MarkerFile)
	prev, prevErr := os.ReadFile(mark)
	writeMarker(old)
	if err := os.Rename(s.tmp, s.outDir); err != nil {
		if back := os.Rename(old, s.outDir); back != nil {
			return fmt.Errorf("%w (and putting the old directory back from %s: %v)", err, old, back)
		}
		mark = filepath.Join(s.outDir, MarkerFile)
		if prevErr == nil {
			os.WriteFile(mark, prev, 0o644)
		} else {
			os.Remove(mark)
		}
		return err
	}
	return os.RemoveAll(old)
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

// RemoveStale removes the staging directories that runs writing outDir
// left when they were killed: the ".NAME.tmp-*" directories beside it
// holding a MarkerFile whose owner has ended. An old output directory that
// a killed Commit had moved aside (".NAME.old-*") is put back when outDir
// is missing, and removed otherwise. Directories without a marker, or of a
// writer that may still run, are left alone. It returns the paths removed
// or put back.
func RemoveStale(outDir string) []string {
	outDir = filepath.Clean(outDir)
	parent, base := filepath.Split(outDir)
	if parent == "" {
		parent = "."
	}
	var done []string
	for _, kind := range []string{".tmp-", ".old-"} {
		found, _ := filepath.Glob(filepath.Join(parent, "."+globEscape(base)+kind+"*"))
		for _, dir := range found {
			m, ok := readMarker(dir)
			if !ok || m.Owner.Alive() {
				continue
			}
			if kind == ".old-" {
				if _, err := os.Lstat(outDir); os.IsNotExist(err) {
					if os.Rename(dir, outDir) == nil {
						done = append(done, dir)
					}
					continue
				}
			}
			if os.RemoveAll(dir) == nil {
				done = append(done, dir)
			}
		}
	}
	return done
}

// globEscape quotes the metacharacters of filepath.Match in s.
func globEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `*`, `\*`, `?`, `\?`, `[`, `\[`).Replace(s)
}
