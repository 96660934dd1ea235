// Package kernels holds the dense float32 linear algebra behind the encoders:
// row-major GEMM in the layouts forward and backward passes need.
package kernels
