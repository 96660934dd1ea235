package serve

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/ipc"
	"github.com/apache/arrow/go/v15/arrow/memory"

	"github.com/deepclust/deepclust/internal/arrowsafe"
	"github.com/deepclust/deepclust/sdk"
)

// The Arrow layout of a Tensor: one column named TensorColumn of type
// FixedSizeList<float32>[Cols()], one row per sample (Shape[0] rows), and
// the full shape as comma-separated decimal integers in the schema metadata
// under TensorShapeKey ("256,1,28,28"; "" for the empty sdk.Tensor). Arrow has
// no zero-size lists, so a tensor whose samples hold no values (the empty
// sdk.Tensor, or a zero in Shape[1:]) is written as zero rows of list size 1.
const (
	TensorColumn   = "data"
	TensorShapeKey = "deepclust.shape"
)

// maxTensorValues bounds the number of values a decoded shape may claim, so
// that a corrupt shape cannot overflow int arithmetic.
const maxTensorValues = 1 << 40

// TensorRecord returns t as an Arrow record batch in the layout described at
// TensorColumn. The record shares t.Data's memory; the caller must Release it.
func TensorRecord(t sdk.Tensor) (arrow.Record, error) {
	if err := checkLength(t); err != nil {
		return nil, err
	}
	cols, rows := t.Cols(), t.Rows()
	if cols == 0 {
		cols, rows = 1, 0
	}
	if cols > math.MaxInt32 {
		return nil, fmt.Errorf("tensor shape %v has %d values per sample, more than an Arrow list holds", t.Shape, cols)
	}
	dims := make([]string, len(t.Shape))
	for i, s := range t.Shape {
		dims[i] = strconv.Itoa(s)
	}
	listType := arrow.FixedSizeListOfNonNullable(int32(cols), arrow.PrimitiveTypes.Float32)
	schema := arrow.NewSchema(
		[]arrow.Field{{Name: TensorColumn, Type: listType}},
		metadataPtr(arrow.NewMetadata([]string{TensorShapeKey}, []string{strings.Join(dims, ",")})),
	)
	values := array.NewData(arrow.PrimitiveTypes.Float32, len(t.Data),
		[]*memory.Buffer{nil, memory.NewBufferBytes(arrow.Float32Traits.CastToBytes(t.Data))}, nil, 0, 0)
	defer values.Release()
	listData := array.NewData(listType, rows, []*memory.Buffer{nil}, []arrow.ArrayData{values}, 0, 0)
	defer listData.Release()
	list := array.NewFixedSizeListData(listData)
	defer list.Release()
	return array.NewRecord(schema, []arrow.Array{list}, int64(rows)), nil
}

func metadataPtr(m arrow.Metadata) *arrow.Metadata { return &m }

// checkLength checks the shape of t against its data, without looking at the
// values (NaN is representable and is left to Validate).
func checkLength(t sdk.Tensor) error {
	if t.Empty() {
		if len(t.Data) != 0 {
			return fmt.Errorf("tensor has %d values but no shape", len(t.Data))
		}
		return nil
	}
	n, err := shapeSize(t.Shape)
	if err != nil {
		return err
	}
	if n != len(t.Data) {
		return fmt.Errorf("tensor shape %v needs %d values, has %d", t.Shape, n, len(t.Data))
	}
	return nil
}

// shapeSize returns the product of shape, rejecting negative dimensions and
// products beyond maxTensorValues.
func shapeSize(shape []int) (int, error) {
	n := 1
	for _, s := range shape {
		if s < 0 {
			return 0, fmt.Errorf("tensor shape %v has a negative dimension", shape)
		}
		if s > 0 && n > maxTensorValues/s {
			return 0, fmt.Errorf("tensor shape %v has more than %d values", shape, maxTensorValues)
		}
		n *= s
	}
	return n, nil
}

// TensorFromRecord copies the tensor out of rec, which must have the layout
// described at TensorColumn. rec is not released.
func TensorFromRecord(rec arrow.Record) (sdk.Tensor, error) {
	schema := rec.Schema()
	if rec.NumCols() != 1 || schema.Field(0).Name != TensorColumn {
		return sdk.Tensor{}, fmt.Errorf("tensor record must have exactly one column %q, has %d columns", TensorColumn, rec.NumCols())
	}
	rawShape, ok := schema.Metadata().GetValue(TensorShapeKey)
	if !ok {
		return sdk.Tensor{}, fmt.Errorf("tensor record has no %q schema metadata", TensorShapeKey)
	}
	shape, err := parseShape(rawShape)
	if err != nil {
		return sdk.Tensor{}, err
	}
	list, ok := rec.Column(0).(*array.FixedSizeList)
	if !ok {
		return sdk.Tensor{}, fmt.Errorf("tensor column %q has type %s, want fixed_size_list<float32>", TensorColumn, rec.Column(0).DataType())
	}
	listType := list.DataType().(*arrow.FixedSizeListType)
	values, ok := list.ListValues().(*array.Float32)
	if !ok {
		return sdk.Tensor{}, fmt.Errorf("tensor column %q has element type %s, want float32", TensorColumn, listType.Elem())
	}
	if list.NullN() != 0 || values.NullN() != 0 {
		return sdk.Tensor{}, fmt.Errorf("tensor column %q holds nulls", TensorColumn)
	}
	t := sdk.Tensor{Shape: shape}
	size, rows := int(listType.Len()), t.Rows()
	if t.Cols() == 0 {
		if list.Len() != 0 {
			return sdk.Tensor{}, fmt.Errorf("tensor shape %v holds no values, but its column has %d rows", shape, list.Len())
		}
		if len(shape) == 0 {
			return sdk.Tensor{}, nil
		}
		return sdk.NewTensor(shape...), nil
	}
	if list.Len() != rows || size != t.Cols() {
		return sdk.Tensor{}, fmt.Errorf("tensor shape %v does not match its column: %d rows of %d values", shape, list.Len(), size)
	}
	start := list.Data().Offset() * size
	all := values.Float32Values()
	if start+rows*size > len(all) {
		return sdk.Tensor{}, fmt.Errorf("tensor shape %v needs %d values, column holds %d", shape, rows*size, len(all)-start)
	}
	t.Data = append(make([]float32, 0, rows*size), all[start:start+rows*size]...)
	return t, nil
}

func parseShape(s string) ([]int, error) {
	if s == "" {
		return nil, nil
	}
	parts := strings.Split(s, ",")
	shape := make([]int, len(parts))
	for i, p := range parts {
		d, err := strconv.Atoi(p)
		if err != nil {
			return nil, fmt.Errorf("tensor shape metadata %q: dimension %d is not an integer", s, i)
		}
		shape[i] = d
	}
	if _, err := shapeSize(shape); err != nil {
		return nil, err
	}
	return shape, nil
}

// EncodeTensor returns t as Arrow IPC stream bytes: a schema message and one
// record batch in the layout described at TensorColumn. The empty sdk.Tensor
// encodes to a stream with no shape and zero rows.
func EncodeTensor(t sdk.Tensor) ([]byte, error) {
	return encodeTensor(memory.DefaultAllocator, t)
}

func encodeTensor(mem memory.Allocator, t sdk.Tensor) ([]byte, error) {
	rec, err := TensorRecord(t)
	if err != nil {
		return nil, fmt.Errorf("encoding tensor: %w", err)
	}
	defer rec.Release()
	var buf bytes.Buffer
	w := ipc.NewWriter(&buf, ipc.WithSchema(rec.Schema()), ipc.WithAllocator(mem))
	if err := w.Write(rec); err != nil {
		_ = w.Close()
		return nil, fmt.Errorf("encoding tensor %v: %w", t.Shape, err)
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("encoding tensor %v: %w", t.Shape, err)
	}
	return buf.Bytes(), nil
}

// DecodeTensor reads Arrow IPC stream bytes written by EncodeTensor (or by
// any Arrow library following the same layout) and checks the shape against
// the data. Zero-length bytes decode to the empty sdk.Tensor, the protocol's
// "absent". It does not check that the values are finite; see
// sdk.Tensor.Validate.
func DecodeTensor(b []byte) (sdk.Tensor, error) {
	return decodeTensor(memory.DefaultAllocator, b)
}

func decodeTensor(mem memory.Allocator, b []byte) (t sdk.Tensor, err error) {
	if len(b) == 0 {
		return sdk.Tensor{}, nil
	}
	// Arrow's IPC reader trusts the flatbuffers it reads; corrupt bytes
	// can make it panic, which must not cross this function.
	defer func() {
		if r := recover(); r != nil {
			t, err = sdk.Tensor{}, fmt.Errorf("decoding tensor: corrupt Arrow IPC stream (%v)", r)
		}
	}()
	// Nor may a corrupt length exhaust memory: the messages' flatbuffers
	// and lengths are checked, and allocations bounded by len(b).
	mem = arrowsafe.NewLimitedAllocator(mem, arrowsafe.Limit(int64(len(b))))
	r, err := ipc.NewReaderFromMessageReader(arrowsafe.NewMessageReader(bytes.NewReader(b), int64(len(b)), mem), ipc.WithAllocator(mem))
	if err != nil {
		return sdk.Tensor{}, fmt.Errorf("decoding tensor: reading Arrow IPC stream of %d bytes: %w", len(b), err)
	}
	defer r.Release()
	if !r.Next() {
		if r.Err() != nil {
			return sdk.Tensor{}, fmt.Errorf("decoding tensor: reading record batch: %w", r.Err())
		}
		return sdk.Tensor{}, errors.New("decoding tensor: Arrow IPC stream holds no record batch")
	}
	t, err = TensorFromRecord(r.Record())
	if err != nil {
		return sdk.Tensor{}, fmt.Errorf("decoding tensor: %w", err)
	}
	if r.Next() {
		return sdk.Tensor{}, errors.New("decoding tensor: Arrow IPC stream holds more than one record batch")
	}
	if r.Err() != nil {
		return sdk.Tensor{}, fmt.Errorf("decoding tensor: reading past the record batch: %w", r.Err())
	}
	return t, nil
}
