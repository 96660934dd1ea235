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
//	L = KL(q̄‖π) + λ (1/N) Σ_i H(q_i),
//	KL(q̄‖π) = Σ_j q̄_j log(q̄_j/π_j),  q̄_j = (1/N) Σ_i q_ij,
//	H(q_i) = −Σ_j q_ij log q_ij,
//
// with π a prior (uniform unless configured) and λ ≥ 0 the config field
// "confidence". With π uniform and λ = 1, L = log k − I(i; j), minus the
// mutual information between samples and clusters under q.
//
// Why both terms. The balance term sees only the mean assignment q̄: it
// stops a cluster from emptying, but when every embedding and centroid
// shrinks towards one point every q_i tends to uniform, q̄ = π and the
// balance term is 0, so a clustering loss that favours shrinking (k-means)
// collapses the embeddings unopposed. The confidence term is the mean
// per-sample entropy: collapse makes it log k, its maximum, while a sample
// close to its centroid and far from the others (relative to the kernel's
// fixed unit scale) has H(q_i) near 0. It therefore holds the clusters
// apart, and the balance term keeps that from being won by putting every
// sample confidently in one cluster. λ = 0 gives the balance-only loss.
//
// Gradients. Writing u_ij = (1 + ‖z_i − μ_j‖²/α)⁻¹, the logit
// log q_ij + const has ∂/∂z_i = −((α+1)/α) u_ij (z_i − μ_j), and the
// softmax turns ∂L/∂q_ij = (1/N)(c_ij + 1 − λ) with
//
//	c_ij = log(q̄_j/π_j) − λ log q_ij,  c̄_i = Σ_j q_ij c_ij
//
// into ∂L/∂logit_ij = (1/N) q_ij (c_ij − c̄_i) (constants cancel because
// Σ_j q_ij = 1), so
//
//	∂L/∂z_i = −((α+1)/(α N)) Σ_j q_ij (c_ij − c̄_i) u_ij (z_i − μ_j),
//	∂L/∂μ_j = ((α+1)/(α N)) Σ_i q_ij (c_ij − c̄_i) u_ij (z_i − μ_j).
package uniformity
