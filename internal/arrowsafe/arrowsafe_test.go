package arrowsafe

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/ipc"
	"github.com/apache/arrow/go/v15/arrow/memory"
)

func TestLimitedAllocator(t *testing.T) {
	base := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer base.AssertSize(t, 0)
	a := NewLimitedAllocator(base, 1000)
	refused := func(fn func()) (err *AllocError) {
		defer func() { err, _ = recover().(*AllocError) }()
		fn()
		return nil
	}
	b := a.Allocate(600)
	if e := refused(func() { a.Allocate(500) }); e == nil || e.Live != 600 || e.Size != 500 {
		t.Fatalf("600 + 500 bytes under a 1000 limit: %v, want refused", e)
	}
	if e := refused(func() { b = a.Reallocate(1001, b) }); e == nil {
		t.Fatal("reallocating past the limit was not refused")
	}
	b = a.Reallocate(900, b)
	a.Free(b)
	c := a.Allocate(1000) // all of it, once the rest is freed
	a.Free(c)
	if e := refused(func() { a.Allocate(-1) }); e == nil {
		t.Fatal("a negative allocation was not refused")
	}
	if got := Limit(10); got != MinLimit {
		t.Errorf("Limit(10) = %d, want %d", got, MinLimit)
	}
	if got := Limit(1 << 30); got != LimitFactor<<30 {
		t.Errorf("Limit(1 GiB) = %d, want %d", got, LimitFactor<<30)
	}
}

// stream returns a one-batch IPC stream of a float64 column and the
// offset of its schema message's flatbuffer.
func stream(t *testing.T) []byte {
	t.Helper()
	b := array.NewFloat64Builder(memory.DefaultAllocator)
	defer b.Release()
	b.AppendValues([]float64{1, 2, 3}, nil)
	vals := b.NewArray()
	defer vals.Release()
	rec := array.NewRecord(arrow.NewSchema([]arrow.Field{{Name: "x", Type: arrow.PrimitiveTypes.Float64}}, nil), []arrow.Array{vals}, 3)
	defer rec.Release()
	var buf bytes.Buffer
	w := ipc.NewWriter(&buf, ipc.WithSchema(rec.Schema()))
	if err := w.Write(rec); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// readAll reads a stream through NewMessageReader and returns the rows.
func readAll(b []byte) (rows int64, err error) {
	mem := NewLimitedAllocator(memory.DefaultAllocator, Limit(int64(len(b))))
	defer func() {
		if r := recover(); r != nil {
			err = r.(error)
		}
	}()
	r, err := ipc.NewReaderFromMessageReader(NewMessageReader(bytes.NewReader(b), int64(len(b)), mem), ipc.WithAllocator(mem))
	if err != nil {
		return 0, err
	}
	defer r.Release()
	for r.Next() {
		rows += r.Record().NumRows()
	}
	return rows, r.Err()
}

// TestMessageReader reads a valid stream, then the same stream with the
// length of its schema's fields vector set to 2^30 (which Arrow's own
// reader turns into a slice of 2^30 fields, a fatal out-of-memory) and
// with a body length past the end.
func TestMessageReader(t *testing.T) {
	good := stream(t)
	if rows, err := readAll(good); err != nil || rows != 3 {
		t.Fatalf("the valid stream: %d rows, %v", rows, err)
	}
	// The schema message: continuation, length, then its flatbuffer. Find
	// the fields vector (length 1, then the offset of the one field) by
	// patching each 1 to 2^30 until the verifier objects to a vector.
	meta := good[8 : 8+binary.LittleEndian.Uint32(good[4:])]
	found := false
	for i := 0; i+4 <= len(meta); i += 4 {
		if binary.LittleEndian.Uint32(meta[i:]) != 1 {
			continue
		}
		bad := bytes.Clone(good)
		binary.LittleEndian.PutUint32(bad[8+i:], 1<<30)
		_, err := readAll(bad)
		if err != nil && strings.Contains(err.Error(), "vector of 1073741824 elements") {
			found = true
			break
		}
	}
	if !found {
		t.Fatal("no patched vector length was refused by the verifier")
	}
	if _, err := readAll(good[:len(good)-20]); err == nil {
		t.Error("a truncated stream read without error")
	}
	if _, err := VerifyFooter([]byte{1, 2}); !errors.Is(err, errFlatbuf) {
		t.Errorf("a 2-byte footer: %v", err)
	}
	mr := NewMessageReader(bytes.NewReader(nil), 0, memory.DefaultAllocator)
	if _, err := mr.Message(); err != io.EOF {
		t.Errorf("an empty stream: %v, want io.EOF", err)
	}
	mr.Release()
}
