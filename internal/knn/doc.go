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
// Approx is NN-descent (Dong, Charikar & Li, WWW 2011) started from a
// random-projection forest, as pynndescent (McInnes) implements it and
// with its defaults; it costs about n·(trees·leaf/2 + iterations·k²)
// distances. NN-descent rather than HNSW (Malkov & Yashunin 2018): the
// graph builders need the neighbours of every point of one set, which
// NN-descent builds directly (HNSW would build an index, then query all n
// points against it), and pynndescent, whose defaults we follow, is what
// UMAP builds its kNN graphs with. The result is deterministic for a
// seed: fixed work partitions, updates applied to each row in a fixed
// order, and counter-based random numbers.
//
// Measured on the project's 2-core machine while it ran 15–40 other
// jobs (BenchmarkKNN70k, BenchmarkKNN1Mx64):
//
//   - the 70,000 MNIST autoencoder codes (10-d), k = 10: recall@10 0.9886,
//     7.7× faster than Search (median wall times of 5 alternating runs;
//     7.9× in CPU time, 1.9 s against 15.3 s);
//   - 1,000,000 points of dimension 64 in 100 Gaussian clusters, k = 10:
//     77.5 s of CPU, recall@10 0.53 on 1,000 rows checked by brute force,
//     the neighbours found being on average 1.8% farther than the exact
//     ones rank by rank. Points drawn from 64-dimensional Gaussians are
//     the hard case of NN-descent (it relies on neighbours of neighbours
//     being neighbours, which weakens with intrinsic dimension); 24 trees
//     instead of 12 gave 0.63 for 105 s of CPU.
//
// Find chooses between them by a method name (MethodAuto, MethodExact,
// MethodApprox), the knn_search config key of the spectral clusterer and
// of a stage's train section (the neighbours pretraining sampler). The
// spectral loss's batch affinities stay exact (Search): batches are small.
package knn
