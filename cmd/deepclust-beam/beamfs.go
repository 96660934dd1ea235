package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem"
)

// beamStorage is Storage over a Beam file system (gs://, s3://, memfs://:
// whatever the binary registers with Beam's filesystem package; beamx
// registers gs). Beam's file systems read only sequentially, so Open reads
// the whole object into memory: a row-group shard then costs its whole
// file, which is right for files of one or a few row groups. A Storage
// with ranged reads (RegisterStorage) avoids that for large files.
type beamStorage struct{}

// maxDepth bounds the directory depth List searches on file systems
// whose globs have no "**" (memfs).
const maxDepth = 8

func (beamStorage) fs(ctx context.Context, path string) (filesystem.Interface, error) {
	fs, err := filesystem.New(ctx, path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return fs, nil
}

func (b beamStorage) Stat(ctx context.Context, path string) (FileInfo, error) {
	fs, err := b.fs(ctx, path)
	if err != nil {
		return FileInfo{}, err
	}
	defer fs.Close()
	if size, err := fs.Size(ctx, path); err == nil {
		return FileInfo{Path: path, Size: size}, nil
	}
	files, err := b.List(ctx, path)
	if err != nil {
		return FileInfo{}, err
	}
	if len(files) == 0 {
		return FileInfo{}, fmt.Errorf("%s: no such file or directory", path)
	}
	return FileInfo{Path: path, Dir: true}, nil
}

func (b beamStorage) List(ctx context.Context, root string) ([]FileInfo, error) {
	fs, err := b.fs(ctx, root)
	if err != nil {
		return nil, err
	}
	defer fs.Close()
	names, err := b.listAll(ctx, fs, root)
	if err != nil {
		return nil, err
	}
	root = strings.TrimSuffix(root, "/")
	slices.Sort(names)
	names = slices.Compact(names)
	var out []FileInfo
	for _, n := range names {
		rel := strings.TrimPrefix(strings.TrimPrefix(n, root), "/")
		if rel == "" || slices.ContainsFunc(strings.Split(rel, "/"), func(c string) bool {
			return strings.HasPrefix(c, ".") || strings.HasPrefix(c, "_")
		}) {
			continue
		}
		size, err := fs.Size(ctx, n)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", n, err)
		}
		out = append(out, FileInfo{Path: n, Size: size})
	}
	return out, nil
}

// bytesFile is a whole object read into memory.
type bytesFile struct{ *bytes.Reader }

func (bytesFile) Close() error { return nil }

func (b beamStorage) Open(ctx context.Context, path string) (File, error) {
	fs, err := b.fs(ctx, path)
	if err != nil {
		return nil, err
	}
	defer fs.Close()
	r, err := fs.OpenRead(ctx, path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	defer r.Close()
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return bytesFile{bytes.NewReader(data)}, nil
}

func (b beamStorage) Create(ctx context.Context, path string) (io.WriteCloser, error) {
	fs, err := b.fs(ctx, path)
	if err != nil {
		return nil, err
	}
	w, err := fs.OpenWrite(ctx, path)
	if err != nil {
		fs.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return w, nil
}

func (beamStorage) MkdirAll(context.Context, string) error { return nil }

// Rename moves a file, or every file under a directory prefix (object
// stores have no directories): not atomic, so a commit on an object store
// is visible part by part; metrics.json moves last.
func (b beamStorage) Rename(ctx context.Context, from, to string) error {
	fs, err := b.fs(ctx, from)
	if err != nil {
		return err
	}
	defer fs.Close()
	if _, err := fs.Size(ctx, from); err == nil {
		return filesystem.Rename(ctx, fs, from, to)
	}
	files, err := b.List(ctx, from)
	if err != nil {
		return err
	}
	if len(files) == 0 {
		return fmt.Errorf("%s: nothing to rename", from)
	}
	// The metrics file last: its presence says the output is complete.
	slices.SortStableFunc(files, func(a, c FileInfo) int {
		return boolInt(strings.HasSuffix(a.Path, "/"+MetricsFile)) - boolInt(strings.HasSuffix(c.Path, "/"+MetricsFile))
	})
	for _, f := range files {
		if err := filesystem.Rename(ctx, fs, f.Path, strings.TrimSuffix(to, "/")+strings.TrimPrefix(f.Path, strings.TrimSuffix(from, "/"))); err != nil {
			return fmt.Errorf("%s: %w", f.Path, err)
		}
	}
	return nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func (b beamStorage) RemoveAll(ctx context.Context, path string) error {
	fs, err := b.fs(ctx, path)
	if err != nil {
		return err
	}
	defer fs.Close()
	rm, ok := fs.(filesystem.Remover)
	if !ok {
		return errors.New(path + ": the file system cannot remove files")
	}
	if _, err := fs.Size(ctx, path); err == nil {
		return rm.Remove(ctx, path)
	}
	files, err := b.listAll(ctx, fs, path)
	if err != nil {
		return err
	}
	for _, f := range files {
		if err := rm.Remove(ctx, f); err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
	}
	return nil
}

// listAll lists every object under root, hidden names included: the
// "**" glob of file systems that have it (gcs), and globs of every depth
// up to maxDepth for those whose "*" stops at "/" (memfs).
func (b beamStorage) listAll(ctx context.Context, fs filesystem.Interface, root string) ([]string, error) {
	root = strings.TrimSuffix(root, "/")
	names, _ := fs.List(ctx, root+"/**")
	pattern := root
	for range maxDepth {
		pattern += "/*"
		found, err := fs.List(ctx, pattern)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", root, err)
		}
		names = append(names, found...)
	}
	slices.Sort(names)
	return slices.Compact(names), nil
}
