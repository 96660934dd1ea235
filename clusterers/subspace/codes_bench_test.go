package subspace

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/deepclust/deepclust/internal/metrics"
	"github.com/deepclust/deepclust/internal/mnist"
	"github.com/deepclust/deepclust/sdk"
)

// BenchmarkFitCodes fits the clusterer on stored embeddings, to profile
// and score it on MNIST-70k codes without retraining an encoder. It runs
// only when DEEPCLUST_SUBSPACE_CODES names a raw float32 file of rows
// (DEEPCLUST_SUBSPACE_DIM wide, default 10); DEEPCLUST_SUBSPACE_LABELS
// names an MNIST idx directory (train, then t10k: the order of
// `deepclust run --data DIR`), or is "embedded" for the built-in
// MNIST-10k, to report ACC and NMI; DEEPCLUST_SUBSPACE_N
// keeps the first N rows; DEEPCLUST_SUBSPACE_CONFIG is a JSON object of
// config keys ({"gamma": [1.3, 1.5, 2, 3, 5]} logs one line per candidate).
// The stage cache's embeddings (z.f32 in an entry of
// ~/.cache/deepclust/stages; entry.json gives rows and dim) are such a
// file.
func BenchmarkFitCodes(b *testing.B) {
	path := os.Getenv("DEEPCLUST_SUBSPACE_CODES")
	if path == "" {
		b.Skip("DEEPCLUST_SUBSPACE_CODES not set")
	}
	dim := 10
	if s := os.Getenv("DEEPCLUST_SUBSPACE_DIM"); s != "" {
		var err error
		if dim, err = strconv.Atoi(s); err != nil {
			b.Fatal(err)
		}
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	n := len(raw) / 4 / dim
	if s := os.Getenv("DEEPCLUST_SUBSPACE_N"); s != "" {
		m, err := strconv.Atoi(s)
		if err != nil {
			b.Fatal(err)
		}
		n = min(n, m)
	}
	z := sdk.NewTensor(n, dim)
	for i := range z.Data {
		z.Data[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
	}
	var truth []int32
	if dir := os.Getenv("DEEPCLUST_SUBSPACE_LABELS"); dir == "embedded" {
		idx, err := mnist.EmbeddedLabels()
		if err != nil {
			b.Fatal(err)
		}
		for _, v := range idx.Data[:n] {
			truth = append(truth, int32(v))
		}
	} else if dir != "" {
		for _, name := range []string{mnist.TrainLabelsFile, mnist.TestLabelsFile} {
			f, err := mnist.FindFile(dir, name)
			if err != nil {
				b.Fatal(err)
			}
			idx, err := mnist.ReadIDXFile(f)
			if err != nil {
				b.Fatal(err)
			}
			for _, v := range idx.Data {
				truth = append(truth, int32(v))
			}
		}
		truth = truth[:n]
	}
	cfg := map[string]any{"k": 10}
	if s := os.Getenv("DEEPCLUST_SUBSPACE_CONFIG"); s != "" {
		if err := json.Unmarshal([]byte(s), &cfg); err != nil {
			b.Fatal(err)
		}
	}
	b.Logf("%d rows of width %d from %s, config %v", n, dim, filepath.Base(path), cfg)
	for range b.N {
		c := New()
		rc, err := sdk.ResolveConfig(c.Describe(), cfg)
		if err != nil {
			b.Fatal(err)
		}
		if err := c.Configure(context.Background(), sdk.Setup{Config: rc, EmbeddingDim: dim, Seed: 1}); err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		a, err := c.Fit(context.Background(), z)
		if err != nil {
			b.Fatal(err)
		}
		rep := c.LastReport()
		for _, r := range rep.Candidates {
			b.Logf("candidate γ %v: Q %.4f, %d components, %d linked, %d nonzeros, %d rounds (%d unconverged), %.1f s",
				r.Gamma, r.Modularity, r.Components, r.Linked, r.Nonzeros, r.Rounds, r.Unconverged, r.Seconds)
		}
		rep.Candidates = nil
		b.Logf("fit %.1f s, kept γ %v, report %+v", time.Since(start).Seconds(), rep.Gamma, rep)
		if truth != nil {
			acc, _ := metrics.ACC(truth, a.Labels)
			nmi, _ := metrics.NMI(truth, a.Labels)
			b.Logf("ACC %.4f NMI %.4f", acc, nmi)
		}
	}
}
