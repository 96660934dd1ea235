package dataset

import (
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v15/arrow"

	"github.com/deepclust/deepclust/internal/mnist"
	"github.com/deepclust/deepclust/sdk"
)

// mnistTestCounts are the class counts of the MNIST test set (LeCun et
// al.'s database page; also tensorflow_datasets and torchvision).
var mnistTestCounts = []int{980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009}

// mnistTrainCounts are the class counts of the MNIST training set, same
// sources.
var mnistTrainCounts = []int{5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949}

func classCounts(labels []int32) []int {
	counts := make([]int, 10)
	for _, l := range labels {
		counts[l]++
	}
	return counts
}

func TestEmbeddedMNIST(t *testing.T) {
	ds, err := Load("", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := ds.X.CheckShape(10000, 1, 28, 28); err != nil {
		t.Fatal(err)
	}
	if ds.X.Cols() != 784 || ds.Source != mnist.EmbeddedName {
		t.Errorf("cols %d, source %q", ds.X.Cols(), ds.Source)
	}
	for _, l := range ds.Labels {
		if l < 0 || l > 9 {
			t.Fatalf("label %d outside 0-9", l)
		}
	}
	if got := classCounts(ds.Labels); !slices.Equal(got, mnistTestCounts) {
		t.Errorf("class counts %v, want %v", got, mnistTestCounts)
	}
	lo, hi := slices.Min(ds.X.Data), slices.Max(ds.X.Data)
	if lo != 0 || hi != 1 {
		t.Errorf("pixel range [%v, %v], want [0, 1]", lo, hi)
	}

	flat, err := Load("", Options{SampleShape: []int{784}})
	if err != nil {
		t.Fatal(err)
	}
	if err := flat.X.CheckShape(10000, 784); err != nil {
		t.Error(err)
	}
	for _, opt := range []Options{{Format: "csv"}, {LabelColumn: "y"}, {SampleShape: []int{28, 27}}} {
		if _, err := Load("", opt); err == nil {
			t.Errorf("Load(\"\", %+v): want an error", opt)
		}
	}
}

func TestIDXFileAndLabelsBeside(t *testing.T) {
	dir := t.TempDir()
	pixels := []byte{0, 255, 51, 102, 1, 2, 3, 4, 10, 20, 30, 40}
	images := writeFile(t, filepath.Join(dir, "t10k-images-idx3-ubyte.gz"), idxBytes(t, []int{3, 2, 2}, pixels, true))
	writeFile(t, filepath.Join(dir, "t10k-labels-idx1-ubyte"), idxBytes(t, []int{3}, []byte{7, 2, 1}, false))
	ds, err := Load(images, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := ds.X.CheckShape(3, 1, 2, 2); err != nil {
		t.Fatal(err)
	}
	for i, p := range pixels {
		if want := float32(p) / 255; ds.X.Data[i] != want {
			t.Errorf("value %d = %v, want %v", i, ds.X.Data[i], want)
		}
	}
	if !slices.Equal(ds.Labels, []int32{7, 2, 1}) {
		t.Errorf("labels %v, want [7 2 1]", ds.Labels)
	}

	// gzip is recognised by content: a gzipped file without .gz loads.
	plainName := writeFile(t, filepath.Join(dir, "other-images-idx3-ubyte"), idxBytes(t, []int{3, 4}, pixels, true))
	ds, err = Load(plainName, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if ds.X.CheckShape(3, 4) != nil || ds.Labels != nil {
		t.Errorf("shape %v labels %v, want [3 4] and no labels", ds.X.Shape, ds.Labels)
	}

	// A labels file with the wrong count.
	writeFile(t, filepath.Join(dir, "other-labels-idx1-ubyte"), idxBytes(t, []int{2}, []byte{1, 2}, false))
	if _, err := Load(plainName, Options{}); err == nil || !strings.Contains(err.Error(), "labels length mismatch") {
		t.Errorf("error %v, want a labels length mismatch", err)
	}
}

func TestIDXDirectory(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, mnist.TrainImagesFile+".gz"), idxBytes(t, []int{2, 1, 2}, []byte{0, 255, 255, 0}, true))
	writeFile(t, filepath.Join(dir, mnist.TrainLabelsFile), idxBytes(t, []int{2}, []byte{3, 4}, false))
	writeFile(t, filepath.Join(dir, mnist.TestImagesFile), idxBytes(t, []int{1, 1, 2}, []byte{51, 51}, false))
	writeFile(t, filepath.Join(dir, mnist.TestLabelsFile+".gz"), idxBytes(t, []int{1}, []byte{9}, true))
	ds, err := Load(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := ds.X.CheckShape(3, 1, 1, 2); err != nil {
		t.Fatal(err)
	}
	if want := []float32{0, 1, 1, 0, 0.2, 0.2}; !slices.Equal(ds.X.Data, want) {
		t.Errorf("values %v, want %v (train first)", ds.X.Data, want)
	}
	if !slices.Equal(ds.Labels, []int32{3, 4, 9}) {
		t.Errorf("labels %v, want [3 4 9]", ds.Labels)
	}

	os.Remove(filepath.Join(dir, mnist.TestLabelsFile+".gz"))
	if _, err := Load(dir, Options{}); err == nil || !strings.Contains(err.Error(), mnist.TestLabelsFile) {
		t.Errorf("missing labels file: error %v, want one naming %s", err, mnist.TestLabelsFile)
	}
	writeFile(t, filepath.Join(dir, mnist.TestLabelsFile), idxBytes(t, []int{1}, []byte{9}, false))
	writeFile(t, filepath.Join(dir, mnist.TestImagesFile), idxBytes(t, []int{1, 2, 1}, []byte{51, 51}, false))
	if _, err := Load(dir, Options{}); err == nil || !strings.Contains(err.Error(), "disagree") {
		t.Errorf("mismatched image dims: error %v", err)
	}
}

// TestFullMNISTFromModuleCache loads all 70,000 images when the GoMNIST
// module is in the local module cache.
func TestFullMNISTFromModuleCache(t *testing.T) {
	if testing.Short() {
		t.Skip("loads 55 MB of pixels")
	}
	dir, err := mnist.ModuleCacheDir()
	if err != nil {
		t.Skip(err)
	}
	ds, err := Load(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := ds.X.CheckShape(70000, 1, 28, 28); err != nil {
		t.Fatal(err)
	}
	if got := classCounts(ds.Labels[:60000]); !slices.Equal(got, mnistTrainCounts) {
		t.Errorf("train class counts %v, want %v", got, mnistTrainCounts)
	}
	if got := classCounts(ds.Labels[60000:]); !slices.Equal(got, mnistTestCounts) {
		t.Errorf("test class counts %v, want %v", got, mnistTestCounts)
	}
}

func BenchmarkLoadMNIST70k(b *testing.B) {
	dir, err := mnist.ModuleCacheDir()
	if err != nil {
		b.Skip(err)
	}
	for b.Loop() {
		if _, err := Load(dir, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

func TestCSV(t *testing.T) {
	path := writeFile(t, tempPath(t, "d.csv"), []byte("id,x1,name,x2,label\n0,1.5,a,2,cat\n1,-3,b,4e1,dog\n2, 0 ,c,7,cat\n"))
	ds, err := loadChecked(t, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	// Default features: every numeric column but the label, "name" skipped.
	if err := ds.X.CheckShape(3, 3); err != nil {
		t.Fatal(err)
	}
	if want := []float32{0, 1.5, 2, 1, -3, 40, 2, 0, 7}; !slices.Equal(ds.X.Data, want) {
		t.Errorf("values %v, want %v", ds.X.Data, want)
	}
	if !slices.Equal(ds.Labels, []int32{0, 1, 0}) || ds.Source != path {
		t.Errorf("labels %v source %q, want [0 1 0] and %q", ds.Labels, ds.Source, path)
	}

	ds, err = loadChecked(t, path, Options{FeatureColumns: []string{"x2", "x1"}, LabelColumn: "id"})
	if err != nil {
		t.Fatal(err)
	}
	if want := []float32{2, 1.5, 40, -3, 7, 0}; !slices.Equal(ds.X.Data, want) || !slices.Equal(ds.Labels, []int32{0, 1, 2}) {
		t.Errorf("values %v labels %v, want %v and [0 1 2]", ds.X.Data, ds.Labels, want)
	}

	noLabel := writeFile(t, tempPath(t, "n.csv"), []byte("\ufeffa,b\n1,2\n3,4\n"))
	ds, err = loadChecked(t, noLabel, Options{SampleShape: []int{2, 1}})
	if err != nil {
		t.Fatal(err)
	}
	if ds.Labels != nil || ds.X.CheckShape(2, 2, 1) != nil {
		t.Errorf("labels %v shape %v, want none and [2 2 1]", ds.Labels, ds.X.Shape)
	}
}

func TestArrowAndParquet(t *testing.T) {
	dir := t.TempDir()
	batch := func(base float32, labels []string) arrow.Record {
		return makeRecord(t,
			column{"label", labels},
			column{"pixels", fixedList{{base, base + 1}, {base + 2, base + 3}}},
			column{"weight", []float64{9, 9}},
		)
	}
	want := []float32{0, 1, 2, 3, 10, 11, 12, 13}
	files := map[string]string{
		"arrow file":   writeArrow(t, filepath.Join(dir, "d.arrow"), false, batch(0, []string{"b", "a"}), batch(10, []string{"a", "c"})),
		"arrow stream": writeArrow(t, filepath.Join(dir, "d.ipc"), true, batch(0, []string{"b", "a"}), batch(10, []string{"a", "c"})),
		"feather":      writeArrow(t, filepath.Join(dir, "d.feather"), false, batch(0, []string{"b", "a"}), batch(10, []string{"a", "c"})),
		"parquet":      writeParquet(t, filepath.Join(dir, "d.parquet"), batch(0, []string{"b", "a"}), batch(10, []string{"a", "c"})),
	}
	for name, path := range files {
		ds, err := loadChecked(t, path, Options{})
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		// The single list column is the feature; "weight" is ignored.
		if ds.X.CheckShape(4, 2) != nil || !slices.Equal(ds.X.Data, want) {
			t.Errorf("%s: shape %v values %v, want [4 2] %v", name, ds.X.Shape, ds.X.Data, want)
		}
		if !slices.Equal(ds.Labels, []int32{0, 1, 1, 2}) {
			t.Errorf("%s: labels %v, want [0 1 1 2] (first appearance)", name, ds.Labels)
		}
	}

	numeric := func() arrow.Record {
		return makeRecord(t,
			column{"a", []uint8{1, 2}},
			column{"b", []float32{0.5, 0.25}},
			column{"c", []int32{-1, 7}},
			column{"label", []int64{4, 5}},
		)
	}
	for _, path := range []string{
		writeArrow(t, filepath.Join(dir, "n.arrow"), false, numeric()),
		writeParquet(t, filepath.Join(dir, "n.parquet"), numeric()),
	} {
		ds, err := loadChecked(t, path, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if want := []float32{1, 0.5, -1, 2, 0.25, 7}; !slices.Equal(ds.X.Data, want) || !slices.Equal(ds.Labels, []int32{4, 5}) {
			t.Errorf("%s: values %v labels %v", path, ds.X.Data, ds.Labels)
		}
	}

	lists := writeParquet(t, filepath.Join(dir, "l.parquet"), makeRecord(t,
		column{"v", [][]float64{{1, 2, 3}, {4, 5, 6}}},
		column{"cls", []float64{1, 0}},
	))
	ds, err := loadChecked(t, lists, Options{LabelColumn: "cls", SampleShape: []int{3}})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ds.X.Data, []float32{1, 2, 3, 4, 5, 6}) || !slices.Equal(ds.Labels, []int32{1, 0}) {
		t.Errorf("list<float64>: values %v labels %v", ds.X.Data, ds.Labels)
	}
}

func TestFormatDetection(t *testing.T) {
	tests := map[string]string{
		"a.csv": FormatCSV, "A.CSV": FormatCSV, "a.arrow": FormatArrow, "a.ipc": FormatArrow,
		"a.feather": FormatArrow, "a.parquet": FormatParquet, "a.idx": FormatIDX,
		"t10k-images-idx3-ubyte.gz": FormatIDX, "train-images-idx3-ubyte": FormatIDX,
	}
	for name, want := range tests {
		if got, err := detectFormat(name, false, ""); got != want || err != nil {
			t.Errorf("detectFormat(%q) = %q, %v; want %q", name, got, err, want)
		}
	}
	if got, _ := detectFormat("whatever", true, FormatAuto); got != FormatIDX {
		t.Errorf("directory: format %q, want idx", got)
	}
	if _, err := detectFormat("data.txt", false, ""); err == nil {
		t.Error("data.txt: want an error")
	}
	// Options.Format overrides the name.
	path := writeFile(t, tempPath(t, "data.txt"), []byte("x\n1\n2\n"))
	ds, err := loadChecked(t, path, Options{Format: FormatCSV})
	if err != nil {
		t.Fatal(err)
	}
	if ds.X.CheckShape(2, 1) != nil {
		t.Errorf("shape %v, want [2 1]", ds.X.Shape)
	}
}

func TestScale(t *testing.T) {
	path := writeFile(t, tempPath(t, "s.csv"), []byte("a,b\n1,5\n2,5\n3,5\n4,5\n"))
	// Hand-computed: a = 1..4 has min 1, max 4, mean 2.5 and population
	// standard deviation √1.25; b is constant and maps to 0.
	s := math.Sqrt(1.25)
	tests := map[string][]float64{
		ScaleMinMax:   {0, 0, 1.0 / 3, 0, 2.0 / 3, 0, 1, 0},
		ScaleStandard: {-1.5 / s, 0, -0.5 / s, 0, 0.5 / s, 0, 1.5 / s, 0},
		ScaleNone:     {1, 5, 2, 5, 3, 5, 4, 5},
	}
	for scale, want := range tests {
		ds, err := loadChecked(t, path, Options{Scale: scale})
		if err != nil {
			t.Fatal(err)
		}
		for i, w := range want {
			if math.Abs(float64(ds.X.Data[i])-w) > 1e-6 {
				t.Errorf("%s: value %d = %v, want %v (tolerance 1e-6)", scale, i, ds.X.Data[i], w)
			}
		}
	}
	// Scaling applies to idx data too: standardised pixel columns have
	// zero mean.
	ds, err := Load("", Options{Scale: ScaleStandard})
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for r := range ds.X.Rows() {
		sum += float64(ds.X.Row(r)[14*28+14]) // the centre pixel
	}
	if mean := sum / float64(ds.X.Rows()); math.Abs(mean) > 1e-4 {
		t.Errorf("standardised centre pixel mean %v, want 0 (tolerance 1e-4)", mean)
	}
}

// TestScalerFitInBatches checks that statistics merged over batches equal
// those of one batch (to 1e-12 relative), the two-pass formula, and that
// Apply refuses samples of another width.
func TestScalerFitInBatches(t *testing.T) {
	x := sdk.NewTensor(7, 2)
	for i := range x.Data {
		x.Data[i] = float32(i*i%11) - 3.5
	}
	for _, kind := range []string{ScaleStandard, ScaleMinMax} {
		whole, _ := NewScalerFit(kind)
		if err := whole.Add(x); err != nil {
			t.Fatal(err)
		}
		parts, _ := NewScalerFit(kind)
		for _, r := range [][2]int{{0, 3}, {3, 4}, {4, 7}} {
			if err := parts.Add(sdk.Tensor{Shape: []int{r[1] - r[0], 2}, Data: x.Data[r[0]*2 : r[1]*2]}); err != nil {
				t.Fatal(err)
			}
		}
		a, err := whole.Scaler()
		if err != nil {
			t.Fatal(err)
		}
		b, _ := parts.Scaler()
		for j := range a.Shift {
			if math.Abs(a.Shift[j]-b.Shift[j]) > 1e-12*math.Abs(a.Shift[j]) || math.Abs(a.Mul[j]-b.Mul[j]) > 1e-12*math.Abs(a.Mul[j]) {
				t.Errorf("%s feature %d: whole %v %v, in batches %v %v", kind, j, a.Shift[j], a.Mul[j], b.Shift[j], b.Mul[j])
			}
		}
		if err := a.Apply(sdk.NewTensor(1, 3)); err == nil {
			t.Errorf("%s: Apply took samples of another width", kind)
		}
	}
	if _, err := NewScalerFit("log"); err == nil {
		t.Error("an unknown kind was accepted")
	}
}
