package tableio

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/apache/arrow/go/v15/parquet/compress"
)

// BenchmarkReadParquet reads 262,144 rows of 16 float32 columns (zstd,
// 16 row groups), with and without page checksums: the cost of checking
// them is the crc sub-benchmark's extra time.
func BenchmarkReadParquet(b *testing.B) {
	const rows, cols, group = 1 << 18, 16, 1 << 14
	fields := make([]arrow.Field, cols)
	for j := range fields {
		fields[j] = arrow.Field{Name: string(rune('a' + j)), Type: arrow.PrimitiveTypes.Float32}
	}
	schema := arrow.NewSchema(fields, nil)
	var recs []arrow.Record
	for g := 0; g < rows/group; g++ {
		bld := array.NewRecordBuilder(memory.DefaultAllocator, schema)
		for j := range cols {
			fb := bld.Field(j).(*array.Float32Builder)
			for i := range group {
				fb.Append(float32((g*group+i)*(j+1)%1000) / 7)
			}
		}
		recs = append(recs, bld.NewRecord())
		bld.Release()
	}
	for _, crc := range []bool{false, true} {
		name := "plain"
		if crc {
			name = "crc"
		}
		p := filepath.Join(b.TempDir(), name+".parquet")
		if err := os.WriteFile(p, writeParquet(b, recs, compress.Codecs.Zstd, false, crc, group), 0o644); err != nil {
			b.Fatal(err)
		}
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				src, err := Open(p, Parquet, Options{})
				if err != nil {
					b.Fatal(err)
				}
				fs := make([]int, cols)
				for j := range fs {
					fs[j] = j
				}
				if _, err := src.Project(fs); err != nil {
					b.Fatal(err)
				}
				for {
					rec, err := src.Next()
					if errors.Is(err, io.EOF) {
						break
					}
					if err != nil {
						b.Fatal(err)
					}
					rec.Release()
				}
				src.Close()
			}
		})
	}
}
