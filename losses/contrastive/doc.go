// Package contrastive holds the contrastive losses of a Siamese network on
// neighbour pairs: near neighbours in the input are pulled together and
// random pairs pushed apart. Two kinds:
//
//   - hadsell (the default): the margin loss of Hadsell, Chopra and LeCun
//     2006, "Dimensionality Reduction by Learning an Invariant Mapping", which
//     SpectralNet (Shaham et al. 2018, "SpectralNet: Spectral Clustering using
//     Deep Neural Networks", section 4.2) trains its affinity network with;
//   - umap: the fuzzy cross-entropy of UMAP (McInnes, Healy and Melville
//     2018) as parametric UMAP trains a network with it (Sainburg, McInnes and
//     Gentner 2021, "Parametric UMAP Embeddings for Representation and
//     Semisupervised Learning").
//
// It needs batches of neighbour pairs, as the pipeline's neighbors
// pretraining sampler builds them: with h = LossInput.Pairs, rows [0, h) of
// the embeddings z are anchors drawn at random and row h+i is one of the
// nearest neighbours of anchor i in the input. The pairs are
//
//	positives (y = 1): (z_i, z_{h+i}),                 i ∈ [0, h),
//	negatives (y = 0): (z_i, z_{h+((i+s) mod h)}),     i ∈ [0, h), s = 1..S,
//
// S = min(negatives, h−1): each anchor against the neighbours of S other
// anchors, which are random pairs because the anchors are drawn at random.
// Rows from 2h on are not used.
//
// # Kind hadsell
//
// Over the P = h(1+S) pairs, with margin m and positive margin m_p,
//
//	L = (1/P) Σ_pairs [ y·max(d − m_p, 0)² + (1−y)·max(m − d, 0)² ],   d = ‖z_a − z_b‖,
//
// and the gradients are, for a positive pair with d > m_p,
//
//	∂L/∂z_a = −∂L/∂z_b = (2/P)((d − m_p)/d)(z_a − z_b),
//
// (2/P)(z_a − z_b) when m_p = 0, zero when d ≤ m_p;
// and for a negative pair with 0 < d < m,
//
//	∂L/∂z_a = −∂L/∂z_b = −(2/P)((m − d)/d)(z_a − z_b),
//
// zero when d ≥ m. At d = 0 the distance is not differentiable; the pair
// adds nothing to the gradient there (a negative one adds m²/P to L).
//
// With no negatives (negatives: 0) L is smallest when every embedding sits
// at one point; use that only together with another loss that prevents it.
//
// m_p = 0 (the default) is the original loss of Hadsell et al.;
// SpectralNet's own code (src/core/costs.py) uses m_p = 0.2, and takes
// d = sqrt(max(d², ε)), which this package does not.
//
// # Kind umap
//
// With the embedding similarity φ(d) = 1/(1 + a·d^(2b)) (UMAP's curve; its
// default min_dist 0.1, spread 1 fit to a = 1.577, b = 0.895, and min_dist 0
// to a = 1.929, b = 0.7915 — the least-squares fit of umap-learn's
// find_ab_params), u = a·(d²)^b and ε = 1e-4,
//
//	L = (1/P) Σ_pairs [ −y·log φ(d) − (1−y)·log(1 − φ(d) + ε) ]
//	  = (1/P) Σ_pairs [ log(1 + u) − (1−y)·log(u(1+ε) + ε) ],
//
// the binary cross-entropy between the kNN graph (edge weight 1 for the
// positives, 0 for the negatives) and φ. The gradients are, with
// w = 2·dℓ/d(d²) = (2b·u/d²)·dℓ/du,
//
//	∂L/∂z_a = −∂L/∂z_b = (w/P)(z_a − z_b),
//	dℓ/du = 1/(1+u)                           (positive pair),
//	dℓ/du = 1/(1+u) − (1+ε)/(u(1+ε) + ε)      (negative pair),
//
// and zero at d = 0, their limit there for b > 1/2 (a negative pair at
// d = 0 adds −log(ε)/P to L). Unlike the margin loss, the repulsion grows
// without bound as a negative pair closes in, and the attraction keeps
// pulling neighbours together at every distance, so the embedding forms
// tight, separated groups: the property UMAP-based clustering (McConville
// et al. 2020, "N2D: (Not Too) Deep Clustering via Clustering the Local
// Manifold of an Autoencoded Embedding") relies on. Parametric UMAP clips
// the probabilities at 1e-4 where this package adds ε; the edges here are
// not weighted by UMAP's fuzzy memberships (every sampled neighbour counts
// 1), and the negatives are other anchors' neighbours rather than points
// drawn from the whole data.
package contrastive
