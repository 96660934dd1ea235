// Package dec is the DEC/IDEC clusterer plugin: the clustering layer of Deep
// Embedded Clustering (Xie, Girshick and Farhadi 2016, "Unsupervised Deep
// Embedding for Clustering Analysis") as used by Improved DEC (Guo, Gao,
// Liu and Yin 2017, "Improved Deep Embedded Clustering with Local Structure
// Preservation"), which keeps the autoencoder's reconstruction loss during
// clustering.
//
// The soft assignment of embedding z_i to centroid μ_j is a Student-t
// kernel with α degrees of freedom (DEC eq. 1; α = 1 in both papers),
//
//	q_ij = (1 + ‖z_i − μ_j‖²/α)^(−(α+1)/2) / Σ_j' (1 + ‖z_i − μ_j'‖²/α)^(−(α+1)/2),
//
// and the target distribution sharpens Q and divides by the soft cluster
// frequencies f_j = Σ_i q_ij over all N samples (DEC eq. 3),
//
//	p_ij = (q_ij²/f_j) / Σ_j' (q_ij'²/f_j').
//
// P is recomputed on all embeddings by Fit and Update and stored per
// sample; a batch looks its rows up by ClusterLossRequest.Indices. The
// clustering loss of a batch of N rows is the batch mean
//
//	L_c = (1/N) Σ_i Σ_j p_ij log(p_ij/q_ij),
//
// as in IDEC's Keras code (XifengGuo/IDEC IDEC.py compiles the clustering
// output with loss 'kld'; Keras' kullback_leibler_divergence sums
// y_true·log(y_true/y_pred) over the clusters of each sample, after
// clipping both to [1e-7, 1], and training averages the per-sample losses
// over the batch). No clipping is done here: q is computed in the log
// domain and terms with p_ij = 0 count 0. With u_ij = (1 + ‖z_i − μ_j‖²/α)⁻¹
// the gradients (DEC eq. 4 and 5, there for the sum and α = 1) are
//
//	∂L_c/∂z_i = ((α+1)/(α N)) Σ_j u_ij (p_ij − q_ij)(z_i − μ_j),
//	∂L_c/∂μ_j = −((α+1)/(α N)) Σ_i u_ij (p_ij − q_ij)(z_i − μ_j).
//
// Fit initialises the centroids with k-means (clusterers/kmeans.Cluster:
// n_init k-means++ restarts, 20 in DEC and IDEC, scikit-learn's tol 1e-4).
// The centroids are then learned by gradient: Step adds the kept ∂L_c/∂μ
// of the last training Loss to the auxiliary losses' centroid gradient and
// takes one Adam step (IDEC's MNIST setting: Keras' Adam, lr 0.001,
// β1 0.9, β2 0.999, ε 1e-8) or SGD-with-momentum step. Labels are
// argmax_j q_ij everywhere (ties to the lower index). Every computation is
// sequential float64, so a seed gives bit-identical results.
package dec
