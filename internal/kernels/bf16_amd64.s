//go:build amd64 && !noasm

#include "textflag.h"

// bfloat16 kernels and packers (see bf16.go for the layouts and the
// arithmetic). The Go assembler does not know the AVX512_BF16 and AMX
// instructions, so they are spelled out in bytes by the macros below.
// Register numbers: AX 0, CX 1, DX 2, BX 3, SI 6, DI 7, R8-R13 8-13;
// Zn is n.

// EVEX38 encodes the EVEX.512.W0 map-0F38 instruction op with prefix pp
// (1 = 66, 2 = F3, 3 = F2) and register operands: d in ModRM.reg, v in
// EVEX.vvvv and r in ModRM.rm, no mask.
#define EVEX38(op, pp, d, v, r) BYTE $0x62; BYTE $(((((d)>>3)&1)^1)<<7 | (((((r)>>4)&1)^1)<<6) | (((((r)>>3)&1)^1)<<5) | (((((d)>>4)&1)^1)<<4) | 2); BYTE $((((v)&15)^15)<<3 | 4 | (pp)); BYTE $(0x40 | (((((v)>>4)&1)^1)<<3)); BYTE $(op); BYTE $(0xC0 | (((d)&7)<<3) | ((r)&7))

// DPBF16(d, v, r) is VDPBF16PS zmm_d, zmm_v, zmm_r: for each dword lane i,
// Zd.fp32[i] += Zv.bf16[2i+1]·Zr.bf16[2i+1], then += Zv.bf16[2i]·Zr.bf16[2i].
#define DPBF16(d, v, r) EVEX38(0x52, 2, d, v, r)

// CVT2BF16(d, v, r) is VCVTNE2PS2BF16 zmm_d, zmm_v, zmm_r: words 0-15 of Zd
// are Zr's 16 floats rounded to bf16, words 16-31 Zv's.
#define CVT2BF16(d, v, r) EVEX38(0x72, 3, d, v, r)

// AMX (VEX.128.W0 map 0F38). Tiles are numbered 0-7; memory operands are
// [base + index·1] with a stride register as index (never SP; base never
// BP or R13).
#define LDTILECFG_AX BYTE $0xC4; BYTE $0xE2; BYTE $0x78; BYTE $0x49; BYTE $0x00
#define TILERELEASE BYTE $0xC4; BYTE $0xE2; BYTE $0x78; BYTE $0x49; BYTE $0xC0
#define TILEZERO(t) BYTE $0xC4; BYTE $0xE2; BYTE $0x7B; BYTE $0x49; BYTE $(0xC0 | ((t)<<3))
#define TILEMEM(pp, t, base, index) BYTE $0xC4; BYTE $(0x82 | (((((index)>>3)&1)^1)<<6) | (((((base)>>3)&1)^1)<<5)); BYTE $(0x78 | (pp)); BYTE $0x4B; BYTE $(0x04 | ((t)<<3)); BYTE $((((index)&7)<<3) | ((base)&7))
#define TILELOADD(t, base, index) TILEMEM(3, t, base, index)
#define TILESTORED(t, base, index) TILEMEM(2, t, base, index)
// TDPBF16PS(c, a, b): tile c += tile a (rows of bf16 pairs) · tile b (pairs
// along its rows).
#define TDPBF16PS(c, a, b) BYTE $0xC4; BYTE $0xE2; BYTE $((((b)^15)<<3) | 2); BYTE $0x5C; BYTE $(0xC0 | ((c)<<3) | (a))

// Index vectors for VPERMI2W: word 2j of the result is word j of the first
// table, word 2j+1 word j of the second (interleaveLo: j = 0-15;
// interleaveHi: j = 16-31).
DATA interleaveLo<>+0(SB)/8, $0x0021000100200000
DATA interleaveLo<>+8(SB)/8, $0x0023000300220002
DATA interleaveLo<>+16(SB)/8, $0x0025000500240004
DATA interleaveLo<>+24(SB)/8, $0x0027000700260006
DATA interleaveLo<>+32(SB)/8, $0x0029000900280008
DATA interleaveLo<>+40(SB)/8, $0x002b000b002a000a
DATA interleaveLo<>+48(SB)/8, $0x002d000d002c000c
DATA interleaveLo<>+56(SB)/8, $0x002f000f002e000e
GLOBL interleaveLo<>(SB), RODATA|NOPTR, $64
DATA interleaveHi<>+0(SB)/8, $0x0031001100300010
DATA interleaveHi<>+8(SB)/8, $0x0033001300320012
DATA interleaveHi<>+16(SB)/8, $0x0035001500340014
DATA interleaveHi<>+24(SB)/8, $0x0037001700360016
DATA interleaveHi<>+32(SB)/8, $0x0039001900380018
DATA interleaveHi<>+40(SB)/8, $0x003b001b003a001a
DATA interleaveHi<>+48(SB)/8, $0x003d001d003c001c
DATA interleaveHi<>+56(SB)/8, $0x003f001f003e001e
GLOBL interleaveHi<>(SB), RODATA|NOPTR, $64

// AVX512_BF16 micro-kernel, MR = 12, NR = 32, like kernel12x32AVX512 with
// one bf16 pair per step: Z0..Z23 accumulate (row i in Z(2i), Z(2i+1)),
// Z28/Z29 hold a step of the B panel (32 pairs), Z30/Z31 alternate as the
// broadcast pair of one A row.
#define ROWBF(off, zb, nb, acc0, acc1) \
	VPBROADCASTD off(AX), zb; \
	DPBF16(acc0, nb, 28); \
	DPBF16(acc1, nb, 29)

#define STEPBF \
	VMOVUPS (BX), Z28; \
	VMOVUPS 64(BX), Z29; \
	ROWBF(0, Z30, 30, 0, 1); \
	ROWBF(4, Z31, 31, 2, 3); \
	ROWBF(8, Z30, 30, 4, 5); \
	ROWBF(12, Z31, 31, 6, 7); \
	ROWBF(16, Z30, 30, 8, 9); \
	ROWBF(20, Z31, 31, 10, 11); \
	ROWBF(24, Z30, 30, 12, 13); \
	ROWBF(28, Z31, 31, 14, 15); \
	ROWBF(32, Z30, 30, 16, 17); \
	ROWBF(36, Z31, 31, 18, 19); \
	ROWBF(40, Z30, 30, 20, 21); \
	ROWBF(44, Z31, 31, 22, 23); \
	ADDQ $48, AX; \
	ADDQ $128, BX

#define STOREBF(acc0, acc1) \
	VMOVUPS acc0, (CX); \
	VMOVUPS acc1, 64(CX); \
	ADDQ    R8, CX

// C = acc + (beta·C): the product rounded first, as genericBF16Tile does.
#define UPDATEBF(acc0, acc1) \
	VMULPS  (CX), Z30, Z28; \
	VMULPS  64(CX), Z30, Z29; \
	VADDPS  Z28, acc0, acc0; \
	VADDPS  Z29, acc1, acc1; \
	VMOVUPS acc0, (CX); \
	VMOVUPS acc1, 64(CX); \
	ADDQ    R8, CX

// func kernel12x32BF16(steps int, a, b, c *float32, ldc int, beta float32)
TEXT ·kernel12x32BF16(SB), NOSPLIT, $0-44
	MOVQ steps+0(FP), DX
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
	JZ   tailbf

loopbf:
	STEPBF
	STEPBF
	STEPBF
	STEPBF
	DECQ R9
	JNZ  loopbf

tailbf:
	ANDQ $3, DX
	JZ   storebf

tailloopbf:
	STEPBF
	DECQ DX
	JNZ  tailloopbf

storebf:
	MOVL beta+40(FP), R9
	SHLL $1, R9
	JZ   overwritebf

	VBROADCASTSS beta+40(FP), Z30
	UPDATEBF(Z0, Z1)
	UPDATEBF(Z2, Z3)
	UPDATEBF(Z4, Z5)
	UPDATEBF(Z6, Z7)
	UPDATEBF(Z8, Z9)
	UPDATEBF(Z10, Z11)
	UPDATEBF(Z12, Z13)
	UPDATEBF(Z14, Z15)
	UPDATEBF(Z16, Z17)
	UPDATEBF(Z18, Z19)
	UPDATEBF(Z20, Z21)
	UPDATEBF(Z22, Z23)
	VZEROUPPER
	RET

overwritebf:
	STOREBF(Z0, Z1)
	STOREBF(Z2, Z3)
	STOREBF(Z4, Z5)
	STOREBF(Z6, Z7)
	STOREBF(Z8, Z9)
	STOREBF(Z10, Z11)
	STOREBF(Z12, Z13)
	STOREBF(Z14, Z15)
	STOREBF(Z16, Z17)
	STOREBF(Z18, Z19)
	STOREBF(Z20, Z21)
	STOREBF(Z22, Z23)
	VZEROUPPER
	RET

// func pairsTransposeBF16(dst, src *float32, ld, blocks, nrows, dstStride int, smask uint16)
//
// For each of blocks blocks of 32 depths: converts 32 floats of each of
// nrows (0-16) rows of src (stride ld elements; rows past nrows are zero)
// into 16 bf16 pairs, transposes the 16×16 words in registers and stores
// pair q's lanes 0-15 under smask at dst + q·dstStride bytes.
TEXT ·pairsTransposeBF16(SB), NOSPLIT, $0-50
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ ld+16(FP), R8
	SHLQ $2, R8
	MOVQ blocks+24(FP), CX
	MOVQ nrows+32(FP), DX
	MOVQ dstStride+40(FP), R13
	LEAQ (R13)(R13*2), R12
	MOVWLZX smask+48(FP), AX
	KMOVW AX, K1

ptloop:
	MOVQ SI, R11
	CMPQ DX, $1
	JLT  ptzero0
	VMOVUPS (R11), Z16
	VMOVUPS 64(R11), Z17
	CVT2BF16(0, 17, 16)
	ADDQ R8, R11
	CMPQ DX, $2
	JLT  ptzero1
	VMOVUPS (R11), Z16
	VMOVUPS 64(R11), Z17
	CVT2BF16(1, 17, 16)
	ADDQ R8, R11
	CMPQ DX, $3
	JLT  ptzero2
	VMOVUPS (R11), Z16
	VMOVUPS 64(R11), Z17
	CVT2BF16(2, 17, 16)
	ADDQ R8, R11
	CMPQ DX, $4
	JLT  ptzero3
	VMOVUPS (R11), Z16
	VMOVUPS 64(R11), Z17
	CVT2BF16(3, 17, 16)
	ADDQ R8, R11
	CMPQ DX, $5
	JLT  ptzero4
	VMOVUPS (R11), Z16
	VMOVUPS 64(R11), Z17
	CVT2BF16(4, 17, 16)
	ADDQ R8, R11
	CMPQ DX, $6
	JLT  ptzero5
	VMOVUPS (R11), Z16
	VMOVUPS 64(R11), Z17
	CVT2BF16(5, 17, 16)
	ADDQ R8, R11
	CMPQ DX, $7
	JLT  ptzero6
	VMOVUPS (R11), Z16
	VMOVUPS 64(R11), Z17
	CVT2BF16(6, 17, 16)
	ADDQ R8, R11
	CMPQ DX, $8
	JLT  ptzero7
	VMOVUPS (R11), Z16
	VMOVUPS 64(R11), Z17
	CVT2BF16(7, 17, 16)
	ADDQ R8, R11
	CMPQ DX, $9
	JLT  ptzero8
	VMOVUPS (R11), Z16
	VMOVUPS 64(R11), Z17
	CVT2BF16(8, 17, 16)
	ADDQ R8, R11
	CMPQ DX, $10
	JLT  ptzero9
	VMOVUPS (R11), Z16
	VMOVUPS 64(R11), Z17
	CVT2BF16(9, 17, 16)
	ADDQ R8, R11
	CMPQ DX, $11
	JLT  ptzero10
	VMOVUPS (R11), Z16
	VMOVUPS 64(R11), Z17
	CVT2BF16(10, 17, 16)
	ADDQ R8, R11
	CMPQ DX, $12
	JLT  ptzero11
	VMOVUPS (R11), Z16
	VMOVUPS 64(R11), Z17
	CVT2BF16(11, 17, 16)
	ADDQ R8, R11
	CMPQ DX, $13
	JLT  ptzero12
	VMOVUPS (R11), Z16
	VMOVUPS 64(R11), Z17
	CVT2BF16(12, 17, 16)
	ADDQ R8, R11
	CMPQ DX, $14
	JLT  ptzero13
	VMOVUPS (R11), Z16
	VMOVUPS 64(R11), Z17
	CVT2BF16(13, 17, 16)
	ADDQ R8, R11
	CMPQ DX, $15
	JLT  ptzero14
	VMOVUPS (R11), Z16
	VMOVUPS 64(R11), Z17
	CVT2BF16(14, 17, 16)
	ADDQ R8, R11
	CMPQ DX, $16
	JLT  ptzero15
	VMOVUPS (R11), Z16
	VMOVUPS 64(R11), Z17
	CVT2BF16(15, 17, 16)
	ADDQ R8, R11
	JMP  pttranspose

ptzero0:
	VPXORD Z0, Z0, Z0
ptzero1:
	VPXORD Z1, Z1, Z1
ptzero2:
	VPXORD Z2, Z2, Z2
ptzero3:
	VPXORD Z3, Z3, Z3
ptzero4:
	VPXORD Z4, Z4, Z4
ptzero5:
	VPXORD Z5, Z5, Z5
ptzero6:
	VPXORD Z6, Z6, Z6
ptzero7:
	VPXORD Z7, Z7, Z7
ptzero8:
	VPXORD Z8, Z8, Z8
ptzero9:
	VPXORD Z9, Z9, Z9
ptzero10:
	VPXORD Z10, Z10, Z10
ptzero11:
	VPXORD Z11, Z11, Z11
ptzero12:
	VPXORD Z12, Z12, Z12
ptzero13:
	VPXORD Z13, Z13, Z13
ptzero14:
	VPXORD Z14, Z14, Z14
ptzero15:
	VPXORD Z15, Z15, Z15

pttranspose:
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
	VMOVUPS Z3, K1, (DI)(R12*1)
	LEAQ    (DI)(R13*4), DI
	VMOVUPS Z4, K1, (DI)
	VMOVUPS Z5, K1, (DI)(R13*1)
	VMOVUPS Z6, K1, (DI)(R13*2)
	VMOVUPS Z7, K1, (DI)(R12*1)
	LEAQ    (DI)(R13*4), DI
	VMOVUPS Z8, K1, (DI)
	VMOVUPS Z9, K1, (DI)(R13*1)
	VMOVUPS Z10, K1, (DI)(R13*2)
	VMOVUPS Z11, K1, (DI)(R12*1)
	LEAQ    (DI)(R13*4), DI
	VMOVUPS Z12, K1, (DI)
	VMOVUPS Z13, K1, (DI)(R13*1)
	VMOVUPS Z14, K1, (DI)(R13*2)
	VMOVUPS Z15, K1, (DI)(R12*1)
	LEAQ    (DI)(R13*4), DI

	ADDQ $128, SI
	DECQ CX
	JNZ  ptloop
	VZEROUPPER
	RET

// func pairsInterleaveBF16(dst, src *float32, ld, pairs int, lmask0, lmask1, smask0, smask1 uint16, dstStride int)
//
// For each of pairs pairs of rows 2q, 2q+1 of src (stride ld elements):
// loads up to 32 lanes of each (lmask0 for lanes 0-15, lmask1 for 16-31;
// unloaded lanes are zero), rounds them to bf16 and stores lane r's pair
// (row 2q in the low half) as word r at dst + q·dstStride bytes, lanes
// 0-15 under smask0 and 16-31 under smask1.
TEXT ·pairsInterleaveBF16(SB), NOSPLIT, $0-48
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ ld+16(FP), R10
	SHLQ $2, R10
	MOVQ pairs+24(FP), CX
	MOVWLZX lmask0+32(FP), DX
	KMOVW DX, K1
	MOVWLZX lmask1+34(FP), DX
	KMOVW DX, K2
	MOVWLZX smask0+36(FP), DX
	KMOVW DX, K3
	MOVWLZX smask1+38(FP), DX
	KMOVW DX, K4
	MOVQ dstStride+40(FP), DX
	VMOVDQU64 interleaveLo<>(SB), Z30
	VMOVDQU64 interleaveHi<>(SB), Z31

piloop:
	VMOVUPS.Z (SI), K1, Z0
	VMOVUPS.Z 64(SI), K2, Z1
	VMOVUPS.Z (SI)(R10*1), K1, Z2
	VMOVUPS.Z 64(SI)(R10*1), K2, Z3
	CVT2BF16(4, 1, 0)
	CVT2BF16(5, 3, 2)
	VMOVDQU64 Z30, Z6
	VPERMI2W  Z5, Z4, Z6
	VMOVDQU64 Z31, Z7
	VPERMI2W  Z5, Z4, Z7
	VMOVDQU32 Z6, K3, (DI)
	VMOVDQU32 Z7, K4, 64(DI)
	LEAQ (SI)(R10*2), SI
	ADDQ DX, DI
	DECQ CX
	JNZ  piloop
	VZEROUPPER
	RET

// func rowsBF16(dst, src *float32, ld, rows, blocks, blockStride int)
//
// For each of rows rows of src (stride ld elements) and each of blocks
// blocks of 32 depths: rounds the 32 floats to 16 bf16 pairs and stores
// them (64 bytes) at dst + block·blockStride + row·64 bytes.
TEXT ·rowsBF16(SB), NOSPLIT, $0-48
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ ld+16(FP), R8
	SHLQ $2, R8
	MOVQ rows+24(FP), DX
	MOVQ blocks+32(FP), R9
	MOVQ blockStride+40(FP), R10

rbrow:
	MOVQ SI, R11
	MOVQ DI, R12
	MOVQ R9, CX

rbblock:
	VMOVUPS (R11), Z0
	VMOVUPS 64(R11), Z1
	CVT2BF16(2, 1, 0)
	VMOVUPS Z2, (R12)
	ADDQ $128, R11
	ADDQ R10, R12
	DECQ CX
	JNZ  rbblock

	ADDQ R8, SI
	ADDQ $64, DI
	DECQ DX
	JNZ  rbrow
	VZEROUPPER
	RET

// func amxGrid(cfg *byte, a, b, c *float32, ldc, blocks, mt, nt, load int)
//
// AMX-BF16 grid kernel: for each of the mt×nt 32×32 tiles of C at c (row
// stride ldc elements), tile (ti, tj) at c + ti·32·ldc + tj·32, from A
// panel ti (rows layout, blocks 16-pair blocks of 32 rows × 64 bytes) and
// B panel tj (pairs layout, 16 steps × 32 lanes per block): tiles 0-3 hold
// the four 16×16 quarters of C (zero, or loaded from C when load ≠ 0),
// tiles 4/5 the upper/lower 16 rows of an A block, 6/7 the left/right 16
// columns of a B block; each block adds four TDPBF16PS.
TEXT ·amxGrid(SB), NOSPLIT, $0-72
	MOVQ cfg+0(FP), AX
	LDTILECFG_AX
	MOVQ ldc+32(FP), R8
	SHLQ $2, R8
	MOVQ $64, R9
	MOVQ $128, R10
	MOVQ blocks+40(FP), R13
	SHLQ $11, R13 // panel bytes: blocks·2048
	XORQ R12, R12 // tj

agcol:
	XORQ DX, DX // ti

agtile:
	MOVQ DX, SI
	IMULQ R13, SI
	ADDQ a+8(FP), SI
	MOVQ R12, BX
	IMULQ R13, BX
	ADDQ b+16(FP), BX
	MOVQ DX, DI
	IMULQ R8, DI
	SHLQ $5, DI
	MOVQ R12, R11
	SHLQ $7, R11
	ADDQ R11, DI
	ADDQ c+24(FP), DI

	CMPQ load+64(FP), $0
	JEQ  agzero
	TILELOADD(0, 7, 8)
	LEAQ 64(DI), R11
	TILELOADD(1, 11, 8)
	LEAQ (DI)(R8*8), R11
	LEAQ (R11)(R8*8), R11
	TILELOADD(2, 11, 8)
	ADDQ $64, R11
	TILELOADD(3, 11, 8)
	JMP  agblocks

agzero:
	TILEZERO(0)
	TILEZERO(1)
	TILEZERO(2)
	TILEZERO(3)

agblocks:
	MOVQ blocks+40(FP), CX

agloop:
	TILELOADD(4, 6, 9)
	LEAQ 1024(SI), R11
	TILELOADD(5, 11, 9)
	TILELOADD(6, 3, 10)
	LEAQ 64(BX), R11
	TILELOADD(7, 11, 10)
	TDPBF16PS(0, 4, 6)
	TDPBF16PS(1, 4, 7)
	TDPBF16PS(2, 5, 6)
	TDPBF16PS(3, 5, 7)
	ADDQ $2048, SI
	ADDQ $2048, BX
	DECQ CX
	JNZ  agloop

	TILESTORED(0, 7, 8)
	LEAQ 64(DI), R11
	TILESTORED(1, 11, 8)
	LEAQ (DI)(R8*8), R11
	LEAQ (R11)(R8*8), R11
	TILESTORED(2, 11, 8)
	ADDQ $64, R11
	TILESTORED(3, 11, 8)

	INCQ DX
	CMPQ DX, mt+48(FP)
	JLT  agtile
	INCQ R12
	CMPQ R12, nt+56(FP)
	JLT  agcol
	TILERELEASE
	RET
