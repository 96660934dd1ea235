//go:build amd64 && !noasm

#include "textflag.h"

// Fused GEMM epilogues on AVX-512 (see Epilogue in epilogue.go): the same
// float32 operations as applyGo, 32 columns at a time.

// epiParams offsets (epilogue_amd64.go).
#define EP_BIAS 0
#define EP_Y 8
#define EP_LDY 16
#define EP_MODE 24
#define EP_ACT 32
#define EP_SLOPE 40

// Modes and activations (Act values).
#define MODE_BIAS 1
#define MODE_GRAD 3
#define ACT_RELU 1
#define ACT_LEAKY 2
#define ACT_SIGMOID 3

// func epilogue512(c *float32, ldc, rows int, mask0, mask1 uint16, p *epiParams)
//
// Applies the epilogue p to rows rows of up to 32 columns of C at c (row
// stride ldc elements); mask0/mask1 select columns 0-15/16-31. Z28 is 0,
// Z27 is 1, Z29 the leaky slope, Z30/Z31 the bias.
TEXT ·epilogue512(SB), NOSPLIT, $0-40
	MOVQ c+0(FP), DI
	MOVQ ldc+8(FP), R8
	SHLQ $2, R8
	MOVQ rows+16(FP), R9
	MOVWLZX mask0+24(FP), DX
	KMOVW DX, K1
	MOVWLZX mask1+26(FP), DX
	KMOVW DX, K2
	MOVQ p+32(FP), AX
	MOVQ EP_Y(AX), BX
	MOVQ EP_LDY(AX), R11
	MOVQ EP_MODE(AX), R12
	MOVQ EP_ACT(AX), R13
	VBROADCASTSS EP_SLOPE(AX), Z29
	VPXORD Z28, Z28, Z28
	MOVL $0x3f800000, DX
	VPBROADCASTD DX, Z27
	TESTQ R9, R9
	JZ   done
	CMPQ R12, $MODE_GRAD
	JEQ  grad
	CMPQ R12, $MODE_BIAS
	JNE  fwdrow
	MOVQ EP_BIAS(AX), SI
	VMOVUPS.Z (SI), K1, Z30
	VMOVUPS.Z 64(SI), K2, Z31

fwdrow:
	VMOVUPS.Z (DI), K1, Z0
	VMOVUPS.Z 64(DI), K2, Z1
	CMPQ R12, $MODE_BIAS
	JNE  fwdact
	VADDPS Z30, Z0, Z0
	VADDPS Z31, Z1, Z1

fwdact:
	CMPQ R13, $ACT_RELU
	JEQ  fwdrelu
	CMPQ R13, $ACT_LEAKY
	JEQ  fwdleaky
	JMP  fwdstore

fwdrelu:
	// max(0, v) as MAXPS(0, v): v where 0 > v is false (v ≥ 0, −0, NaN).
	VMAXPS Z0, Z28, Z0
	VMAXPS Z1, Z28, Z1
	JMP  fwdstore

fwdleaky:
	VCMPPS $1, Z28, Z0, K3 // v < 0
	VMULPS Z29, Z0, K3, Z0
	VCMPPS $1, Z28, Z1, K4
	VMULPS Z29, Z1, K4, Z1

fwdstore:
	VMOVUPS Z0, K1, (DI)
	VMOVUPS Z1, K2, 64(DI)
	ADDQ R8, DI
	DECQ R9
	JNZ  fwdrow
	JMP  done

grad:
	VMOVUPS.Z (DI), K1, Z0
	VMOVUPS.Z 64(DI), K2, Z1
	VMOVUPS.Z (BX), K1, Z2
	VMOVUPS.Z 64(BX), K2, Z3
	CMPQ R13, $ACT_RELU
	JEQ  gradrelu
	CMPQ R13, $ACT_LEAKY
	JEQ  gradleaky
	CMPQ R13, $ACT_SIGMOID
	JEQ  gradsigmoid
	JMP  gradstore

gradrelu:
	VCMPPS $0x16, Z28, Z2, K3 // !(y <= 0): keep
	VMOVAPS.Z Z0, K3, Z0
	VCMPPS $0x16, Z28, Z3, K4
	VMOVAPS.Z Z1, K4, Z1
	JMP  gradstore

gradleaky:
	VCMPPS $0x12, Z28, Z2, K3 // y <= 0
	VMULPS Z29, Z0, K3, Z0
	VCMPPS $0x12, Z28, Z3, K4
	VMULPS Z29, Z1, K4, Z1
	JMP  gradstore

gradsigmoid:
	VSUBPS Z2, Z27, Z4 // 1 − y
	VMULPS Z4, Z2, Z4  // y·(1 − y)
	VMULPS Z4, Z0, Z0
	VSUBPS Z3, Z27, Z5
	VMULPS Z5, Z3, Z5
	VMULPS Z5, Z1, Z1

gradstore:
	VMOVUPS Z0, K1, (DI)
	VMOVUPS Z1, K2, 64(DI)
	ADDQ R8, DI
	ADDQ R11, BX
	DECQ R9
	JNZ  grad

done:
	VZEROUPPER
	RET

// func addRow512(sums, row *float32, n int)
//
// sums[i] += row[i] for i < n, n a multiple of 16.
TEXT ·addRow512(SB), NOSPLIT, $0-24
	MOVQ sums+0(FP), DI
	MOVQ row+8(FP), SI
	MOVQ n+16(FP), CX
	SHRQ $4, CX
	JZ   addrowdone

addrowloop:
	VMOVUPS (DI), Z0
	VADDPS  (SI), Z0, Z0
	VMOVUPS Z0, (DI)
	ADDQ $64, DI
	ADDQ $64, SI
	DECQ CX
	JNZ  addrowloop

addrowdone:
	VZEROUPPER
	RET
