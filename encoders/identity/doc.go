// Package identity is the encoder plugin that leaves the data as it is:
// for a batch x of shape [N, s₁, …, s_m] it returns
//
//	z = vec(x) ∈ ℝ^{N×D},   D = s₁·…·s_m,
//
// the samples flattened in row-major order, with no reconstruction (x̂ is
// the empty tensor) and no parameters, so Backward has nothing to update.
// A pipeline with pretrain_epochs: 0 and epochs: 0 and this encoder runs
// any clusterer on the raw features, e.g. spectral clustering or k-means
// on MNIST pixels.
package identity
