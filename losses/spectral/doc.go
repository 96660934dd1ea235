// Package spectral is the SpectralNet loss (Shaham, Stanton, Li, Basri,
// Nadler & Kluger, "SpectralNet: Spectral Clustering using Deep Neural
// Networks", ICLR 2018) on one batch of m samples:
//
//	L = (1/2m) Σ_ij W_ij ‖z_i − z_j‖² = tr(Zᵀ(D − W)Z)/m,
//	∂L/∂z_i = (2/m) Σ_j W_ij (z_i − z_j),
//
// D = diag(Σ_j W_ij). The normalisation 1/(2m) is the authors' code's
// (costs in src/core/networks.py: K.sum(W*Dy)/(2*batch_size)); the paper
// writes 1/m², which differs by the factor m/2 only, so that the value
// does not depend on the batch size. Paired with an encoder whose output is
// orthonormal on the batch (ZᵀZ = m·I, encoders/spectralnet), minimising L
// drives Z towards the k leading eigenvectors of the batch graph.
//
// W is computed within the batch from the inputs x (LossInput.X, each row
// flattened): the knn−1 nearest other inputs of every input, found exactly
// (internal/knn.Search: tiled GEMM, float64 re-ranking), weighted
//
//	median:    W̃_ij = exp(−‖x_i − x_j‖² / (2σ²)),  σ = median_i ‖x_i − x_{i,(s)}‖
//	selftune:  W̃_ij = exp(−‖x_i − x_j‖² / (σ_i σ_j)), σ_i = ‖x_i − x_{i,(s)}‖
//	fixed:     W̃_ij = exp(−‖x_i − x_j‖² / (2 sigma²))
//
// with x_{i,(s)} the s-th (scale_neighbor) nearest other input, and
// symmetrised W = (W̃ + W̃ᵀ)/2 (clusterers/spectral.Affinity). The median
// scale is SpectralNet's (get_scale and knn_affinity in src/core): MNIST
// uses n_nbrs 3 and scale_nbr 2, both counting the point itself, i.e. knn 3
// and scale_neighbor 1 here; the authors compute σ once from one sample of
// the data, this loss from each batch (element m/2 of the sorted
// distances, as their median). selftune is Zelnik-Manor & Perona (2004).
package spectral
