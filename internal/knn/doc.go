// Package knn finds the exact k nearest neighbours of every point of a set,
// by Euclidean distance, with the float32 GEMM of internal/kernels over
// square tiles of the distance matrix (memory bounded by one tile) and a
// float64 re-ranking of the candidates:
//
//	‖x_i − x_j‖² = ‖x_i‖² − 2 x_i·x_j + ‖x_j‖²
//
// The spectral clusterer builds its graph on it, the spectral loss its
// batch affinities, and the pipeline's neighbours sampler its pairs.
package knn
