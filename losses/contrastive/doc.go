// Package contrastive is the contrastive loss of a Siamese network (Hadsell,
// Chopra and LeCun 2006, "Dimensionality Reduction by Learning an Invariant
// Mapping"), the loss SpectralNet (Shaham et al. 2018, "SpectralNet: Spectral
// Clustering using Deep Neural Networks", section 4.2) trains its affinity
// network with: near neighbours in the input are pulled together and random
// pairs pushed at least a margin apart.
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
// Rows from 2h on are not used. Over the P = h(1+S) pairs, with margin m
// and positive margin m_p,
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
package contrastive
