package arrowsafe

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Arrow's IPC reader reads the flatbuffers of a message (and of a file's
// footer) without checking them: a corrupt vector length becomes a slice
// of that many fields, and a fatal out-of-memory. fbVerifier checks, for
// the tables that reader visits (Message.fbs, Schema.fbs, File.fbs), that
// every table, vtable, offset, string and vector lies within the buffer,
// and bounds the tables visited so that shared subtables cannot make the
// walk exponential.

// errFlatbuf is wrapped by every verification error.
var errFlatbuf = errors.New("corrupt flatbuffer")

// The Message header types and the Type union members (Schema.fbs) that
// hold more than scalars.
const (
	headerSchema          = 1
	headerDictionaryBatch = 2
	headerRecordBatch     = 3

	typeTimestamp = 10
	typeUnion     = 14
)

type fbVerifier struct {
	b      []byte
	budget int // tables, vectors and strings left to visit
}

func newFBVerifier(b []byte) *fbVerifier {
	return &fbVerifier{b: b, budget: len(b)/4 + 16}
}

func (v *fbVerifier) fail(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errFlatbuf, fmt.Sprintf(format, args...))
}

func (v *fbVerifier) in(pos, n int) bool {
	return pos >= 0 && n >= 0 && pos <= len(v.b) && n <= len(v.b)-pos
}

func (v *fbVerifier) u32(pos int) (int, error) {
	if !v.in(pos, 4) {
		return 0, v.fail("offset %d past the %d bytes", pos, len(v.b))
	}
	return int(binary.LittleEndian.Uint32(v.b[pos:])), nil
}

// fbTable is a verified table: its position and its vtable's field
// offsets.
type fbTable struct {
	pos    int
	fields []uint16
	size   int
}

// table verifies the table at pos.
func (v *fbVerifier) table(pos int) (fbTable, error) {
	if v.budget--; v.budget < 0 {
		return fbTable{}, v.fail("more tables than the buffer can hold")
	}
	if !v.in(pos, 4) {
		return fbTable{}, v.fail("table at %d past the %d bytes", pos, len(v.b))
	}
	vt := pos - int(int32(binary.LittleEndian.Uint32(v.b[pos:])))
	if !v.in(vt, 4) {
		return fbTable{}, v.fail("vtable at %d past the %d bytes", vt, len(v.b))
	}
	vsize := int(binary.LittleEndian.Uint16(v.b[vt:]))
	tsize := int(binary.LittleEndian.Uint16(v.b[vt+2:]))
	if vsize < 4 || vsize%2 != 0 || !v.in(vt, vsize) || !v.in(pos, tsize) {
		return fbTable{}, v.fail("vtable of %d bytes for a table of %d at %d", vsize, tsize, pos)
	}
	t := fbTable{pos: pos, size: tsize, fields: make([]uint16, (vsize-4)/2)}
	for i := range t.fields {
		t.fields[i] = binary.LittleEndian.Uint16(v.b[vt+4+2*i:])
	}
	return t, nil
}

// field returns the position of field i, 0 when absent, after checking
// that width bytes of it lie within the table.
func (v *fbVerifier) field(t fbTable, i, width int) (int, error) {
	if i >= len(t.fields) || t.fields[i] == 0 {
		return 0, nil
	}
	off := int(t.fields[i])
	if off+width > t.size {
		return 0, v.fail("field %d of the table at %d overruns it", i, t.pos)
	}
	return t.pos + off, nil
}

// ref follows the offset field i to its target, 0 when absent.
func (v *fbVerifier) ref(t fbTable, i int) (int, error) {
	pos, err := v.field(t, i, 4)
	if err != nil || pos == 0 {
		return 0, err
	}
	off, err := v.u32(pos)
	if err != nil {
		return 0, err
	}
	return pos + off, nil
}

// subtable verifies the table field i refers to; ok is false when absent.
func (v *fbVerifier) subtable(t fbTable, i int) (fbTable, bool, error) {
	pos, err := v.ref(t, i)
	if err != nil || pos == 0 {
		return fbTable{}, false, err
	}
	sub, err := v.table(pos)
	return sub, err == nil, err
}

// vector verifies the vector field i refers to, of elements of elem bytes
// each, and returns its length and the position of its first element.
func (v *fbVerifier) vector(t fbTable, i, elem int) (n, start int, err error) {
	pos, err := v.ref(t, i)
	if err != nil || pos == 0 {
		return 0, 0, err
	}
	if v.budget--; v.budget < 0 {
		return 0, 0, v.fail("more vectors than the buffer can hold")
	}
	n, err = v.u32(pos)
	if err != nil {
		return 0, 0, err
	}
	if n > (len(v.b)-pos-4)/max(elem, 1) {
		return 0, 0, v.fail("vector of %d elements of %d bytes at %d past the %d bytes", n, elem, pos, len(v.b))
	}
	return n, pos + 4, nil
}

// tables verifies a vector of tables and each of them with fn.
func (v *fbVerifier) tables(t fbTable, i int, fn func(fbTable) error) error {
	n, start, err := v.vector(t, i, 4)
	if err != nil {
		return err
	}
	for k := range n {
		off, err := v.u32(start + 4*k)
		if err != nil {
			return err
		}
		sub, err := v.table(start + 4*k + off)
		if err != nil {
			return err
		}
		if fn != nil {
			if err := fn(sub); err != nil {
				return err
			}
		}
	}
	return nil
}

func (v *fbVerifier) str(t fbTable, i int) error {
	_, _, err := v.vector(t, i, 1)
	return err
}

func (v *fbVerifier) keyValues(t fbTable, i int) error {
	return v.tables(t, i, func(kv fbTable) error {
		if err := v.str(kv, 0); err != nil {
			return err
		}
		return v.str(kv, 1)
	})
}

func (v *fbVerifier) u8(t fbTable, i int) (int, error) {
	pos, err := v.field(t, i, 1)
	if err != nil || pos == 0 {
		return 0, err
	}
	return int(v.b[pos]), nil
}

func (v *fbVerifier) i64(t fbTable, i int) (int64, error) {
	pos, err := v.field(t, i, 8)
	if err != nil || pos == 0 {
		return 0, err
	}
	return int64(binary.LittleEndian.Uint64(v.b[pos:])), nil
}

// scalars checks that every present field of t lies within it, taking
// each for at most 8 bytes.
func (v *fbVerifier) scalars(t fbTable) error {
	for i := range t.fields {
		if _, err := v.field(t, i, 1); err != nil {
			return err
		}
	}
	return nil
}

// verifyField checks a Schema.fbs Field and its children.
func (v *fbVerifier) verifyField(f fbTable, depth int) error {
	if depth > 64 {
		return v.fail("fields nested deeper than 64")
	}
	if err := v.str(f, 0); err != nil {
		return err
	}
	typ, err := v.u8(f, 2)
	if err != nil {
		return err
	}
	if tt, ok, err := v.subtable(f, 3); err != nil {
		return err
	} else if ok {
		if err := v.scalars(tt); err != nil {
			return err
		}
		switch typ {
		case typeTimestamp:
			err = v.str(tt, 1)
		case typeUnion:
			_, _, err = v.vector(tt, 1, 4)
		}
		if err != nil {
			return err
		}
	}
	if dict, ok, err := v.subtable(f, 4); err != nil {
		return err
	} else if ok {
		if err := v.scalars(dict); err != nil {
			return err
		}
		if idx, ok, err := v.subtable(dict, 1); err != nil {
			return err
		} else if ok {
			if err := v.scalars(idx); err != nil {
				return err
			}
		}
	}
	if err := v.tables(f, 5, func(c fbTable) error { return v.verifyField(c, depth+1) }); err != nil {
		return err
	}
	return v.keyValues(f, 6)
}

func (v *fbVerifier) verifySchema(s fbTable) error {
	if err := v.tables(s, 1, func(f fbTable) error { return v.verifyField(f, 0) }); err != nil {
		return err
	}
	if err := v.keyValues(s, 2); err != nil {
		return err
	}
	_, _, err := v.vector(s, 3, 8)
	return err
}

// verifyRecordBatch checks a RecordBatch: its FieldNode and Buffer structs
// (16 bytes each), compression and variadic counts.
func (v *fbVerifier) verifyRecordBatch(rb fbTable) error {
	if err := v.scalars(rb); err != nil {
		return err
	}
	for _, i := range []int{1, 2} {
		if _, _, err := v.vector(rb, i, 16); err != nil {
			return err
		}
	}
	if c, ok, err := v.subtable(rb, 3); err != nil {
		return err
	} else if ok {
		if err := v.scalars(c); err != nil {
			return err
		}
	}
	_, _, err := v.vector(rb, 4, 8)
	return err
}

// verifyMessage checks the Message flatbuffer meta and returns its body
// length.
func verifyMessage(meta []byte) (int64, error) {
	v := newFBVerifier(meta)
	root, err := v.u32(0)
	if err != nil {
		return 0, err
	}
	m, err := v.table(root)
	if err != nil {
		return 0, err
	}
	if err := v.scalars(m); err != nil {
		return 0, err
	}
	body, err := v.i64(m, 3)
	if err != nil {
		return 0, err
	}
	if err := v.keyValues(m, 4); err != nil {
		return 0, err
	}
	kind, err := v.u8(m, 1)
	if err != nil {
		return 0, err
	}
	h, ok, err := v.subtable(m, 2)
	if err != nil || !ok {
		return body, err
	}
	switch kind {
	case headerSchema:
		err = v.verifySchema(h)
	case headerRecordBatch:
		err = v.verifyRecordBatch(h)
	case headerDictionaryBatch:
		if err = v.scalars(h); err == nil {
			var rb fbTable
			if rb, ok, err = v.subtable(h, 1); err == nil && ok {
				err = v.verifyRecordBatch(rb)
			}
		}
	default:
		err = v.fail("message header type %d (want a schema, dictionary or record batch)", kind)
	}
	return body, err
}
