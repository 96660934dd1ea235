// Package knn finds the k nearest neighbours of every point of a set, by
// Euclidean distance, exactly or approximately.
//
// Search is exact: the float32 GEMM of internal/kernels over square tiles
// of the distance matrix (memory bounded by one tile), then a float64
// re-ranking of the candidates:
//
//	‖x_i − x_j‖² = ‖x_i‖² − 2 x_i·x_j + ‖x_j‖²
//
// It costs n²d/2 multiply-adds and n² heap comparisons.
//
// Approx is NN-descent (Dong, Charikar & Li, WWW 2011) as pynndescent
// (McInnes) implements it and with its defaults, from an initial graph
// chosen by the dimension d:
//
//   - d < 16: a random-projection forest, as pynndescent starts; about
//     n·(trees·leaf/2 + iterations·k²) distances;
//   - d ≥ 16: exact comparisons inside cells, as an inverted-file index
//     (FAISS's IndexIVFFlat, Jégou, Douze & Schmid 2011) would make them
//     but with exact pruning. The points are split into the Voronoi cells
//     of round(n/2048) k-means centroids (k-means++ seeding, Lloyd
//     iterations on 64 sampled points per cell); every point is compared
//     with all of its own cell, then with each of its 7 next nearest
//     cells unless the hyperplane bisecting that cell's centroid and its
//     own lies farther from it than its k-th neighbour so far (no point
//     of such a cell can be nearer). The comparisons are float32 GEMM
//     tiles of 128 points against 2048 points of a cell
//     (kernels.GemmFused, with the squared norms added in its epilogue),
//     which keep each point's k best. This costs at most n·8·2048
//     distances, usually far fewer, whatever the intrinsic dimension, and
//     is exact (up to float32 rounding) when no cell beyond a point's 8
//     nearest is needed; NN-descent iterations then look for what the
//     cap missed (on clustered data, next to nothing).
//
// The rule comes from measurements. Neighbours of neighbours, which
// NN-descent relies on, stop being neighbours as the intrinsic dimension
// grows, and small leaves cut most neighbourhoods: on 200,000 points in
// 20 Gaussian clusters (Blobs, spread 4) the forest reached recall@10
// 0.92, 0.81 and 0.71 at d = 16, 24 and 32, the cells 1.0000, 1.0000 and
// 0.9995 for CPU times within 25% of the forest's. At d = 10 both pass
// on the MNIST autoencoder codes, the forest somewhat faster (recall
// 0.9886 for 1.3–2.0 s of CPU, the cells 0.9998 for 1.6–2.3 s), so it is
// kept below 16, where kernels.Gemm also stops being used. Cells of 2048
// points give tiles whose 1 MiB of products stays in cache and bound a
// point's comparisons at 16,384 (Probes·CellSize in ApproxOptions).
// Finding each point's nearest centroids costs n²·d/2048 multiply-adds,
// which grows faster than the rest: about 5% of the search at 10⁶
// points, comparable to it at 10⁷.
//
// NN-descent rather than HNSW (Malkov & Yashunin 2018): the graph
// builders need the neighbours of every point of one set, which
// NN-descent builds directly (HNSW would build an index, then query all n
// points against it), and pynndescent, whose defaults we follow, is what
// UMAP builds its kNN graphs with. The result is deterministic for a
// seed: fixed work partitions, updates applied to each row in a fixed
// order, counter-based random numbers and seeded streams.
//
// Measured on the project's 2-core machine while it ran other jobs (load
// average 4.5–5.9; BenchmarkKNN70k, BenchmarkKNN1Mx64, -count 3, medians):
//
//   - the 70,000 MNIST autoencoder codes (10-d), k = 10: recall@10 0.9886,
//     6.4× faster than Search in wall time (2.44 s against 15.6 s), 6.0×
//     in CPU time (1.72 s against 10.3 s); an earlier, less loaded
//     session measured 7.7× and 7.9×;
//   - 1,000,000 points of dimension 64 in 100 Gaussian clusters, k = 10:
//     65.7 s of wall time (41.0 to 69.6 s over the three runs, sharing
//     the cores), 43.2 s of CPU, recall@10 ≥ 0.9995 (printed 1.000) on 1,000
//     rows checked by brute force; peak resident memory 1.24 GiB for the whole
//     benchmark process (the 256 MB of points included). The forest
//     reached 0.53 there in 77.5 s of CPU: points drawn from
//     64-dimensional Gaussians are NN-descent's hard case.
//
// Find chooses between them by a method name (MethodAuto, MethodExact,
// MethodApprox), the knn_search config key of the spectral clusterer and
// of a stage's train section (the neighbours pretraining sampler). The
// spectral loss's batch affinities stay exact (Search): batches are small.
package knn
