//go:build unix && !linux

package plugins

import "syscall"

// processAttr puts a plugin in a process group of its own. There is no
// parent-death signal here: plugins built on package sdk/serve watch
// their parent instead.
func processAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
