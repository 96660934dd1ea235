// Package uniformity is an explicit cluster-balance constraint for deep
// clustering: a loss plugin that keeps samples spread over the clusters and
// the clusters apart, the cure for the degenerate solutions of a clustering
// loss (everything in one cluster, or every embedding shrunk to one point)
// that DeepCluster (Caron, Bojanowski, Joulin and Douze 2018, "Deep
// Clustering for Unsupervised Learning of Visual Features") handles by
// sampling uniformly over pseudo-labels.
//
// From the batch embeddings z_i (N rows) and the clusterer's centroids μ_j
// it computes Student-t soft assignments of degree α, as DEC does,
//
//	q_ij = (1 + ‖z_i − μ_j‖²/α)^(−(α+1)/2) / Σ_j' (1 + ‖z_i − μ_j'‖²/α)^(−(α+1)/2),
//
// so it works with any clusterer that returns centroids (kmeans, dec), and
// returns the regularised information maximisation loss of Krause, Perona
// and Gomes (2010, "Discriminative clustering by regularized information
// maximization"; also Hu et al. 2017, IMSAT)
//
//	L = B(r̄) + λ (1/N) Σ_i H(q_i),
//	r_ij = q_ij^s / Σ_j' q_ij'^s,  r̄_j = (1/N) Σ_i r_ij,
//	H(q_i) = −Σ_j q_ij log q_ij,
//
// with the balance term B either the reverse divergence KL(π‖r̄) =
// Σ_j π_j log(π_j/r̄_j) (config "balance: reverse", the default) or IMSAT's
// KL(r̄‖π) = Σ_j r̄_j log(r̄_j/π_j) ("forward"), π a prior (uniform unless
// configured), s ≥ 1 the config field "sharpness" (default 10) and λ ≥ 0
// the field "confidence". With s = 1, forward, π uniform and λ = 1,
// L = log k − I(i; j), minus the mutual information between samples and
// clusters under q.
//
// Why sharpened, reverse balance. The Student-t q has heavy tails: in a
// 10-d embedding every sample keeps a few per cent of its mass on every
// cluster, so q̄ stays near uniform while the hard (nearest-centroid)
// cluster of one centroid drains into its neighbour, as it did on
// MNIST-70k (configs/mnist-uniform.yaml). r with s = 10 follows the hard
// assignments except for samples near a boundary, which are exactly those
// the gradient can move; KL(π‖r̄) grows without bound as r̄_j → 0, whereas
// an emptying cluster's own term r̄_j log(r̄_j/π_j) of KL(r̄‖π) tends to 0.
//
// Why both terms. The balance term sees only the mean assignment r̄: it
// stops a cluster from emptying, but when every embedding and centroid
// shrinks towards one point every q_i (and r_i) tends to uniform, r̄ = π and
// the balance term is 0, so a clustering loss that favours shrinking (k-means)
// collapses the embeddings unopposed. The confidence term is the mean
// per-sample entropy: collapse makes it log k, its maximum, while a sample
// close to its centroid and far from the others (relative to the kernel's
// fixed unit scale) has H(q_i) near 0. It therefore holds the clusters
// apart, and the balance term keeps that from being won by putting every
// sample confidently in one cluster. λ = 0 gives the balance-only loss.
//
// Gradients. Writing u_ij = (1 + ‖z_i − μ_j‖²/α)⁻¹, the logit
// log q_ij + const has ∂/∂z_i = −((α+1)/α) u_ij (z_i − μ_j); r is the
// softmax of s times the same logits. With b_j = ∂B/∂r̄_j up to a constant
// (log(r̄_j/π_j) forward, −π_j/r̄_j reverse), b̄_i = Σ_j r_ij b_j,
// c_ij = −λ log q_ij and c̄_i = Σ_j q_ij c_ij, the two softmaxes give
// ∂L/∂logit_ij = (1/N) g_ij with g_ij = s r_ij (b_j − b̄_i) + q_ij (c_ij − c̄_i),
// so
//
//	∂L/∂z_i = −((α+1)/(α N)) Σ_j g_ij u_ij (z_i − μ_j),
//	∂L/∂μ_j = ((α+1)/(α N)) Σ_i g_ij u_ij (z_i − μ_j).
package uniformity
