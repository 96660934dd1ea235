// Package metrics scores a clustering against ground-truth classes.
//
// All scores start from the contingency table n_ij, the number of samples of
// class i put in cluster j, with row sums a_i, column sums b_j and n samples.
//
// Clustering accuracy finds the one-to-one map m from clusters to classes
// that agrees with the truth most often (the Hungarian algorithm, O(r²c) for
// an r×c table with r ≤ c) and reports
//
//	ACC = max_m Σ_j n_{m(j) j} / n.
//
// Clusters left without a class when there are more clusters than classes
// (and classes left without a cluster in the other case) count as wrong.
//
// Normalised mutual information with the arithmetic mean (scikit-learn's
// default for normalized_mutual_info_score):
//
//	MI  = Σ_ij (n_ij/n) log(n·n_ij / (a_i b_j))
//	H_U = −Σ_i (a_i/n) log(a_i/n),  H_V = −Σ_j (b_j/n) log(b_j/n)
//	NMI = MI / ((H_U + H_V)/2)
//
// with NMI = 1 when both labellings have a single group and NMI = 0 when MI
// is 0 otherwise.
//
// Adjusted Rand index, from the pair counts of the pair confusion matrix
// (tp: pairs together in both labellings, tn: apart in both, fp and fn the
// disagreements; each ordered pair counted once):
//
//	ARI = 2(tp·tn − fn·fp) / ((tp+fn)(fn+tn) + (tp+fp)(fp+tn)),
//
// with ARI = 1 when fn = fp = 0. This equals Hubert and Arabie's
// (RI − E[RI]) / (max RI − E[RI]) and scikit-learn's adjusted_rand_score.
package metrics
