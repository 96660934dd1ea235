// Package statefile writes and reads the envelope the clusterers' saved
// states share: an 8-byte magic, a little-endian uint32 version, the
// uint32 length of the config's JSON and the JSON itself, followed by
// each clusterer's own body.
package statefile

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
)

// AppendHeader appends the envelope of a state with the given magic (8
// bytes), version and config (marshalled as JSON) to buf; prefix starts
// error messages, e.g. "spectral: save".
func AppendHeader(buf []byte, prefix, magic string, version uint32, cfg any) ([]byte, error) {
	if len(magic) != 8 {
		return nil, fmt.Errorf("%s: magic %q is not 8 bytes", prefix, magic)
	}
	js, err := json.Marshal(cfg)
	if err != nil {
		return nil, fmt.Errorf("%s: config: %w", prefix, err)
	}
	le := binary.LittleEndian
	buf = append(buf, magic...)
	buf = le.AppendUint32(buf, version)
	buf = le.AppendUint32(buf, uint32(len(js)))
	return append(buf, js...), nil
}

// ReadHeader reads the envelope from r, the reader over a state of size
// bytes, checks its magic and version and decodes the config into cfg;
// prefix starts error messages, e.g. "spectral: load". The body follows in
// r.
func ReadHeader(r *bytes.Reader, prefix, magic string, version uint32, size int, cfg any) error {
	var head struct {
		Magic   [8]byte
		Version uint32
		CfgLen  uint32
	}
	if err := binary.Read(r, binary.LittleEndian, &head); err != nil {
		return fmt.Errorf("%s: reading header of %d-byte state: %w", prefix, size, err)
	}
	switch {
	case string(head.Magic[:]) != magic:
		return fmt.Errorf("%s: state does not start with %q", prefix, magic)
	case head.Version != version:
		return fmt.Errorf("%s: state version %d, this build reads %d", prefix, head.Version, version)
	case int64(head.CfgLen) > int64(r.Len()):
		return fmt.Errorf("%s: config of %d bytes in a %d-byte state", prefix, head.CfgLen, size)
	}
	js := make([]byte, head.CfgLen)
	if _, err := io.ReadFull(r, js); err != nil {
		return fmt.Errorf("%s: config: %w", prefix, err)
	}
	if err := json.Unmarshal(js, cfg); err != nil {
		return fmt.Errorf("%s: config: %w", prefix, err)
	}
	return nil
}
