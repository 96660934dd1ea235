//go:build unix

package plugins

import (
	"errors"
	"os"
	"syscall"
)

// killGroup sends SIGKILL to the process group pid leads, and to the
// process itself should it have left the group.
func killGroup(pid int, p *os.Process) {
	_ = syscall.Kill(-pid, syscall.SIGKILL)
	if p != nil {
		_ = p.Kill()
	}
}

// processAlive reports whether a process pid exists (a zombie counts).
func processAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
