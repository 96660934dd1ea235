//go:build amd64 && !noasm && !linux

package kernels

// amxPermitted reports false: AMX is only enabled on Linux.
func amxPermitted() bool { return false }
