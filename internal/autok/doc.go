// Package autok is what the clusterers kmeans, gmm and spectral share for
// k: auto: the config fields k (an int or "auto") and k_range, their
// checks, and the scan of a criterion over the range.
package autok
