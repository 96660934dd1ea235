package main

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/deepclust/deepclust/sdk/serve"
)

// hclogLine matches what must not reach the user's stderr on a plugin
// failure: hclog's lines and a forwarded stack trace.
var hclogLine = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\S+ \[(TRACE|DEBUG|INFO|WARN|ERROR)\]|^goroutine \d+|^panic: `)

// logNamed finds the log file an error line names.
var logNamed = regexp.MustCompile(`\(plugin log: ([^)]+)\)$`)

// TestValidateExecutesNoPlugin validates a config whose plugin path,
// relative to the config file, is a script that writes a file: without
// --plugins the script must not run and the output says so; with it, it
// runs (and is no plugin).
func TestValidateExecutesNoPlugin(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("shell script")
	}
	dir := t.TempDir()
	marker := filepath.Join(dir, "ran")
	script := filepath.Join(dir, "writer.sh")
	if err := os.WriteFile(script, []byte("#!/bin/sh\necho pwned > "+marker+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "untrusted.yaml")
	if err := os.WriteFile(cfg, []byte("encoder:\n  path: ./writer.sh\n  config:\n    anything: 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Chdir(t.TempDir()) // the path is relative to the config, not here
	code, stdout, stderr := deepclust(t, nil, "config", "validate", cfg)
	if code != 0 {
		t.Fatalf("validate: exit %d\n%s%s", code, stdout, stderr)
	}
	if _, err := os.Stat(marker); !os.IsNotExist(err) {
		t.Fatalf("config validate executed the plugin (%s exists)", marker)
	}
	if !strings.Contains(stdout, "no plugin was executed") || !strings.Contains(stdout, script) || !strings.Contains(stdout, "--plugins") {
		t.Fatalf("validate does not say that it executed nothing and what it did not check:\n%s", stdout)
	}
	code, stdout, stderr = deepclust(t, nil, "config", "validate", "--plugins", cfg)
	if code == 0 {
		t.Fatalf("validate --plugins of a script that is no plugin: exit 0\n%s", stdout)
	}
	if _, err := os.Stat(marker); err != nil {
		t.Fatalf("validate --plugins did not run the plugin at %s: %v\n%s", script, err, stderr)
	}
	if lines := strings.Split(strings.TrimSpace(stderr), "\n"); len(lines) != 1 || !strings.Contains(lines[0], "no go-plugin handshake") {
		t.Fatalf("validate --plugins: want one error line, got\n%s", stderr)
	}
}

// TestVerbosePrintsThePluginLog checks that --verbose shows go-plugin's
// lines and the plugin's stderr instead of writing a log file.
func TestVerbosePrintsThePluginLog(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	args := append([]string{"run", "--verbose", "--out", filepath.Join(t.TempDir(), "out"), "--set", "encoder.path=" + self, "--set", "encoder.env=DCTEST_FAULT"}, small...)
	code, _, stderr := deepclust(t, []string{"DCTEST_FAULT=crash", "TMPDIR=" + tmp}, args...)
	if code == 0 || !strings.Contains(stderr, "[ERROR] deepclust.encoder") || !strings.Contains(stderr, "plugin process exited") {
		t.Fatalf("exit %d; want hclog's lines on stderr:\n%s", code, stderr)
	}
	if strings.Contains(stderr, "plugin log:") {
		t.Fatalf("--verbose still names a log file:\n%s", stderr)
	}
	if entries, _ := os.ReadDir(tmp); len(entries) != 0 {
		t.Fatalf("--verbose wrote %v", entries)
	}
}

// children returns the pids of the processes whose parent is pid, from
// /proc.
func children(pid int) []int {
	var out []int
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(s[i+1:]) // state ppid ...
		if len(f) > 1 && f[1] == strconv.Itoa(pid) {
			out = append(out, p)
		}
	}
	return out
}

// gone reports whether pid has ended: no such process, or a zombie that
// the container's init does not reap.
func gone(pid int) bool {
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return true
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i >= 0 && i+2 < len(s) && s[i+2] == 'Z'
}

// TestKilledHostLeavesNoPluginProcess SIGKILLs `deepclust run` with its
// plugins out of process, once they run, and checks that no deepclust
// process is left 5 s later (issue 14's acceptance test).
func TestKilledHostLeavesNoPluginProcess(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc")
	}
	args := append([]string{"run", "--out", filepath.Join(t.TempDir(), "out"), "--isolation", "process"}, small...)
	args = append(args, "--set", "train.pretrain_epochs=100000")
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "DCTEST_MAIN=1", "TMPDIR="+t.TempDir())
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	defer cmd.Process.Kill()
	// encoder, clusterer and loss
	var kids []int
	for deadline := time.Now().Add(60 * time.Second); len(kids) < 3; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the host started %d plugin processes in 60 s, want 3", len(kids))
		}
		kids = children(cmd.Process.Pid)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		var left []int
		for _, p := range kids {
			if !gone(p) {
				left = append(left, p)
			}
		}
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			for _, p := range left {
				syscall.Kill(p, syscall.SIGKILL)
			}
			t.Fatalf("plugin processes %v outlived their killed host by 5 s", left)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestPluginServeEndsOnSIGTERM starts "deepclust plugin serve" as a host
// would and checks that SIGTERM ends it.
func TestPluginServeEndsOnSIGTERM(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("signals")
	}
	cmd := exec.Command(os.Args[0], "plugin", "serve", "encoder", "mlp")
	cmd.Env = append(os.Environ(), "DCTEST_MAIN=1", "TMPDIR="+t.TempDir(),
		serve.Handshake.MagicCookieKey+"="+serve.Handshake.MagicCookieValue,
		"PLUGIN_PROTOCOL_VERSIONS="+strconv.Itoa(serve.ProtocolVersion), "PLUGIN_MIN_PORT=10000", "PLUGIN_MAX_PORT=25000")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || !strings.Contains(line, "|grpc") {
		t.Fatalf("no handshake: %q, %v", line, err)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("plugin serve ignored SIGTERM for 5 s")
	}
}
