package model

import (
	"errors"
	"fmt"
	"slices"

	"github.com/deepclust/deepclust/internal/metrics"
	"github.com/deepclust/deepclust/pipeline"
)

// LabelPair is one cell of a contingency table: a ground-truth label and
// a predicted cluster.
type LabelPair struct {
	Label, Cluster int32
}

// ScoreCounts computes ACC, NMI and ARI from a contingency table given as
// the number of samples of each (label, cluster) pair: what
// pipeline.Score computes from the labels themselves, for a caller that
// merged counts batch by batch or across workers instead of keeping every
// label. Pairs with a zero count are ignored; negative counts and an
// empty table are errors.
func ScoreCounts(counts map[LabelPair]int64) (*pipeline.Scores, error) {
	var classes, clusters []int32
	for p, n := range counts {
		if n < 0 {
			return nil, fmt.Errorf("scoring: pair (label %d, cluster %d) has a negative count %d", p.Label, p.Cluster, n)
		}
		if n > 0 {
			classes, clusters = append(classes, p.Label), append(clusters, p.Cluster)
		}
	}
	if len(classes) == 0 {
		return nil, errors.New("scoring: no labels to compare")
	}
	slices.Sort(classes)
	slices.Sort(clusters)
	classes, clusters = slices.Compact(classes), slices.Compact(clusters)
	t := metrics.Table{Classes: classes, Clusters: clusters, Counts: make([][]int64, len(classes))}
	for i := range t.Counts {
		t.Counts[i] = make([]int64, len(clusters))
	}
	for p, n := range counts {
		if n == 0 {
			continue
		}
		i, _ := slices.BinarySearch(classes, p.Label)
		j, _ := slices.BinarySearch(clusters, p.Cluster)
		t.Counts[i][j] += n
		t.N += n
	}
	acc, err := t.ACC()
	if err != nil {
		return nil, fmt.Errorf("scoring: %w", err)
	}
	return &pipeline.Scores{ACC: acc, NMI: t.NMI(), ARI: t.ARI()}, nil
}
