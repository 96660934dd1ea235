// Package mlp implements the fully connected autoencoder encoder plugin
// "mlp": the network d-h1-…-hk-e-hk-…-h1-d of DEC/IDEC/DCN (default
// 784-500-500-2000-10 and mirror) trained by backpropagation.
//
// Every layer computes y = act(x·Wᵀ + b) with W stored out×in, row-major.
// Hidden layers use ReLU, max(0, a), or leaky ReLU, a for a > 0 and s·a
// otherwise; the embedding layer z is linear; the output layer x̂ is linear
// or the sigmoid 1/(1+e^(−a)). For a batch X (N×in) and the gradient G of
// the loss with respect to a layer's pre-activation (N×out):
//
//	Y = X·Wᵀ,  ∂L/∂W = Gᵀ·X,  ∂L/∂b = Σ_rows G,  ∂L/∂X = G·W,
//
// all three products through kernels.Gemm. ∂L/∂z from the caller is added
// to the gradient flowing back into the embedding layer. Gradients are
// applied as given: the losses already average over the batch.
//
// Adam (Kingma & Ba 2015, Algorithm 1) with L2 penalty λ, step t:
//
//	g ← g + λθ,  m ← β1·m + (1−β1)·g,  v ← β2·v + (1−β2)·g²,
//	θ ← θ − lr·m̂/(√v̂ + ε),  m̂ = m/(1−β1^t),  v̂ = v/(1−β2^t).
//
// SGD with momentum μ (PyTorch form): v ← μ·v + g + λθ, θ ← θ − lr·v.
// A Backward without ∂L/∂x̂ leaves the decoder untouched (as PyTorch skips
// parameters without a gradient), so encoder and decoder count their Adam
// steps separately.
//
// Weights start from U(−a, a) with a = √(6/(in+out)) (glorot, the Keras
// default used by the DEC/IDEC reference code) or a = √(6/in) (he); biases
// start at zero. Setup.Seed seeds the initialisation and the optional
// Gaussian input noise of training passes (math/rand/v2 PCG), so a seed
// fixes every result.
//
// Steady-state training allocates nothing in this package: activation and
// gradient buffers are sized for the largest batch and reused, and large
// optimiser steps are split with a long-lived helper goroutine. The bias
// add and activation run in each forward GEMM's output pass
// (kernels.GemmFused), the activation derivative in the output pass of the
// GEMM that computes ∂L/∂X of the layer above (only the top layer's is a
// separate pass), and ∂L/∂b while Gᵀ is packed for ∂L/∂W; in float32 the
// results are bit-identical to separate passes.
//
// precision: bf16 rounds the operands of all three products to bfloat16
// (round to nearest even) and accumulates in float32 (kernels.GemmBF16);
// parameters, gradients, the optimiser state and the saved state stay
// float32, so precision is configuration only. On a processor with neither
// AMX-BF16 nor AVX512_BF16 the encoder trains in float32 and writes one
// line to standard error.
package mlp
