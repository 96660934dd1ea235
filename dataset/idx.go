package dataset

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/deepclust/deepclust/internal/mnist"
	"github.com/deepclust/deepclust/sdk"
)

// pixelScale maps a byte to its value in [0, 1].
var pixelScale = func() (t [256]float32) {
	for i := range t {
		t[i] = float32(i) / 255
	}
	return t
}()

// loadEmbedded returns the MNIST test set carried in the binary.
func loadEmbedded() (*Dataset, error) {
	images, err := mnist.EmbeddedImages()
	if err != nil {
		return nil, err
	}
	labels, err := mnist.EmbeddedLabels()
	if err != nil {
		return nil, err
	}
	return assembleIDX(mnist.EmbeddedName, []mnist.IDX{images}, []mnist.IDX{labels}, []string{mnist.TestLabelsFile})
}

// loadIDXFile reads one idx images file and, when it exists, the labels
// file beside it.
func loadIDXFile(path string) (*Dataset, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	// Not ReadIDXFile: Load's error already names this file.
	images, err := mnist.ReadIDX(f)
	if err != nil {
		return nil, err
	}
	labelsPath, ok := labelsBeside(path)
	if !ok {
		return assembleIDX(path, []mnist.IDX{images}, nil, nil)
	}
	labels, err := mnist.ReadIDXFile(labelsPath)
	if err != nil {
		return nil, err
	}
	return assembleIDX(path, []mnist.IDX{images}, []mnist.IDX{labels}, []string{labelsPath})
}

// labelsBeside returns the labels file that pairs with an images file
// (…-images-idx3-ubyte[.gz] ↔ …-labels-idx1-ubyte[.gz]), if it exists.
func labelsBeside(imagesPath string) (string, bool) {
	dir, base := filepath.Split(imagesPath)
	base = strings.TrimSuffix(base, ".gz")
	if !strings.Contains(base, "images-idx3") {
		return "", false
	}
	p, err := mnist.FindFile(dir, strings.Replace(base, "images-idx3", "labels-idx1", 1))
	return p, err == nil
}

// loadIDXDir reads the four standard MNIST files of dir: train, then t10k.
func loadIDXDir(dir string) (*Dataset, error) {
	names := []string{mnist.TrainImagesFile, mnist.TrainLabelsFile, mnist.TestImagesFile, mnist.TestLabelsFile}
	files := make([]mnist.IDX, len(names))
	paths := make([]string, len(names))
	for i, name := range names {
		p, err := mnist.FindFile(dir, name)
		if err != nil {
			return nil, err
		}
		if files[i], err = mnist.ReadIDXFile(p); err != nil {
			return nil, err
		}
		paths[i] = p
	}
	return assembleIDX(dir, []mnist.IDX{files[0], files[2]}, []mnist.IDX{files[1], files[3]}, []string{paths[1], paths[3]})
}

// assembleIDX concatenates image files (same per-image dims) into one
// tensor scaled to [0, 1], with the labels files when given; labelNames
// names each labels file in errors.
func assembleIDX(source string, images, labels []mnist.IDX, labelNames []string) (*Dataset, error) {
	sample := images[0].Dims[1:]
	if len(sample) == 0 {
		return nil, fmt.Errorf("idx dims %v hold no per-sample dimension (a labels file?)", images[0].Dims)
	}
	n := 0
	for _, m := range images {
		if !slices.Equal(m.Dims[1:], sample) {
			return nil, fmt.Errorf("idx image files disagree on the sample dims: %v and %v", sample, m.Dims[1:])
		}
		n += m.Dims[0]
	}
	shape := append([]int{n}, sample...)
	if len(sample) == 2 {
		shape = []int{n, 1, sample[0], sample[1]}
	}
	x := sdk.NewTensor(shape...)
	at := 0
	for _, m := range images {
		for i, b := range m.Data {
			x.Data[at+i] = pixelScale[b]
		}
		at += len(m.Data)
	}
	ds := &Dataset{X: x, Source: source}
	if labels == nil {
		return ds, nil
	}
	ds.Labels = make([]int32, 0, n)
	for i, m := range labels {
		if len(m.Dims) != 1 || m.Dims[0] != images[i].Dims[0] {
			return nil, fmt.Errorf("labels length mismatch: %s has dims %v for %d images", labelNames[i], m.Dims, images[i].Dims[0])
		}
		for _, b := range m.Data {
			ds.Labels = append(ds.Labels, int32(b))
		}
	}
	return ds, nil
}
