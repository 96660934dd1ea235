package dec

import "math"

// StudentT writes the soft assignments of the n = len(z)/dim rows of z
// (row-major, n × dim) to the k = len(centroids)/dim centroids (k × dim)
// into q (n × k):
//
//	q_ij = (1 + ‖z_i − μ_j‖²/α)^(−(α+1)/2) / Σ_j' (1 + ‖z_i − μ_j'‖²/α)^(−(α+1)/2),
//
// and, when inv is non-nil, inv_ij = 1/(1 + ‖z_i − μ_j‖²/α), the factor
// every gradient of a loss on q needs. The kernel is evaluated in the log
// domain and normalised from its row maximum, so far-away rows do not
// underflow to 0/0. alpha must be > 0.
func StudentT(z, centroids []float64, dim int, alpha float64, q, inv []float64) {
	k := len(centroids) / dim
	expo := -(alpha + 1) / 2
	logw := make([]float64, k)
	for i := range len(z) / dim {
		zi := z[i*dim : (i+1)*dim]
		best := math.Inf(-1)
		for j := range k {
			var d2 float64
			for t, v := range centroids[j*dim : (j+1)*dim] {
				diff := zi[t] - v
				d2 += diff * diff
			}
			if inv != nil {
				inv[i*k+j] = 1 / (1 + d2/alpha)
			}
			logw[j] = expo * math.Log1p(d2/alpha)
			best = max(best, logw[j])
		}
		qi := q[i*k : (i+1)*k]
		var sum float64
		for j, lw := range logw {
			qi[j] = math.Exp(lw - best)
			sum += qi[j]
		}
		for j := range qi {
			qi[j] /= sum
		}
	}
}

// targets returns DEC's auxiliary target distribution for the soft
// assignments q (n × k):
//
//	p_ij = (q_ij²/f_j) / Σ_j' (q_ij'²/f_j'),   f_j = Σ_i q_ij.
func targets(q []float64, k int) []float64 {
	f := make([]float64, k)
	for i, v := range q {
		f[i%k] += v
	}
	p := make([]float64, len(q))
	for i := 0; i < len(q); i += k {
		var sum float64
		for j := range k {
			if f[j] > 0 {
				p[i+j] = q[i+j] * q[i+j] / f[j]
			}
			sum += p[i+j]
		}
		for j := range k {
			p[i+j] /= sum
		}
	}
	return p
}

// klMean returns (1/n) Σ_i Σ_j p_ij log(p_ij/q_ij) over n rows of k
// (terms with p_ij = 0 count 0).
func klMean(p, q []float64, k int) float64 {
	if len(q) == 0 {
		return 0
	}
	var total float64
	for i, pv := range p {
		if pv > 0 {
			total += pv * math.Log(pv/q[i])
		}
	}
	return total / float64(len(q)/k)
}

// klBatch evaluates the DEC loss of the n rows of z (n × dim) with targets
// p (n × k) against the centroids (k × dim):
//
//	L = (1/n) Σ_i Σ_j p_ij log(p_ij/q_ij),
//	∂L/∂z_i = ((α+1)/(α n)) Σ_j inv_ij (p_ij − q_ij)(z_i − μ_j),
//	∂L/∂μ_j = −((α+1)/(α n)) Σ_i inv_ij (p_ij − q_ij)(z_i − μ_j).
//
// It writes q (n × k) and, when non-nil, the gradients into gz (n × dim)
// and gmu (k × dim), both overwritten.
func klBatch(z, centroids, p []float64, dim int, alpha float64, q, gz, gmu []float64) float64 {
	k := len(centroids) / dim
	n := len(z) / dim
	inv := make([]float64, n*k)
	StudentT(z, centroids, dim, alpha, q, inv)
	value := klMean(p, q, k)
	clear(gz)
	clear(gmu)
	if n == 0 || (gz == nil && gmu == nil) {
		return value
	}
	scale := (alpha + 1) / (alpha * float64(n))
	for i := range n {
		zi := z[i*dim : (i+1)*dim]
		for j := range k {
			w := scale * inv[i*k+j] * (p[i*k+j] - q[i*k+j])
			mu := centroids[j*dim : (j+1)*dim]
			for t := range dim {
				g := w * (zi[t] - mu[t])
				if gz != nil {
					gz[i*dim+t] += g
				}
				if gmu != nil {
					gmu[j*dim+t] -= g
				}
			}
		}
	}
	return value
}

// argmax returns the index of the largest value of every row of q (n × k),
// ties to the lower index.
func argmax(q []float64, k int) []int32 {
	labels := make([]int32, len(q)/k)
	for i := range labels {
		best := 0
		for j, v := range q[i*k : (i+1)*k] {
			if v > q[i*k+best] {
				best = j
			}
		}
		labels[i] = int32(best)
	}
	return labels
}
