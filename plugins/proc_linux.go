package plugins

import "syscall"

// processAttr puts a plugin in a process group of its own and has the
// kernel send it SIGKILL when the host dies. (The signal follows the
// thread that started the plugin; Go's runtime keeps its threads unless a
// goroutine that locked one exits, which the host does not do.)
func processAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
