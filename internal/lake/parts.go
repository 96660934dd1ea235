package lake

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/deepclust/deepclust/dataset"
	"github.com/deepclust/deepclust/internal/tableio"
)

// errNoFiles is listDir's error for a directory without data files.
var errNoFiles = errors.New("directory holds no .parquet or .arrow files")

// part is one input file and the values of its partition keys.
type part struct {
	path   string
	format string
	values []string // raw, unescaped; dataset.HiveNull for null
}

// listParts returns the files path stands for, in lexical order, and
// their partition keys (none unless path is a partitioned directory).
func listParts(path, format string) ([]part, []dataset.PartitionKey, error) {
	if path == Stdin {
		if format == FormatParquet {
			return nil, nil, errors.New("stdin must be an Arrow IPC stream, not parquet")
		}
		return []part{{path: Stdin, format: FormatArrow}}, nil, nil
	}
	st, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, errors.New("no such file or directory")
	}
	if err != nil {
		return nil, nil, err
	}
	if !st.IsDir() {
		f, err := fileFormat(path, format)
		if err != nil {
			return nil, nil, err
		}
		return []part{{path: path, format: f}}, nil, nil
	}
	return listDir(path, format)
}

// fileFormat is the format of one file: forced, or from its name (the
// extensions dataset knows, through tableio.FormatOf).
func fileFormat(path, forced string) (string, error) {
	if forced != "" && forced != FormatAuto {
		return forced, nil
	}
	switch f := tableio.FormatOf(path); f {
	case FormatParquet, FormatArrow:
		return f, nil
	}
	return "", errors.New("cannot tell the format from the file name (want .parquet/.pq or .arrow/.arrows/.ipc/.feather); set the format")
}

// listDir lists the data files under root, skipping names that start with
// "." or "_" (hidden and marker files such as _SUCCESS) and, unless the
// format is forced, files of other extensions.
func listDir(root, format string) ([]part, []dataset.PartitionKey, error) {
	var parts []part
	var keys dataset.Partitions
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
		f, err := fileFormat(p, format)
		if err != nil {
			return nil
		}
		rel, err := filepath.Rel(root, filepath.Dir(p))
		if err != nil {
			return err
		}
		v, err := keys.Add(p, rel)
		if err != nil {
			return err
		}
		parts = append(parts, part{path: p, format: f, values: v})
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	if len(parts) == 0 {
		return nil, nil, errNoFiles
	}
	return parts, keys.Keys(), nil
}

// Streams reports whether Open reads path given the format (a data
// format name, auto or empty): stdin, Parquet and Arrow files, and
// directories holding Parquet or Arrow files. Other inputs (idx, CSV)
// are for dataset.
func Streams(path, format string) bool {
	switch {
	case path == Stdin || format == FormatParquet || format == FormatArrow:
		return true
	case format != "" && format != FormatAuto:
		return false
	}
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		_, _, err := listDir(path, "")
		return !errors.Is(err, errNoFiles)
	}
	_, err := fileFormat(path, "")
	return err == nil
}
