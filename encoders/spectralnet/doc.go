// Package spectralnet is the SpectralNet encoder (Shaham, Stanton, Li,
// Basri, Nadler & Kluger, "SpectralNet: Spectral Clustering using Deep
// Neural Networks", ICLR 2018): a network that maps x to Y whose columns,
// over a batch, approximate the leading eigenvectors of the graph
// Laplacian of the inputs, so that k-means on Y is spectral clustering that
// also embeds new points.
//
// The network is d → hidden (ReLU; 1024-1024-512 for MNIST as in the
// paper) → k, then the output activation (tanh, as in the authors' code),
// giving Ỹ (m×k for a batch of m), then the orthonormalisation layer
//
//	Y = Ỹ·M,   M = √m·L⁻ᵀ,   L·Lᵀ = ỸᵀỸ + εI (Cholesky, float64),
//
// so that YᵀY = m·I on every training batch (up to the ridge ε,
// ortho_epsilon, 1e-7 by default as in the authors' orthonorm_op, which
// keeps a batch whose k outputs are linearly dependent factorisable). A training Forward computes M
// from its own batch and keeps it; evaluation Forwards (new points) use the
// M of the last training batch, the paper's way of embedding new points
// (the identity before any training).
//
// Backward, for Ȳ = ∂L/∂Y, with ortho_grad fixed holds M fixed as a linear
// layer's weights, as the paper describes the gradient step:
//
//	∂L/∂Ỹ = Ȳ·Mᵀ.
//
// With ortho_grad full (the default) it also differentiates M(Ỹ): Y/√m =
// Ỹ·R⁻¹ with R = Lᵀ is the QR factorisation of Ỹ, and the QR backward rule
// with R̄ = 0 gives
//
//	∂L/∂Ỹ = (Ȳ − (1/m)·Y·sym(ȲᵀY))·Mᵀ,   sym(A) = tril(A) + tril(A, −1)ᵀ.
//
// This is what the authors' TensorFlow graph differentiates (its Orthonorm
// layer computes M from the batch inside the graph). With M fixed, the
// gradient keeps shrinking the spread of Ỹ, which the next batch's M undoes:
// on MNIST the outputs collapse to a rank-deficient Ỹ within a few epochs,
// while the full gradient, under which the loss is invariant to that
// shrinking, trains stably.
//
// The network itself is an encoders/mlp autoencoder configured with a
// linear k-wide embedding, used by composition: its encoder half is the
// d → hidden → k net, trained by the shared optimisers of internal/nn
// (Adam, SGD with momentum); its decoder half is never trained (Backward
// sends no ∂L/∂x̂) and only costs the decoder's forward pass. Save stores
// M followed by the mlp state.
package spectralnet
