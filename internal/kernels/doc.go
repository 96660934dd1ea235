// Package kernels holds the dense float32 linear algebra behind the encoders:
// row-major GEMM in the layouts forward and backward passes need,
//
//	C = alpha·op(A)·op(B) + beta·C,   op(X) ∈ {X, Xᵀ}.
//
// Gemm follows the BLIS/GotoBLAS scheme. The depth k is cut into equal
// chunks of at most kcMax; for each chunk a kc×nc block of op(B) and an mc×kc
// block of op(A) are packed into contiguous panels (the only code that sees
// the layout or the strides) and a register-blocked micro-kernel computes
// mr×nr tiles of C from them: 12×32 with 24 zmm accumulators on AVX-512,
// 6×16 on AVX2+FMA, and a portable Go kernel elsewhere or under the noasm
// build tag. GemmInfo names the one in use.
//
// Work is split between GOMAXPROCS goroutines (a persistent pool) by whole
// tiles of C, either rows or columns. Every element is summed in the same
// order — chunk by chunk, k ascending within a chunk — whichever goroutine
// computes it, so results are bit-identical for any thread count.
//
// For the MLP with weights W stored out×in: forward Y = X·Wᵀ is
// Gemm(false, true, ...), dX = dY·W is Gemm(false, false, ...) and
// dW = dYᵀ·X is Gemm(true, false, ...); all three run at full speed.
//
// GemmBF16 is the same product on bfloat16 operands: packing rounds op(A)
// and op(B) to bf16 (round to nearest even, as VCVTNE2PS2BF16) in pairs
// along the depth, and the products are accumulated in float32. It runs on
// AMX-BF16 (32×32 tiles of C from TDPBF16PS, on Linux after asking the
// kernel for the tile state), else on AVX512_BF16 (a 12×32 VDPBF16PS
// micro-kernel), else on a portable Go kernel that reproduces VDPBF16PS's
// arithmetic bit for bit (bf16.go). BF16Info names the one in use.
//
// GemmFused is Gemm or GemmBF16 with an Epilogue: bias + activation
// (forward) or multiplication by the activation's derivative (backward)
// applied to each tile of C after its last depth chunk, while the tile is
// in cache, and the row sums of op(A) (a bias gradient) accumulated while A
// is packed. Fused results equal the separate passes bit for bit.
package kernels
