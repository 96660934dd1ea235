//go:build !amd64 || noasm

package kernels

// bestKernel returns the portable kernel: no assembly is built here.
func bestKernel() *microKernel { return &genericKernel }

// availableKernels lists every micro-kernel this build can run.
func availableKernels() []*microKernel { return []*microKernel{&genericKernel} }
