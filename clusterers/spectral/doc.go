// Package spectral is the spectral clustering plugin (Ng, Jordan & Weiss
// 2002, "On Spectral Clustering: Analysis and an algorithm"), usable on
// raw features and as the clustering term of joint training.
//
// Fit clusters all N embeddings z_i in five steps.
//
// 1. kNN graph. The knn−1 nearest other points of every point (knn counts
// the point itself, as scikit-learn's n_neighbors does), found exactly
// by default:
// squared distances ‖z_i‖² − 2 z_i·z_j + ‖z_j‖² from a float32 GEMM over
// square tiles of the distance matrix (each pair computed once, memory
// bounded by one tile), 2(knn−1) candidates per point kept in a bounded
// heap, then re-ranked by distances recomputed in float64. The cost is
// N²·D/2 multiply-adds. Above 100,000 points (knn_search auto), or with
// knn_search approx, the graph is found by NN-descent instead (Dong,
// Charikar & Li 2011, from a random-projection forest as pynndescent
// does; internal/knn.Approx), seeded by the plugin's seed, its distances
// again recomputed in float64.
//
// 2. Affinity. With W_ij the weight of the directed edge i → j (j among the
// neighbours of i), A = (W + Wᵀ)/2 and
//
//	knn:       W_ij = 1
//	selftune:  W_ij = exp(−‖z_i − z_j‖² / (σ_i σ_j)),  σ_i = ‖z_i − z_{i,(scale_neighbor)}‖
//	rbf:       W_ij = exp(−‖z_i − z_j‖² / (2σ²))
//
// (selftune: Zelnik-Manor & Perona 2004, "Self-Tuning Spectral
// Clustering", local scale σ_i the distance to the 7th neighbour).
//
// 3. Spectral embedding. The k leading eigenvectors U = [u_1 … u_k] of the
// normalised affinity
//
//	M = D^{-1/2} A D^{-1/2},   D = diag(Σ_j A_ij),
//
// whose eigenvalues lie in [−1, 1] (the eigenvalues 1 − λ of the
// normalised Laplacian L = I − M), from the block Krylov–Schur solver of
// internal/sparse in float64, stopped when ‖M u − θ u‖ ≤ eig_tol for
// every pair (the largest eigenvalue of M is 1). The graph must have at most k connected components (each
// contributes an eigenvalue 1); otherwise Fit fails with a one-line
// message.
//
// 4. Labels. assign=kmeans: Y_i = U_i/‖U_i‖ (rows scaled to unit length,
// Ng, Jordan & Weiss 2002) clustered by the kmeans clusterer (greedy
// k-means++, n_init restarts). assign=cluster_qr (Damle, Minden & Ying
// 2019, "Simple, direct and efficient multi-way spectral clustering"): the
// QR factorisation with column pivoting Uᵀ P = Q R picks k representative
// rows C = U_{P[:k]}, the polar factor Q_C = W Vᵀ of Cᵀ = W Σ Vᵀ rotates U,
// and s_i = argmax_j |(U Q_C)_ij|.
//
// 5. Joint training. The cluster means μ_j = mean{z_i : s_i = j} let
// spectral labels guide an encoder as k-means does in DCN (Yang et al.
// 2017): on a batch of N rows,
//
//	L_c = (1/N) Σ_i ‖z_i − μ_{s_i}‖²,   ∂L_c/∂z_i = 2(z_i − μ_{s_i})/N,
//
// with s_i the stored spectral label of the row. Step only applies
// centroid gradients of auxiliary losses, μ ← μ − centroid_lr·∂L_aux/∂μ.
// Update reruns steps 1–4 on all embeddings and renames the new clusters
// by the permutation π maximising Σ_j |{i : s_i^old = π(j), s_i^new = j}|
// (Hungarian method), so the fraction of changed labels is meaningful.
// Assign labels new points by the nearest μ_j: it is not a Nyström
// extension of the eigenvectors.
//
// A seed gives bit-identical results whatever the scheduling or
// GOMAXPROCS.
package spectral
