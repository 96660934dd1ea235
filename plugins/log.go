package plugins

import (
	"bytes"
	"fmt"
	"os"
	"sync"
)

// maxKept bounds the log lines a failureLog holds in memory.
const maxKept = 1 << 20

// failureLog is where a Host without a Logger sends its log lines
// (go-plugin's, and every plugin's stderr, stack traces included). It keeps
// the last maxKept bytes in memory until a plugin fails; then persist
// writes them to a file, where every later line goes too. A run without a
// failure leaves no file, and a failure shows the user one error line that
// names the file.
type failureLog struct {
	dir string

	mu      sync.Mutex
	kept    []byte
	dropped bool
	file    *os.File
	path    string
	failed  bool // persist could not create the file
}

// Write keeps p (hclog writes one whole line per call).
func (l *failureLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.file != nil {
		return l.file.Write(p)
	}
	l.kept = append(l.kept, p...)
	if len(l.kept) > maxKept {
		cut := len(l.kept) - maxKept/2
		if i := bytes.IndexByte(l.kept[cut:], '\n'); i >= 0 {
			cut += i + 1
		}
		l.kept = append(l.kept[:0], l.kept[cut:]...)
		l.dropped = true
	}
	return len(p), nil
}

// persist writes what the log holds to a new file in its dir (the OS
// temporary directory when empty) and returns the file's path; later
// calls return the same path. It returns "" when the file cannot be
// written.
func (l *failureLog) persist() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.file != nil || l.failed {
		return l.path
	}
	f, err := os.CreateTemp(l.dir, "deepclust-plugins-*.log")
	if err != nil {
		l.failed = true
		return ""
	}
	head := "# deepclust: the plugin host's log (go-plugin's lines, the plugins' stderr) up to a plugin failure, and after it\n"
	if l.dropped {
		head += fmt.Sprintf("# (only the last %d KiB before the failure were kept)\n", maxKept>>10)
	}
	if _, err := f.Write(append([]byte(head), l.kept...)); err != nil {
		f.Close()
		os.Remove(f.Name())
		l.failed = true
		return ""
	}
	l.kept = nil
	l.file, l.path = f, f.Name()
	return l.path
}
