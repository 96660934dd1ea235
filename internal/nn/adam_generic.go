//go:build !amd64 || noasm

package nn

// adamVector is the vector part of an Adam step; this build has none, so
// the Go loop does every element.
func adamVector(w, g, m, v []float32, p Step) int { return 0 }
