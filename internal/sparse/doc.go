// Package sparse holds the sparse symmetric matrices of graph-based
// clustering and a sparse symmetric eigensolver for their leading
// eigenvectors.
//
// CSR stores a square matrix in compressed sparse row form (Saad 2003,
// "Iterative Methods for Sparse Linear Systems", §3.4); MulVec computes
// y = A x row by row in parallel. Components labels the connected
// components of the graph whose edges are the nonzero entries.
//
// EigSymTop computes the k algebraically largest eigenpairs of a symmetric
// operator A with a block Krylov–Schur method (Stewart 2002, "A
// Krylov–Schur Algorithm for Large Eigenproblems"; symmetric case = thick
// restart Lanczos, Wu & Simon 2000) with full reorthogonalisation in
// float64. Starting from a random orthonormal block of b vectors, the basis
// V = [V₁ … V_j] is grown block by block,
//
//	V_{j+1} R = (I − V Vᵀ) A V_j    (classical Gram–Schmidt, twice),
//
// until it holds m vectors. The projection H = Vᵀ A V is formed explicitly
// from the stored products A V (so it does not rely on the Lanczos
// recurrence holding in floating point), and its eigenpairs H s = θ s give
// the Ritz pairs (θ, y = V s) with residuals r = A y − θ y, computed
// exactly. A pair has converged when ‖r‖₂ ≤ tol·max_i |θ_i|; the Ritz
// value then lies within ‖r‖₂ of an eigenvalue and, for a gap δ to the rest
// of the spectrum, within ‖r‖₂²/δ. Until the k leading pairs have
// converged, the method restarts with the l leading Ritz vectors (Yᵀ A Y =
// Θ) and continues the Krylov sequence from the next block
// (I − V Vᵀ) A V_j, which spans every Ritz residual. A block of b vectors
// finds eigenvalues of multiplicity up to b, which single-vector Lanczos
// cannot in exact arithmetic; a block that collapses (an invariant
// subspace was found) is replaced by random vectors orthogonal to V.
//
// Work is split over fixed chunks of rows or over whole vectors, every sum
// is formed in a fixed order by one goroutine, so results are bit-identical
// whatever the scheduling or GOMAXPROCS.
package sparse
