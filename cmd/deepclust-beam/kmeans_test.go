package main

import (
	"context"
	"io"
	"math"
	"path/filepath"
	"reflect"
	"slices"
	"testing"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"

	"github.com/deepclust/deepclust/clusterers/kmeans"
	"github.com/deepclust/deepclust/sdk"
)

// kmeansLake is the lake of the k-means tests: features that are
// multiples of 2⁻⁶ below 8 in magnitude, so that every float64 sum of
// them is exact whatever the order (which is what lets a distributed sum
// equal a sequential one bit for bit).
var kmeansLake = lakeSpec{files: 4, groups: 3, groupRows: 40, dim: 6, seed: 11, quantum: 1.0 / 64}

func init() {
	beam.RegisterType(reflect.TypeOf(stepSinkFn{}))
}

// stepSinkFn writes a step's statistics as JSON (float64 values
// round-trip exactly).
type stepSinkFn struct{ Path string }

func (f *stepSinkFn) ProcessElement(ctx context.Context, s StepStats) error {
	return writeJSON(ctx, f.Path, s)
}

// features returns the rows' features as one N × d tensor, in input order.
func features(rows []lakeRow) sdk.Tensor {
	d := len(rows[0].x)
	z := sdk.NewTensor(len(rows), d)
	for i, r := range rows {
		copy(z.Data[i*d:], r.x)
	}
	return z
}

// TestLloydStepSumsExact runs one distributed Lloyd step (shards →
// blocks → nearest centroid → global combine) on Prism and checks that
// its per-cluster sums and counts equal a sequential pass over the rows
// exactly, and the inertia to 1e-12 (relative): float64 sums of squared
// distances are not exact, so their order shows there.
func TestLloydStepSumsExact(t *testing.T) {
	dir := t.TempDir()
	lake := filepath.Join(dir, "lake")
	rows := writeLake(t, lake, kmeansLake)
	ctx := context.Background()
	in, err := listInput(ctx, lake, "")
	if err != nil {
		t.Fatal(err)
	}
	const k = 3
	d := kmeansLake.dim
	init := make([]float64, k*d)
	for j := range k {
		for t := range d {
			init[j*d+t] = float64(rows[j*50].x[t])
		}
	}
	out := filepath.Join(dir, "step.json")
	p, s := beam.NewPipelineWithRoot()
	err = build(func() {
		blocks := beam.ParDo(s, &embedFn{Spec: columnSpec{Keys: in.Keys}, BatchRows: 17}, buildShards(s, in))
		cents := beam.Create(s, Centroids{K: k, D: d, C: init})
		stats := beam.ParDo(s, &stepFn{}, blocks, beam.SideInput{Input: cents})
		total := beam.Combine(s, &stepCombineFn{}, stats)
		beam.ParDo0(s, &stepSinkFn{Path: out}, total)
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := runPipeline(ctx, "prism", p); err != nil {
		t.Fatal(err)
	}
	var got StepStats
	readJSON(t, out, &got)

	sums, counts := make([]float64, k*d), make([]int64, k)
	var inertia float64
	for _, r := range rows {
		best, bestDist := 0, math.Inf(1)
		for j := range k {
			var s float64
			for t, v := range r.x {
				u := float64(v) - init[j*d+t]
				s += u * u
			}
			if s < bestDist {
				best, bestDist = j, s
			}
		}
		for t, v := range r.x {
			sums[best*d+t] += float64(v)
		}
		counts[best]++
		inertia += bestDist
	}
	if !slices.Equal(got.Sums, sums) || !slices.Equal(got.Counts, counts) {
		t.Fatalf("distributed step: sums %v counts %v\nsequential:       sums %v counts %v", got.Sums, got.Counts, sums, counts)
	}
	if math.Abs(got.Inertia-inertia) > 1e-12*inertia {
		t.Fatalf("inertia %v, sequential %v", got.Inertia, inertia)
	}
	for _, c := range counts {
		if c == 0 {
			t.Fatal("an empty cluster: the test data do not exercise every cluster")
		}
	}
}

// TestLloydChainMatchesKMeans runs the kmeans command on Prism (k-means++
// on a sample that holds every row, then chained Lloyd steps with the
// centroids as side inputs) and checks the centroids bit for bit against
// clusterers/kmeans.Cluster with one run of the same number of rounds and
// the same seed; then DEC's soft cluster frequencies at those centroids
// against a sequential computation (to 1e-12, relative).
func TestLloydChainMatchesKMeans(t *testing.T) {
	dir := t.TempDir()
	lake := filepath.Join(dir, "lake")
	rows := writeLake(t, lake, kmeansLake)
	z := features(rows)
	const k, seed = 4, 5
	var after [][]float64
	for _, iters := range []int{1, 4} {
		ref, err := kmeans.Cluster(z, k, 1, iters, 0, seed)
		if err != nil {
			t.Fatal(err)
		}
		out := filepath.Join(dir, "out", string(rune('0'+iters)))
		opt := KMeansOptions{Data: lake, K: k, Iters: iters, Sample: 100000, Seed: seed, DEC: true, Alpha: 1, BatchRows: 23, Out: out, Runner: "prism"}
		if err := KMeans(context.Background(), opt, io.Discard); err != nil {
			t.Fatal(err)
		}
		var got KMeansResult
		readJSON(t, filepath.Join(out, CentroidsFile), &got)
		if !slices.Equal(got.Centroids, ref.Centroids) {
			t.Fatalf("%d Lloyd steps: centroids\n%v\nkmeans.Cluster\n%v", iters, got.Centroids, ref.Centroids)
		}
		after = append(after, got.Centroids)
		if got.Rows != int64(len(rows)) || got.Steps == 0 {
			t.Fatalf("%d rows and %d steps, want %d rows", got.Rows, got.Steps, len(rows))
		}
		f := decFrequenciesOf(z, ref.Centroids, k, 1)
		for j := range f {
			if math.Abs(got.Frequencies[j]-f[j]) > 1e-12*float64(len(rows)) {
				t.Fatalf("DEC frequencies %v, sequential %v", got.Frequencies, f)
			}
		}
	}
	if slices.Equal(after[0], after[1]) {
		t.Fatal("4 Lloyd steps end where 1 does: the data do not exercise the chain")
	}
}

// decFrequenciesOf is f_j = Σ_i q_ij with DEC's Student-t q (clusterers/dec
// package documentation), computed directly.
func decFrequenciesOf(z sdk.Tensor, c []float64, k int, alpha float64) []float64 {
	d := z.Cols()
	f := make([]float64, k)
	for i := range z.Rows() {
		q := make([]float64, k)
		var norm float64
		for j := range k {
			var s float64
			for t, v := range z.Row(i) {
				u := float64(v) - c[j*d+t]
				s += u * u
			}
			q[j] = math.Pow(1+s/alpha, -(alpha+1)/2)
			norm += q[j]
		}
		for j := range k {
			f[j] += q[j] / norm
		}
	}
	return f
}

// TestMiniBatchSteps runs two distributed mini-batch steps and checks
// them against the same steps done sequentially: the rows each step
// samples (by the hash of its seed and the row number), assigned to the
// nearest centroid, then scikit-learn's update c ← (c·w + Σz)/(w + n).
func TestMiniBatchSteps(t *testing.T) {
	dir := t.TempDir()
	lake := filepath.Join(dir, "lake")
	rows := writeLake(t, lake, kmeansLake)
	z := features(rows)
	const k, seed, batch = 3, 9, 100
	out := filepath.Join(dir, "out")
	opt := KMeansOptions{Data: lake, K: k, Iters: 2, MiniBatch: batch, Sample: 100000, Seed: seed, Alpha: 1, Out: out, Runner: "prism"}
	if err := KMeans(context.Background(), opt, io.Discard); err != nil {
		t.Fatal(err)
	}
	var got KMeansResult
	readJSON(t, filepath.Join(out, CentroidsFile), &got)

	c, err := kmeans.PlusPlus(z, k, seed)
	if err != nil {
		t.Fatal(err)
	}
	d := z.Cols()
	w := make([]float64, k)
	frac := float64(batch) / float64(len(rows))
	limit := uint64(frac * math.MaxUint64)
	sampled := 0
	for step := range 2 {
		s := uint64(seed + step + 1)
		sums, counts := make([]float64, k*d), make([]float64, k)
		for i := range rows {
			if splitMix(s^splitMix(uint64(i))) >= limit {
				continue
			}
			sampled++
			j, _ := nearest(z.Row(i), c, k)
			for t, v := range z.Row(i) {
				sums[j*d+t] += float64(v)
			}
			counts[j]++
		}
		for j := range k {
			if counts[j] == 0 {
				continue
			}
			for t := range d {
				c[j*d+t] = (c[j*d+t]*w[j] + sums[j*d+t]) / (w[j] + counts[j])
			}
			w[j] += counts[j]
		}
	}
	if sampled < batch || sampled > 3*batch {
		t.Fatalf("the two steps sampled %d rows, want about %d", sampled, 2*batch)
	}
	if !slices.Equal(got.Centroids, c) {
		t.Fatalf("mini-batch centroids\n%v\nsequential\n%v", got.Centroids, c)
	}
}

// TestBlockCoder round-trips a block through its binary coder and
// rejects damaged encodings.
func TestBlockCoder(t *testing.T) {
	b := Block{Shard: 7, D: 3, Rows: []int64{5, -1}, Z: []float32{1, float32(math.Inf(-1)), 0.1, -2, 3e-40, float32(math.NaN())}}
	enc, err := encodeBlock(b)
	if err != nil {
		t.Fatal(err)
	}
	got, err := decodeBlock(enc)
	if err != nil {
		t.Fatal(err)
	}
	if got.Shard != b.Shard || got.D != b.D || !slices.Equal(got.Rows, b.Rows) || len(got.Z) != len(b.Z) {
		t.Fatalf("decoded %+v, want %+v", got, b)
	}
	for i := range b.Z {
		if math.Float32bits(got.Z[i]) != math.Float32bits(b.Z[i]) {
			t.Fatalf("value %d: %v, want %v", i, got.Z[i], b.Z[i])
		}
	}
	for _, bad := range [][]byte{enc[:10], enc[:len(enc)-1], append(slices.Clone(enc), 0)} {
		if _, err := decodeBlock(bad); err == nil {
			t.Errorf("a damaged block of %d bytes decoded", len(bad))
		}
	}
	if _, err := encodeBlock(Block{D: 2, Rows: []int64{1}, Z: []float32{1}}); err == nil {
		t.Error("a block whose vectors do not match its rows encoded")
	}
}
