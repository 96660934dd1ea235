package dataset

import (
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"

	"github.com/deepclust/deepclust/internal/tableio"
	"github.com/deepclust/deepclust/sdk"
)

// loadColumns reads a Parquet or Arrow IPC input through tableio, the
// reader internal/lake streams with, one record at a time: only the
// chosen columns are decoded, and each record's features are extracted
// and appended before the next is read.
func loadColumns(path, format string, opt Options, mem memory.Allocator) (*Dataset, error) {
	src, err := tableio.Open(path, format, tableio.Options{Allocator: mem})
	if err != nil {
		return nil, err
	}
	ds, err := collect(src, opt)
	if cerr := src.Close(); err == nil && cerr != nil {
		err = cerr
	}
	return ds, err
}

// collect reads every record of src and gathers the features and labels
// Options choose.
func collect(src tableio.Source, opt Options) (*Dataset, error) {
	cols, err := ChooseColumns(src.Schema(), opt.FeatureColumns, opt.LabelColumn)
	if err != nil {
		return nil, err
	}
	needed := slices.Clone(cols.Features)
	if cols.Label >= 0 {
		needed = append(needed, cols.Label)
	}
	slices.Sort(needed)
	needed = slices.Compact(needed)
	proj, err := src.Project(needed)
	if err != nil {
		return nil, err
	}
	at := func(i int) int { j, _ := slices.BinarySearch(needed, i); return j }
	pc := Columns{Label: -1}
	for _, f := range cols.Features {
		pc.Features = append(pc.Features, at(f))
	}
	if cols.Label >= 0 {
		pc.Label = at(cols.Label)
	}
	var (
		e      Extractor
		x      []float32
		labels []int32
		rows   int
		d      = -1
	)
	for {
		rec, err := src.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		tbl := array.NewTableFromRecords(proj, []arrow.Record{rec})
		got, err := e.Extract(tbl, pc, rows)
		tbl.Release()
		rec.Release()
		if err != nil {
			return nil, err
		}
		n := got.X.Rows()
		if n == 0 {
			continue
		}
		switch {
		case d < 0:
			d = got.X.Cols()
		case got.X.Cols() != d:
			return nil, fmt.Errorf("ragged list column %q: rows from %d have %d values, earlier rows %d", proj.Field(pc.Features[0]).Name, rows, got.X.Cols(), d)
		}
		x = append(x, got.X.Data...)
		labels = append(labels, got.Labels...)
		rows += n
	}
	if rows == 0 {
		return nil, errors.New("empty data set: no rows")
	}
	ds := &Dataset{X: sdk.Tensor{Shape: []int{rows, d}, Data: x}}
	if cols.Label >= 0 {
		ds.Labels = labels
	}
	return ds, nil
}
