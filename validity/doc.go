// Package validity scores a clustering without labels: the internal
// validity indices silhouette, Davies–Bouldin and Calinski–Harabasz of
// labelled rows x_1 … x_n ∈ ℝᵈ, with Euclidean distances d(·,·) and all
// arithmetic in float64. They agree with scikit-learn's silhouette_score,
// davies_bouldin_score and calinski_harabasz_score (checked to 1e-9
// relative in the tests on testdata/blobs.csv).
//
// Labels may be any int32 values; the clusters are the distinct values, and
// every index needs 2 ≤ k ≤ n−1 clusters (scikit-learn's condition).
//
// Silhouette (Rousseeuw 1987). For row i in cluster C_i,
//
//	a_i = (1/(|C_i|−1)) Σ_{j∈C_i, j≠i} d(x_i, x_j),
//	b_i = min_{C≠C_i} (1/|C|) Σ_{j∈C} d(x_i, x_j),
//	s_i = (b_i − a_i) / max(a_i, b_i),   s_i = 0 when |C_i| = 1,
//
// and the silhouette is the mean of s_i, in [−1, 1], higher is better.
// From 32 features on, distances come from a float32 matrix product
// (sqrt(‖x‖² + ‖y‖² − 2x·y)), otherwise from differences in float64. It
// costs n²·d: Silhouette is exact, SilhouetteSample computes it exactly up
// to a given number of rows and on a seeded uniform sample of that many rows
// beyond (the silhouette of the sample alone, as scikit-learn's
// sample_size does).
//
// Davies–Bouldin (1979). With centroids μ_k and mean distances to them
// S_k = (1/|C_k|) Σ_{i∈C_k} d(x_i, μ_k),
//
//	DB = (1/k) Σ_k max_{l≠k} (S_k + S_l) / d(μ_k, μ_l),
//
// ≥ 0, lower is better; 0 when every S_k or every d(μ_k, μ_l) is 0, and a
// pair of coinciding centroids is left out of the max (scikit-learn).
//
// Calinski–Harabasz (1974), the variance ratio. With the overall mean μ,
//
//	B = Σ_k |C_k| ‖μ_k − μ‖²,   W = Σ_k Σ_{i∈C_k} ‖x_i − μ_k‖²,
//	CH = (B / (k − 1)) / (W / (n − k)),
//
// higher is better; 1 when W = 0 (scikit-learn).
//
// Modularity (Newman & Girvan 2004; Newman 2006) scores a partition of a
// graph rather than of points: Modularity takes the k-nearest-neighbour
// lists of the points, symmetrised as UMAP and the spectral clusterer do,
//
//	Q = (1/2m) Σ_ij [W_ij − d_i d_j / 2m] δ(c_i, c_j),
//
// higher is better; the kmeans clusterer's select: modularity keeps the
// restart with the highest Q. WeightedModularity is the same Q on any
// weighted graph given as a sparse matrix (the subspace clusterer's
// self-expression affinity); Modularity is it with the neighbour lists as
// rows of unit weight.
package validity
