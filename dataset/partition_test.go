package dataset

import (
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"

	"github.com/deepclust/deepclust/sdk"
)

// TestPartitionValues checks the parsing of Hive key=value directories:
// other components ignored, values unescaped, bad components refused.
func TestPartitionValues(t *testing.T) {
	for _, c := range []struct {
		dir          string
		keys, values []string
		err          string
	}{
		{dir: "."},
		{dir: "plain/dirs"},
		{dir: "year=2024/raw/city=New%20York", keys: []string{"year", "city"}, values: []string{"2024", "New York"}},
		{dir: "k=", keys: []string{"k"}, values: []string{""}},
		{dir: "a=1/=2", err: "empty key"},
		{dir: "a=%zz", err: `partition directory "a=%zz"`},
	} {
		k, v, err := PartitionValues(c.dir)
		switch {
		case c.err != "":
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%q: error %v, want one with %q", c.dir, err, c.err)
			}
		case err != nil:
			t.Errorf("%q: %v", c.dir, err)
		case !slices.Equal(k, c.keys) || !slices.Equal(v, c.values):
			t.Errorf("%q: keys %q values %q, want %q %q", c.dir, k, v, c.keys, c.values)
		}
	}
}

// TestPartitionsKeys checks that keys must agree across files and are
// typed int64 unless a value (other than Hive's null) is not an integer.
func TestPartitionsKeys(t *testing.T) {
	var p Partitions
	for _, f := range [][2]string{{"r/a=1/b=x/f0", "a=1/b=x"}, {"r/a=" + HiveNull + "/b=2/f1", "a=" + HiveNull + "/b=2"}, {"r/a=-7/b=y/f2", "a=-7/b=y"}} {
		if _, err := p.Add(f[0], f[1]); err != nil {
			t.Fatal(err)
		}
	}
	want := []PartitionKey{{Name: "a"}, {Name: "b", String: true}}
	if got := p.Keys(); !slices.Equal(got, want) {
		t.Fatalf("keys %+v, want %+v", got, want)
	}
	_, err := p.Add("r/b=1/a=2/f3", "b=1/a=2")
	if err == nil || !strings.Contains(err.Error(), "r/b=1/a=2/f3 has partition keys [b a], r/a=1/b=x/f0 has [a b]") {
		t.Errorf("keys in another order: %v", err)
	}
	if _, err := p.Add("r/a=%g/f4", "a=%g"); err == nil || !strings.HasPrefix(err.Error(), "r/a=%g/f4: ") {
		t.Errorf("a bad escape: %v, want an error naming the file", err)
	}
}

// TestAppendPartitions appends an int64, a string and a null partition
// column to a record and checks every value, and the schema clash.
func TestAppendPartitions(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
	defer mem.AssertSize(t, 0)
	schema := arrow.NewSchema([]arrow.Field{{Name: "x", Type: arrow.PrimitiveTypes.Float32}}, nil)
	b := array.NewFloat32Builder(mem)
	b.AppendValues([]float32{1, 2, 3}, nil)
	col := b.NewArray()
	b.Release()
	rec := array.NewRecord(schema, []arrow.Array{col}, 3)
	col.Release()
	defer rec.Release()
	keys := []PartitionKey{{Name: "year"}, {Name: "city", String: true}, {Name: "zone"}}
	full, err := WithPartitions(schema, keys)
	if err != nil {
		t.Fatal(err)
	}
	out, err := AppendPartitions(rec, full, keys, []string{"2024", "Oslo", HiveNull}, mem)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Release()
	if out.NumCols() != 4 || out.NumRows() != 3 {
		t.Fatalf("%d columns, %d rows", out.NumCols(), out.NumRows())
	}
	years, cities, zones := out.Column(1).(*array.Int64), out.Column(2).(*array.String), out.Column(3)
	for i := range 3 {
		if years.Value(i) != 2024 || cities.Value(i) != "Oslo" || !zones.IsNull(i) {
			t.Fatalf("row %d: %d %q null=%v", i, years.Value(i), cities.Value(i), zones.IsNull(i))
		}
	}
	if zones.DataType().ID() != arrow.INT64 {
		t.Errorf("null partition typed %s, want int64", zones.DataType())
	}
	if _, err := AppendPartitions(rec, full, keys, []string{"20x4", "Oslo", HiveNull}, mem); err == nil {
		t.Error("a non-integer value of an int64 key was accepted")
	}
	if _, err := WithPartitions(schema, []PartitionKey{{Name: "x"}}); err == nil || !strings.Contains(err.Error(), `"x" is also a column`) {
		t.Errorf("a key that is a column: %v", err)
	}
	same, err := AppendPartitions(rec, schema, nil, nil, mem)
	if err != nil || same != rec {
		t.Fatalf("no keys: %v, want the record itself", err)
	}
	same.Release()
}

// TestRowBatchDrop drops rows 0, 2, 3 and 5 of six and checks features,
// row numbers, labels and an id column (taken as runs), then all rows.
func TestRowBatchDrop(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
	defer mem.AssertSize(t, 0)
	ib := array.NewInt64Builder(mem)
	ib.AppendValues([]int64{10, 11, 12, 13, 14, 15}, nil)
	b := RowBatch{
		X:      sdk.Tensor{Shape: []int{6, 2}, Data: []float32{0, 0.5, 1, 1.5, 2, 2.5, 3, 3.5, 4, 4.5, 5, 5.5}},
		Labels: []int32{0, 1, 2, 3, 4, 5},
		Rows:   []int64{100, 101, 102, 103, 104, 105},
		IDs:    []arrow.Array{ib.NewArray()},
	}
	ib.Release()
	defer b.Release()
	fields := []arrow.Field{{Name: "id", Type: arrow.PrimitiveTypes.Int64}}
	n, err := b.Drop([]bool{true, false, true, true, false, true}, fields, mem)
	if err != nil || n != 4 {
		t.Fatalf("dropped %d, %v; want 4", n, err)
	}
	if !slices.Equal(b.X.Shape, []int{2, 2}) || !slices.Equal(b.X.Data, []float32{1, 1.5, 4, 4.5}) ||
		!slices.Equal(b.Labels, []int32{1, 4}) || !slices.Equal(b.Rows, []int64{101, 104}) ||
		!slices.Equal(b.IDs[0].(*array.Int64).Int64Values(), []int64{11, 14}) {
		t.Fatalf("kept X %v %v labels %v rows %v ids %v", b.X.Shape, b.X.Data, b.Labels, b.Rows, b.IDs[0])
	}
	if n, err := b.Drop([]bool{true, true}, fields, mem); err != nil || n != 2 || b.X.Rows() != 0 || b.IDs[0].Len() != 0 || len(b.Rows) != 0 {
		t.Fatalf("dropping all: %d, %v, %d rows left", n, err, b.X.Rows())
	}
}
