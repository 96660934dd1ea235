package mutate

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/ipc"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/apache/arrow/go/v15/parquet"
	"github.com/apache/arrow/go/v15/parquet/compress"
	"github.com/apache/arrow/go/v15/parquet/pqarrow"

	"github.com/deepclust/deepclust/internal/tableio"
)

// timeout bounds one deepclust process: longer is a hang.
const timeout = 20 * time.Second

// tinyConfig trains in a fraction of a second: identity encoder, k-means.
const tinyConfig = `seed: 1
progress: "off"
cache:
  enabled: false
encoder:
  plugin: identity
clusterer:
  plugin: kmeans
  config:
    k: 3
    n_init: 1
losses: []
train:
  batch_size: 32
  pretrain_epochs: 0
  epochs: 0
`

// rows and the three well-separated groups of the valid inputs.
const rows = 60

// sample returns feature j of row i: group i%3 around 5·group.
func sample(rng *rand.Rand, i int) float64 { return float64(5*(i%3)) + rng.NormFloat64() }

// base is one valid input and the name its mutations are written under.
type base struct {
	name string
	data []byte
}

func validCSV() []base {
	rng := rand.New(rand.NewPCG(1, 1))
	var b strings.Builder
	b.WriteString("a,b,c,d,label\n")
	for i := range rows {
		for range 4 {
			fmt.Fprintf(&b, "%.3f,", sample(rng, i))
		}
		fmt.Fprintf(&b, "%d\n", i%3)
	}
	return []base{{"data.csv", []byte(b.String())}}
}

func record() arrow.Record {
	rng := rand.New(rand.NewPCG(2, 2))
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "a", Type: arrow.PrimitiveTypes.Float64}, {Name: "b", Type: arrow.PrimitiveTypes.Float64},
		{Name: "c", Type: arrow.PrimitiveTypes.Float64}, {Name: "d", Type: arrow.PrimitiveTypes.Float32},
		{Name: "label", Type: arrow.PrimitiveTypes.Int64},
	}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	for i := range rows {
		for j := range 3 {
			b.Field(j).(*array.Float64Builder).Append(sample(rng, i))
		}
		b.Field(3).(*array.Float32Builder).Append(float32(sample(rng, i)))
		b.Field(4).(*array.Int64Builder).Append(int64(i % 3))
	}
	return b.NewRecord()
}

// validParquet gives a zstd file with page checksums (as deepclust
// writes) and a snappy one without (as many writers do), in two row groups.
func validParquet(t *testing.T) []base {
	rec := record()
	defer rec.Release()
	var out []base
	for _, v := range []struct {
		name  string
		codec compress.Compression
		crc   bool
	}{{"crc.parquet", compress.Codecs.Zstd, true}, {"plain.parquet", compress.Codecs.Snappy, false}} {
		var buf bytes.Buffer
		var sink = tableio.ChecksumWriter(&buf)
		if !v.crc {
			sink = nopCloser{&buf}
		}
		w, err := pqarrow.NewFileWriter(rec.Schema(), sink, parquet.NewWriterProperties(parquet.WithCompression(v.codec), parquet.WithMaxRowGroupLength(rows/2)), pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema()))
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Write(rec); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		out = append(out, base{v.name, buf.Bytes()})
	}
	return out
}

type nopCloser struct{ *bytes.Buffer }

func (nopCloser) Close() error { return nil }

// validArrow gives an IPC file and an IPC stream of two record batches.
func validArrow(t *testing.T, dir string) []base {
	rec := record()
	defer rec.Release()
	halves := []arrow.Record{rec.NewSlice(0, rows/2), rec.NewSlice(rows/2, rows)}
	defer halves[0].Release()
	defer halves[1].Release()
	p := filepath.Join(dir, "valid.arrow")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	fw, err := ipc.NewFileWriter(f, ipc.WithSchema(rec.Schema()))
	if err != nil {
		t.Fatal(err)
	}
	var stream bytes.Buffer
	sw := ipc.NewWriter(&stream, ipc.WithSchema(rec.Schema()))
	for _, h := range halves {
		if err := fw.Write(h); err != nil {
			t.Fatal(err)
		}
		if err := sw.Write(h); err != nil {
			t.Fatal(err)
		}
	}
	if err := fw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := sw.Close(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	file, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return []base{{"file.arrow", file}, {"stream.arrows", stream.Bytes()}}
}

// validIDX gives a 60×4×4 images file, raw and gzipped; the labels file
// written beside each mutation is not mutated.
func validIDX(t *testing.T) ([]base, []byte) {
	rng := rand.New(rand.NewPCG(3, 3))
	img := binary.BigEndian.AppendUint32(nil, 0x803)
	for _, d := range []uint32{rows, 4, 4} {
		img = binary.BigEndian.AppendUint32(img, d)
	}
	lab := binary.BigEndian.AppendUint32(nil, 0x801)
	lab = binary.BigEndian.AppendUint32(lab, rows)
	for i := range rows {
		for j := range 16 {
			v := float64(60*(i%3)) + 20*rng.NormFloat64()
			if j%3 == i%3 {
				v += 40
			}
			img = append(img, byte(max(0, min(255, v))))
		}
		lab = append(lab, byte(i%3))
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	if _, err := zw.Write(img); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return []base{{"m-images-idx3-ubyte", img}, {"z-images-idx3-ubyte.gz", gz.Bytes()}}, lab
}

// mutate applies one to three random edits to a copy of b: byte flips,
// interesting bytes, huge little- or big-endian integers (lengths and
// counts), truncation, insertion, deletion and duplication.
func mutate(rng *rand.Rand, b []byte) []byte {
	b = bytes.Clone(b)
	for range 1 + rng.IntN(3) {
		if len(b) == 0 {
			return append(b, byte(rng.IntN(256)))
		}
		at := rng.IntN(len(b))
		switch rng.IntN(8) {
		case 0, 1:
			for range 1 + rng.IntN(12) {
				b[rng.IntN(len(b))] ^= byte(1 + rng.IntN(255))
			}
		case 2:
			b[at] = []byte{0, 0xff, 0x7f, 0x80, 0x01, 0x10}[rng.IntN(6)]
		case 3:
			if at+8 <= len(b) {
				v := []uint64{1 << 31, 1<<32 - 1, 1 << 40, 146e9, 1<<63 - 1, 1 << 63}[rng.IntN(6)]
				if rng.IntN(2) == 0 {
					binary.LittleEndian.PutUint64(b[at:], v)
				} else {
					binary.BigEndian.PutUint32(b[at:], uint32(v>>rng.IntN(33)))
				}
			}
		case 4:
			b = b[:at]
		case 5:
			ins := make([]byte, 1+rng.IntN(16))
			for i := range ins {
				ins[i] = byte(rng.IntN(256))
			}
			b = append(b[:at], append(ins, b[at:]...)...)
		case 6:
			end := min(len(b), at+1+rng.IntN(32))
			b = append(b[:at], b[end:]...)
		case 7:
			end := min(len(b), at+1+rng.IntN(32))
			b = append(b[:end], append(bytes.Clone(b[at:end]), b[end:]...)...)
		}
	}
	return b
}

// outcome is what one deepclust process did.
type outcome int

const (
	ok outcome = iota
	refused
	panicked
	fatal
	hung
	badExit
	staged
	nOutcomes
)

var outcomeNames = [nOutcomes]string{"ok", "error", "panic", "fatal", "hang", "bad-exit", "staging-left"}

// tally counts outcomes, and keeps an example of each failure.
type tally struct {
	mu       sync.Mutex
	counts   map[string]*[nOutcomes]int
	multi    map[string]int // refusals whose stderr had more than one line
	examples []string
	refusals map[string][]string // a few refusal messages per key
}

func (t *tally) add(key string, o outcome, multiline bool, example string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.counts[key] == nil {
		t.counts[key] = new([nOutcomes]int)
	}
	t.counts[key][o]++
	if multiline {
		t.multi[key]++
	}
	if o >= panicked && len(t.examples) < 20 {
		t.examples = append(t.examples, example)
	}
	if o == refused && len(t.refusals[key]) < 3 {
		t.refusals[key] = append(t.refusals[key], example)
	}
}

// childEnv is the harness's environment without its own DEEPCLUST_*
// variables, which deepclust would read as config keys.
var childEnv = func() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "DEEPCLUST_") {
			env = append(env, kv)
		}
	}
	return append(env, "GOTRACEBACK=all")
}()

// run runs deepclust with args and classifies the result; a staging
// directory left in parent counts against it.
func run(bin, parent string, args ...string) (outcome, bool, string) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.Env = childEnv
	err := cmd.Run()
	msg := stderr.String()
	first, _, _ := strings.Cut(strings.TrimSpace(msg), "\n")
	example := fmt.Sprintf("%s %s: %s", args[0], filepath.Base(args[len(args)-1]), first)
	for i, a := range args {
		if a == "--data" && i+1 < len(args) {
			example = fmt.Sprintf("%s %s: %s", args[0], filepath.Base(args[i+1]), first)
		}
	}
	multiline := strings.Count(strings.TrimSpace(msg), "\n") > 0
	switch {
	case ctx.Err() != nil:
		return hung, multiline, example
	case strings.Contains(msg, "fatal error:"):
		return fatal, multiline, example
	case strings.Contains(msg, "panic:") || strings.Contains(msg, "goroutine "):
		return panicked, multiline, example
	}
	var exit *exec.ExitError
	if err != nil && (!errors.As(err, &exit) || exit.ExitCode() != 1) {
		return badExit, multiline, fmt.Sprintf("%s (%v)", example, err)
	}
	if left, _ := filepath.Glob(filepath.Join(parent, ".*.tmp-*")); len(left) > 0 {
		for _, l := range left {
			os.RemoveAll(l)
		}
		return staged, multiline, fmt.Sprintf("%s: left %s", example, filepath.Base(left[0]))
	}
	if err != nil {
		return refused, multiline, example
	}
	return ok, multiline, example
}

func TestMutations(t *testing.T) {
	n, err := strconv.Atoi(os.Getenv("DEEPCLUST_MUTATIONS"))
	if err != nil || n <= 0 {
		t.Skip("set DEEPCLUST_MUTATIONS to the number of mutations per format to run the harness")
	}
	jobs := 2
	if j, err := strconv.Atoi(os.Getenv("DEEPCLUST_MUTATION_JOBS")); err == nil && j > 0 {
		jobs = j
	}
	dir := t.TempDir()
	bin := os.Getenv("DEEPCLUST_BIN")
	if bin == "" {
		bin = filepath.Join(dir, "deepclust")
		build := exec.Command("go", "build", "-o", bin, "github.com/deepclust/deepclust/cmd/deepclust")
		if out, err := build.CombinedOutput(); err != nil {
			t.Fatalf("building deepclust: %v\n%s", err, out)
		}
	}
	cfg := filepath.Join(dir, "tiny.yaml")
	if err := os.WriteFile(cfg, []byte(tinyConfig), 0o644); err != nil {
		t.Fatal(err)
	}
	idx, labels := validIDX(t)
	formats := []struct {
		name  string
		bases []base
	}{{"csv", validCSV()}, {"parquet", validParquet(t)}, {"arrow", validArrow(t, dir)}, {"idx", idx}}

	// A model per valid file, for predict.
	models := map[string]string{}
	for _, f := range formats {
		for _, b := range f.bases {
			d := filepath.Join(dir, "valid", b.name+".d")
			if err := os.MkdirAll(d, 0o755); err != nil {
				t.Fatal(err)
			}
			p := filepath.Join(d, b.name)
			writeInput(t, p, b.data, labels)
			m := filepath.Join(d, "model")
			if o, _, ex := run(bin, d, "run", "--config", cfg, "--data", p, "--out", m, "--no-report"); o != ok {
				t.Fatalf("training on the valid %s: %s", b.name, ex)
			}
			models[b.name] = m
		}
	}

	tl := &tally{counts: map[string]*[nOutcomes]int{}, multi: map[string]int{}, refusals: map[string][]string{}}
	type job struct {
		format string
		b      base
		i      int
	}
	work := make(chan job)
	var wg sync.WaitGroup
	for w := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			wdir := filepath.Join(dir, fmt.Sprintf("w%d", w))
			for j := range work {
				rng := rand.New(rand.NewPCG(uint64(j.i), uint64(len(j.b.name))))
				d := filepath.Join(wdir, strconv.Itoa(j.i))
				if err := os.MkdirAll(d, 0o755); err != nil {
					t.Error(err)
					continue
				}
				p := filepath.Join(d, j.b.name)
				writeInput(t, p, mutate(rng, j.b.data), labels)
				args := []string{"run", "--config", cfg, "--data", p, "--out", filepath.Join(d, "run"), "--no-report"}
				if (j.format == "parquet" || j.format == "arrow") && j.i%2 == 1 {
					args = append(args, "--set", "data.stream=true")
				}
				o, multi, ex := run(bin, d, args...)
				tl.add(j.format+" run", o, multi && o == refused, ex)
				keep(t, o, p)
				o, multi, ex = run(bin, d, "predict", "--model", models[j.b.name], "--data", p, "--out", filepath.Join(d, "pred"), "--no-report")
				tl.add(j.format+" predict", o, multi && o == refused, ex)
				keep(t, o, p)
				os.RemoveAll(d)
			}
		}()
	}
	start := time.Now()
	for _, f := range formats {
		for i := range n {
			work <- job{f.name, f.bases[i%len(f.bases)], i}
		}
	}
	close(work)
	wg.Wait()

	var report strings.Builder
	fmt.Fprintf(&report, "%d mutations per format, %d jobs, %s, %s/%s, %.0f s\n", n, jobs, runtime.Version(), runtime.GOOS, runtime.GOARCH, time.Since(start).Seconds())
	fmt.Fprintf(&report, "%-16s", "")
	for _, name := range outcomeNames {
		fmt.Fprintf(&report, " %12s", name)
	}
	fmt.Fprintf(&report, " %12s\n", "multi-line")
	failed := false
	for _, f := range formats {
		for _, cmd := range []string{"run", "predict"} {
			key := f.name + " " + cmd
			c := tl.counts[key]
			fmt.Fprintf(&report, "%-16s", key)
			for o, v := range c {
				fmt.Fprintf(&report, " %12d", v)
				if outcome(o) >= panicked && v > 0 {
					failed = true
				}
			}
			fmt.Fprintf(&report, " %12d\n", tl.multi[key])
		}
	}
	t.Log("\n" + report.String())
	if testing.Verbose() {
		for _, f := range formats {
			for _, cmd := range []string{"run", "predict"} {
				for _, r := range tl.refusals[f.name+" "+cmd] {
					t.Logf("%s %s refused: %s", f.name, cmd, r)
				}
			}
		}
	}
	if p := os.Getenv("DEEPCLUST_MUTATION_REPORT"); p != "" {
		if err := os.WriteFile(p, []byte(report.String()), 0o644); err != nil {
			t.Error(err)
		}
	}
	if failed {
		t.Errorf("panics, fatal errors, hangs or staging directories:\n%s", strings.Join(tl.examples, "\n"))
	}
}

// keep copies a failing input into DEEPCLUST_MUTATION_KEEP, when set.
func keep(t *testing.T, o outcome, p string) {
	dir := os.Getenv("DEEPCLUST_MUTATION_KEEP")
	if dir == "" || o < panicked {
		return
	}
	data, err := os.ReadFile(p)
	if err == nil {
		err = os.MkdirAll(dir, 0o755)
	}
	if err == nil {
		dst := filepath.Join(dir, fmt.Sprintf("%s-%s-%s", outcomeNames[o], filepath.Base(filepath.Dir(p)), filepath.Base(p)))
		err = os.WriteFile(dst, data, 0o644)
	}
	if err != nil {
		t.Errorf("keeping %s: %v", p, err)
	}
}

// writeInput writes a (mutated) input, with the unmutated labels file
// beside an idx images file.
func writeInput(t *testing.T, p string, data, labels []byte) {
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if base := filepath.Base(p); strings.Contains(base, "images-idx3") {
		lp := filepath.Join(filepath.Dir(p), strings.Replace(strings.TrimSuffix(base, ".gz"), "images-idx3", "labels-idx1", 1))
		if err := os.WriteFile(lp, labels, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
