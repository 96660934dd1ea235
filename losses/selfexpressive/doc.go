// Package selfexpressive is the self-expressive layer of DSC-Net (Ji,
// Zhang, Li, Salzmann & Reid 2017, "Deep Subspace Clustering Networks") as
// an auxiliary loss on each batch, in a form whose memory does not grow
// with the data set.
//
// DSC-Net learns one n×n coefficient matrix C with Z ≈ CZ alongside the
// autoencoder, on L = ‖X − X̂‖² + λ₁‖C‖_p + (λ₂/2)‖Z − CZ‖², which needs
// n² parameters (39 GB in float64 for MNIST-70k). Here C lives on the
// batch: for the B×d embeddings Z of a batch (rows z_i),
//
//	L(Z) = min_{C : diag C = 0} f(C, Z),   f(C, Z) = (1/B)[λ₁‖C‖²_F + (λ₂/2)‖Z − CZ‖²_F],
//
// DSC-Net-L2's objective averaged over the batch. With μ = 2λ₁/λ₂ and
// P = (ZZᵀ + μI)⁻¹, each row is a ridge regression with c_ii = 0, whose
// solution (Lagrange multiplier for c_ii = 0; as in least-squares
// regression subspace clustering, Lu et al. 2012) is
//
//	C* = I − diag(P)⁻¹ P,   Z − C*Z = diag(P)⁻¹ P Z.
//
// By the push-through identity and Woodbury, with the d×d matrix
// M = (ZᵀZ + μI)⁻¹ (Cholesky),
//
//	P Z = Z M,   P_ii = (1 − z_iᵀ M z_i)/μ,   ‖P e_i‖² = (1 − 2 z_iᵀMz_i + z_iᵀ M ZᵀZ M z_i)/μ²,
//	‖c*_i‖² = ‖P e_i‖²/P_ii² − 1,
//
// so L costs O(B·d²) time and O(B·d + d²) memory: C* is never formed.
// Since C* is the unique minimiser for every Z (f is strictly convex in
// C), Danskin's theorem gives the gradient of L as ∂f/∂Z at C*:
//
//	∂L/∂Z = (λ₂/B)(I − C*)ᵀ(Z − C*Z) = (λ₂/B) P W,   W = diag(P)⁻¹(Z − C*Z),
//	P W = (W − Z M ZᵀW)/μ.
//
// The coefficients' own gradient ∂f/∂C is zero at C*: every step sees the
// coefficients DSC-Net's optimiser would converge to for that batch, and
// the embeddings are moved by the gradient through them. The tests check
// L against f(C*, Z) formed with dense B×B matrices, ∂f/∂C ≈ 0 at C*,
// f(C* + E) > f(C*) for random E, and ∂L/∂Z against central differences.
//
// Memory: for a batch of B rows of width d, about 8(3B·d + 4d²) bytes
// (B = 256, d = 10: 70 KB), whatever the data set's size. P_ii > 0 needs
// z_iᵀ M z_i < 1, which holds for any μ > 0; when μ is tiny against the
// scale of Z the leverages approach 1 and the loss fails with a one-line
// error rather than return a value dominated by rounding.
//
// Departures from DSC-Net: C is per batch (the self-expression of a point
// uses only its batch-mates), the regulariser is the squared Frobenius
// norm (DSC-Net's L2 variant, not ℓ1), the decoder sees Z rather than CZ
// (the loss returns ∂L/∂Z only; GradXHat stays empty), and the value is
// averaged over the batch. The clustering is left to the subspace
// clusterer on the trained embeddings.
package selfexpressive
