// Package conv implements the convolutional autoencoder encoder plugin
// "conv": the network of DCEC (X. Guo, X. Liu, E. Zhu, J. Yin, "Deep
// Clustering with Convolutional Autoencoders", ICONIP 2017), by default on
// 28×28 images
//
//	conv32 5×5 s2 same → 14×14, conv64 5×5 s2 same → 7×7, conv128 3×3 s2 valid → 3×3,
//	flatten 1152 → dense 10 (z, linear),
//	dense 10 → 1152 → reshape 128×3×3, deconv64 3×3 s2 valid → 7×7,
//	deconv32 5×5 s2 same → 14×14, deconv1 5×5 s2 same → 28×28 (x̂).
//
// A convolution with weights W (K×C×kh×kw), stride s and padding p before
// the input computes, for samples in NCHW layout,
//
//	y[k,oh,ow] = act(b[k] + Σ_{c,i,j} W[k,c,i,j]·x[c, oh·s−p+i, ow·s−p+j]),
//
// with x zero outside the image. "same" padding follows TensorFlow: the
// output is ⌈in/s⌉ and the total padding max((out−1)·s + k − in, 0) is split
// with the odd one after; "valid" has none and gives ⌊(in−k)/s⌋ + 1. Each
// transposed convolution of the decoder is the adjoint of the matching
// encoder convolution's geometry (weights OutC×InC×kh×kw with the sides
// swapped), so it restores that layer's input size exactly, with the output
// padding the geometry implies (e.g. 3 → 7 for valid 3×3 s2 on 7). Hidden
// layers use ReLU or leaky ReLU, z is linear, x̂ linear or sigmoid.
//
// For a convolution with pre-activation gradient G = ∂L/∂(y before act):
//
//	∂L/∂W = G·colsᵀ,  ∂L/∂b = Σ G,  ∂L/∂x = col2im(Wᵀ·G),
//
// where cols is the im2col matrix of x; a transposed convolution swaps the
// roles (its forward is col2im(Wᵀ·x), its input gradient a convolution).
// These run through internal/kernels, whose im2col/col2im feed the AVX-512
// GEMM. Dense layers are as in encoders/mlp; the optimisers (Adam, SGD with
// momentum) and activations are the shared ones of internal/nn. Gradients
// are applied as given: the losses already average over the batch. A
// Backward without ∂L/∂x̂ leaves the decoder untouched, so encoder and
// decoder count their Adam steps separately.
//
// Weights start from U(−a, a), a = √(6/(fan_in+fan_out)) (glorot, the Keras
// default of the DCEC code) or √(6/fan_in) (he), fans counting kernel taps ×
// channels; biases start at zero. Setup.Seed seeds the initialisation and the
// optional Gaussian input noise (math/rand/v2 PCG), so a seed fixes every
// result; the convolution kernels sum in an order fixed by the shapes alone,
// whatever the thread count.
//
// Steady-state training allocates nothing in this package: activation,
// gradient and im2col buffers are sized for the largest batch and reused.
package conv
