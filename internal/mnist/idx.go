package mnist

import (
	"bufio"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
)

// typeUnsignedByte is the idx type code of unsigned 8-bit values.
const typeUnsignedByte = 0x08

// maxValues bounds the number of values an idx header may promise (16 GiB),
// far above any real data set, so that dimension products cannot overflow.
const maxValues = 1 << 34

// readChunk is the most memory reserved ahead of data actually read, so a
// corrupt header cannot force a huge allocation.
const readChunk = 64 << 20

// IDX is the content of one idx file of unsigned bytes.
type IDX struct {
	// Dims holds the dimension sizes from the header, e.g. [10000 28 28]
	// for images or [10000] for labels.
	Dims []int
	// Data holds the Π Dims values in row-major order.
	Data []byte
}

// ReadIDX decodes an idx file from r, decompressing it first when it starts
// with the gzip magic bytes. It rejects a wrong magic number, element types
// other than unsigned byte, truncated data and bytes beyond those the
// header promises.
func ReadIDX(r io.Reader) (IDX, error) {
	br := bufio.NewReaderSize(r, 1<<20)
	if magic, err := br.Peek(2); err == nil && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return IDX{}, fmt.Errorf("corrupt gzip stream: %w", err)
		}
		defer zr.Close()
		return decode(zr)
	}
	return decode(br)
}

// ReadIDXFile decodes the idx file at path (gzipped or not).
func ReadIDXFile(path string) (IDX, error) {
	f, err := os.Open(path)
	if err != nil {
		return IDX{}, err
	}
	defer f.Close()
	m, err := ReadIDX(f)
	if err != nil {
		return IDX{}, fmt.Errorf("reading idx file %s: %w", path, err)
	}
	return m, nil
}

func decode(r io.Reader) (IDX, error) {
	var head [4]byte
	if _, err := io.ReadFull(r, head[:]); err != nil {
		return IDX{}, truncated("header", err)
	}
	if head[0] != 0 || head[1] != 0 || head[3] == 0 {
		return IDX{}, fmt.Errorf("wrong magic number %#08x: not an idx file", binary.BigEndian.Uint32(head[:]))
	}
	if head[2] != typeUnsignedByte {
		return IDX{}, fmt.Errorf("unsupported idx element type %#02x (only unsigned byte, 0x08)", head[2])
	}
	raw := make([]byte, 4*int(head[3]))
	if _, err := io.ReadFull(r, raw); err != nil {
		return IDX{}, truncated("header", err)
	}
	dims := make([]int, head[3])
	total := int64(1)
	for i := range dims {
		dims[i] = int(binary.BigEndian.Uint32(raw[4*i:]))
		// Checked before multiplying: the product of three large dims
		// overflows int64 (FuzzIDX in dataset).
		if d := int64(dims[i]); d > 0 && total > maxValues/d {
			return IDX{}, fmt.Errorf("idx dimensions %v exceed %d values", dims[:i+1], int64(maxValues))
		}
		total *= int64(dims[i])
		if total > maxValues {
			return IDX{}, fmt.Errorf("idx dimensions %v exceed %d values", dims[:i+1], int64(maxValues))
		}
	}
	data, err := readExactly(r, total)
	if err != nil {
		return IDX{}, fmt.Errorf("header dims %v promise %d bytes, read %d: %w", dims, total, len(data), truncated("data", err))
	}
	var extra [1]byte
	switch n, err := io.ReadFull(r, extra[:]); {
	case n > 0:
		return IDX{}, fmt.Errorf("trailing bytes after the %d promised by header dims %v", total, dims)
	case err != io.EOF:
		return IDX{}, fmt.Errorf("corrupt data after the idx values: %w", err)
	}
	return IDX{Dims: dims, Data: data}, nil
}

// truncated turns an end-of-input error while reading part into a message
// that says the file is truncated; other errors (gzip corruption, I/O) pass
// through wrapped.
func truncated(part string, err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("truncated idx %s", part)
	}
	return fmt.Errorf("reading idx %s: %w", part, err)
}

// readExactly reads n bytes from r, reserving memory at most readChunk
// ahead of the data actually received.
func readExactly(r io.Reader, n int64) ([]byte, error) {
	buf := make([]byte, 0, min(n, readChunk))
	for int64(len(buf)) < n {
		if len(buf) == cap(buf) {
			buf = slices.Grow(buf, int(min(n-int64(len(buf)), int64(cap(buf)))))
		}
		end := int(min(n, int64(cap(buf))))
		m, err := io.ReadFull(r, buf[len(buf):end])
		buf = buf[:len(buf)+m]
		if err != nil {
			return buf, err
		}
	}
	return buf, nil
}
