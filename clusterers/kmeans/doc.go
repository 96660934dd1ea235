// Package kmeans is the k-means clusterer plugin with DCN's clustering loss
// (Yang, Fu, Sidiropoulos and Hong 2017, "Towards K-means-friendly Spaces:
// Simultaneous Deep Learning and Clustering").
//
// Fit minimises the inertia
//
//	J(μ, s) = Σ_i ‖z_i − μ_{s_i}‖²
//
// as scikit-learn's KMeans does: greedy k-means++ seeding (first centre
// uniform; each next centre the best, by resulting potential Σ_i D_i², of
// 2+⌊ln k⌋ candidates drawn with probability ∝ D_i², the squared distance to
// the nearest chosen centre), then Lloyd rounds (s_i = argmin_j ‖z_i − μ_j‖²,
// μ_j = mean of cluster j) until the labels repeat, the summed squared
// centre shift Σ_j ‖μ_j' − μ_j‖² is at most tol·(1/d)Σ_t Var(z_·t), or
// max_iter rounds have run; n_init runs, the lowest J wins (select inertia), or
// the highest modularity Q of the data's k-nearest-neighbour graph (select
// modularity; validity.Modularity gives Q). An empty cluster
// takes the point farthest from its centre.
//
// Each row's label is argmin_j R_j, R_j the squared distance to the
// float64 centre computed in float64 (ties to the lower index). It is found
// fast and exactly: ‖z‖² − 2 z·μ_j + ‖μ_j‖² with z·μ_j from the float32
// GEMM of internal/kernels, in blocks of rows that fit the cache, with a
// rigorous bound on its rounding error; where two centres are within that
// bound, R_j decides (distance.go). Lloyd rounds skip the rows whose label
// Elkan's triangle-inequality bounds (Hamerly's when n·k bounds would not
// fit in memory) prove unchanged, with every bound rounded outwards so that
// the skipped rows are exactly rows whose label cannot change (bounds.go).
// Cluster sums are in float64 per chunk of 512 rows in row order, then over
// chunks in order; when float64 sums of the data are exact (every feature's
// values on a grid 2^e with Σ|z| < 2^(e+53), e.g. pixels k/255), they are
// instead updated with the rows that changed cluster, which gives the same
// values. The greedy k-means++ keeps D² in one array lowered in place and
// scores only rows that a candidate may come closer to. So Fit returns
// bit-identical labels, centroids and J to plain Lloyd rounds that score
// every row against every centre (tested against such a reference), and,
// rows being processed in fixed chunks by two goroutines with partial
// results combined in chunk order, a seed gives bit-identical results
// whatever the scheduling or GOMAXPROCS.
//
// During joint training the clusterer supplies DCN's loss on a batch of N
// rows with their stored assignments s_i,
//
//	L_c = (1/N) Σ_i ‖z_i − μ_{s_i}‖²,   ∂L_c/∂z_i = 2(z_i − μ_{s_i})/N,
//
// and Step performs DCN's online centroid update on the batch kept by the
// training Loss: s_i = argmin_j ‖z_i − μ_j‖ for every row (against the
// centroids at the start of the step), then row by row
//
//	c_{s_i} ← c_{s_i} + 1,   μ_{s_i} ← μ_{s_i} − (μ_{s_i} − z_i)/c_{s_i},
//
// with counts starting at count_init (100 in DCN's code, boyangumn/DCN
// multi_layer_km.py, function batch_km and "count = 100*numpy.ones(nClass)").
// Centroid gradients from auxiliary losses are applied first, μ ← μ −
// centroid_lr·∂L_aux/∂μ. Between epochs Update reassigns every row to its
// nearest centroid (DCN) or reruns Lloyd from the current centroids.
package kmeans
