//go:build !amd64 || noasm

package kernels

// bestKernel returns the portable kernel: no assembly is built here.
func bestKernel() *microKernel { return &genericKernel }

// availableKernels lists every micro-kernel this build can run.
func availableKernels() []*microKernel { return []*microKernel{&genericKernel} }

// bestBF16Kernel returns the portable bf16 kernel.
func bestBF16Kernel() *microKernel { return &genericBF16 }

// availableBF16Kernels lists every bf16 micro-kernel this build can run.
func availableBF16Kernels() []*microKernel { return []*microKernel{&genericBF16} }
