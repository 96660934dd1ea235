// Package reconstruction implements the autoencoder reconstruction loss
// L_n, the "reconstruction" loss plugin.
//
// For a batch x of N samples with D values each and its reconstruction x̂,
// the mean squared error (kind mse, the default) averages over all N·D
// elements, the Keras convention that DEC/IDEC hyper-parameters assume:
//
//	L = 1/(N·D) Σ_ij (x̂_ij − x_ij)²,    ∂L/∂x̂_ij = 2(x̂_ij − x_ij)/(N·D).
//
// The binary cross-entropy (kind bce) is for data in [0, 1], usually with a
// sigmoid output layer. With x̂ clamped to c = clamp(x̂, 1e-7, 1−1e-7):
//
//	L = −1/(N·D) Σ_ij [x_ij log c_ij + (1 − x_ij) log(1 − c_ij)],
//	∂L/∂x̂_ij = (c_ij − x_ij) / (c_ij (1 − c_ij) N·D) inside the clamp range, 0 outside.
//
// The loss depends on x̂ only: GradZ and GradCentroids stay empty.
package reconstruction
