package tableio

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
)

// The Thrift compact protocol's type codes (in field headers and
// collection headers).
const (
	ctStop   = 0
	ctTrue   = 1
	ctFalse  = 2
	ctByte   = 3
	ctI16    = 4
	ctI32    = 5
	ctI64    = 6
	ctDouble = 7
	ctBinary = 8
	ctList   = 9
	ctSet    = 10
	ctMap    = 11
	ctStruct = 12
)

// maxThriftDepth bounds the nesting of decoded structs and collections.
const maxThriftDepth = 32

// errThriftShort is the decoder's error when the input ends inside a value.
var errThriftShort = errors.New("truncated thrift value")

// tField is one field of a decoded Thrift struct. Its value is a bool for
// a boolean field (typ ctTrue or ctFalse), an int64 for byte and integer
// fields, a uint64 (the IEEE bits) for a double, a []byte for binary, a
// *tList for lists and sets, a *tMap or a tStruct.
type tField struct {
	id  int16
	typ byte
	v   any
}

// tStruct is a decoded Thrift struct: its fields in the order read.
type tStruct []tField

// tList is a decoded list or set; boolean elements keep their byte.
type tList struct {
	elem  byte
	items []any
}

// tMap is a decoded map.
type tMap struct {
	key, val   byte
	keys, vals []any
}

// field returns the field with the given id, if present.
func (s tStruct) field(id int16) (tField, bool) {
	for _, f := range s {
		if f.id == id {
			return f, true
		}
	}
	return tField{}, false
}

// int returns the integer field id, if present with an integer type.
func (s tStruct) int(id int16) (int64, bool) {
	f, ok := s.field(id)
	if !ok {
		return 0, false
	}
	v, ok := f.v.(int64)
	return v, ok && (f.typ == ctByte || f.typ == ctI16 || f.typ == ctI32 || f.typ == ctI64)
}

// set replaces the value of field id, or inserts the field in id order.
func (s tStruct) set(f tField) tStruct {
	for i := range s {
		if s[i].id == f.id {
			s[i] = f
			return s
		}
	}
	at := len(s)
	for i := range s {
		if s[i].id > f.id {
			at = i
			break
		}
	}
	s = append(s, tField{})
	copy(s[at+1:], s[at:])
	s[at] = f
	return s
}

// tReader is what the decoder reads from.
type tReader interface {
	io.ByteReader
	io.Reader
}

// tDecoder decodes Thrift compact-protocol values, refusing any length
// larger than the bytes left (limit) and any nesting deeper than
// maxThriftDepth.
type tDecoder struct {
	r     tReader
	n     int64 // bytes consumed
	limit int64 // bytes that may be consumed in all
	depth int
}

func (d *tDecoder) byte() (byte, error) {
	if d.n >= d.limit {
		return 0, errThriftShort
	}
	b, err := d.r.ReadByte()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return 0, errThriftShort
		}
		return 0, err
	}
	d.n++
	return b, nil
}

func (d *tDecoder) uvarint() (uint64, error) {
	var x uint64
	for shift := uint(0); shift < 70; shift += 7 {
		b, err := d.byte()
		if err != nil {
			return 0, err
		}
		x |= uint64(b&0x7f) << shift
		if b < 0x80 {
			return x, nil
		}
	}
	return 0, errors.New("thrift varint longer than 10 bytes")
}

func (d *tDecoder) zigzag() (int64, error) {
	u, err := d.uvarint()
	return int64(u>>1) ^ -int64(u&1), err
}

// length reads a collection or binary length and checks that at least
// minBytes per item are left.
func (d *tDecoder) length(minBytes int64) (int, error) {
	u, err := d.uvarint()
	if err != nil {
		return 0, err
	}
	return d.checkLength(u, minBytes)
}

func (d *tDecoder) checkLength(u uint64, minBytes int64) (int, error) {
	left := d.limit - d.n
	if u > math.MaxInt32 || (minBytes > 0 && int64(u) > left/minBytes) {
		return 0, fmt.Errorf("thrift length %d exceeds the %d bytes left", u, left)
	}
	return int(u), nil
}

// value decodes one value of type typ (for a list element, a boolean is
// one byte).
func (d *tDecoder) value(typ byte) (any, error) {
	switch typ {
	case ctTrue, ctFalse:
		b, err := d.byte()
		return int64(b), err
	case ctByte:
		b, err := d.byte()
		return int64(int8(b)), err
	case ctI16, ctI32, ctI64:
		return d.zigzag()
	case ctDouble:
		var b [8]byte
		for i := range b {
			c, err := d.byte()
			if err != nil {
				return nil, err
			}
			b[i] = c
		}
		return binary.LittleEndian.Uint64(b[:]), nil
	case ctBinary:
		n, err := d.length(1)
		if err != nil {
			return nil, err
		}
		b := make([]byte, n)
		if _, err := io.ReadFull(d.r, b); err != nil {
			return nil, errThriftShort
		}
		d.n += int64(n)
		return b, nil
	case ctList, ctSet:
		return d.list()
	case ctMap:
		return d.mapValue()
	case ctStruct:
		return d.structValue()
	}
	return nil, fmt.Errorf("unknown thrift type %d", typ)
}

func (d *tDecoder) enter() error {
	if d.depth++; d.depth > maxThriftDepth {
		return fmt.Errorf("thrift values nested deeper than %d", maxThriftDepth)
	}
	return nil
}

func (d *tDecoder) list() (*tList, error) {
	if err := d.enter(); err != nil {
		return nil, err
	}
	defer func() { d.depth-- }()
	h, err := d.byte()
	if err != nil {
		return nil, err
	}
	l := &tList{elem: h & 0x0f}
	n := int(h >> 4)
	if n == 15 {
		if n, err = d.length(1); err != nil {
			return nil, err
		}
	} else if _, err := d.checkLength(uint64(n), 1); err != nil {
		return nil, err
	}
	l.items = make([]any, n)
	for i := range l.items {
		if l.items[i], err = d.value(l.elem); err != nil {
			return nil, err
		}
	}
	return l, nil
}

func (d *tDecoder) mapValue() (*tMap, error) {
	if err := d.enter(); err != nil {
		return nil, err
	}
	defer func() { d.depth-- }()
	n, err := d.length(2)
	if err != nil {
		return nil, err
	}
	m := &tMap{}
	if n == 0 {
		return m, nil
	}
	kv, err := d.byte()
	if err != nil {
		return nil, err
	}
	m.key, m.val = kv>>4, kv&0x0f
	m.keys, m.vals = make([]any, n), make([]any, n)
	for i := 0; i < n; i++ {
		if m.keys[i], err = d.value(m.key); err != nil {
			return nil, err
		}
		if m.vals[i], err = d.value(m.val); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func (d *tDecoder) structValue() (tStruct, error) {
	if err := d.enter(); err != nil {
		return nil, err
	}
	defer func() { d.depth-- }()
	var s tStruct
	var last int16
	for {
		h, err := d.byte()
		if err != nil {
			return nil, err
		}
		typ := h & 0x0f
		if typ == ctStop {
			return s, nil
		}
		id := last + int16(h>>4)
		if h>>4 == 0 {
			v, err := d.zigzag()
			if err != nil {
				return nil, err
			}
			id = int16(v)
		}
		last = id
		f := tField{id: id, typ: typ}
		if typ == ctTrue || typ == ctFalse {
			f.v = typ == ctTrue
		} else if f.v, err = d.value(typ); err != nil {
			return nil, err
		}
		s = append(s, f)
	}
}

// decodeStruct decodes one struct from the start of b and returns it with
// the number of bytes it took.
func decodeStruct(b []byte) (tStruct, int, error) {
	d := tDecoder{r: &sliceReader{b: b}, limit: int64(len(b))}
	s, err := d.structValue()
	return s, int(d.n), err
}

// sliceReader is a tReader over a byte slice.
type sliceReader struct {
	b []byte
	i int
}

func (r *sliceReader) ReadByte() (byte, error) {
	if r.i == len(r.b) {
		return 0, io.EOF
	}
	r.i++
	return r.b[r.i-1], nil
}

func (r *sliceReader) Read(p []byte) (int, error) {
	if r.i == len(r.b) {
		return 0, io.EOF
	}
	n := copy(p, r.b[r.i:])
	r.i += n
	return n, nil
}

// tEncoder appends Thrift compact-protocol values to a byte slice, in the
// form the Apache Thrift writers use, so that a decoded value encodes
// back to the same bytes.
type tEncoder struct{ b []byte }

func (e *tEncoder) uvarint(u uint64) { e.b = binary.AppendUvarint(e.b, u) }

func (e *tEncoder) zigzag(v int64) { e.uvarint(uint64(v<<1) ^ uint64(v>>63)) }

func (e *tEncoder) value(typ byte, v any) error {
	switch typ {
	case ctTrue, ctFalse, ctByte:
		e.b = append(e.b, byte(v.(int64)))
	case ctI16, ctI32, ctI64:
		e.zigzag(v.(int64))
	case ctDouble:
		e.b = binary.LittleEndian.AppendUint64(e.b, v.(uint64))
	case ctBinary:
		b := v.([]byte)
		e.uvarint(uint64(len(b)))
		e.b = append(e.b, b...)
	case ctList, ctSet:
		l := v.(*tList)
		if n := len(l.items); n < 15 {
			e.b = append(e.b, byte(n<<4)|l.elem)
		} else {
			e.b = append(e.b, 0xf0|l.elem)
			e.uvarint(uint64(n))
		}
		for _, it := range l.items {
			if err := e.value(l.elem, it); err != nil {
				return err
			}
		}
	case ctMap:
		m := v.(*tMap)
		e.uvarint(uint64(len(m.keys)))
		if len(m.keys) > 0 {
			e.b = append(e.b, m.key<<4|m.val)
		}
		for i := range m.keys {
			if err := e.value(m.key, m.keys[i]); err != nil {
				return err
			}
			if err := e.value(m.val, m.vals[i]); err != nil {
				return err
			}
		}
	case ctStruct:
		return e.structValue(v.(tStruct))
	default:
		return fmt.Errorf("unknown thrift type %d", typ)
	}
	return nil
}

func (e *tEncoder) structValue(s tStruct) error {
	var last int16
	for _, f := range s {
		typ := f.typ
		if typ == ctTrue || typ == ctFalse {
			typ = ctFalse
			if f.v.(bool) {
				typ = ctTrue
			}
		}
		if delta := int(f.id) - int(last); delta > 0 && delta <= 15 {
			e.b = append(e.b, byte(delta<<4)|typ)
		} else {
			e.b = append(e.b, typ)
			e.zigzag(int64(f.id))
		}
		last = f.id
		if typ == ctTrue || typ == ctFalse {
			continue
		}
		if err := e.value(typ, f.v); err != nil {
			return err
		}
	}
	e.b = append(e.b, ctStop)
	return nil
}
