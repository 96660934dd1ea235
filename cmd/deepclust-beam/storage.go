package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem"
)

// Storage is all the file access of deepclust-beam: listing and reading
// the input lake and the model, and writing and committing the output.
// Paths without a scheme are local (localStorage); other schemes go to
// Beam's file systems (beamStorage: gs:// is built in), unless a Storage
// was registered for the scheme with RegisterStorage, in an init function
// of the binary (which the workers run too). Open needs random access (io.ReaderAt), which object stores give
// with ranged reads: a row-group shard reads its file's footer and its own
// column chunks, never the whole file.
type Storage interface {
	// Stat describes one path: a file with its size, or a directory.
	Stat(ctx context.Context, path string) (FileInfo, error)
	// List returns the files under the directory root, recursively, in
	// lexical order of path, skipping every file or directory whose name
	// starts with "." or "_" (hidden files, _SUCCESS markers).
	List(ctx context.Context, root string) ([]FileInfo, error)
	// Open opens a file for random-access reads.
	Open(ctx context.Context, path string) (File, error)
	// Create creates or truncates a file; it exists under path only once
	// the returned writer's Close succeeds.
	Create(ctx context.Context, path string) (io.WriteCloser, error)
	// MkdirAll makes a directory and its parents (a no-op on object
	// stores without directories).
	MkdirAll(ctx context.Context, path string) error
	// Rename moves a file or a whole directory to a path that does not
	// exist.
	Rename(ctx context.Context, from, to string) error
	// RemoveAll removes path and everything under it; a missing path is
	// not an error.
	RemoveAll(ctx context.Context, path string) error
}

// FileInfo describes one file or directory.
type FileInfo struct {
	// Path is the full path, as Storage methods take it.
	Path string
	// Size is the size in bytes of a file.
	Size int64
	// Dir is set for a directory.
	Dir bool
}

// File is an open file for random-access reads.
type File interface {
	io.ReaderAt
	io.Seeker
	io.Reader
	io.Closer
}

var (
	storageMu sync.Mutex
	storages  = map[string]Storage{"": localStorage{}}
)

// RegisterStorage makes s serve the paths that start with scheme + "://".
func RegisterStorage(scheme string, s Storage) {
	storageMu.Lock()
	defer storageMu.Unlock()
	storages[scheme] = s
}

// storageFor returns the Storage that serves path.
func storageFor(path string) (Storage, error) {
	scheme := ""
	if i := strings.Index(path, "://"); i > 0 {
		scheme = path[:i]
	}
	storageMu.Lock()
	defer storageMu.Unlock()
	s, ok := storages[scheme]
	if !ok {
		// Beam's own file systems (gs, and whatever else the binary
		// registers with Beam's filesystem package).
		if _, err := filesystem.New(context.Background(), path); err != nil {
			return nil, fmt.Errorf("%s: no storage for the scheme %q (local paths, and Beam's file systems: gs://)", path, scheme)
		}
		return beamStorage{}, nil
	}
	return s, nil
}

// joinPath joins path elements with "/", keeping a scheme's "//".
func joinPath(elem ...string) string {
	if len(elem) > 0 && strings.Contains(elem[0], "://") {
		return strings.TrimSuffix(elem[0], "/") + "/" + strings.Join(elem[1:], "/")
	}
	return filepath.Join(elem...)
}

// localStorage is Storage on the local file system.
type localStorage struct{}

func (localStorage) Stat(_ context.Context, path string) (FileInfo, error) {
	st, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return FileInfo{}, fmt.Errorf("%s: no such file or directory", path)
	}
	if err != nil {
		return FileInfo{}, err
	}
	return FileInfo{Path: path, Size: st.Size(), Dir: st.IsDir()}, nil
}

func (localStorage) List(_ context.Context, root string) ([]FileInfo, error) {
	var out []FileInfo
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p != root && (strings.HasPrefix(d.Name(), ".") || strings.HasPrefix(d.Name(), "_")) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		out = append(out, FileInfo{Path: p, Size: info.Size()})
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b FileInfo) int { return strings.Compare(a.Path, b.Path) })
	return out, nil
}

func (localStorage) Open(_ context.Context, path string) (File, error) { return os.Open(path) }

func (localStorage) Create(_ context.Context, path string) (io.WriteCloser, error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-")
	if err != nil {
		return nil, err
	}
	return &renameOnClose{f: f, to: path}, nil
}

func (localStorage) MkdirAll(_ context.Context, path string) error { return os.MkdirAll(path, 0o755) }

func (localStorage) Rename(_ context.Context, from, to string) error { return os.Rename(from, to) }

func (localStorage) RemoveAll(_ context.Context, path string) error { return os.RemoveAll(path) }

// renameOnClose writes a temporary file and renames it into place on
// Close, so that a reader never sees a partial file, and a retried bundle
// that writes the same part again replaces it whole.
type renameOnClose struct {
	f      *os.File
	to     string
	closed bool
}

func (w *renameOnClose) Write(p []byte) (int, error) { return w.f.Write(p) }

func (w *renameOnClose) Close() error {
	if w.closed {
		return nil
	}
	w.closed = true
	if err := w.f.Close(); err != nil {
		os.Remove(w.f.Name())
		return err
	}
	if err := os.Chmod(w.f.Name(), 0o644); err != nil {
		os.Remove(w.f.Name())
		return err
	}
	if err := os.Rename(w.f.Name(), w.to); err != nil {
		os.Remove(w.f.Name())
		return err
	}
	return nil
}

// abort removes the temporary file of a writer that will not be closed.
func abortWrite(w io.WriteCloser) {
	if r, ok := w.(*renameOnClose); ok && !r.closed {
		r.closed = true
		r.f.Close()
		os.Remove(r.f.Name())
	}
}
