// Package subspace is the elastic-net subspace clustering plugin (EnSC;
// You, Li, Robinson & Vidal 2016, "Oracle Based Active Set Algorithm for
// Scalable Elastic Net Subspace Clustering", CVPR), for points that lie
// near a union of low-dimensional linear subspaces, where k-means and
// kNN-graph spectral clustering fail because points of different
// subspaces can be closer than far points of the same one.
//
// Fit clusters all N embeddings in four steps.
//
// 1. Scaling. Every row is scaled to unit ℓ2 length, x_i = z_i/‖z_i‖ (a
// zero row stays zero), as EnSC does; subspace membership does not depend
// on a point's length.
//
// 2. Self-expression. Each point is written as a combination of the
// others by the elastic net
//
//	c_i = argmin_c ½‖x_i − Σ_{j≠i} c_j x_j‖² + α_i (τ‖c‖₁ + ½(1−τ)‖c‖²),
//	α_i = μ_i/(γτ),   μ_i = max_{j≠i} |x_jᵀx_i|,
//
// so the ℓ1 weight α_iτ is the fraction 1/γ of μ_i, the value above which
// c_i = 0 (EnSC's gamma_nz; γ > 1). τ = 1 is SSC's lasso; τ < 1 adds the
// ℓ2 term that makes the coefficients of correlated points denser (more
// connected within a subspace).
//
// Oracle-guided active set (EnSC's Algorithm 1): the support T starts as
// the `support` atoms of largest |x_jᵀx_i|; the problem restricted to T is
// solved by coordinate descent (below); with the residual scaled to the
// oracle point δ_i = (x_i − Σ_{j∈T} c_j x_j)/α_i, the restricted solution
// is optimal for the full problem iff |x_jᵀδ_i| ≤ τ for every j ∉ T (the
// subgradient condition of a zero coefficient). Otherwise T becomes the
// nonzero coefficients plus the (at most `support`) atoms of largest
// |x_jᵀδ_i| > τ(1 + 10⁻⁴), and the round repeats, at most `rounds` times.
// A round scans all still-active points against all N points by a
// float32 GEMM in tiles of 256 × 2048 (2 MiB per worker); candidates above
// τ(1 − 10⁻³) in float32 are checked again in float64. The filter over
// each tile compares v and −v with one bar (the threshold, or the worst
// candidate kept once the bounded heap is full), with no branch on the
// sign of v: on 10-D codes that loop, not the GEMM, is the scan's cost.
//
// Restricted problem: cyclic coordinate descent with covariance updates
// (Friedman, Hastie & Tibshirani 2010), for l1 = α_iτ and l2 = α_i(1−τ),
//
//	c_j ← S(a_jᵀx_i − Σ_{l≠j} G_jl c_l, l1) / (G_jj + l2),   S(u, t) = sign(u)·max(|u| − t, 0),
//
// with G the Gram matrix of the support (a column is computed when its
// coefficient first becomes nonzero), stopped on scikit-learn's duality
// gap ≤ tol·‖x_i‖² (at most 1000 sweeps). It is the solver scikit-learn's
// ElasticNet runs, to the same optimum (testdata/sklearn_enet.py).
// Whenever a sweep leaves the sign pattern of c unchanged, the solver
// jumps to the minimiser on that pattern, ĉ_S = (G_SS + l2·I)⁻¹(b_S −
// l1·sign(c_S)) by Cholesky, moving only as far as the signs hold and
// dropping a coefficient that reaches zero (Lawson & Hanson's primal
// active set; the objective decreases along every such step). On
// low-dimensional embeddings the nonzero atoms outnumber the dimensions,
// and then coordinate descent alone closes the gap at the rate l2/G_jj:
// on 10-D autoencoder codes it took ~700 sweeps per point, with the jump
// ~25, and every point then meets the oracle's optimality check.
//
// Only the `nonzero` coefficients of largest magnitude are kept per point
// (EnSC's n_nonzero).
//
// 3. Affinity. With the rows of C scaled to unit ℓ2 length (Ĉ),
//
//	A = ½(|Ĉ| + |Ĉ|ᵀ)
//
// (EnSC's "symmetrize" affinity). Spectral clustering needs at most k
// connected components and no isolated vertex, which a sparse C does not
// promise; every point outside the k largest components (and every
// isolated point) is therefore linked, with the smallest weight in A, to
// its most coherent point (largest |x_iᵀx_j|) inside them. Report counts
// the components and the linked points.
//
// 4. Labels. The k leading eigenvectors of D^{-1/2} A D^{-1/2} and k-means
// on their unit-length rows (or cluster_qr), by the spectral clusterer's
// machinery (spectral.Labels: block Krylov–Schur eigensolver of
// internal/sparse).
//
// Choosing γ. gamma may be a list of distinct candidates: Fit (and
// Update) then runs steps 2–4 for each in the order listed, on the same
// unit rows and with the same seed, and keeps the fit whose labels have
// the largest weighted modularity on their own affinity A (Newman 2004;
// validity.WeightedModularity),
//
//	Q = Σ_c [W_c/W − (D_c/W)²],   W = Σ_ij A_ij, W_c = Σ_{i,j∈c} A_ij, D_c = Σ_{i∈c} Σ_j A_ij,
//
// the first listed on ties (the kmeans clusterer keeps its restarts so).
// Q uses no labels; a γ whose affinity breaks into more than k components
// collapses the partition and scores near 0. The kept γ is saved with the
// state and used by Assign; Report lists every candidate's Q, and Fit and
// Update return the choice in sdk.Assignment.Params (param "gamma"), which
// the host records and prints.
//
// Assign labels new points by their self-expression over a dictionary of
// `dictionary` fitted rows (a seeded random sample, unit length, with
// their clusters): the same elastic net over the dictionary, then the
// cluster j of smallest residual ‖x − Σ_{l∈j} c_l d_l‖ (sparse-
// representation classification, Wright et al. 2009).
//
// Joint training uses the spectral clusterer's stand-in: the means μ_j of
// the clusters, L_c = (1/N) Σ_i ‖z_i − μ_{s_i}‖², ∂L_c/∂z_i = 2(z_i − μ_{s_i})/N;
// Update reruns steps 1–4 and renames the clusters to agree with the
// previous labels (Hungarian matching).
//
// # Cost and memory
//
// Everything below is per candidate γ; a list of them costs the sum, and
// holds one candidate's affinity and labels besides the kept labels.
//
// Self-expression costs N²·d multiply-adds per round for the scan (plus
// N·|T|·nnz·d for the restricted problems); most points converge in 2–5
// rounds and later rounds scan only the points still active. Memory: the
// unit rows (N·d float32), the oracle points (N·d float32), the supports
// (N·(support + nonzero) int32 and float64 at most per round), the kept
// coefficients and the affinity (≤ 2·N·nonzero entries of 16 bytes, twice
// while sorting) and k eigenvectors of length N (float64, plus the
// eigensolver's basis of max(2k+3b, 30) vectors). For N = 70,000, d = 784,
// support 100 and nonzero 50: about 0.22 + 0.22 GB for the rows, 0.1 GB for
// the supports and 0.2 GB for the affinity, under 1 GB in all. The saved
// state holds the labels (4 bytes per row), k cluster means and the
// dictionary (m·d float32).
//
// A seed gives bit-identical results whatever the scheduling or
// GOMAXPROCS: every scan keeps per-point candidates in a strictly ordered
// bounded heap, each point's problem is solved by one goroutine, and the
// spectral step is deterministic.
package subspace
