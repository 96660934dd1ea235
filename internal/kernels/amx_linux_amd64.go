//go:build amd64 && !noasm && linux

package kernels

import (
	"sync"
	"syscall"
)

var amxOnce struct {
	sync.Once
	ok bool
}

// amxPermitted asks Linux, once, to let this process use the AMX tile data
// state (arch_prctl ARCH_REQ_XCOMP_PERM for XFEATURE_XTILEDATA, Linux ≥
// 5.16); without that permission tile instructions fault.
func amxPermitted() bool {
	amxOnce.Do(func() {
		const archReqXcompPerm, xfeatureXtileData = 0x1023, 18
		_, _, errno := syscall.RawSyscall(syscall.SYS_ARCH_PRCTL, archReqXcompPerm, xfeatureXtileData, 0)
		amxOnce.ok = errno == 0
	})
	return amxOnce.ok
}
