// Package gmm is the Gaussian-mixture clusterer plugin, the clusterer of
// N2D (McConville, Santos-Rodriguez, Piechocki and Craddock 2020, "N2D:
// (Not Too) Deep Clustering via Clustering the Local Manifold of an
// Autoencoded Embedding"), fitted by EM as scikit-learn's GaussianMixture.
//
// The model of an embedding z ∈ ℝᵈ is the mixture
//
//	p(z) = Σ_j π_j N(z; μ_j, Σ_j),
//	log N(z; μ, Σ) = −½ d log 2π − ½ log det Σ − ½ (z − μ)ᵀ Σ⁻¹ (z − μ),
//
// of k components with weights π_j (Σ_j π_j = 1), means μ_j and full or
// diagonal covariances Σ_j (covariance). Each Σ_j is factorised by
// Cholesky, Σ_j = L_j L_jᵀ (gonum's mat.Cholesky), and U_j = L_j^{−T} is
// kept (scikit-learn's precisions_cholesky_), so that
//
//	(z − μ_j)ᵀ Σ_j⁻¹ (z − μ_j) = ‖U_jᵀ (z − μ_j)‖²,   −½ log det Σ_j = Σ_t log (U_j)_tt;
//
// for diagonal covariances U_j = diag(1/σ_jt).
//
// E-step. With ℓ_ij = log π_j + log N(z_i; μ_j, Σ_j) and m_i = max_j ℓ_ij,
// by log-sum-exp,
//
//	log p(z_i) = m_i + log Σ_j exp(ℓ_ij − m_i),   γ_ij = exp(ℓ_ij − log p(z_i)),
//
// the responsibilities (posteriors) γ_ij.
//
// M-step, as scikit-learn's _estimate_gaussian_parameters, with ε the
// float64 machine epsilon and reg = reg_covar:
//
//	n_j = Σ_i γ_ij + 10ε,   π_j = n_j / Σ_l n_l,   μ_j = (1/n_j) Σ_i γ_ij z_i,
//	Σ_j = (1/n_j) Σ_i γ_ij (z_i − μ_j)(z_i − μ_j)ᵀ + reg·I                 (full),
//	σ²_jt = (1/n_j) Σ_i γ_ij (z_it − μ_jt)² + reg                          (diag).
//
// Responsibilities below 1e-200 are left out of these sums (and of the
// loss gradient below): together they
// weigh less than N·1e-200, below the float64 resolution of n_j ≥ 10ε, and
// leaving them out avoids slow subnormal arithmetic.
//
// reg is the covariance floor: with reg > 0 every Σ_j is positive definite
// even when its samples coincide. (scikit-learn expands the diagonal
// variance as E[z²] − 2μE[z] + μ²; the centred form used here is equal up
// to rounding and cannot cancel below reg.) A covariance that is not
// positive definite (reg = 0 and collapsed samples) is an error, as in
// scikit-learn.
//
// EM iterates E-step then M-step, at most max_iter times. The lower bound
// of an iteration is the mean log-likelihood ℒ = (1/N) Σ_i log p(z_i) of its
// E-step, i.e. under the parameters before its M-step (scikit-learn's
// lower_bound_); EM stops when |ℒ − ℒ_prev| < tol, with ℒ_prev = −∞ on the
// first iteration.
//
// Initialisation (init). kmeans: the hard responsibilities γ_ij = [s_i = j]
// of one full k-means run (clusterers/kmeans.Cluster: greedy k-means++ and
// Lloyd, with scikit-learn's KMeans defaults max_iter 300 and tol 1e-4), as
// scikit-learn's init_params="kmeans"; kmeans++: the hard responsibilities
// of the nearest centre of a k-means++ seeding alone (kmeans.PlusPlus), no
// Lloyd rounds (scikit-learn's init_params="k-means++" instead gives each
// seed point alone responsibility 1). Either start is turned into
// parameters by one M-step with π_j = n_j/N. Fit runs n_init starts, each
// with its own seed drawn from Setup.Seed, and keeps the run with the
// highest final lower bound (the earliest on ties).
//
// Fit, Update and Assign return the posteriors γ as Soft, their argmax as
// Labels and the mean negative log-likelihood −(1/N) Σ_i log p(z_i) under
// the returned parameters as Objective. Update refits by EM warm-started
// from the current parameters (one run, no re-initialisation); Assign
// predicts on any rows without changing anything.
//
// For joint training the clusterer supplies the mixture's negative
// log-likelihood of a batch of N rows,
//
//	L_c = −(1/N) Σ_i log p(z_i),   ∂L_c/∂z_i = (1/N) Σ_j γ_ij Σ_j⁻¹ (z_i − μ_j),
//
// with Σ_j⁻¹(z − μ_j) = U_j U_jᵀ (z − μ_j), the means μ_j as the centroids
// and γ as the soft assignments. Step leaves the mixture unchanged (its
// parameters move only by EM in Fit and Update; centroid gradients from
// auxiliary losses are checked and ignored).
//
// Distributed EM. Params are the parameters as numbers (Clusterer.Params,
// ParseState, Params.State in Save's format). An E-step under fixed
// parameters (NewEStep, EStep.Add) over any part of the rows gives
// sufficient statistics about the E-step's means c_j, which add across
// parts (Stats.Merge):
//
//	S0_j = Σ_i γ_ij,   S1_j = Σ_i γ_ij (z_i − c_j),   S2_j = Σ_i γ_ij (z_i − c_j)(z_i − c_j)ᵀ;
//
// MStep turns them into the M-step above (μ_j = (S1_j + S0_j c_j)/n_j and
// the centred covariance S2_j − e_j S1_jᵀ − S1_j e_jᵀ + S0_j e_j e_jᵀ with
// e_j = μ_j − c_j), equal to the single-process M-step up to float64
// rounding; AddHard and an initial MStep give a run's start.
// cmd/deepclust-beam chains such iterations on Apache Beam.
//
// All arithmetic is float64. The E-step and the loss process rows in fixed
// chunks of 512 by two goroutines, adding per-chunk partial sums in chunk
// order; the M-step computes each component in one goroutine over all rows
// in order. A seed therefore gives bit-identical results whatever the
// scheduling or GOMAXPROCS.
package gmm
