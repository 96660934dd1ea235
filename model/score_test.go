package model

import (
	"math/rand/v2"
	"testing"

	"github.com/deepclust/deepclust/pipeline"
)

// TestScoreCountsMatchesScore checks that scoring a contingency table of
// counts gives exactly what pipeline.Score gives on the labels it counts.
func TestScoreCountsMatchesScore(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	truth, pred := make([]int32, 500), make([]int32, 500)
	counts := map[LabelPair]int64{{Label: 7, Cluster: 9}: 0}
	for i := range truth {
		truth[i] = int32(rng.IntN(4))
		pred[i] = (truth[i] + int32(rng.IntN(2))) % 5
		counts[LabelPair{truth[i], pred[i]}]++
	}
	want, err := pipeline.Score(truth, pred)
	if err != nil {
		t.Fatal(err)
	}
	got, err := ScoreCounts(counts)
	if err != nil {
		t.Fatal(err)
	}
	if *got != *want {
		t.Fatalf("ScoreCounts %+v, pipeline.Score %+v", *got, *want)
	}
	if _, err := ScoreCounts(map[LabelPair]int64{}); err == nil {
		t.Fatal("an empty table scored")
	}
	if _, err := ScoreCounts(map[LabelPair]int64{{1, 1}: -1}); err == nil {
		t.Fatal("a negative count scored")
	}
}
