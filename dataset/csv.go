package dataset

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"
)

// csvKind is the narrowest type every non-empty cell of a CSV column parses
// as; kinds only widen as cells are seen.
type csvKind int

const (
	kindInt32 csvKind = iota
	kindInt64
	kindFloat
	kindString
)

// widen returns the kind of a column of kind k after it meets cell, a
// number.
func (k csvKind) widen(cell string) csvKind {
	if k <= kindInt64 {
		if v, err := strconv.ParseInt(cell, 10, 64); err == nil {
			if k == kindInt32 && (v < math.MinInt32 || v > math.MaxInt32) {
				return kindInt64
			}
			return k
		}
	}
	return kindFloat
}

// decimalComma matches a number written with a decimal comma (1,5 or
// -0,25), which strconv does not read.
var decimalComma = regexp.MustCompile(`^[+-]?[0-9]*,[0-9]+$`)

// parseCell tells whether a trimmed, non-empty cell is a number: ok is
// set when it parses; otherwise numeric says whether it looks like a
// number all the same (a decimal comma, or beyond float64's range), and
// why says what is wrong with it.
func parseCell(cell string) (ok, numeric bool, why string) {
	_, err := strconv.ParseFloat(cell, 64)
	switch {
	case err == nil:
		return true, true, ""
	case errors.Is(err, strconv.ErrRange):
		return false, true, "is out of float64's range"
	case decimalComma.MatchString(cell):
		return false, true, "has a decimal comma (use a point)"
	}
	return false, false, "is not a number"
}

// badCell is the first cell of a column that is not a number.
type badCell struct {
	row, line int
	cell, why string
}

// newCSVReader reads records of the same length as the header.
func newCSVReader(r io.Reader) *csv.Reader {
	cr := csv.NewReader(bufio.NewReaderSize(r, 1<<20))
	cr.ReuseRecord = true
	return cr
}

// loadCSV reads a CSV file into a Dataset. A column that holds any
// number is numeric, and a cell of it that is not a number is an error
// naming its row, line and column, unless the options leave the column
// out of the features: it is the label column, or features are named
// and it is not one of them; such a column reads as strings.
func loadCSV(path string, opt Options, mem memory.Allocator) (*Dataset, error) {
	label := opt.LabelColumn
	if label == "" {
		label = DefaultLabelColumn
	}
	feature := func(name string) bool {
		if name == label {
			return false
		}
		return len(opt.FeatureColumns) == 0 || slices.Contains(opt.FeatureColumns, name)
	}
	tbl, err := readCSV(path, mem, feature)
	if err != nil {
		return nil, err
	}
	defer tbl.Release()
	return fromTable(tbl, opt)
}

// readCSV reads a CSV file with a header row into a table in two passes:
// the first finds each column's type, the second fills typed columns, so
// that no cell text is kept in memory. Empty cells are nulls. A column
// with a number and a cell that is not one is an error if feature says
// it may be a feature, else a string column.
func readCSV(path string, mem memory.Allocator, feature func(name string) bool) (arrow.Table, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	header, kinds, err := scanCSV(f, feature)
	if err != nil {
		return nil, err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	fields := make([]arrow.Field, len(header))
	builders := make([]array.Builder, len(header))
	for j, name := range header {
		fields[j] = arrow.Field{Name: name, Type: []arrow.DataType{
			kindInt32:  arrow.PrimitiveTypes.Int32,
			kindInt64:  arrow.PrimitiveTypes.Int64,
			kindFloat:  arrow.PrimitiveTypes.Float64,
			kindString: arrow.BinaryTypes.String,
		}[kinds[j]], Nullable: true}
		builders[j] = array.NewBuilder(mem, fields[j].Type)
		defer builders[j].Release()
	}
	r := newCSVReader(f)
	if _, err := r.Read(); err != nil {
		return nil, fmt.Errorf("reading CSV header: %w", err)
	}
	for row := 0; ; row++ {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("reading CSV: %w", err)
		}
		for j, cell := range rec {
			if err := appendCell(builders[j], strings.TrimSpace(cell)); err != nil {
				return nil, fmt.Errorf("row %d column %q: %w (file changed while reading?)", row, header[j], err)
			}
		}
	}
	cols := make([]arrow.Array, len(builders))
	for j, b := range builders {
		cols[j] = b.NewArray()
		defer cols[j].Release()
	}
	schema := arrow.NewSchema(fields, nil)
	rec := array.NewRecord(schema, cols, int64(cols[0].Len()))
	defer rec.Release()
	return array.NewTableFromRecords(schema, []arrow.Record{rec}), nil
}

// scanCSV reads the header and finds the kind of every column: numeric
// when a cell is a number or looks like one (see parseCell). A numeric
// column with a cell that is not a number is an error when feature(name)
// allows it to be a feature, else a string column.
func scanCSV(r io.Reader, feature func(name string) bool) ([]string, []csvKind, error) {
	cr := newCSVReader(r)
	rec, err := cr.Read()
	if err == io.EOF {
		return nil, nil, errors.New("empty CSV file: no header row")
	}
	if err != nil {
		return nil, nil, fmt.Errorf("reading CSV header: %w", err)
	}
	header := append([]string(nil), rec...)
	header[0] = strings.TrimPrefix(header[0], "\ufeff") // byte-order mark
	seen := make(map[string]bool, len(header))
	for _, name := range header {
		if seen[name] {
			return nil, nil, fmt.Errorf("column %q appears twice in the CSV header", name)
		}
		seen[name] = true
	}
	kinds := make([]csvKind, len(header))
	numeric := make([]bool, len(header))
	bad := make([]*badCell, len(header))
	for row := 0; ; row++ {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, nil, fmt.Errorf("reading CSV: %w", err)
		}
		for j, cell := range rec {
			if cell = strings.TrimSpace(cell); cell == "" {
				continue
			}
			ok, num, why := parseCell(cell)
			numeric[j] = numeric[j] || num
			if ok {
				if kinds[j] != kindString {
					kinds[j] = kinds[j].widen(cell)
				}
				continue
			}
			kinds[j] = kindString
			if bad[j] == nil {
				line, _ := cr.FieldPos(j)
				bad[j] = &badCell{row: row, line: line, cell: cell, why: why}
			}
		}
	}
	for j, b := range bad {
		if b != nil && numeric[j] && feature(header[j]) {
			return nil, nil, fmt.Errorf("row %d (line %d) column %q: %q %s; name the feature columns (data.features) to leave this column out", b.row, b.line, header[j], b.cell, b.why)
		}
	}
	return header, kinds, nil
}

// appendCell appends one trimmed cell to a builder of its column's kind.
func appendCell(b array.Builder, cell string) error {
	if cell == "" {
		b.AppendNull()
		return nil
	}
	switch b := b.(type) {
	case *array.Int32Builder:
		v, err := strconv.ParseInt(cell, 10, 32)
		b.Append(int32(v))
		return err
	case *array.Int64Builder:
		v, err := strconv.ParseInt(cell, 10, 64)
		b.Append(v)
		return err
	case *array.Float64Builder:
		v, err := strconv.ParseFloat(cell, 64)
		b.Append(v)
		return err
	case *array.StringBuilder:
		b.Append(cell)
	}
	return nil
}
