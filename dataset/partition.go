package dataset

import (
	"fmt"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"
)

// HiveNull is the partition value Hive, Spark and DuckDB write for null.
const HiveNull = "__HIVE_DEFAULT_PARTITION__"

// PartitionKey is a Hive partition column of a directory of files: int64
// when every value parses as one (or is HiveNull), else a string. It is a
// plain struct so that distributed runners can encode it.
type PartitionKey struct {
	// Name is the key, the part of a key=value directory before "=".
	Name string
	// String is set when the column holds strings rather than int64s.
	String bool
}

// Type is the Arrow type of the key's column.
func (k PartitionKey) Type() arrow.DataType {
	if k.String {
		return arrow.BinaryTypes.String
	}
	return arrow.PrimitiveTypes.Int64
}

// PartitionValues splits a directory relative to a lake's root, such as
// a/b=1/c=x, into the Hive keys and unescaped values of its key=value
// components; other components are not partitions and are ignored. "."
// (a file at the root) has none.
func PartitionValues(dir string) (keys, values []string, err error) {
	if dir == "." {
		return nil, nil, nil
	}
	for _, c := range strings.Split(filepath.ToSlash(dir), "/") {
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

// Partitions gathers the partition values of a lake's files, file by
// file, checks that every file has the same keys in the same order, and
// then types the keys. The zero value is ready to use.
type Partitions struct {
	names  []string
	first  string
	values [][]string
}

// Add reads the partition values of the file at path, whose directory
// relative to the lake's root is dir, and returns them. It fails when dir
// does not parse or when its keys differ from the first file's; the error
// names path.
func (p *Partitions) Add(path, dir string) ([]string, error) {
	k, v, err := PartitionValues(dir)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(p.values) == 0 {
		p.names, p.first = k, path
	} else if !slices.Equal(p.names, k) {
		return nil, fmt.Errorf("%s has partition keys [%s], %s has [%s]", path, strings.Join(k, " "), p.first, strings.Join(p.names, " "))
	}
	p.values = append(p.values, v)
	return v, nil
}

// Keys returns the partition keys of the files added, in directory
// order, each typed int64 when every file's value parses as one.
func (p *Partitions) Keys() []PartitionKey {
	keys := make([]PartitionKey, len(p.names))
	for i, name := range p.names {
		keys[i].Name = name
		for _, v := range p.values {
			if _, err := strconv.ParseInt(v[i], 10, 64); err != nil && v[i] != HiveNull {
				keys[i].String = true
				break
			}
		}
	}
	return keys
}

// WithPartitions appends the partition columns (nullable) to a file's
// schema; a key that is also a column of the file is an error.
func WithPartitions(schema *arrow.Schema, keys []PartitionKey) (*arrow.Schema, error) {
	if len(keys) == 0 {
		return schema, nil
	}
	fields := slices.Clone(schema.Fields())
	for _, k := range keys {
		if schema.HasField(k.Name) {
			return nil, fmt.Errorf("partition key %q is also a column of the file", k.Name)
		}
		fields = append(fields, arrow.Field{Name: k.Name, Type: k.Type(), Nullable: true})
	}
	return arrow.NewSchema(fields, nil), nil
}

// AppendPartitions returns rec with a file's partition values (raw, as
// Partitions.Add returned them) appended as constant columns, HiveNull as
// nulls; schema is WithPartitions of rec's schema. Without keys it returns
// rec itself, retained. The caller releases the result.
func AppendPartitions(rec arrow.Record, schema *arrow.Schema, keys []PartitionKey, values []string, mem memory.Allocator) (arrow.Record, error) {
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
		v := values[i]
		var a arrow.Array
		switch {
		case v == HiveNull:
			a = array.MakeArrayOfNull(mem, k.Type(), n)
		case !k.String:
			x, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return nil, fmt.Errorf("partition %s=%s: %w", k.Name, v, err)
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
