package metrics

import (
	"fmt"
	"math"
	"math/big"
	"slices"
)

// Table is the contingency table of two labellings of the same samples.
type Table struct {
	// Classes holds the distinct truth labels in increasing order (rows).
	Classes []int32
	// Clusters holds the distinct predicted labels in increasing order
	// (columns).
	Clusters []int32
	// Counts[i][j] is the number of samples with truth Classes[i] and
	// prediction Clusters[j].
	Counts [][]int64
	// N is the number of samples.
	N int64
}

// Contingency counts how the samples of each class spread over the predicted
// clusters. truth and pred must be non-empty and of equal length.
func Contingency(truth, pred []int32) (Table, error) {
	if len(truth) != len(pred) {
		return Table{}, fmt.Errorf("metrics: %d truth labels but %d predicted labels", len(truth), len(pred))
	}
	if len(truth) == 0 {
		return Table{}, fmt.Errorf("metrics: no labels to compare")
	}
	classes, rowOf := distinct(truth)
	clusters, colOf := distinct(pred)
	counts := make([][]int64, len(classes))
	for i := range counts {
		counts[i] = make([]int64, len(clusters))
	}
	for s := range truth {
		counts[rowOf[s]][colOf[s]]++
	}
	return Table{Classes: classes, Clusters: clusters, Counts: counts, N: int64(len(truth))}, nil
}

// distinct returns the sorted distinct values of labels and, for each
// sample, the index of its value among them.
func distinct(labels []int32) (values []int32, index []int) {
	values = slices.Clone(labels)
	slices.Sort(values)
	values = slices.Compact(values)
	index = make([]int, len(labels))
	for s, l := range labels {
		index[s], _ = slices.BinarySearch(values, l)
	}
	return values, index
}

// Counter accumulates a contingency table batch by batch, in memory that
// grows with the numbers of classes and clusters, not of samples.
type Counter struct {
	pairs map[[2]int32]int64
}

// Add counts the samples of one batch.
func (c *Counter) Add(truth, pred []int32) error {
	if len(truth) != len(pred) {
		return fmt.Errorf("metrics: %d truth labels but %d predicted labels", len(truth), len(pred))
	}
	if c.pairs == nil {
		c.pairs = map[[2]int32]int64{}
	}
	for s := range truth {
		c.pairs[[2]int32{truth[s], pred[s]}]++
	}
	return nil
}

// Table returns the contingency table of everything added.
func (c *Counter) Table() (Table, error) {
	if len(c.pairs) == 0 {
		return Table{}, fmt.Errorf("metrics: no labels to compare")
	}
	var truth, pred []int32
	for p := range c.pairs {
		truth, pred = append(truth, p[0]), append(pred, p[1])
	}
	classes, _ := distinct(truth)
	clusters, _ := distinct(pred)
	t := Table{Classes: classes, Clusters: clusters, Counts: make([][]int64, len(classes))}
	for i := range t.Counts {
		t.Counts[i] = make([]int64, len(clusters))
	}
	for p, n := range c.pairs {
		i, _ := slices.BinarySearch(classes, p[0])
		j, _ := slices.BinarySearch(clusters, p[1])
		t.Counts[i][j] += n
		t.N += n
	}
	return t, nil
}

// ACC is the clustering accuracy: the fraction of samples whose predicted
// cluster maps to their class under the best one-to-one map of clusters to
// classes, found with the Hungarian algorithm. The numbers of clusters and
// classes may differ.
func ACC(truth, pred []int32) (float64, error) {
	t, err := Contingency(truth, pred)
	if err != nil {
		return 0, fmt.Errorf("accuracy: %w", err)
	}
	return t.ACC()
}

// ACC is the clustering accuracy of the table (see the function ACC).
func (t Table) ACC() (float64, error) {
	cost := make([][]float64, len(t.Clusters))
	for j := range cost {
		cost[j] = make([]float64, len(t.Classes))
		for i := range t.Classes {
			cost[j][i] = -float64(t.Counts[i][j])
		}
	}
	_, total, err := Hungarian(cost)
	if err != nil {
		return 0, fmt.Errorf("accuracy: %w", err)
	}
	return -total / float64(t.N), nil
}

// NMI is the normalised mutual information with arithmetic normalisation,
// MI / ((H_truth + H_pred)/2), as scikit-learn's normalized_mutual_info_score
// computes it by default: 1 when both labellings have a single group.
func NMI(truth, pred []int32) (float64, error) {
	t, err := Contingency(truth, pred)
	if err != nil {
		return 0, fmt.Errorf("normalised mutual information: %w", err)
	}
	return t.NMI(), nil
}

// NMI is the normalised mutual information of the table (see the function
// NMI).
func (t Table) NMI() float64 {
	if len(t.Classes) == 1 && len(t.Clusters) == 1 {
		return 1
	}
	rows, cols := t.marginals()
	mi := t.mutualInformation(rows, cols)
	if mi == 0 {
		return 0
	}
	return mi / ((entropy(rows, t.N) + entropy(cols, t.N)) / 2)
}

// marginals returns the row sums (class sizes) and column sums (cluster
// sizes) of t.
func (t Table) marginals() (rows, cols []int64) {
	rows = make([]int64, len(t.Classes))
	cols = make([]int64, len(t.Clusters))
	for i, row := range t.Counts {
		for j, n := range row {
			rows[i] += n
			cols[j] += n
		}
	}
	return rows, cols
}

// mutualInformation is Σ_ij (n_ij/n) log(n·n_ij/(a_i b_j)) in nats, with
// terms below machine epsilon set to 0 and the sum clipped at 0, as
// scikit-learn's mutual_info_score does.
func (t Table) mutualInformation(rows, cols []int64) float64 {
	if len(rows) == 1 || len(cols) == 1 {
		return 0
	}
	n := float64(t.N)
	logN := math.Log(n)
	var mi float64
	for i, row := range t.Counts {
		for j, nij := range row {
			if nij == 0 {
				continue
			}
			p := float64(nij) / n
			outer := float64(rows[i]) * float64(cols[j])
			term := p*(math.Log(float64(nij))-logN) + p*(2*logN-math.Log(outer))
			if math.Abs(term) < 0x1p-52 {
				term = 0
			}
			mi += term
		}
	}
	return max(mi, 0)
}

// entropy is −Σ (c/n) log(c/n) over the group sizes c summing to n.
func entropy(sizes []int64, n int64) float64 {
	if len(sizes) == 1 {
		return 0
	}
	total := float64(n)
	logTotal := math.Log(total)
	var h float64
	for _, c := range sizes {
		if c > 0 {
			h -= float64(c) / total * (math.Log(float64(c)) - logTotal)
		}
	}
	return h
}

// ARI is the adjusted Rand index, as scikit-learn's adjusted_rand_score: 1
// for identical partitions (up to relabelling), about 0 for independent
// ones. Pair counts are exact integers, so large inputs do not overflow.
func ARI(truth, pred []int32) (float64, error) {
	t, err := Contingency(truth, pred)
	if err != nil {
		return 0, fmt.Errorf("adjusted Rand index: %w", err)
	}
	return t.ARI(), nil
}

// ARI is the adjusted Rand index of the table (see the function ARI).
func (t Table) ARI() float64 {
	rows, cols := t.marginals()
	n := big.NewInt(t.N)
	sumSquares, rowTerm, colTerm := new(big.Int), new(big.Int), new(big.Int)
	tmp := new(big.Int)
	for i, row := range t.Counts {
		for j, nij := range row {
			if nij == 0 {
				continue
			}
			x := big.NewInt(nij)
			sumSquares.Add(sumSquares, tmp.Mul(x, x))
			colTerm.Add(colTerm, tmp.Mul(x, big.NewInt(cols[j])))
			rowTerm.Add(rowTerm, tmp.Mul(x, big.NewInt(rows[i])))
		}
	}
	// Ordered pair counts: tp together in both, fp together only in pred,
	// fn together only in truth, tn apart in both.
	tp := new(big.Int).Sub(sumSquares, n)
	fp := new(big.Int).Sub(colTerm, sumSquares)
	fn := new(big.Int).Sub(rowTerm, sumSquares)
	tn := new(big.Int).Mul(n, n)
	tn.Sub(tn, fp).Sub(tn, fn).Sub(tn, sumSquares)
	if fn.Sign() == 0 && fp.Sign() == 0 {
		return 1
	}
	num := new(big.Int).Sub(new(big.Int).Mul(tp, tn), new(big.Int).Mul(fn, fp))
	num.Lsh(num, 1)
	den := new(big.Int).Mul(new(big.Int).Add(tp, fn), new(big.Int).Add(fn, tn))
	den.Add(den, new(big.Int).Mul(new(big.Int).Add(tp, fp), new(big.Int).Add(fp, tn)))
	numF, _ := new(big.Float).SetInt(num).Float64()
	denF, _ := new(big.Float).SetInt(den).Float64()
	return numF / denF
}
