package tableio

import (
	"fmt"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/bitutil"
	"github.com/apache/arrow/go/v15/arrow/memory"
)

// validateRecord checks that every column of rec has the rows of rec and
// buffers that hold what its type and offsets say, so that reading any
// value cannot index out of range.
func validateRecord(rec arrow.Record) error {
	for i, col := range rec.Columns() {
		if int64(col.Len()) != rec.NumRows() {
			return fmt.Errorf("column %q has %d rows, the record %d", rec.Schema().Field(i).Name, col.Len(), rec.NumRows())
		}
		if err := validateData(col.Data(), 0); err != nil {
			return fmt.Errorf("column %q: %w", rec.Schema().Field(i).Name, err)
		}
	}
	return nil
}

// validateData checks one array's buffers and, recursively, its children.
func validateData(d arrow.ArrayData, depth int) error {
	if depth > 64 {
		return fmt.Errorf("types nested deeper than 64")
	}
	off, n := d.Offset(), d.Len()
	if off < 0 || n < 0 {
		return fmt.Errorf("negative offset %d or length %d", off, n)
	}
	end := off + n
	bufs := d.Buffers()
	need := func(i, bytes int) error {
		if bytes == 0 {
			return nil
		}
		if i >= len(bufs) || bufs[i] == nil || bufs[i].Len() < bytes {
			have := 0
			if i < len(bufs) && bufs[i] != nil {
				have = bufs[i].Len()
			}
			return fmt.Errorf("buffer %d holds %d bytes, %d rows of %s need %d", i, have, n, d.DataType(), bytes)
		}
		return nil
	}
	if len(bufs) > 0 && bufs[0] != nil && bufs[0].Len() < int(bitutil.BytesForBits(int64(end))) {
		return fmt.Errorf("validity bitmap of %d bytes for %d rows", bufs[0].Len(), end)
	}
	if d.NullN() > n {
		return fmt.Errorf("%d nulls in %d rows", d.NullN(), n)
	}
	children := d.Children()
	switch t := d.DataType().(type) {
	case arrow.FixedWidthDataType:
		if t.ID() == arrow.BOOL {
			return need(1, int(bitutil.BytesForBits(int64(end))))
		}
		if t.ID() == arrow.DICTIONARY {
			return nil
		}
		return need(1, end*t.BitWidth()/8)
	case *arrow.StringType, *arrow.BinaryType:
		if err := need(1, (end+1)*4); err != nil {
			return err
		}
		_, err := checkOffsets(arrow.Int32Traits.CastFromBytes(bufs[1].Bytes())[off:end+1], dataLen(bufs))
		return err
	case *arrow.LargeStringType, *arrow.LargeBinaryType:
		if err := need(1, (end+1)*8); err != nil {
			return err
		}
		_, err := checkOffsets(arrow.Int64Traits.CastFromBytes(bufs[1].Bytes())[off:end+1], dataLen(bufs))
		return err
	case *arrow.ListType, *arrow.MapType:
		if len(children) != 1 {
			return fmt.Errorf("%s with %d children", t, len(children))
		}
		if err := need(1, (end+1)*4); err != nil {
			return err
		}
		if _, err := checkOffsets(arrow.Int32Traits.CastFromBytes(bufs[1].Bytes())[off:end+1], int64(children[0].Len())); err != nil {
			return err
		}
		return validateData(children[0], depth+1)
	case *arrow.LargeListType:
		if len(children) != 1 {
			return fmt.Errorf("%s with %d children", t, len(children))
		}
		if err := need(1, (end+1)*8); err != nil {
			return err
		}
		if _, err := checkOffsets(arrow.Int64Traits.CastFromBytes(bufs[1].Bytes())[off:end+1], int64(children[0].Len())); err != nil {
			return err
		}
		return validateData(children[0], depth+1)
	case *arrow.FixedSizeListType:
		if len(children) != 1 {
			return fmt.Errorf("%s with %d children", t, len(children))
		}
		if size := int64(t.Len()); size < 0 || int64(children[0].Len()) < int64(end)*size {
			return fmt.Errorf("%s of %d rows has %d values", t, end, children[0].Len())
		}
		return validateData(children[0], depth+1)
	case *arrow.StructType:
		if len(children) != t.NumFields() {
			return fmt.Errorf("%s with %d children", t, len(children))
		}
		for _, c := range children {
			if c.Len() < end {
				return fmt.Errorf("struct child of %d rows for %d", c.Len(), end)
			}
			if err := validateData(c, depth+1); err != nil {
				return err
			}
		}
	}
	return nil
}

// dataLen is the length of the data buffer of a string or binary array.
func dataLen(bufs []*memory.Buffer) int64 {
	if len(bufs) < 3 || bufs[2] == nil {
		return 0
	}
	return int64(bufs[2].Len())
}

// checkOffsets checks that offsets never decrease and stay within
// [0, size], and returns the last.
func checkOffsets[T int32 | int64](offsets []T, size int64) (int64, error) {
	prev := int64(offsets[0])
	if prev < 0 {
		return 0, fmt.Errorf("negative offset %d", prev)
	}
	for _, o := range offsets[1:] {
		if int64(o) < prev {
			return 0, fmt.Errorf("offsets decrease from %d to %d", prev, o)
		}
		prev = int64(o)
	}
	if prev > size {
		return 0, fmt.Errorf("offset %d past the %d values", prev, size)
	}
	return prev, nil
}
