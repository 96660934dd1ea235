//go:build !unix

package plugins

import (
	"os"
	"syscall"
)

// processAttr: no process groups or parent-death signal here.
func processAttr() *syscall.SysProcAttr { return nil }

// killGroup kills the plugin process alone.
func killGroup(_ int, p *os.Process) {
	if p != nil {
		_ = p.Kill()
	}
}

// processAlive cannot tell here; socket directories are then never swept.
func processAlive(int) bool { return true }
