package dataset

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v15/arrow"
)

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	csv := func(name, content string) string {
		return writeFile(t, filepath.Join(dir, name), []byte(content))
	}
	nan, inf := 0.0, 0.0
	nan, inf = nan/nan, 1/inf
	one := 1.0
	good := writeParquet(t, filepath.Join(dir, "good.parquet"), makeRecord(t, column{"x", []float64{1, 2, 3}}))
	raw, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	goodArrow := writeArrow(t, filepath.Join(dir, "good.arrow"), false, makeRecord(t, column{"x", []float64{1, 2, 3}}))
	rawArrow, err := os.ReadFile(goodArrow)
	if err != nil {
		t.Fatal(err)
	}
	idxDir := filepath.Join(dir, "idxdir")
	if err := os.Mkdir(idxDir, 0o755); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name string
		path string
		opt  Options
		want string
	}{
		{"missing file", filepath.Join(dir, "nope.csv"), Options{}, "no such file"},
		{"unknown extension", csv("data.txt", "x\n1\n"), Options{}, "cannot tell the format"},
		{"unknown format", csv("f.csv", "x\n1\n"), Options{Format: "xlsx"}, `unknown format "xlsx"`},
		{"unknown scale", csv("s.csv", "x\n1\n"), Options{Scale: "log"}, `unknown scale "log"`},
		{"bad sample shape", csv("ss.csv", "x,y\n1,2\n"), Options{SampleShape: []int{3}}, "sample shape [3] holds 3 values, the data has 2"},
		{"zero sample dim", csv("sz.csv", "x\n1\n"), Options{SampleShape: []int{0}}, "non-positive dimension"},
		{"directory as csv", idxDir, Options{Format: FormatCSV}, "is a directory"},

		{"idx wrong magic", csv("a-images-idx3-ubyte", "PK\x03\x04 not idx"), Options{}, "wrong magic number"},
		{"idx truncated", writeFile(t, filepath.Join(dir, "b-images-idx3-ubyte.gz"), idxBytes(t, []int{2, 2, 2}, []byte{1, 2, 3}, true)), Options{}, "truncated idx data"},
		{"idx empty", writeFile(t, filepath.Join(dir, "c.idx"), idxBytes(t, []int{0, 28, 28}, nil, false)), Options{}, "no rows"},
		{"idx labels only", writeFile(t, filepath.Join(dir, "d.idx"), idxBytes(t, []int{3}, []byte{1, 2, 3}, false)), Options{}, "no per-sample dimension"},
		{"idx columns", writeFile(t, filepath.Join(dir, "e.idx"), idxBytes(t, []int{1, 2}, []byte{1, 2}, false)), Options{FeatureColumns: []string{"x"}}, "do not apply to idx"},
		{"idx dir incomplete", idxDir, Options{}, "no train-images-idx3-ubyte or train-images-idx3-ubyte.gz"},

		{"csv empty file", csv("empty.csv", ""), Options{}, "no header row"},
		{"csv header only", csv("header.csv", "x,label\n"), Options{}, "no rows"},
		{"csv no numeric", csv("words.csv", "a,b\nx,y\n"), Options{}, "no numeric columns (columns: a, b)"},
		{"csv only label", csv("onlylabel.csv", "label\n1\n"), Options{}, "no numeric columns"},
		{"csv NaN", csv("nan.csv", "a,b\n1,2\n3,NaN\n"), Options{}, `row 1 column "b" is NaN`},
		{"csv Inf", csv("inf.csv", "a,b\n1,2\n-Inf,4\n"), Options{}, `row 1 column "a" is -Inf`},
		{"csv empty cell", csv("null.csv", "a,b\n1,2\n3,\n"), Options{}, `row 1 column "b" is null`},
		{"csv ragged", csv("ragged.csv", "a,b\n1,2\n3\n"), Options{}, "wrong number of fields"},
		{"csv duplicate header", csv("dup.csv", "a,a\n1,2\n"), Options{}, `column "a" appears twice`},
		{"csv missing feature", csv("mf.csv", "a,b\n1,2\n"), Options{FeatureColumns: []string{"a", "z"}}, `no feature column "z" (columns: a, b)`},
		{"csv missing label", csv("ml.csv", "a,b\n1,2\n"), Options{LabelColumn: "y"}, `no label column "y"`},
		{"csv text feature", csv("tf.csv", "a,b\n1,x\n"), Options{FeatureColumns: []string{"b"}}, `feature column "b" has type utf8`},
		{"csv feature is label", csv("fl.csv", "a,label\n1,2\n"), Options{FeatureColumns: []string{"a", "label"}}, `column "label" is the label column`},
		{"csv fractional label", csv("fr.csv", "a,label\n1,2\n1,2.5\n"), Options{}, `label column "label" row 1: 2.5 is not an int32 class`},
		{"csv huge label", csv("hl.csv", "a,label\n1,3000000000\n"), Options{}, "3000000000 is not an int32 class"},
		{"csv null label", csv("nl.csv", "a,label\n1,2\n1,\n"), Options{}, `label column "label" row 1 is null`},

		{"parquet truncated", writeFile(t, filepath.Join(dir, "trunc.parquet"), raw[:len(raw)/2]), Options{}, "parquet"},
		{"parquet not parquet", csv("text.parquet", "hello, this is not parquet at all"), Options{}, "parquet"},
		{"arrow truncated", writeFile(t, filepath.Join(dir, "trunc.arrow"), rawArrow[:len(rawArrow)-20]), Options{}, "arrow"},
		{"arrow garbage", csv("text.arrow", "hello, this is not arrow at all"), Options{}, "not an arrow IPC file or stream"},
		{"arrow no rows", writeArrow(t, filepath.Join(dir, "empty.arrow"), false, makeRecord(t, column{"x", []float64{}})), Options{}, "no rows"},
		{"ragged list", writeParquet(t, filepath.Join(dir, "ragged.parquet"), makeRecord(t, column{"emb", [][]float32{{1, 2}, {3, 4}, {5}}})), Options{}, `ragged list column "emb": row 2 has 1 values, row 0 has 2`},
		{"list NaN", writeArrow(t, filepath.Join(dir, "nan.arrow"), false, makeRecord(t, column{"emb", fixedList{{1, 2}, {3, float32(nan)}}})), Options{}, `row 1 column "emb" element 1 is NaN`},
		{"list Inf", writeArrow(t, filepath.Join(dir, "inf.arrow"), true, makeRecord(t, column{"emb", [][]float64{{inf}}})), Options{}, `row 0 column "emb" element 0 is +Inf`},
		{"null number", writeParquet(t, filepath.Join(dir, "null.parquet"), makeRecord(t, column{"x", []*float64{&one, nil}})), Options{}, `row 1 column "x" is null`},
		{"two lists", writeArrow(t, filepath.Join(dir, "two.arrow"), false, makeRecord(t, column{"p", [][]float32{{1}}}, column{"q", [][]float32{{1}}})), Options{}, "several list columns (p, q, ...)"},
		{"list with others", writeArrow(t, filepath.Join(dir, "mix.arrow"), false, makeRecord(t, column{"p", [][]float32{{1}}}, column{"q", []float64{1}})), Options{FeatureColumns: []string{"q", "p"}}, `list column "p" must be the only feature column`},
		{"label type", writeArrow(t, filepath.Join(dir, "lt.arrow"), false, makeRecord(t, column{"x", []float64{1}}, column{"label", [][]float32{{1}}})), Options{}, `label column "label" has type list`},
	}
	for _, tc := range tests {
		_, err := loadChecked(t, tc.path, tc.opt)
		if err == nil {
			t.Errorf("%s: no error, want %q", tc.name, tc.want)
			continue
		}
		msg := err.Error()
		if !strings.Contains(msg, tc.want) || !strings.Contains(msg, tc.path) || strings.Contains(msg, "\n") {
			t.Errorf("%s: error %q, want one line naming %s and containing %q", tc.name, msg, tc.path, tc.want)
		}
	}
}

// TestFloatListElementTypes checks that lists of other element types are
// not taken as features.
func TestFloatListElementTypes(t *testing.T) {
	if isFloatList(arrow.ListOf(arrow.BinaryTypes.String)) || !isFloatList(arrow.LargeListOf(arrow.PrimitiveTypes.Float32)) {
		t.Error("isFloatList: wrong answer for list<utf8> or large_list<float32>")
	}
}
