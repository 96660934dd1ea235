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
// max_iter rounds have run; n_init runs, the lowest J wins. An empty cluster
// takes the point farthest from its centre. Distances use
// ‖z‖² − 2 z·μ + ‖μ‖² with z·μ from a float32 GEMM; means, shifts and J are
// accumulated in float64. Rows are processed in fixed chunks of 512 by two
// goroutines and per-chunk partial sums are added in chunk order, so a seed
// gives bit-identical results whatever the scheduling or GOMAXPROCS.
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
