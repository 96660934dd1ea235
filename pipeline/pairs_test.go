package pipeline

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/deepclust/deepclust/internal/knn"
	"github.com/deepclust/deepclust/sdk"
)

// pairsLoss records the batches and pair counts the pipeline sends.
type pairsLoss struct {
	fakeLoss
	x     [][]float32
	pairs []int
}

func (l *pairsLoss) Eval(ctx context.Context, in sdk.LossInput) (sdk.LossOutput, error) {
	l.x = append(l.x, slices.Clone(in.X.Data))
	l.pairs = append(l.pairs, in.Pairs)
	return l.fakeLoss.Eval(ctx, in)
}

// TestNeighborsSamplerPairsRowsWithNeighbours checks the neighbours
// pretraining sampler on the ramp 0, 1, …, 20 (one feature), whose two
// nearest neighbours are known by hand: i±1, and for the ends 1, 2 and
// 19, 18. Every batch holds h = 3 anchors and then one partner per anchor
// (the last batch fewer), every sample is an anchor once per epoch, each
// partner is one of its anchor's two nearest neighbours, Pairs = h, and the
// same seed draws the same batches.
func TestNeighborsSamplerPairsRowsWithNeighbours(t *testing.T) {
	const n = 21
	near := func(a float32) []float32 {
		switch a {
		case 0:
			return []float32{1, 2}
		case n - 1:
			return []float32{n - 2, n - 3}
		}
		return []float32{a - 1, a + 1}
	}
	run := func(seed uint64) *pairsLoss {
		l := &pairsLoss{}
		m := Model{Encoder: &fakeEncoder{}, Clusterer: &fakeClusterer{labels: constLabels}, Losses: []Loss{{Name: "l", Loss: l, Weight: 1, Pretrain: true}}}
		s := Schedule{BatchSize: 6, PretrainEpochs: 2, PretrainSampler: SamplerNeighbors, Neighbors: 2}
		if _, err := Train(context.Background(), m, rampData(n), s, seed, nil); err != nil {
			t.Fatal(err)
		}
		return l
	}
	l := run(7)
	if len(l.x) != 2*7 {
		t.Fatalf("%d batches, want 2 epochs × ⌈21/3⌉ = 14", len(l.x))
	}
	anchors := map[float32]int{}
	for b, x := range l.x {
		h := l.pairs[b]
		if h != 3 || len(x) != 2*h {
			t.Fatalf("batch %d: %d rows with Pairs %d, want 6 rows and Pairs 3", b, len(x), h)
		}
		for i := range h {
			anchors[x[i]]++
			if !slices.Contains(near(x[i]), x[h+i]) {
				t.Fatalf("batch %d: anchor %v paired with %v, not one of its two nearest neighbours %v", b, x[i], x[h+i], near(x[i]))
			}
		}
	}
	for a := range n {
		if anchors[float32(a)] != 2 {
			t.Fatalf("sample %d was an anchor %d times in 2 epochs, want 2", a, anchors[float32(a)])
		}
	}
	if again := run(7); !slices.EqualFunc(l.x, again.x, slices.Equal) {
		t.Error("the same seed drew different batches")
	}
	if other := run(8); slices.EqualFunc(l.x, other.x, slices.Equal) {
		t.Error("another seed drew the same batches")
	}
}

// TestNeighborsSamplerNeedsDataInMemory checks the errors for a streamed
// input and for more neighbours than other samples.
func TestNeighborsSamplerNeedsDataInMemory(t *testing.T) {
	m := Model{Encoder: &fakeEncoder{}, Clusterer: &fakeClusterer{labels: constLabels}, Losses: []Loss{{Name: "l", Loss: fakeLoss{}, Weight: 1, Pretrain: true}}}
	s := Schedule{BatchSize: 4, PretrainEpochs: 1, PretrainSampler: SamplerNeighbors, Neighbors: 8}
	if _, err := Train(context.Background(), m, rampData(8), s, 1, nil); err == nil || !strings.Contains(err.Error(), "8 neighbours per sample among 8 samples") {
		t.Errorf("8 neighbours among 8 samples: error %v", err)
	}
	s.Neighbors = 2
	if _, err := Train(context.Background(), m, streamOf(rampData(8)), s, 1, nil); err == nil || !strings.Contains(err.Error(), "needs the data in memory") {
		t.Errorf("streamed input: error %v", err)
	}
}

// streamOf hides that d is in memory.
func streamOf(d Data) Source { return struct{ Source }{d} }

// TestNeighborsSamplerSearchMethods checks that the schedule's KNNSearch
// reaches the sampler's search: on 3,000 clustered samples (more than
// one tree leaf, so approx is not exact by construction) exact and auto
// give knn.Search's lists, approx gives knn.Approx's for the trainer's
// seed, whose recall@5 against the exact lists is at least 0.95 (the
// level of internal/knn's own tests), and Validate rejects an unknown
// method.
func TestNeighborsSamplerSearchMethods(t *testing.T) {
	const n, d, k = 3000, 6, 5
	x := sdk.NewTensor(n, d)
	copy(x.Data, knn.Blobs(n, d, 8, 2, 3))
	data := Data{X: x}
	exact, err := knn.Search(context.Background(), x.Data, n, d, k)
	if err != nil {
		t.Fatal(err)
	}
	for _, method := range []string{"", knn.MethodExact, knn.MethodApprox} {
		p, err := newPairSampler(context.Background(), data, k, method, 77)
		if err != nil {
			t.Fatal(err)
		}
		if method != knn.MethodApprox {
			if !slices.Equal(p.nb.Index, exact.Index) {
				t.Errorf("search %q: lists differ from the exact search", method)
			}
			continue
		}
		want, err := knn.Approx(context.Background(), x.Data, n, d, k, knn.ApproxOptions{Seed: 77})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(p.nb.Index, want.Index) {
			t.Error("search approx: lists differ from knn.Approx with the same seed")
		}
		if r := knn.Recall(p.nb, exact); r < 0.95 {
			t.Errorf("search approx: recall@%d %.4f, want ≥ 0.95", k, r)
		}
	}
	s := DefaultSchedule()
	s.PretrainSampler, s.KNNSearch = SamplerNeighbors, "hnsw"
	if err := s.Validate(); err == nil || !strings.Contains(err.Error(), "hnsw") {
		t.Errorf("KNNSearch hnsw: Validate gave %v", err)
	}
}
