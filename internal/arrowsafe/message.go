package arrowsafe

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/apache/arrow/go/v15/arrow/ipc"
	"github.com/apache/arrow/go/v15/arrow/memory"
)

// ipcContinuation opens each message of a stream since Arrow 0.15.
const ipcContinuation = 0xFFFFFFFF

// NewMessageReader returns an ipc.MessageReader of the IPC stream of size
// bytes (negative: unknown, at most StreamLimit) on r that checks each
// message before Arrow decodes it (see msgReader), for callers that
// decode a stream with Arrow's ipc.NewReaderFromMessageReader; mem should
// be a limited allocator (NewLimitedAllocator).
func NewMessageReader(r io.Reader, size int64, mem memory.Allocator) ipc.MessageReader {
	if size < 0 {
		size = StreamLimit
	}
	return &msgReader{r: r, left: size, mem: mem, refs: 1}
}

// msgReader is an ipc.MessageReader that checks each message before
// Arrow decodes it: its metadata length and declared body length against
// the bytes left, and its flatbuffer (see verifyMessage).
type msgReader struct {
	r    io.Reader
	left int64 // bytes that may still be read
	mem  memory.Allocator
	msg  *ipc.Message
	refs int64
}

func (m *msgReader) read(p []byte) error {
	if int64(len(p)) > m.left {
		return fmt.Errorf("needs %d bytes, %d are left", len(p), m.left)
	}
	if _, err := io.ReadFull(m.r, p); err != nil {
		return err
	}
	m.left -= int64(len(p))
	return nil
}

// Message implements ipc.MessageReader: the next message, valid until the
// next call, or io.EOF at the end of the stream.
func (m *msgReader) Message() (*ipc.Message, error) {
	if m.msg != nil {
		m.msg.Release()
		m.msg = nil
	}
	if m.left == 0 {
		return nil, io.EOF
	}
	var word [4]byte
	if err := m.read(word[:]); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, io.EOF
		}
		return nil, fmt.Errorf("reading a message length: %w", err)
	}
	n := binary.LittleEndian.Uint32(word[:])
	if n == ipcContinuation {
		if err := m.read(word[:]); err != nil {
			return nil, fmt.Errorf("reading a message length: %w", err)
		}
		n = binary.LittleEndian.Uint32(word[:])
	}
	if n == 0 {
		return nil, io.EOF
	}
	if int64(n) > m.left || n > 1<<30 {
		return nil, fmt.Errorf("message metadata of %d bytes, %d are left", n, m.left)
	}
	meta := memory.NewResizableBuffer(m.mem)
	defer meta.Release()
	meta.Resize(int(n))
	if err := m.read(meta.Bytes()); err != nil {
		return nil, fmt.Errorf("reading message metadata: %w", err)
	}
	bodyLen, err := verifyMessage(meta.Bytes())
	if err != nil {
		return nil, fmt.Errorf("message metadata: %w", err)
	}
	if bodyLen < 0 || bodyLen > m.left {
		return nil, fmt.Errorf("message body of %d bytes, %d are left", bodyLen, m.left)
	}
	body := memory.NewResizableBuffer(m.mem)
	defer body.Release()
	body.Resize(int(bodyLen))
	if err := m.read(body.Bytes()); err != nil {
		return nil, fmt.Errorf("reading a message body: %w", err)
	}
	m.msg = ipc.NewMessage(meta, body)
	return m.msg, nil
}

// Retain implements ipc.MessageReader.
func (m *msgReader) Retain() { m.refs++ }

// Release implements ipc.MessageReader.
func (m *msgReader) Release() {
	if m.refs--; m.refs == 0 && m.msg != nil {
		m.msg.Release()
		m.msg = nil
	}
}

// VerifyFooter checks a File.fbs Footer and returns the number of record
// batches it lists.
func VerifyFooter(b []byte) (int, error) {
	v := newFBVerifier(b)
	root, err := v.u32(0)
	if err != nil {
		return 0, err
	}
	ft, err := v.table(root)
	if err != nil {
		return 0, err
	}
	if s, ok, err := v.subtable(ft, 1); err != nil {
		return 0, err
	} else if ok {
		if err := v.verifySchema(s); err != nil {
			return 0, err
		}
	}
	if _, _, err := v.vector(ft, 2, 24); err != nil {
		return 0, err
	}
	n, _, err := v.vector(ft, 3, 24)
	if err != nil {
		return 0, err
	}
	return n, v.keyValues(ft, 4)
}
