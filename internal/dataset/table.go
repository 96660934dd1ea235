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

// fromTable extracts the features and labels of a table as Options say.
func fromTable(tbl arrow.Table, opt Options) (*Dataset, error) {
	if tbl.NumRows() == 0 {
		return nil, errors.New("empty data set: no rows")
	}
	schema := tbl.Schema()
	labelName := opt.LabelColumn
	if labelName == "" {
		labelName = DefaultLabelColumn
	}
	labelIdx, err := columnIndex(schema, labelName)
	if err != nil {
		return nil, err
	}
	if labelIdx < 0 && opt.LabelColumn != "" {
		return nil, fmt.Errorf("no label column %q (columns: %s)", labelName, columnNames(schema))
	}
	feats, err := featureColumns(schema, opt.FeatureColumns, labelIdx)
	if err != nil {
		return nil, err
	}
	n := int(tbl.NumRows())
	var x sdk.Tensor
	var describe func(j int) string
	if first := schema.Field(feats[0]); isFloatList(first.Type) {
		x, err = listFeatures(tbl.Column(feats[0]), n)
		describe = func(j int) string { return fmt.Sprintf("column %q element %d", first.Name, j) }
	} else {
		x, err = numericFeatures(tbl, feats, n)
		describe = func(j int) string { return fmt.Sprintf("column %q", schema.Field(feats[j]).Name) }
	}
	if err != nil {
		return nil, err
	}
	if err := checkFinite(x, describe); err != nil {
		return nil, err
	}
	ds := &Dataset{X: x}
	if labelIdx >= 0 {
		if ds.Labels, err = columnLabels(tbl.Column(labelIdx), n); err != nil {
			return nil, err
		}
	}
	return ds, nil
}

// columnIndex returns the index of the column called name, or -1.
func columnIndex(schema *arrow.Schema, name string) (int, error) {
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
			idx, err := columnIndex(schema, name)
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
func numericFeatures(tbl arrow.Table, cols []int, n int) (sdk.Tensor, error) {
	d := len(cols)
	x := sdk.NewTensor(n, d)
	for j, ci := range cols {
		col := tbl.Column(ci)
		row := 0
		for _, chunk := range col.Data().Chunks() {
			if i := firstNull(chunk); i >= 0 {
				return sdk.Tensor{}, fmt.Errorf("row %d column %q is null", row+i, col.Name())
			}
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
			row += chunk.Len()
		}
	}
	return x, nil
}

// listFeatures turns a column of float lists, all of one length d, into an
// n × d tensor.
func listFeatures(col *arrow.Column, n int) (sdk.Tensor, error) {
	var x sdk.Tensor
	d, row := -1, 0
	for _, chunk := range col.Data().Chunks() {
		lists, ok := chunk.(array.ListLike)
		if !ok {
			return sdk.Tensor{}, fmt.Errorf("column %q has type %s, not a list", col.Name(), chunk.DataType())
		}
		values := lists.ListValues()
		for i := 0; i < lists.Len(); i, row = i+1, row+1 {
			if lists.IsNull(i) {
				return sdk.Tensor{}, fmt.Errorf("row %d column %q is null", row, col.Name())
			}
			start, end := lists.ValueOffsets(i)
			if d < 0 {
				d = int(end - start)
				x = sdk.NewTensor(n, d)
			}
			if int(end-start) != d {
				return sdk.Tensor{}, fmt.Errorf("ragged list column %q: row %d has %d values, row 0 has %d", col.Name(), row, end-start, d)
			}
			if k := firstNullIn(values, int(start), int(end)); k >= 0 {
				return sdk.Tensor{}, fmt.Errorf("row %d column %q element %d is null", row, col.Name(), k)
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
		}
	}
	return x, nil
}

// firstNull returns the index of the first null in a, or -1.
func firstNull(a arrow.Array) int { return firstNullIn(a, 0, a.Len()) }

// firstNullIn returns the offset from start of the first null in
// a[start:end], or -1.
func firstNullIn(a arrow.Array, start, end int) int {
	if a.NullN() == 0 {
		return -1
	}
	for i := start; i < end; i++ {
		if a.IsNull(i) {
			return i - start
		}
	}
	return -1
}

// checkFinite reports the first NaN or infinite value of x, naming its row
// and, through describe, its column.
func checkFinite(x sdk.Tensor, describe func(j int) string) error {
	cols := x.Cols()
	for i, v := range x.Data {
		if f := float64(v); math.IsNaN(f) || math.IsInf(f, 0) {
			return fmt.Errorf("row %d %s is %v", i/cols, describe(i%cols), v)
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

func appendIntLabels[T integer](labels []int32, vals []T, col string) ([]int32, error) {
	for _, v := range vals {
		if int64(v) < math.MinInt32 || int64(v) > math.MaxInt32 || (v > 0 && uint64(v) > math.MaxInt32) {
			return nil, labelError(col, len(labels), v)
		}
		labels = append(labels, int32(v))
	}
	return labels, nil
}

func appendFloatLabels[T float32 | float64](labels []int32, vals []T, col string) ([]int32, error) {
	for _, v := range vals {
		f := float64(v)
		if f != math.Trunc(f) || f < math.MinInt32 || f > math.MaxInt32 {
			return nil, labelError(col, len(labels), v)
		}
		labels = append(labels, int32(f))
	}
	return labels, nil
}

// columnLabels reads a label column: integers, integral floats, or strings
// numbered in order of first appearance.
func columnLabels(col *arrow.Column, n int) ([]int32, error) {
	labels := make([]int32, 0, n)
	ids := map[string]int32{}
	name := col.Name()
	for _, chunk := range col.Data().Chunks() {
		if i := firstNull(chunk); i >= 0 {
			return nil, fmt.Errorf("label column %q row %d is null", name, len(labels)+i)
		}
		var err error
		switch a := chunk.(type) {
		case *array.Int8:
			labels, err = appendIntLabels(labels, a.Int8Values(), name)
		case *array.Int16:
			labels, err = appendIntLabels(labels, a.Int16Values(), name)
		case *array.Int32:
			labels, err = appendIntLabels(labels, a.Int32Values(), name)
		case *array.Int64:
			labels, err = appendIntLabels(labels, a.Int64Values(), name)
		case *array.Uint8:
			labels, err = appendIntLabels(labels, a.Uint8Values(), name)
		case *array.Uint16:
			labels, err = appendIntLabels(labels, a.Uint16Values(), name)
		case *array.Uint32:
			labels, err = appendIntLabels(labels, a.Uint32Values(), name)
		case *array.Uint64:
			labels, err = appendIntLabels(labels, a.Uint64Values(), name)
		case *array.Float32:
			labels, err = appendFloatLabels(labels, a.Float32Values(), name)
		case *array.Float64:
			labels, err = appendFloatLabels(labels, a.Float64Values(), name)
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
