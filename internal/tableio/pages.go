package tableio

import (
	"bufio"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
)

// The fields of a Parquet PageHeader (parquet.thrift) that are checked.
const (
	pageType             = 1
	pageUncompressedSize = 2
	pageCompressedSize   = 3
	pageCRC              = 4
)

// maxPageHeader bounds the bytes of one page header (statistics
// included); pqarrow's own limit is 16 MiB.
const maxPageHeader = 16 << 20

// pageHeader is what the checks need of a Parquet page header.
type pageHeader struct {
	typ                      int64
	uncompressed, compressed int64
	crc                      int64
	hasCRC                   bool
	size                     int64 // bytes of the header itself
}

// readPageHeader decodes the page header at the start of r, of which at
// most limit bytes are left in the column chunk.
func readPageHeader(r tReader, limit int64) (pageHeader, tStruct, error) {
	d := tDecoder{r: r, limit: min(limit, maxPageHeader)}
	s, err := d.structValue()
	if err != nil {
		return pageHeader{}, nil, err
	}
	h := pageHeader{size: d.n}
	var ok [3]bool
	h.typ, ok[0] = s.int(pageType)
	h.uncompressed, ok[1] = s.int(pageUncompressedSize)
	h.compressed, ok[2] = s.int(pageCompressedSize)
	if !ok[0] || !ok[1] || !ok[2] {
		return pageHeader{}, nil, errors.New("page header lacks its type or sizes")
	}
	h.crc, h.hasCRC = s.int(pageCRC)
	return h, s, nil
}

// checkPages walks the pages of a column chunk of length bytes read from
// r: every header must decode, every page must fit in the chunk and
// declare an uncompressed size of at most maxUncompressed, and a page
// with a CRC must match it (CRC-32 of the page's bytes after the header,
// as parquet.thrift defines it). It returns the number of pages.
func checkPages(r io.Reader, length, maxUncompressed int64) (int, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	var pos int64
	pages := 0
	for pos < length {
		h, _, err := readPageHeader(br, length-pos)
		if err != nil {
			return pages, fmt.Errorf("page %d at byte %d of the column chunk: %w", pages, pos, err)
		}
		pos += h.size
		switch {
		case h.compressed < 0 || h.compressed > length-pos:
			return pages, fmt.Errorf("page %d declares %d bytes, the column chunk has %d left", pages, h.compressed, length-pos)
		case h.uncompressed < 0 || h.uncompressed > maxUncompressed:
			return pages, fmt.Errorf("page %d declares %d uncompressed bytes (limit %d)", pages, h.uncompressed, maxUncompressed)
		}
		if h.hasCRC {
			sum := crc32.NewIEEE()
			if _, err := io.CopyN(sum, br, h.compressed); err != nil {
				return pages, fmt.Errorf("page %d: %w", pages, err)
			}
			if got := sum.Sum32(); got != uint32(h.crc) {
				return pages, fmt.Errorf("page %d: checksum mismatch (the page says %08x, its bytes give %08x)", pages, uint32(h.crc), got)
			}
		} else if _, err := br.Discard(int(h.compressed)); err != nil {
			return pages, fmt.Errorf("page %d: %w", pages, err)
		}
		pos += h.compressed
		pages++
	}
	return pages, nil
}
