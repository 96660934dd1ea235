package dataset

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/ipc"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/apache/arrow/go/v15/parquet"
	"github.com/apache/arrow/go/v15/parquet/pqarrow"
)

// arrowFileMagic opens every Arrow IPC file (and Feather v2 file); an IPC
// stream has none.
const arrowFileMagic = "ARROW1"

// recoverCorrupt turns a panic of the Arrow or Parquet readers, which some
// corrupt inputs provoke, into an error for the deferring function.
func recoverCorrupt(format string, err *error) {
	if r := recover(); r != nil {
		*err = fmt.Errorf("corrupt %s file: %v", format, r)
	}
}

// readArrow reads an Arrow IPC file or stream into a table.
func readArrow(path string, mem memory.Allocator) (tbl arrow.Table, err error) {
	defer recoverCorrupt("arrow", &err)
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	magic := make([]byte, len(arrowFileMagic))
	n, _ := io.ReadFull(f, magic)
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	var recs []arrow.Record
	defer func() {
		for _, r := range recs {
			r.Release()
		}
	}()
	var schema *arrow.Schema
	if string(magic[:n]) == arrowFileMagic {
		r, err := ipc.NewFileReader(f, ipc.WithAllocator(mem))
		if err != nil {
			return nil, fmt.Errorf("corrupt arrow file: %w", err)
		}
		defer r.Close()
		schema = r.Schema()
		for i := 0; i < r.NumRecords(); i++ {
			rec, err := r.RecordAt(i)
			if err != nil {
				return nil, fmt.Errorf("corrupt arrow file: record batch %d: %w", i, err)
			}
			recs = append(recs, rec)
		}
	} else {
		r, err := ipc.NewReader(bufio.NewReaderSize(f, 1<<20), ipc.WithAllocator(mem))
		if err != nil {
			return nil, fmt.Errorf("not an arrow IPC file or stream: %w", err)
		}
		defer r.Release()
		schema = r.Schema()
		for r.Next() {
			rec := r.Record()
			rec.Retain()
			recs = append(recs, rec)
		}
		if err := r.Err(); err != nil {
			return nil, fmt.Errorf("corrupt arrow stream: record batch %d: %w", len(recs), err)
		}
	}
	return array.NewTableFromRecords(schema, recs), nil
}

// readParquet reads a Parquet file into a table.
func readParquet(path string, mem memory.Allocator) (tbl arrow.Table, err error) {
	defer recoverCorrupt("parquet", &err)
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	tbl, err = pqarrow.ReadTable(context.Background(), f, parquet.NewReaderProperties(mem), pqarrow.ArrowReadProperties{}, mem)
	if err != nil {
		return nil, fmt.Errorf("corrupt parquet file: %w", err)
	}
	return tbl, nil
}
