package tableio

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"sort"
)

// parquetMagic opens and closes every unencrypted Parquet file.
const parquetMagic = "PAR1"

// The FileMetaData, RowGroup, ColumnChunk and ColumnMetaData fields
// (parquet.thrift) that hold file offsets or sizes that include page
// headers.
const (
	fileRowGroups = 4

	rowGroupColumns          = 1
	rowGroupFileOffset       = 5
	rowGroupTotalCompressed  = 6
	chunkFileOffset          = 2
	chunkMetaData            = 3
	chunkOffsetIndexOffset   = 4
	chunkColumnIndexOffset   = 6
	metaTotalUncompressed    = 6
	metaTotalCompressed      = 7
	metaDataPageOffset       = 9
	metaIndexPageOffset      = 10
	metaDictionaryPageOffset = 11
	metaBloomFilterOffset    = 14
)

// ChecksumWriter returns a writer that passes the Parquet file written to
// it on to w with a CRC-32 added to every page header (the pqarrow writer
// of arrow/go v15 writes none), and the footer's offsets and sizes moved
// to match. It holds one page at a time, and the footer. Close writes the
// footer and closes w when w is an io.Closer; a Parquet writer closes its
// sink, so the ChecksumWriter is passed to it as the sink.
func ChecksumWriter(w io.Writer) io.WriteCloser {
	return &checksumWriter{w: w}
}

// The states of a checksumWriter.
const (
	csMagic = iota
	csHeader
	csPage
	csFooter
	csDone
)

type checksumWriter struct {
	w     io.Writer
	state int
	buf   []byte
	in    int64 // input offset of buf[0]
	hdr   tStruct
	hlen  int   // bytes of the current page's header in buf
	need  int64 // bytes of the current page after its header
	pages []shift
	added int64
	err   error
}

// shift records that the page starting at input offset at grew by the
// bytes of its new header; before is the growth of all earlier pages.
type shift struct{ at, before int64 }

func (c *checksumWriter) Write(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	c.buf = append(c.buf, p...)
	if err := c.drain(); err != nil {
		c.err = err
		return 0, err
	}
	return len(p), nil
}

// drain writes out whatever of buf is complete: the magic, and whole pages.
func (c *checksumWriter) drain() error {
	for {
		switch c.state {
		case csMagic:
			if len(c.buf) < len(parquetMagic) {
				return nil
			}
			if string(c.buf[:4]) != parquetMagic {
				return errors.New("checksum writer: the output does not start with the Parquet magic")
			}
			if err := c.emit(c.buf[:4]); err != nil {
				return err
			}
			c.consume(4)
			c.state = csHeader
		case csHeader:
			if len(c.buf) == 0 {
				return nil
			}
			if footer, known := c.isFooter(); !known {
				return nil
			} else if footer {
				c.state = csFooter
				return nil
			}
			s, n, err := decodeStruct(c.buf)
			if errors.Is(err, errThriftShort) {
				return nil
			}
			if err != nil {
				return fmt.Errorf("checksum writer: page header at byte %d: %w", c.in, err)
			}
			size, ok := s.int(pageCompressedSize)
			if !ok || size < 0 {
				return fmt.Errorf("checksum writer: page header at byte %d has no size", c.in)
			}
			c.hdr, c.hlen, c.need, c.state = s, n, size, csPage
		case csPage:
			if int64(len(c.buf)-c.hlen) < c.need {
				return nil
			}
			page := c.buf[c.hlen : int64(c.hlen)+c.need]
			hdr := c.hdr.set(tField{id: pageCRC, typ: ctI32, v: int64(int32(crc32.ChecksumIEEE(page)))})
			var e tEncoder
			if err := e.structValue(hdr); err != nil {
				return err
			}
			if err := c.emit(e.b); err != nil {
				return err
			}
			if err := c.emit(page); err != nil {
				return err
			}
			c.pages = append(c.pages, shift{at: c.in, before: c.added})
			c.added += int64(len(e.b) - c.hlen)
			c.consume(c.hlen + int(c.need))
			c.state = csHeader
		default:
			return nil
		}
	}
}

// isFooter tells a FileMetaData (field 2 a list: the schema) from a
// PageHeader (field 2 an i32) at the start of buf; known is false until
// enough bytes have arrived.
func (c *checksumWriter) isFooter() (footer, known bool) {
	d := tDecoder{r: &sliceReader{b: c.buf}, limit: int64(len(c.buf))}
	h, err := d.byte()
	if err != nil {
		return false, false
	}
	if h>>4 == 0 { // long-form field id: not what a Thrift writer emits for field 1
		return false, true
	}
	if _, err := d.value(h & 0x0f); err != nil {
		return false, !errors.Is(err, errThriftShort)
	}
	h, err = d.byte()
	if err != nil {
		return false, false
	}
	return h&0x0f == ctList, true
}

func (c *checksumWriter) emit(b []byte) error {
	_, err := c.w.Write(b)
	return err
}

func (c *checksumWriter) consume(n int) {
	c.in += int64(n)
	c.buf = append(c.buf[:0], c.buf[n:]...)
}

// moved maps an input offset to the output: past the growth of every page
// that starts before it.
func (c *checksumWriter) moved(off int64) int64 {
	i := sort.Search(len(c.pages), func(i int) bool { return c.pages[i].at >= off })
	if i < len(c.pages) {
		return off + c.pages[i].before
	}
	return off + c.added
}

// Close rewrites the footer with the moved offsets and sizes and writes it.
func (c *checksumWriter) Close() error {
	err := c.err
	if err == nil {
		err = c.finish()
	}
	c.state, c.buf = csDone, nil
	if cl, ok := c.w.(io.Closer); ok {
		if cerr := cl.Close(); err == nil {
			err = cerr
		}
	}
	return err
}

func (c *checksumWriter) finish() error {
	if c.state == csDone {
		return nil
	}
	if c.state != csFooter && !(c.state == csHeader && len(c.buf) > 0) {
		return errors.New("checksum writer: closed before the Parquet footer was written")
	}
	b := c.buf
	if len(b) < 8 || string(b[len(b)-4:]) != parquetMagic {
		return errors.New("checksum writer: the output does not end with the Parquet magic")
	}
	meta := b[:len(b)-8]
	if int(binary.LittleEndian.Uint32(b[len(b)-8:])) != len(meta) {
		return errors.New("checksum writer: the footer length does not match the footer")
	}
	s, n, err := decodeStruct(meta)
	if err != nil || n != len(meta) {
		return fmt.Errorf("checksum writer: decoding the footer: %v", err)
	}
	if err := c.fixFooter(s); err != nil {
		return err
	}
	var e tEncoder
	if err := e.structValue(s); err != nil {
		return err
	}
	e.b = binary.LittleEndian.AppendUint32(e.b, uint32(len(e.b)))
	e.b = append(e.b, parquetMagic...)
	return c.emit(e.b)
}

// fixFooter moves the offsets of every row group and column chunk, and
// grows the sizes that include page headers.
func (c *checksumWriter) fixFooter(s tStruct) error {
	f, ok := s.field(fileRowGroups)
	if !ok {
		return nil
	}
	groups, ok := f.v.(*tList)
	if !ok {
		return errors.New("checksum writer: footer row groups are not a list")
	}
	for _, g := range groups.items {
		rg, ok := g.(tStruct)
		if !ok {
			return errors.New("checksum writer: a row group is not a struct")
		}
		var grown int64
		if f, ok := rg.field(rowGroupColumns); ok {
			cols, ok := f.v.(*tList)
			if !ok {
				return errors.New("checksum writer: row group columns are not a list")
			}
			for _, cc := range cols.items {
				chunk, ok := cc.(tStruct)
				if !ok {
					return errors.New("checksum writer: a column chunk is not a struct")
				}
				grown += c.fixChunk(chunk)
			}
		}
		c.move(rg, rowGroupFileOffset)
		c.grow(rg, rowGroupTotalCompressed, grown)
	}
	return nil
}

// fixChunk moves a column chunk's offsets, grows its sizes and returns by
// how much.
func (c *checksumWriter) fixChunk(chunk tStruct) int64 {
	var grown int64
	if f, ok := chunk.field(chunkMetaData); ok {
		if meta, ok := f.v.(tStruct); ok {
			start, _ := meta.int(metaDataPageOffset)
			if dict, ok := meta.int(metaDictionaryPageOffset); ok && dict > 0 && dict < start {
				start = dict
			}
			size, _ := meta.int(metaTotalCompressed)
			grown = c.moved(start+size) - (start + size) - (c.moved(start) - start)
			c.grow(meta, metaTotalCompressed, grown)
			c.grow(meta, metaTotalUncompressed, grown)
			for _, id := range []int16{metaDataPageOffset, metaIndexPageOffset, metaDictionaryPageOffset, metaBloomFilterOffset} {
				c.move(meta, id)
			}
		}
	}
	for _, id := range []int16{chunkFileOffset, chunkOffsetIndexOffset, chunkColumnIndexOffset} {
		c.move(chunk, id)
	}
	return grown
}

// move maps the offset in field id of s, when there is one.
func (c *checksumWriter) move(s tStruct, id int16) {
	for i := range s {
		if v, ok := s[i].v.(int64); ok && s[i].id == id && v > 0 {
			s[i].v = c.moved(v)
		}
	}
}

// grow adds by to the size in field id of s, when there is one.
func (c *checksumWriter) grow(s tStruct, id int16, by int64) {
	for i := range s {
		if v, ok := s[i].v.(int64); ok && s[i].id == id {
			s[i].v = v + by
		}
	}
}
