package results

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
)

// Owner identifies a deepclust process that writes a directory (a staging
// directory, a checkpoint), so that a later process can tell whether that
// writer may still be running.
type Owner struct {
	PID  int    `json:"pid"`
	Host string `json:"host"`
	// Boot identifies the running kernel (Linux boot_id) and Start is the
	// process's start time in clock ticks since boot, so that a PID reused
	// by another process, or a reboot, is not taken for the writer; empty
	// and 0 where unknown.
	Boot  string `json:"boot,omitempty"`
	Start uint64 `json:"start,omitempty"`
}

var (
	selfOnce sync.Once
	self     Owner
)

// Self returns the Owner of the running process.
func Self() Owner {
	selfOnce.Do(func() {
		host, _ := os.Hostname()
		self = Owner{PID: os.Getpid(), Host: host, Boot: bootID(), Start: startTicks(os.Getpid())}
	})
	return self
}

// Alive reports whether the owner may still be running: false only when
// it is known to have ended (same host, and the process is gone, or
// another process now has its PID, or the machine rebooted since).
// Another host's writer is always taken as alive.
func (o Owner) Alive() bool {
	me := Self()
	switch {
	case o.PID <= 0:
		return false
	case o.Host != me.Host:
		return true
	case o.Boot != "" && me.Boot != "" && o.Boot != me.Boot:
		return false
	case o.PID == me.PID:
		return o.Start == me.Start
	}
	if _, err := os.Stat("/proc/self/stat"); err == nil {
		start := startTicks(o.PID)
		return start != 0 && (o.Start == 0 || start == o.Start)
	}
	p, err := os.FindProcess(o.PID)
	if err != nil {
		return false
	}
	// Signal 0 checks for existence; an error other than "finished" (e.g.
	// no permission) leaves the process possibly alive.
	err = p.Signal(syscall.Signal(0))
	return err == nil || !strings.Contains(err.Error(), "finished")
}

// String names the owner in messages.
func (o Owner) String() string { return fmt.Sprintf("pid %d on %s", o.PID, o.Host) }

// bootID returns the kernel's boot_id, or "" where there is none.
func bootID() string {
	b, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// startTicks returns the start time of process pid in clock ticks since
// boot (field 22 of /proc/PID/stat), or 0 when unknown, gone or a zombie
// (killed, not yet reaped).
func startTicks(pid int) uint64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	// The command name (field 2) may hold spaces; fields restart after its ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 20 || f[0] == "Z" || f[0] == "X" {
		return 0
	}
	v, err := strconv.ParseUint(f[19], 10, 64)
	if err != nil {
		return 0
	}
	return v
}

// MarkerFile is written into every staging directory and so ends up in
// every output directory: it says that deepclust wrote the directory (so
// that a later run may replace it as a whole) and, while staging, which
// process is writing it (so that the staging directories of killed runs
// can be told from those of running ones, and removed).
const MarkerFile = ".deepclust"

// marker is the content of MarkerFile.
type marker struct {
	Tool  string `json:"tool"`
	Owner Owner  `json:"owner"`
}

const markerTool = "deepclust"

func writeMarker(dir string) error {
	b, err := json.Marshal(marker{Tool: markerTool, Owner: Self()})
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, MarkerFile), append(b, '\n'), 0o644)
}

// readMarker returns the marker of dir, and false when dir has none that
// deepclust wrote.
func readMarker(dir string) (marker, bool) {
	var m marker
	b, err := os.ReadFile(filepath.Join(dir, MarkerFile))
	if err != nil || json.Unmarshal(b, &m) != nil || m.Tool != markerTool {
		return m, false
	}
	return m, true
}
