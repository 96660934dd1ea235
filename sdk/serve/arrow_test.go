package serve

import (
	"bytes"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/ipc"
	"github.com/apache/arrow/go/v15/arrow/memory"

	"github.com/deepclust/deepclust/sdk"
)

func randomTensor(seed uint64, shape ...int) sdk.Tensor {
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	t := sdk.NewTensor(shape...)
	for i := range t.Data {
		t.Data[i] = float32(rng.NormFloat64())
	}
	return t
}

func TestTensorArrowRoundTrip(t *testing.T) {
	special := sdk.NewTensor(2, 3)
	copy(special.Data, []float32{0, float32(math.Copysign(0, -1)), math.SmallestNonzeroFloat32, math.MaxFloat32, float32(math.NaN()), float32(math.Inf(-1))})
	cases := map[string]sdk.Tensor{
		"empty":        {},
		"matrix":       randomTensor(1, 256, 10),
		"images":       randomTensor(2, 5, 1, 28, 28),
		"vector":       randomTensor(3, 7),
		"one by one":   randomTensor(4, 1, 1),
		"zero rows":    sdk.NewTensor(0, 784),
		"zero columns": sdk.NewTensor(5, 0),
		"zero middle":  sdk.NewTensor(3, 0, 4),
		"special":      special,
	}
	for name, want := range cases {
		t.Run(name, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			b, err := encodeTensor(mem, want)
			if err != nil {
				t.Fatal(err)
			}
			got, err := decodeTensor(mem, b)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got.Shape, want.Shape) {
				t.Fatalf("shape %v, want %v", got.Shape, want.Shape)
			}
			if len(got.Data) != len(want.Data) {
				t.Fatalf("%d values, want %d", len(got.Data), len(want.Data))
			}
			for i := range want.Data {
				if math.Float32bits(got.Data[i]) != math.Float32bits(want.Data[i]) {
					t.Fatalf("value %d: bits %08x, want %08x", i, math.Float32bits(got.Data[i]), math.Float32bits(want.Data[i]))
				}
			}
		})
	}
}

func TestEncodeTensorRejectsBadShape(t *testing.T) {
	_, err := EncodeTensor(sdk.Tensor{Shape: []int{2, 3}, Data: make([]float32, 5)})
	if err == nil || !strings.Contains(err.Error(), "needs 6 values, has 5") {
		t.Fatalf("got %v, want a length error", err)
	}
}

// writeStream writes rec as an Arrow IPC stream, for building invalid inputs.
func writeStream(t *testing.T, recs ...arrow.Record) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := ipc.NewWriter(&buf, ipc.WithSchema(recs[0].Schema()))
	for _, rec := range recs {
		if err := w.Write(rec); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// withShape returns a record with the data of tensor but the shape metadata s.
func withShape(t *testing.T, tensor sdk.Tensor, s string) []byte {
	t.Helper()
	rec, err := TensorRecord(tensor)
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Release()
	schema := arrow.NewSchema(rec.Schema().Fields(), metadataPtr(arrow.NewMetadata([]string{TensorShapeKey}, []string{s})))
	other := array.NewRecord(schema, rec.Columns(), rec.NumRows())
	defer other.Release()
	return writeStream(t, other)
}

func TestDecodeTensorErrors(t *testing.T) {
	good, err := EncodeTensor(randomTensor(5, 4, 3))
	if err != nil {
		t.Fatal(err)
	}
	rec, err := TensorRecord(randomTensor(6, 2, 3))
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Release()

	intCol := func() []byte {
		b := array.NewInt64Builder(memory.DefaultAllocator)
		defer b.Release()
		b.AppendValues([]int64{1, 2}, nil)
		col := b.NewArray()
		defer col.Release()
		schema := arrow.NewSchema([]arrow.Field{{Name: TensorColumn, Type: arrow.PrimitiveTypes.Int64}},
			metadataPtr(arrow.NewMetadata([]string{TensorShapeKey}, []string{"2"})))
		r := array.NewRecord(schema, []arrow.Array{col}, 2)
		defer r.Release()
		return writeStream(t, r)
	}()
	noMeta := func() []byte {
		r := array.NewRecord(arrow.NewSchema(rec.Schema().Fields(), nil), rec.Columns(), rec.NumRows())
		defer r.Release()
		return writeStream(t, r)
	}()
	schemaOnly := func() []byte {
		var buf bytes.Buffer
		w := ipc.NewWriter(&buf, ipc.WithSchema(rec.Schema()))
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}()
	truncated := good[:len(good)-20]
	flipped := append([]byte(nil), good...)
	for i := 8; i < 64; i++ {
		flipped[i] ^= 0xff
	}

	cases := []struct {
		name string
		b    []byte
		want string
	}{
		{"garbage", []byte("definitely not arrow"), "decoding tensor"},
		{"truncated", truncated, "decoding tensor"},
		{"flipped", flipped, "decoding tensor"},
		{"schema only", schemaOnly, "holds no record batch"},
		{"two batches", writeStream(t, rec, rec), "more than one record batch"},
		{"rows mismatch", withShape(t, randomTensor(6, 2, 3), "3,2"), "does not match its column"},
		{"cols mismatch", withShape(t, randomTensor(6, 2, 3), "2,4"), "does not match its column"},
		{"bad dimension", withShape(t, randomTensor(6, 2, 3), "2,x"), "dimension 1 is not an integer"},
		{"negative dimension", withShape(t, randomTensor(6, 2, 3), "-2,-3"), "negative dimension"},
		{"huge dimension", withShape(t, randomTensor(6, 2, 3), "2,3,1099511627776"), "more than"},
		{"no metadata", noMeta, "no \"deepclust.shape\" schema metadata"},
		{"wrong type", intCol, "want fixed_size_list<float32>"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			_, err := decodeTensor(mem, c.b)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got error %v, want one containing %q", err, c.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("error is not one line: %q", err)
			}
		})
	}
}

func BenchmarkEncodeDecodeTensor(b *testing.B) {
	x := randomTensor(7, 256, 784)
	b.SetBytes(int64(4 * len(x.Data)))
	for b.Loop() {
		buf, err := EncodeTensor(x)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := DecodeTensor(buf); err != nil {
			b.Fatal(err)
		}
	}
}
