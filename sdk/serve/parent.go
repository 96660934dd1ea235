package serve

import (
	"os"
	"path/filepath"
	"time"

	"github.com/hashicorp/go-plugin"
)

// SocketDirMarker is the file a deepclust host puts in the private
// directory where a plugin creates its Unix socket (go-plugin's
// PLUGIN_UNIX_SOCKET_DIR); it holds the host's pid. A plugin whose host has
// died removes a directory that has this file, and hosts remove those of
// hosts that are gone.
const SocketDirMarker = "deepclust-host.pid"

// parentPoll is how often a served plugin checks that its host still runs.
const parentPoll = 500 * time.Millisecond

// watchParent calls gone, once, when getppid no longer returns ppid: the
// parent died and the process was handed to another (init, or a
// subreaper). It checks every interval until stop is closed.
func watchParent(ppid int, getppid func() int, interval time.Duration, stop <-chan struct{}, gone func()) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			if getppid() != ppid {
				gone()
				return
			}
		}
	}
}

// hostGone ends a plugin whose host died without closing it: the Linux
// host's parent-death signal covers only its direct children, not the
// children of a wrapper script, nor other systems. It removes the socket
// directory the host made for the plugin, if the host marked it, and exits.
func hostGone() {
	if dir := os.Getenv(plugin.EnvUnixSocketDir); dir != "" {
		if _, err := os.Stat(filepath.Join(dir, SocketDirMarker)); err == nil {
			os.RemoveAll(dir)
		}
	}
	os.Exit(1)
}
