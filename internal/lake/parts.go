package lake

import (
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"

	"github.com/deepclust/deepclust/internal/tableio"
)

// hiveNull is the partition value Hive, Spark and DuckDB write for null.
const hiveNull = "__HIVE_DEFAULT_PARTITION__"

// errNoFiles is listDir's error for a directory without data files.
var errNoFiles = errors.New("directory holds no .parquet or .arrow files")

// part is one input file and the values of its partition keys.
type part struct {
	path   string
	format string
	values []string // raw, unescaped; hiveNull for null
}

// partitionKey is a Hive partition column: int64 when every value parses
// as one, else a string.
type partitionKey struct {
	name string
	typ  arrow.DataType
}

// listParts returns the files path stands for, in lexical order, and
// their partition keys (none unless path is a partitioned directory).
func listParts(path, format string) ([]part, []partitionKey, error) {
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
func listDir(root, format string) ([]part, []partitionKey, error) {
	var parts []part
	var keys []string
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
		k, v, err := partitionValues(rel)
		if err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		if len(parts) == 0 {
			keys = k
		} else if !slices.Equal(keys, k) {
			return fmt.Errorf("%s has partition keys [%s], %s has [%s]", p, strings.Join(k, " "), parts[0].path, strings.Join(keys, " "))
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
	out := make([]partitionKey, len(keys))
	for i, k := range keys {
		out[i] = partitionKey{name: k, typ: arrow.PrimitiveTypes.Int64}
		for _, p := range parts {
			if _, err := strconv.ParseInt(p.values[i], 10, 64); err != nil && p.values[i] != hiveNull {
				out[i].typ = arrow.BinaryTypes.String
				break
			}
		}
	}
	return parts, out, nil
}

// partitionValues splits a relative directory a/b=1/c=x into the Hive keys
// and values of its key=value components; other components are not
// partitions and are ignored.
func partitionValues(rel string) (keys, values []string, err error) {
	if rel == "." {
		return nil, nil, nil
	}
	for _, c := range strings.Split(filepath.ToSlash(rel), "/") {
		k, v, ok := strings.Cut(c, "=")
		if !ok {
			continue
		}
		if k == "" {
			return nil, nil, fmt.Errorf("partition directory %q has an empty key", c)
		}
		if v, err = url.PathUnescape(v); err != nil {
			return nil, nil, fmt.Errorf("partition directory %q: %w", c, err)
		}
		keys, values = append(keys, k), append(values, v)
	}
	return keys, values, nil
}

// withPartitions appends the partition columns to a file's schema.
func withPartitions(schema *arrow.Schema, keys []partitionKey) (*arrow.Schema, error) {
	if len(keys) == 0 {
		return schema, nil
	}
	fields := slices.Clone(schema.Fields())
	for _, k := range keys {
		if schema.HasField(k.name) {
			return nil, fmt.Errorf("partition key %q is also a column of the file", k.name)
		}
		fields = append(fields, arrow.Field{Name: k.name, Type: k.typ, Nullable: true})
	}
	return arrow.NewSchema(fields, nil), nil
}

// appendPartitions returns rec with the partition values of p appended as
// constant columns (schema is withPartitions of rec's schema), or rec
// itself, retained, when there are no partitions.
func appendPartitions(rec arrow.Record, schema *arrow.Schema, keys []partitionKey, p part, mem memory.Allocator) (arrow.Record, error) {
	if len(keys) == 0 {
		rec.Retain()
		return rec, nil
	}
	n := int(rec.NumRows())
	cols := slices.Clone(rec.Columns())
	var made []arrow.Array
	defer func() {
		for _, a := range made {
			a.Release()
		}
	}()
	for i, k := range keys {
		v := p.values[i]
		var a arrow.Array
		switch {
		case v == hiveNull:
			a = array.MakeArrayOfNull(mem, k.typ, n)
		case k.typ.ID() == arrow.INT64:
			x, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return nil, fmt.Errorf("partition %s=%s: %w", k.name, v, err)
			}
			b := array.NewInt64Builder(mem)
			b.Reserve(n)
			for range n {
				b.UnsafeAppend(x)
			}
			a = b.NewArray()
			b.Release()
		default:
			b := array.NewStringBuilder(mem)
			b.Reserve(n)
			b.ReserveData(n * len(v))
			for range n {
				b.Append(v)
			}
			a = b.NewArray()
			b.Release()
		}
		made = append(made, a)
		cols = append(cols, a)
	}
	return array.NewRecord(schema, cols, int64(n)), nil
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
