package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
)

// stage is a temporary directory beside the output directory where the
// job writes everything; commit renames it into place as a whole, so that
// nothing is visible at the output directory before the job succeeded.
type stage struct {
	st   Storage
	out  string
	tmp  string
	done bool
}

// splitPath returns the parent and base name of p (local or with a
// scheme).
func splitPath(p string) (parent, base string) {
	if i := strings.Index(p, "://"); i > 0 {
		p = strings.TrimSuffix(p, "/")
		j := strings.LastIndex(p, "/")
		if j < i+3 {
			return p, ""
		}
		return p[:j], p[j+1:]
	}
	p = filepath.Clean(p)
	return filepath.Dir(p), filepath.Base(p)
}

func randomSuffix() string {
	b := make([]byte, 6)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// newStage checks that out may be written (it does not exist, or is an
// empty directory or a previous output of deepclust-beam, which the
// commit replaces as a whole) and creates the staging directory beside
// it.
func newStage(ctx context.Context, out string) (*stage, error) {
	st, err := storageFor(out)
	if err != nil {
		return nil, err
	}
	if err := checkOut(ctx, st, out); err != nil {
		return nil, err
	}
	parent, base := splitPath(out)
	if err := st.MkdirAll(ctx, parent); err != nil {
		return nil, fmt.Errorf("output directory %s: creating its parent: %w", out, err)
	}
	tmp := joinPath(parent, "."+base+".tmp-"+randomSuffix())
	if err := st.MkdirAll(ctx, joinPath(tmp, AssignmentsDir)); err != nil {
		return nil, fmt.Errorf("output directory %s: creating a staging directory beside it: %w", out, err)
	}
	return &stage{st: st, out: out, tmp: tmp}, nil
}

// checkOut fails unless out is missing, an empty directory, or holds only
// what deepclust-beam writes there.
func checkOut(ctx context.Context, st Storage, out string) error {
	info, err := st.Stat(ctx, out)
	if err != nil {
		return nil // missing
	}
	if !info.Dir {
		return fmt.Errorf("output directory %s is a file, not a directory", out)
	}
	files, err := st.List(ctx, out)
	if err != nil {
		return fmt.Errorf("output directory %s: %w", out, err)
	}
	prefix := strings.TrimSuffix(out, "/") + "/"
	if !strings.Contains(out, "://") {
		prefix = filepath.Clean(out) + string(filepath.Separator)
	}
	for _, f := range files {
		rel := filepath.ToSlash(strings.TrimPrefix(f.Path, prefix))
		if !slices.Contains([]string{MetricsFile, CentroidsFile, GMMFile, GMMStateFile}, rel) && !strings.HasPrefix(rel, AssignmentsDir+"/") && !strings.HasPrefix(rel, trainModelDir+"/") {
			return fmt.Errorf("output directory %s exists and holds %s, which deepclust-beam did not write: give a new or empty directory", out, rel)
		}
	}
	return nil
}

// path returns where to write name in the stage.
func (s *stage) path(name string) string { return joinPath(s.tmp, name) }

// remove removes one file of the stage.
func (s *stage) remove(ctx context.Context, name string) error {
	return s.st.RemoveAll(ctx, s.path(name))
}

// commit puts the stage in place of the output directory: a previous
// output is renamed aside first and removed after.
func (s *stage) commit(ctx context.Context) error {
	if s.done {
		return fmt.Errorf("output %s already committed", s.out)
	}
	if err := checkOut(ctx, s.st, s.out); err != nil {
		return err
	}
	var old string
	if _, err := s.st.Stat(ctx, s.out); err == nil {
		parent, base := splitPath(s.out)
		old = joinPath(parent, "."+base+".old-"+randomSuffix())
		if err := s.st.Rename(ctx, s.out, old); err != nil {
			return fmt.Errorf("committing outputs to %s: %w", s.out, err)
		}
	}
	if err := s.st.Rename(ctx, s.tmp, s.out); err != nil {
		if old != "" {
			s.st.Rename(ctx, old, s.out)
		}
		return fmt.Errorf("committing outputs to %s: %w", s.out, err)
	}
	s.done = true
	if old != "" {
		return s.st.RemoveAll(ctx, old)
	}
	return nil
}

// abort removes the stage unless it was committed.
func (s *stage) abort(ctx context.Context) {
	if !s.done {
		s.done = true
		s.st.RemoveAll(ctx, s.tmp)
	}
}
