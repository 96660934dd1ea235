package pipeline

import (
	"context"
	"fmt"
	"math/rand/v2"

	"github.com/deepclust/deepclust/internal/knn"
	"github.com/deepclust/deepclust/sdk"
)

// pairSampler draws the batches of the neighbours pretraining sampler, the
// pairs a Siamese network learns an affinity from (Shaham et al. 2018,
// SpectralNet, section 4.2): each batch holds h anchors, a fresh random
// permutation of all samples per epoch, followed by one of the k nearest
// neighbours of each anchor in the input space, drawn uniformly, so that
// row h+i pairs with row i. The kNN lists of the whole input are found
// once (internal/knn: exact, or approximate as the schedule's KNNSearch
// says); the data must be in memory.
type pairSampler struct {
	d  Data
	nb *knn.Neighbours
}

// newPairSampler finds the k nearest neighbours of every sample of src by
// method (see knn.Find; seed drives the approximate search).
func newPairSampler(ctx context.Context, src Source, k int, method string, seed uint64) (*pairSampler, error) {
	d, ok := src.(Data)
	switch {
	case !ok:
		return nil, fmt.Errorf("the neighbors pretraining sampler needs the data in memory, not streamed")
	case k < 1 || k >= d.Rows():
		return nil, fmt.Errorf("the neighbors pretraining sampler: %d neighbours per sample among %d samples, want 1 ≤ neighbors < samples", k, d.Rows())
	}
	nb, err := knn.Find(ctx, d.X.Data, d.Rows(), d.X.Cols(), k, method, seed)
	if err != nil {
		return nil, fmt.Errorf("the neighbors pretraining sampler: %w", err)
	}
	return &pairSampler{d: d, nb: nb}, nil
}

// anchors returns the number of anchors in a batch of at most size rows.
func anchors(size int) int { return max(size/2, 1) }

// epoch calls fn with every batch of one epoch, and the number of anchors
// in it (the batch holds twice as many rows).
func (p *pairSampler) epoch(ctx context.Context, size int, rng *rand.Rand, fn func(x sdk.Tensor, idx []int64, pairs int) error) error {
	n, k, h := p.d.Rows(), p.nb.K, anchors(size)
	perm := rng.Perm(n)
	order := make([]int, 0, 2*h)
	for lo := 0; lo < n; lo += h {
		batch := perm[lo:min(lo+h, n)]
		order = append(order[:0], batch...)
		for _, a := range batch {
			order = append(order, int(p.nb.Index[a*k+rng.IntN(k)]))
		}
		err := p.d.batches(ctx, order, len(order), func(x sdk.Tensor, idx []int64) error {
			return fn(x, idx, len(batch))
		})
		if err != nil {
			return err
		}
	}
	return nil
}
