package knn

import "math/rand/v2"

// Blobs returns n points of dimension d (row-major) drawn from clusters
// isotropic unit Gaussians whose centres are drawn from N(0, spread²·I),
// each point's cluster uniformly: seeded clustered data on which the
// package's tests and the bench command measure recall and speed.
func Blobs(n, d, clusters int, spread float64, seed uint64) []float32 {
	rng := rand.New(rand.NewPCG(seed, 0x626c6f6273))
	centres := make([]float64, clusters*d)
	for i := range centres {
		centres[i] = spread * rng.NormFloat64()
	}
	x := make([]float32, n*d)
	for i := range n {
		c := centres[rng.IntN(clusters)*d:][:d]
		for t := range d {
			x[i*d+t] = float32(c[t] + rng.NormFloat64())
		}
	}
	return x
}
