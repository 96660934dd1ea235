package dataset

import (
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"

	"github.com/deepclust/deepclust/sdk"
)

// Columns is a choice of the feature and label columns of a table, as
// schema field indices.
type Columns struct {
	// Features holds the feature columns: one column of float lists, or
	// numeric columns.
	Features []int
	// Label is the label column, or -1 when there is none.
	Label int
}

// ChooseColumns picks the feature and label columns of schema the way
// Options.FeatureColumns and Options.LabelColumn describe.
func ChooseColumns(schema *arrow.Schema, features []string, label string) (Columns, error) {
	labelName := label
	if labelName == "" {
		labelName = DefaultLabelColumn
	}
	labelIdx, err := ColumnIndex(schema, labelName)
	if err != nil {
		return Columns{}, err
	}
	if labelIdx < 0 && label != "" {
		return Columns{}, fmt.Errorf("no label column %q (columns: %s)", labelName, columnNames(schema))
	}
	feats, err := featureColumns(schema, features, labelIdx)
	if err != nil {
		return Columns{}, err
	}
	return Columns{Features: feats, Label: labelIdx}, nil
}

// Extractor reads features and labels out of tables, batch after batch:
// string labels keep their numbers from one call to the next.
type Extractor struct {
	// ZeroMissing, when set, reads null feature values (a null list: all
	// its values) and NaNs as 0 and flags their rows in Extracted.Missing
	// instead of failing. Infinities and null labels fail either way.
	ZeroMissing bool
	labelIDs    map[string]int32
}

// Extracted is what Extract read from one table.
type Extracted struct {
	// X holds the features, rows × features.
	X sdk.Tensor
	// Labels holds the labels, or nil when there is no label column.
	Labels []int32
	// Missing flags the rows that had a missing feature value read as 0
	// (only with ZeroMissing); nil when no row had one.
	Missing []bool
}

// Extract reads the columns cols chose from tbl; rows are numbered from
// firstRow in error messages. A table without rows gives an empty X.
func (e *Extractor) Extract(tbl arrow.Table, cols Columns, firstRow int) (Extracted, error) {
	schema := tbl.Schema()
	n := int(tbl.NumRows())
	var out Extracted
	var describe func(j int) string
	var err error
	rd := rowReader{first: firstRow, zero: e.ZeroMissing, n: n}
	if first := schema.Field(cols.Features[0]); isFloatList(first.Type) {
		out.X, err = rd.listFeatures(tbl.Column(cols.Features[0]))
		describe = func(j int) string { return fmt.Sprintf("column %q element %d", first.Name, j) }
	} else {
		out.X, err = rd.numericFeatures(tbl, cols.Features)
		describe = func(j int) string { return fmt.Sprintf("column %q", schema.Field(cols.Features[j]).Name) }
	}
	if err == nil {
		err = rd.checkFinite(out.X, describe)
	}
	if err != nil {
		return Extracted{}, err
	}
	out.Missing = rd.missing
	if cols.Label >= 0 {
		if e.labelIDs == nil {
			e.labelIDs = map[string]int32{}
		}
		if out.Labels, err = columnLabels(tbl.Column(cols.Label), n, e.labelIDs, firstRow); err != nil {
			return Extracted{}, err
		}
	}
	return out, nil
}

// fromTable extracts the features and labels of a table as Options say.
func fromTable(tbl arrow.Table, opt Options) (*Dataset, error) {
	if tbl.NumRows() == 0 {
		return nil, errors.New("empty data set: no rows")
	}
	cols, err := ChooseColumns(tbl.Schema(), opt.FeatureColumns, opt.LabelColumn)
	if err != nil {
		return nil, err
	}
	var e Extractor
	got, err := e.Extract(tbl, cols, 0)
	if err != nil {
		return nil, err
	}
	return &Dataset{X: got.X, Labels: got.Labels}, nil
}

// rowReader holds the state of one extraction: the number of the first
// row, the missing-value policy and the rows flagged so far.
type rowReader struct {
	first, n int
	zero     bool
	missing  []bool
}

// miss handles a missing value at row i (from the table's start): an error
// naming what, or, with zero set, a flag on the row.
func (r *rowReader) miss(i int, what string) error {
	if !r.zero {
		return fmt.Errorf("row %d %s is null", r.first+i, what)
	}
	if r.missing == nil {
		r.missing = make([]bool, r.n)
	}
	r.missing[i] = true
	return nil
}

// ColumnIndex returns the index of the column called name, or -1 when
// there is none; a name that appears more than once is an error.
func ColumnIndex(schema *arrow.Schema, name string) (int, error) {
	switch idx := schema.FieldIndices(name); len(idx) {
	case 0:
		return -1, nil
	case 1:
		return idx[0], nil
	default:
		return -1, fmt.Errorf("column %q appears %d times", name, len(idx))
	}
}

func columnNames(schema *arrow.Schema) string {
	names := make([]string, schema.NumFields())
	for i, f := range schema.Fields() {
		names[i] = f.Name
	}
	return strings.Join(names, ", ")
}

// featureColumns resolves the feature columns: the named ones, else the one
// float-list column, else every numeric column but the label.
func featureColumns(schema *arrow.Schema, names []string, labelIdx int) ([]int, error) {
	if len(names) > 0 {
		cols := make([]int, len(names))
		for i, name := range names {
			idx, err := ColumnIndex(schema, name)
			switch {
			case err != nil:
				return nil, err
			case idx < 0:
				return nil, fmt.Errorf("no feature column %q (columns: %s)", name, columnNames(schema))
			case idx == labelIdx:
				return nil, fmt.Errorf("column %q is the label column, not a feature", name)
			}
			typ := schema.Field(idx).Type
			switch {
			case isFloatList(typ) && len(names) > 1:
				return nil, fmt.Errorf("list column %q must be the only feature column", name)
			case !isFloatList(typ) && !isNumeric(typ):
				return nil, fmt.Errorf("feature column %q has type %s (want a number, or a list of float32 or float64)", name, typ)
			}
			cols[i] = idx
		}
		return cols, nil
	}
	var lists, numeric []int
	for i, f := range schema.Fields() {
		switch {
		case i == labelIdx:
		case isFloatList(f.Type):
			lists = append(lists, i)
		case isNumeric(f.Type):
			numeric = append(numeric, i)
		}
	}
	switch {
	case len(lists) == 1:
		return lists, nil
	case len(lists) > 1:
		return nil, fmt.Errorf("several list columns (%s, %s, ...): name the feature column", schema.Field(lists[0]).Name, schema.Field(lists[1]).Name)
	case len(numeric) == 0:
		return nil, fmt.Errorf("no numeric columns (columns: %s)", columnNames(schema))
	}
	return numeric, nil
}

func isNumeric(t arrow.DataType) bool {
	switch t.ID() {
	case arrow.INT8, arrow.INT16, arrow.INT32, arrow.INT64,
		arrow.UINT8, arrow.UINT16, arrow.UINT32, arrow.UINT64,
		arrow.FLOAT32, arrow.FLOAT64:
		return true
	}
	return false
}

// isFloatList reports whether t is a List, LargeList or FixedSizeList of
// float32 or float64.
func isFloatList(t arrow.DataType) bool {
	l, ok := t.(arrow.ListLikeType)
	if !ok || t.ID() == arrow.MAP {
		return false
	}
	id := l.Elem().ID()
	return id == arrow.FLOAT32 || id == arrow.FLOAT64
}

type number interface {
	~int8 | ~int16 | ~int32 | ~int64 | ~uint8 | ~uint16 | ~uint32 | ~uint64 | ~float32 | ~float64
}

// scatter writes src into column col of the row-major dst with stride
// values per row.
func scatter[T number](dst []float32, stride, col int, src []T) {
	for i, v := range src {
		dst[i*stride+col] = float32(v)
	}
}

// numericFeatures gathers numeric columns into an n × len(cols) tensor.
func (r *rowReader) numericFeatures(tbl arrow.Table, cols []int) (sdk.Tensor, error) {
	d := len(cols)
	x := sdk.NewTensor(r.n, d)
	for j, ci := range cols {
		col := tbl.Column(ci)
		row := 0
		for _, chunk := range col.Data().Chunks() {
			dst := x.Data[row*d:]
			switch a := chunk.(type) {
			case *array.Int8:
				scatter(dst, d, j, a.Int8Values())
			case *array.Int16:
				scatter(dst, d, j, a.Int16Values())
			case *array.Int32:
				scatter(dst, d, j, a.Int32Values())
			case *array.Int64:
				scatter(dst, d, j, a.Int64Values())
			case *array.Uint8:
				scatter(dst, d, j, a.Uint8Values())
			case *array.Uint16:
				scatter(dst, d, j, a.Uint16Values())
			case *array.Uint32:
				scatter(dst, d, j, a.Uint32Values())
			case *array.Uint64:
				scatter(dst, d, j, a.Uint64Values())
			case *array.Float32:
				scatter(dst, d, j, a.Float32Values())
			case *array.Float64:
				scatter(dst, d, j, a.Float64Values())
			default:
				return sdk.Tensor{}, fmt.Errorf("column %q has type %s, not a number", col.Name(), chunk.DataType())
			}
			for i := range nulls(chunk, 0, chunk.Len()) {
				if err := r.miss(row+i, fmt.Sprintf("column %q", col.Name())); err != nil {
					return sdk.Tensor{}, err
				}
				dst[i*d+j] = 0
			}
			row += chunk.Len()
		}
	}
	return x, nil
}

// listFeatures turns a column of float lists, all of one length d, into an
// n × d tensor. With zero set, a null list counts as d zeros; d comes from
// the type of a fixed-size list, else from the first non-null row.
func (r *rowReader) listFeatures(col *arrow.Column) (sdk.Tensor, error) {
	d, first := -1, 0
	if fixed, ok := col.DataType().(*arrow.FixedSizeListType); ok {
		d = int(fixed.Len())
	}
	x := sdk.Tensor{}
	row := 0
	for _, chunk := range col.Data().Chunks() {
		lists, ok := chunk.(array.ListLike)
		if !ok {
			return sdk.Tensor{}, fmt.Errorf("column %q has type %s, not a list", col.Name(), chunk.DataType())
		}
		values := lists.ListValues()
		for i := 0; i < lists.Len(); i, row = i+1, row+1 {
			if lists.IsNull(i) {
				if err := r.miss(row, fmt.Sprintf("column %q", col.Name())); err != nil {
					return sdk.Tensor{}, err
				}
				continue
			}
			start, end := lists.ValueOffsets(i)
			if d < 0 {
				d, first = int(end-start), row
			}
			if x.Empty() {
				x = sdk.NewTensor(r.n, d)
			}
			if int(end-start) != d {
				return sdk.Tensor{}, fmt.Errorf("ragged list column %q: row %d has %d values, row %d has %d", col.Name(), r.first+row, end-start, r.first+first, d)
			}
			dst := x.Row(row)
			switch v := values.(type) {
			case *array.Float32:
				copy(dst, v.Float32Values()[start:end])
			case *array.Float64:
				scatter(dst, 1, 0, v.Float64Values()[start:end])
			default:
				return sdk.Tensor{}, fmt.Errorf("column %q is a list of %s, not float32 or float64", col.Name(), values.DataType())
			}
			for k := range nulls(values, int(start), int(end)) {
				if err := r.miss(row, fmt.Sprintf("column %q element %d", col.Name(), k)); err != nil {
					return sdk.Tensor{}, err
				}
				dst[k] = 0
			}
		}
	}
	if x.Empty() && r.n > 0 {
		if d < 0 {
			return sdk.Tensor{}, fmt.Errorf("list column %q: rows %d to %d are all null, so their length is unknown", col.Name(), r.first, r.first+r.n-1)
		}
		x = sdk.NewTensor(r.n, d)
	}
	return x, nil
}

// nulls yields the offsets from start of the nulls in a[start:end].
func nulls(a arrow.Array, start, end int) func(yield func(int) bool) {
	return func(yield func(int) bool) {
		if a.NullN() == 0 {
			return
		}
		for i := start; i < end; i++ {
			if a.IsNull(i) && !yield(i-start) {
				return
			}
		}
	}
}

// checkFinite reports the first NaN or infinite value of x, naming its row
// and, through describe, its column; with zero set a NaN is a missing
// value instead, read as 0.
func (r *rowReader) checkFinite(x sdk.Tensor, describe func(j int) string) error {
	cols := x.Cols()
	for i, v := range x.Data {
		f := float64(v)
		switch {
		case math.IsNaN(f) && r.zero:
			x.Data[i] = 0
			if err := r.miss(i/cols, ""); err != nil {
				return err
			}
		case math.IsNaN(f) || math.IsInf(f, 0):
			return fmt.Errorf("row %d %s is %v", r.first+i/cols, describe(i%cols), v)
		}
	}
	return nil
}

type integer interface {
	~int8 | ~int16 | ~int32 | ~int64 | ~uint8 | ~uint16 | ~uint32 | ~uint64
}

// labelError names a label column row whose value cannot be a class.
func labelError(col string, row int, v any) error {
	return fmt.Errorf("label column %q row %d: %v is not an int32 class", col, row, v)
}

func appendIntLabels[T integer](labels []int32, vals []T, col string, first int) ([]int32, error) {
	for _, v := range vals {
		if int64(v) < math.MinInt32 || int64(v) > math.MaxInt32 || (v > 0 && uint64(v) > math.MaxInt32) {
			return nil, labelError(col, first+len(labels), v)
		}
		labels = append(labels, int32(v))
	}
	return labels, nil
}

func appendFloatLabels[T float32 | float64](labels []int32, vals []T, col string, first int) ([]int32, error) {
	for _, v := range vals {
		f := float64(v)
		if f != math.Trunc(f) || f < math.MinInt32 || f > math.MaxInt32 {
			return nil, labelError(col, first+len(labels), v)
		}
		labels = append(labels, int32(f))
	}
	return labels, nil
}

// columnLabels reads a label column: integers, integral floats, or strings
// numbered in order of first appearance in ids, which keeps the numbers of
// earlier calls. Rows are numbered from first in error messages.
func columnLabels(col *arrow.Column, n int, ids map[string]int32, first int) ([]int32, error) {
	labels := make([]int32, 0, n)
	name := col.Name()
	for _, chunk := range col.Data().Chunks() {
		for i := range nulls(chunk, 0, chunk.Len()) {
			return nil, fmt.Errorf("label column %q row %d is null", name, first+len(labels)+i)
		}
		var err error
		switch a := chunk.(type) {
		case *array.Int8:
			labels, err = appendIntLabels(labels, a.Int8Values(), name, first)
		case *array.Int16:
			labels, err = appendIntLabels(labels, a.Int16Values(), name, first)
		case *array.Int32:
			labels, err = appendIntLabels(labels, a.Int32Values(), name, first)
		case *array.Int64:
			labels, err = appendIntLabels(labels, a.Int64Values(), name, first)
		case *array.Uint8:
			labels, err = appendIntLabels(labels, a.Uint8Values(), name, first)
		case *array.Uint16:
			labels, err = appendIntLabels(labels, a.Uint16Values(), name, first)
		case *array.Uint32:
			labels, err = appendIntLabels(labels, a.Uint32Values(), name, first)
		case *array.Uint64:
			labels, err = appendIntLabels(labels, a.Uint64Values(), name, first)
		case *array.Float32:
			labels, err = appendFloatLabels(labels, a.Float32Values(), name, first)
		case *array.Float64:
			labels, err = appendFloatLabels(labels, a.Float64Values(), name, first)
		case interface{ Value(int) string }: // String, LargeString
			for i := 0; i < chunk.Len(); i++ {
				s := a.Value(i)
				id, ok := ids[s]
				if !ok {
					id = int32(len(ids))
					ids[s] = id
				}
				labels = append(labels, id)
			}
		default:
			return nil, fmt.Errorf("label column %q has type %s (want integers or strings)", name, chunk.DataType())
		}
		if err != nil {
			return nil, err
		}
	}
	return labels, nil
}
