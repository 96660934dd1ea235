package main

import (
	"encoding/binary"
	"errors"
	"math"
	"reflect"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
)

// Block is the bulk of what k-means moves between workers: it gets a
// binary coder (little-endian, 4 bytes per value) instead of Beam's
// schema coder, which encodes slices value by value.
func init() {
	beam.RegisterCoder(reflect.TypeOf(Block{}), encodeBlock, decodeBlock)
}

func encodeBlock(b Block) ([]byte, error) {
	if len(b.Z) != len(b.Rows)*b.D {
		return nil, errors.New("block: vectors do not match rows × width")
	}
	out := make([]byte, 0, 24+8*len(b.Rows)+4*len(b.Z))
	out = binary.LittleEndian.AppendUint64(out, uint64(b.Shard))
	out = binary.LittleEndian.AppendUint64(out, uint64(b.D))
	out = binary.LittleEndian.AppendUint64(out, uint64(len(b.Rows)))
	for _, r := range b.Rows {
		out = binary.LittleEndian.AppendUint64(out, uint64(r))
	}
	for _, v := range b.Z {
		out = binary.LittleEndian.AppendUint32(out, math.Float32bits(v))
	}
	return out, nil
}

func decodeBlock(data []byte) (Block, error) {
	if len(data) < 24 {
		return Block{}, errors.New("block: truncated header")
	}
	b := Block{Shard: int(binary.LittleEndian.Uint64(data)), D: int(binary.LittleEndian.Uint64(data[8:]))}
	n := binary.LittleEndian.Uint64(data[16:])
	data = data[24:]
	if b.D < 0 || n > uint64(len(data))/8 || uint64(len(data)) != n*8+n*uint64(b.D)*4 {
		return Block{}, errors.New("block: size does not match its header")
	}
	b.Rows = make([]int64, n)
	for i := range b.Rows {
		b.Rows[i] = int64(binary.LittleEndian.Uint64(data[8*i:]))
	}
	data = data[8*n:]
	b.Z = make([]float32, len(data)/4)
	for i := range b.Z {
		b.Z[i] = math.Float32frombits(binary.LittleEndian.Uint32(data[4*i:]))
	}
	return b, nil
}
