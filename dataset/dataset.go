package dataset

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"

	"github.com/apache/arrow/go/v15/arrow/memory"

	"github.com/deepclust/deepclust/internal/tableio"
	"github.com/deepclust/deepclust/sdk"
)

// The formats Options.Format accepts.
const (
	FormatAuto    = "auto"
	FormatIDX     = tableio.IDX
	FormatCSV     = tableio.CSV
	FormatArrow   = tableio.Arrow
	FormatParquet = tableio.Parquet
)

// The scalings Options.Scale accepts.
const (
	ScaleNone     = "none"
	ScaleMinMax   = "minmax"
	ScaleStandard = "standard"
)

// DefaultLabelColumn is the label column looked for when
// Options.LabelColumn is empty.
const DefaultLabelColumn = "label"

// Dataset is a loaded set of samples.
type Dataset struct {
	// X holds the samples: Shape[0] is the number of rows, Shape[1:] the
	// shape of one sample.
	X sdk.Tensor
	// Labels holds the ground-truth class of each row, or nil if unknown.
	Labels []int32
	// Source describes where the data came from (a path, or the built-in
	// data set's name).
	Source string
}

// Options tells Load how to read a file. The zero Options reads any
// supported format with its defaults.
type Options struct {
	// Format is one of auto (the default: from the file name), idx, csv,
	// arrow or parquet.
	Format string
	// FeatureColumns names the feature columns of a table; empty means the
	// single list column if there is one, else every numeric column except
	// the label.
	FeatureColumns []string
	// LabelColumn names the label column. Empty means DefaultLabelColumn,
	// and a table without it has no labels; a column named explicitly must
	// exist.
	LabelColumn string
	// SampleShape, when set, is the shape of one sample, e.g. [1 28 28];
	// its product must equal the number of features.
	SampleShape []int
	// Scale is none (the default), minmax or standard: see the package
	// documentation. idx pixels are divided by 255 before any scaling.
	Scale string
}

// Load reads the data set at path; an empty path means the built-in MNIST
// test set (10,000 labelled 28×28 images).
func Load(path string, opt Options) (*Dataset, error) {
	return load(path, opt, memory.DefaultAllocator)
}

// load is Load with the allocator Arrow readers use, so that tests can
// check Arrow memory for leaks.
func load(path string, opt Options, mem memory.Allocator) (*Dataset, error) {
	name := path
	if path == "" {
		name = "built-in MNIST"
	}
	ds, err := loadRaw(path, opt, mem)
	if err == nil {
		err = ds.finish(opt)
	}
	if err != nil {
		return nil, fmt.Errorf("loading %s: %w", name, err)
	}
	return ds, nil
}

func loadRaw(path string, opt Options, mem memory.Allocator) (*Dataset, error) {
	if err := opt.check(); err != nil {
		return nil, err
	}
	if path == "" {
		if opt.Format != "" && opt.Format != FormatAuto && opt.Format != FormatIDX {
			return nil, fmt.Errorf("the built-in data set is idx, not %s", opt.Format)
		}
		if err := opt.checkNoColumns(); err != nil {
			return nil, err
		}
		return loadEmbedded()
	}
	st, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, errors.New("no such file or directory")
	}
	if err != nil {
		return nil, err
	}
	format, err := detectFormat(path, st.IsDir(), opt.Format)
	if err != nil {
		return nil, err
	}
	if format == FormatIDX {
		if err := opt.checkNoColumns(); err != nil {
			return nil, err
		}
		if st.IsDir() {
			return loadIDXDir(path)
		}
		return loadIDXFile(path)
	}
	if st.IsDir() {
		return nil, fmt.Errorf("is a directory, not a %s file", format)
	}
	var ds *Dataset
	if format == FormatCSV {
		ds, err = loadCSV(path, opt, mem)
	} else {
		ds, err = loadColumns(path, format, opt, mem)
	}
	if err != nil {
		return nil, err
	}
	ds.Source = path
	return ds, nil
}

// check validates the option values that do not depend on the data.
func (o Options) check() error {
	if !slices.Contains([]string{"", FormatAuto, FormatIDX, FormatCSV, FormatArrow, FormatParquet}, o.Format) {
		return fmt.Errorf("unknown format %q (want auto, idx, csv, arrow or parquet)", o.Format)
	}
	if !slices.Contains([]string{"", ScaleNone, ScaleMinMax, ScaleStandard}, o.Scale) {
		return fmt.Errorf("unknown scale %q (want none, minmax or standard)", o.Scale)
	}
	for _, s := range o.SampleShape {
		if s <= 0 {
			return fmt.Errorf("sample shape %v has a non-positive dimension", o.SampleShape)
		}
	}
	return nil
}

// checkNoColumns rejects column options for idx data, which has none.
func (o Options) checkNoColumns() error {
	if len(o.FeatureColumns) > 0 || o.LabelColumn != "" {
		return errors.New("feature and label columns do not apply to idx data")
	}
	return nil
}

// DetectFormat returns the format of the input at path (a directory
// holds idx files): forced when it is not FormatAuto or empty, else the
// one its name says.
func DetectFormat(path, forced string) (string, error) {
	if path == "" {
		return FormatIDX, nil
	}
	st, err := os.Stat(path)
	if err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	return detectFormat(path, st.IsDir(), forced)
}

// detectFormat returns the format of path: forced when not auto, else
// from the file name.
func detectFormat(path string, isDir bool, forced string) (string, error) {
	if forced != "" && forced != FormatAuto {
		return forced, nil
	}
	if isDir {
		return FormatIDX, nil
	}
	if f := tableio.FormatOf(path); f != "" {
		return f, nil
	}
	return "", errors.New("cannot tell the format from the file name (want .csv, .arrow/.arrows/.ipc/.feather, .parquet/.pq, .idx/.gz/*-ubyte or a directory); set the format")
}

// finish applies the sample shape and the scaling.
func (d *Dataset) finish(opt Options) error {
	n, cols := d.X.Rows(), d.X.Cols()
	if n == 0 {
		return errors.New("empty data set: no rows")
	}
	if cols == 0 {
		return errors.New("empty data set: no features")
	}
	if d.Labels != nil && len(d.Labels) != n {
		return fmt.Errorf("labels length mismatch: %d labels for %d rows", len(d.Labels), n)
	}
	if len(opt.SampleShape) > 0 {
		size := 1
		for _, s := range opt.SampleShape {
			size *= s
		}
		if size != cols {
			return fmt.Errorf("sample shape %v holds %d values, the data has %d per row", opt.SampleShape, size, cols)
		}
		d.X.Shape = append([]int{n}, opt.SampleShape...)
	}
	if opt.Scale == ScaleMinMax || opt.Scale == ScaleStandard {
		f, err := NewScalerFit(opt.Scale)
		if err != nil {
			return err
		}
		if err := f.Add(d.X); err != nil {
			return err
		}
		s, err := f.Scaler()
		if err != nil {
			return err
		}
		return s.Apply(d.X)
	}
	return nil
}
