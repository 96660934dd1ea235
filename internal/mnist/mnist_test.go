package mnist

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// encodeIDX builds an unsigned-byte idx file with the given dims and data.
func encodeIDX(dims []int, data []byte) []byte {
	var b bytes.Buffer
	b.Write([]byte{0, 0, typeUnsignedByte, byte(len(dims))})
	for _, d := range dims {
		binary.Write(&b, binary.BigEndian, uint32(d))
	}
	b.Write(data)
	return b.Bytes()
}

func gzipBytes(t *testing.T, raw []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	if _, err := zw.Write(raw); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestEmbeddedTestSet(t *testing.T) {
	images, err := EmbeddedImages()
	if err != nil {
		t.Fatal(err)
	}
	if got := images.Dims; len(got) != 3 || got[0] != 10000 || got[1] != 28 || got[2] != 28 {
		t.Fatalf("image dims %v, want [10000 28 28]", got)
	}
	labels, err := EmbeddedLabels()
	if err != nil {
		t.Fatal(err)
	}
	if len(labels.Dims) != 1 || labels.Dims[0] != 10000 {
		t.Fatalf("label dims %v, want [10000]", labels.Dims)
	}
	// Class counts of the MNIST test set, as listed by
	// tensorflow_datasets / torchvision and in LeCun's database description.
	want := [10]int{980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009}
	var got [10]int
	for i, l := range labels.Data {
		if l > 9 {
			t.Fatalf("label %d is %d", i, l)
		}
		got[l]++
	}
	if got != want {
		t.Errorf("class counts %v, want %v", got, want)
	}
	// The first ten test labels, as printed by every MNIST tutorial.
	if first := labels.Data[:10]; !bytes.Equal(first, []byte{7, 2, 1, 0, 4, 1, 4, 9, 5, 9}) {
		t.Errorf("first labels %v, want [7 2 1 0 4 1 4 9 5 9]", first)
	}
	// Mean pixel intensity of the test set is 0.1325 (scaled to [0,1]),
	// the normalisation constant commonly quoted beside the training set's
	// 0.1307; tolerance 5e-5 covers the rounding of the quoted value.
	var sum float64
	for _, p := range images.Data {
		sum += float64(p)
	}
	if mean := sum / float64(len(images.Data)) / 255; mean < 0.13245 || mean > 0.13255 {
		t.Errorf("mean pixel %.5f, want 0.1325", mean)
	}
}

func TestReadIDXPlainAndGzipAgree(t *testing.T) {
	raw := encodeIDX([]int{2, 3}, []byte{1, 2, 3, 4, 5, 255})
	for name, in := range map[string][]byte{"plain": raw, "gzip": gzipBytes(t, raw)} {
		m, err := ReadIDX(bytes.NewReader(in))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(m.Dims) != 2 || m.Dims[0] != 2 || m.Dims[1] != 3 || !bytes.Equal(m.Data, raw[12:]) {
			t.Errorf("%s: got dims %v data %v", name, m.Dims, m.Data)
		}
	}
}

func TestReadIDXErrors(t *testing.T) {
	good := encodeIDX([]int{2, 2}, []byte{1, 2, 3, 4})
	corruptGz := gzipBytes(t, good)
	corruptGz[len(corruptGz)-6] ^= 0xff // the CRC-32 in the gzip trailer
	tests := []struct {
		name string
		in   []byte
		want string
	}{
		{"empty", nil, "truncated idx header"},
		{"short header", good[:6], "truncated idx header"},
		{"wrong magic", append([]byte{0x50, 0x4b, 3, 4}, good[4:]...), "wrong magic number"},
		{"zero dims", []byte{0, 0, 8, 0}, "wrong magic number"},
		{"float type", append([]byte{0, 0, 0x0d, 2}, good[4:]...), "unsupported idx element type 0x0d"},
		{"truncated data", good[:len(good)-1], "truncated idx data"},
		{"truncated gzip", gzipBytes(t, good)[:20], "truncated idx"},
		{"trailing bytes", append(append([]byte(nil), good...), 9), "trailing bytes"},
		{"corrupt gzip", corruptGz, "corrupt data"},
		{"huge dims", encodeIDX([]int{1 << 20, 1 << 20, 1 << 20}, nil), "exceed"},
	}
	for _, tc := range tests {
		_, err := ReadIDX(bytes.NewReader(tc.in))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one containing %q", tc.name, err, tc.want)
		}
	}
}

func TestReadIDXFileNamesPath(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bad-idx3-ubyte")
	if err := os.WriteFile(path, []byte("hello world"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := ReadIDXFile(path)
	if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "wrong magic") {
		t.Errorf("error %v, want one naming %s and the wrong magic", err, path)
	}
}

func TestModuleCacheDir(t *testing.T) {
	cache := t.TempDir()
	t.Setenv("GOMODCACHE", cache)
	if _, err := ModuleCacheDir(); err == nil {
		t.Fatal("empty cache: want an error")
	}
	old := filepath.Join(cache, "github.com", "petar", "!go!m!n!i!s!t@v0.0.0-2014", "data")
	newer := filepath.Join(cache, "github.com", "petar", "!go!m!n!i!s!t@v0.0.0-2015", "data")
	for _, dir := range []string{old, newer} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range []string{TrainImagesFile, TrainLabelsFile, TestImagesFile + ".gz", TestLabelsFile} {
		for _, dir := range []string{old, newer} {
			if err := os.WriteFile(filepath.Join(dir, name), nil, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := os.Remove(filepath.Join(newer, TrainLabelsFile)); err != nil {
		t.Fatal(err)
	}
	got, err := ModuleCacheDir()
	if err != nil || got != old {
		t.Errorf("ModuleCacheDir() = %q, %v; want the complete %q", got, err, old)
	}

	t.Setenv("GOMODCACHE", "")
	t.Setenv("GOPATH", cache+string(filepath.ListSeparator)+"/elsewhere")
	if _, err := ModuleCacheDir(); err == nil || !strings.Contains(err.Error(), filepath.Join(cache, "pkg", "mod")) {
		t.Errorf("GOPATH fallback: error %v, want one naming %s", err, filepath.Join(cache, "pkg", "mod"))
	}
}
