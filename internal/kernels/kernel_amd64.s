//go:build amd64 && !noasm

#include "textflag.h"

// Register-blocked float32 micro-kernels. Both compute, for packed panels
// a (k×MR, MR values per k step) and b (k×NR, NR values per k step),
//
//	C[i][j] = Σ_p a[p][i]·b[p][j] + beta·C[i][j]   (C not read when beta == ±0)
//
// for an MR×NR tile of row-major C with row stride ldc (in elements).

// AVX-512: MR = 12, NR = 32. Z0..Z23 accumulate (row i in Z(2i), Z(2i+1)),
// Z28/Z29 hold one row of the B panel, Z30/Z31 alternate as A broadcasts.
#define ROW512(off, bc, acc0, acc1) \
	VBROADCASTSS off(AX), bc; \
	VFMADD231PS  Z28, bc, acc0; \
	VFMADD231PS  Z29, bc, acc1

#define STEP512 \
	VMOVUPS (BX), Z28; \
	VMOVUPS 64(BX), Z29; \
	ROW512(0, Z30, Z0, Z1); \
	ROW512(4, Z31, Z2, Z3); \
	ROW512(8, Z30, Z4, Z5); \
	ROW512(12, Z31, Z6, Z7); \
	ROW512(16, Z30, Z8, Z9); \
	ROW512(20, Z31, Z10, Z11); \
	ROW512(24, Z30, Z12, Z13); \
	ROW512(28, Z31, Z14, Z15); \
	ROW512(32, Z30, Z16, Z17); \
	ROW512(36, Z31, Z18, Z19); \
	ROW512(40, Z30, Z20, Z21); \
	ROW512(44, Z31, Z22, Z23); \
	ADDQ $48, AX; \
	ADDQ $128, BX

#define STORE512(acc0, acc1) \
	VMOVUPS acc0, (CX); \
	VMOVUPS acc1, 64(CX); \
	ADDQ    R8, CX

#define UPDATE512(acc0, acc1) \
	VFMADD231PS (CX), Z30, acc0; \
	VFMADD231PS 64(CX), Z30, acc1; \
	VMOVUPS     acc0, (CX); \
	VMOVUPS     acc1, 64(CX); \
	ADDQ        R8, CX

// func kernel12x32AVX512(k int, a, b, c *float32, ldc int, beta float32)
TEXT ·kernel12x32AVX512(SB), NOSPLIT, $0-44
	MOVQ k+0(FP), DX
	MOVQ a+8(FP), AX
	MOVQ b+16(FP), BX
	MOVQ c+24(FP), CX
	MOVQ ldc+32(FP), R8
	SHLQ $2, R8

	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	VPXORD Z4, Z4, Z4
	VPXORD Z5, Z5, Z5
	VPXORD Z6, Z6, Z6
	VPXORD Z7, Z7, Z7
	VPXORD Z8, Z8, Z8
	VPXORD Z9, Z9, Z9
	VPXORD Z10, Z10, Z10
	VPXORD Z11, Z11, Z11
	VPXORD Z12, Z12, Z12
	VPXORD Z13, Z13, Z13
	VPXORD Z14, Z14, Z14
	VPXORD Z15, Z15, Z15
	VPXORD Z16, Z16, Z16
	VPXORD Z17, Z17, Z17
	VPXORD Z18, Z18, Z18
	VPXORD Z19, Z19, Z19
	VPXORD Z20, Z20, Z20
	VPXORD Z21, Z21, Z21
	VPXORD Z22, Z22, Z22
	VPXORD Z23, Z23, Z23

	MOVQ DX, R9
	SHRQ $2, R9
	JZ   tail512

loop512:
	STEP512
	STEP512
	STEP512
	STEP512
	DECQ R9
	JNZ  loop512

tail512:
	ANDQ $3, DX
	JZ   store512

tailloop512:
	STEP512
	DECQ DX
	JNZ  tailloop512

store512:
	MOVL beta+40(FP), R9
	SHLL $1, R9
	JZ   overwrite512

	VBROADCASTSS beta+40(FP), Z30
	UPDATE512(Z0, Z1)
	UPDATE512(Z2, Z3)
	UPDATE512(Z4, Z5)
	UPDATE512(Z6, Z7)
	UPDATE512(Z8, Z9)
	UPDATE512(Z10, Z11)
	UPDATE512(Z12, Z13)
	UPDATE512(Z14, Z15)
	UPDATE512(Z16, Z17)
	UPDATE512(Z18, Z19)
	UPDATE512(Z20, Z21)
	UPDATE512(Z22, Z23)
	VZEROUPPER
	RET

overwrite512:
	STORE512(Z0, Z1)
	STORE512(Z2, Z3)
	STORE512(Z4, Z5)
	STORE512(Z6, Z7)
	STORE512(Z8, Z9)
	STORE512(Z10, Z11)
	STORE512(Z12, Z13)
	STORE512(Z14, Z15)
	STORE512(Z16, Z17)
	STORE512(Z18, Z19)
	STORE512(Z20, Z21)
	STORE512(Z22, Z23)
	VZEROUPPER
	RET

// AVX2+FMA: MR = 6, NR = 16. Y0..Y11 accumulate (row i in Y(2i), Y(2i+1)),
// Y12/Y13 hold one row of the B panel, Y14/Y15 alternate as A broadcasts.
#define ROW256(off, bc, acc0, acc1) \
	VBROADCASTSS off(AX), bc; \
	VFMADD231PS  Y12, bc, acc0; \
	VFMADD231PS  Y13, bc, acc1

#define STEP256 \
	VMOVUPS (BX), Y12; \
	VMOVUPS 32(BX), Y13; \
	ROW256(0, Y14, Y0, Y1); \
	ROW256(4, Y15, Y2, Y3); \
	ROW256(8, Y14, Y4, Y5); \
	ROW256(12, Y15, Y6, Y7); \
	ROW256(16, Y14, Y8, Y9); \
	ROW256(20, Y15, Y10, Y11); \
	ADDQ $24, AX; \
	ADDQ $64, BX

#define STORE256(acc0, acc1) \
	VMOVUPS acc0, (CX); \
	VMOVUPS acc1, 32(CX); \
	ADDQ    R8, CX

#define UPDATE256(acc0, acc1) \
	VFMADD231PS (CX), Y14, acc0; \
	VFMADD231PS 32(CX), Y14, acc1; \
	VMOVUPS     acc0, (CX); \
	VMOVUPS     acc1, 32(CX); \
	ADDQ        R8, CX

// func kernel6x16AVX2(k int, a, b, c *float32, ldc int, beta float32)
TEXT ·kernel6x16AVX2(SB), NOSPLIT, $0-44
	MOVQ k+0(FP), DX
	MOVQ a+8(FP), AX
	MOVQ b+16(FP), BX
	MOVQ c+24(FP), CX
	MOVQ ldc+32(FP), R8
	SHLQ $2, R8

	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	VXORPS Y8, Y8, Y8
	VXORPS Y9, Y9, Y9
	VXORPS Y10, Y10, Y10
	VXORPS Y11, Y11, Y11

	MOVQ DX, R9
	SHRQ $2, R9
	JZ   tail256

loop256:
	STEP256
	STEP256
	STEP256
	STEP256
	DECQ R9
	JNZ  loop256

tail256:
	ANDQ $3, DX
	JZ   store256

tailloop256:
	STEP256
	DECQ DX
	JNZ  tailloop256

store256:
	MOVL beta+40(FP), R9
	SHLL $1, R9
	JZ   overwrite256

	VBROADCASTSS beta+40(FP), Y14
	UPDATE256(Y0, Y1)
	UPDATE256(Y2, Y3)
	UPDATE256(Y4, Y5)
	UPDATE256(Y6, Y7)
	UPDATE256(Y8, Y9)
	UPDATE256(Y10, Y11)
	VZEROUPPER
	RET

overwrite256:
	STORE256(Y0, Y1)
	STORE256(Y2, Y3)
	STORE256(Y4, Y5)
	STORE256(Y6, Y7)
	STORE256(Y8, Y9)
	STORE256(Y10, Y11)
	VZEROUPPER
	RET

// Contiguous panel packing for the AVX-512 kernel: kb steps of up to 32
// lanes, dst[p·width + r] = alpha·src[p·ld + r]. Lanes 0-15 load under
// lmask0 and lanes 16-31 under lmask1 (unloaded lanes are zero); smask0 and
// smask1 select the lanes stored, so width 12 uses smask0 = 0xfff,
// smask1 = 0 and width 32 uses 0xffff twice. dstStride is width·4 bytes.

// func packContigAVX512(dst, src *float32, ld, kb int, lmask0, lmask1, smask0, smask1 uint16, dstStride int, alpha float32)
TEXT ·packContigAVX512(SB), NOSPLIT, $0-52
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ ld+16(FP), R10
	SHLQ $2, R10
	MOVQ kb+24(FP), CX
	MOVWLZX lmask0+32(FP), DX
	KMOVW DX, K1
	MOVWLZX lmask1+34(FP), DX
	KMOVW DX, K2
	MOVWLZX smask0+36(FP), DX
	KMOVW DX, K3
	MOVWLZX smask1+38(FP), DX
	KMOVW DX, K4
	MOVQ dstStride+40(FP), DX
	VBROADCASTSS alpha+48(FP), Z31

contigloop:
	VMOVUPS.Z (SI), K1, Z0
	VMOVUPS.Z 64(SI), K2, Z1
	VMULPS.Z Z31, Z0, K1, Z0
	VMULPS.Z Z31, Z1, K2, Z1
	VMOVUPS Z0, K3, (DI)
	VMOVUPS Z1, K4, 64(DI)
	ADDQ R10, SI
	ADDQ DX, DI
	DECQ CX
	JNZ  contigloop
	VZEROUPPER
	RET

// func transpose16AVX512(dst, src *float32, ld, blocks, nrows, dstStride int, smask uint16)
//
// For each of blocks blocks of 16 steps p, loads 16 floats at p from each of
// nrows (12 or 16) rows of src (stride ld elements; rows past nrows read as
// zero), transposes the 16×16 block in registers and stores step p's lanes
// 0-15 under smask at dst + p·dstStride bytes.
TEXT ·transpose16AVX512(SB), NOSPLIT, $0-50
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ ld+16(FP), R8
	SHLQ $2, R8
	LEAQ (R8)(R8*2), R9
	MOVQ blocks+24(FP), CX
	MOVQ nrows+32(FP), DX
	MOVQ dstStride+40(FP), R13
	LEAQ (R13)(R13*2), R14
	MOVWLZX smask+48(FP), AX
	KMOVW AX, K1

transposeloop:
	MOVQ SI, R11
	VMOVUPS (R11), Z0
	VMOVUPS (R11)(R8*1), Z1
	VMOVUPS (R11)(R8*2), Z2
	VMOVUPS (R11)(R9*1), Z3
	LEAQ (R11)(R8*4), R11
	VMOVUPS (R11), Z4
	VMOVUPS (R11)(R8*1), Z5
	VMOVUPS (R11)(R8*2), Z6
	VMOVUPS (R11)(R9*1), Z7
	LEAQ (R11)(R8*4), R11
	VMOVUPS (R11), Z8
	VMOVUPS (R11)(R8*1), Z9
	VMOVUPS (R11)(R8*2), Z10
	VMOVUPS (R11)(R9*1), Z11
	CMPQ DX, $16
	JNE  zerorows
	LEAQ (R11)(R8*4), R11
	VMOVUPS (R11), Z12
	VMOVUPS (R11)(R8*1), Z13
	VMOVUPS (R11)(R8*2), Z14
	VMOVUPS (R11)(R9*1), Z15
	JMP  transpose

zerorows:
	VPXORD Z12, Z12, Z12
	VPXORD Z13, Z13, Z13
	VPXORD Z14, Z14, Z14
	VPXORD Z15, Z15, Z15

transpose:
	// Stage 1: interleave row pairs within 128-bit lanes.
	VUNPCKLPS Z1, Z0, Z16
	VUNPCKHPS Z1, Z0, Z17
	VUNPCKLPS Z3, Z2, Z18
	VUNPCKHPS Z3, Z2, Z19
	VUNPCKLPS Z5, Z4, Z20
	VUNPCKHPS Z5, Z4, Z21
	VUNPCKLPS Z7, Z6, Z22
	VUNPCKHPS Z7, Z6, Z23
	VUNPCKLPS Z9, Z8, Z24
	VUNPCKHPS Z9, Z8, Z25
	VUNPCKLPS Z11, Z10, Z26
	VUNPCKHPS Z11, Z10, Z27
	VUNPCKLPS Z13, Z12, Z28
	VUNPCKHPS Z13, Z12, Z29
	VUNPCKLPS Z15, Z14, Z30
	VUNPCKHPS Z15, Z14, Z31

	// Stage 2: u[4i+q] holds rows 4i..4i+3 at step 4L+q in lane L.
	VSHUFPS $0x44, Z18, Z16, Z0
	VSHUFPS $0xEE, Z18, Z16, Z1
	VSHUFPS $0x44, Z19, Z17, Z2
	VSHUFPS $0xEE, Z19, Z17, Z3
	VSHUFPS $0x44, Z22, Z20, Z4
	VSHUFPS $0xEE, Z22, Z20, Z5
	VSHUFPS $0x44, Z23, Z21, Z6
	VSHUFPS $0xEE, Z23, Z21, Z7
	VSHUFPS $0x44, Z26, Z24, Z8
	VSHUFPS $0xEE, Z26, Z24, Z9
	VSHUFPS $0x44, Z27, Z25, Z10
	VSHUFPS $0xEE, Z27, Z25, Z11
	VSHUFPS $0x44, Z30, Z28, Z12
	VSHUFPS $0xEE, Z30, Z28, Z13
	VSHUFPS $0x44, Z31, Z29, Z14
	VSHUFPS $0xEE, Z31, Z29, Z15

	// Stage 3: gather even and odd lanes of row groups {0,1} and {2,3}.
	VSHUFF32X4 $0x88, Z4, Z0, Z16
	VSHUFF32X4 $0xDD, Z4, Z0, Z17
	VSHUFF32X4 $0x88, Z12, Z8, Z18
	VSHUFF32X4 $0xDD, Z12, Z8, Z19
	VSHUFF32X4 $0x88, Z5, Z1, Z20
	VSHUFF32X4 $0xDD, Z5, Z1, Z21
	VSHUFF32X4 $0x88, Z13, Z9, Z22
	VSHUFF32X4 $0xDD, Z13, Z9, Z23
	VSHUFF32X4 $0x88, Z6, Z2, Z24
	VSHUFF32X4 $0xDD, Z6, Z2, Z25
	VSHUFF32X4 $0x88, Z14, Z10, Z26
	VSHUFF32X4 $0xDD, Z14, Z10, Z27
	VSHUFF32X4 $0x88, Z7, Z3, Z28
	VSHUFF32X4 $0xDD, Z7, Z3, Z29
	VSHUFF32X4 $0x88, Z15, Z11, Z30
	VSHUFF32X4 $0xDD, Z15, Z11, Z31

	// Stage 4: step 4L+q = lane L of u[q], u[4+q], u[8+q], u[12+q].
	VSHUFF32X4 $0x88, Z18, Z16, Z0
	VSHUFF32X4 $0x88, Z22, Z20, Z1
	VSHUFF32X4 $0x88, Z26, Z24, Z2
	VSHUFF32X4 $0x88, Z30, Z28, Z3
	VSHUFF32X4 $0x88, Z19, Z17, Z4
	VSHUFF32X4 $0x88, Z23, Z21, Z5
	VSHUFF32X4 $0x88, Z27, Z25, Z6
	VSHUFF32X4 $0x88, Z31, Z29, Z7
	VSHUFF32X4 $0xDD, Z18, Z16, Z8
	VSHUFF32X4 $0xDD, Z22, Z20, Z9
	VSHUFF32X4 $0xDD, Z26, Z24, Z10
	VSHUFF32X4 $0xDD, Z30, Z28, Z11
	VSHUFF32X4 $0xDD, Z19, Z17, Z12
	VSHUFF32X4 $0xDD, Z23, Z21, Z13
	VSHUFF32X4 $0xDD, Z27, Z25, Z14
	VSHUFF32X4 $0xDD, Z31, Z29, Z15

	VMOVUPS Z0, K1, (DI)
	VMOVUPS Z1, K1, (DI)(R13*1)
	VMOVUPS Z2, K1, (DI)(R13*2)
	VMOVUPS Z3, K1, (DI)(R14*1)
	LEAQ    (DI)(R13*4), DI
	VMOVUPS Z4, K1, (DI)
	VMOVUPS Z5, K1, (DI)(R13*1)
	VMOVUPS Z6, K1, (DI)(R13*2)
	VMOVUPS Z7, K1, (DI)(R14*1)
	LEAQ    (DI)(R13*4), DI
	VMOVUPS Z8, K1, (DI)
	VMOVUPS Z9, K1, (DI)(R13*1)
	VMOVUPS Z10, K1, (DI)(R13*2)
	VMOVUPS Z11, K1, (DI)(R14*1)
	LEAQ    (DI)(R13*4), DI
	VMOVUPS Z12, K1, (DI)
	VMOVUPS Z13, K1, (DI)(R13*1)
	VMOVUPS Z14, K1, (DI)(R13*2)
	VMOVUPS Z15, K1, (DI)(R14*1)
	LEAQ    (DI)(R13*4), DI

	ADDQ $64, SI
	DECQ CX
	JNZ  transposeloop
	VZEROUPPER
	RET
