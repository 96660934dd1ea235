package plugins_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/deepclust/deepclust/config"
	"github.com/deepclust/deepclust/plugins"
	"github.com/deepclust/deepclust/sdk"
	"github.com/deepclust/deepclust/sdk/serve"
)

// writeScript writes an executable shell script into dir.
func writeScript(t *testing.T, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// shortTempDir returns a new temporary directory with a short path, for
// TMPDIR: under a long one, plugin sockets go to /tmp instead.
func shortTempDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("/tmp", "dct")
	if err != nil {
		t.Skip("no /tmp")
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// dead reports whether pid is gone: no such process, or a zombie (the
// init of a container need not reap the orphans it inherits).
func dead(pid int) bool {
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return true
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return runtime.GOOS == "linux"
	}
	// pid (comm) STATE ...; comm may hold spaces and parentheses.
	s := string(b)
	if i := strings.LastIndexByte(s, ')'); i >= 0 && i+2 < len(s) {
		return s[i+2] == 'Z'
	}
	return false
}

// waitDead fails unless every pid is gone within d.
func waitDead(t *testing.T, d time.Duration, pids ...int) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		var alive []int
		for _, p := range pids {
			if !dead(p) {
				alive = append(alive, p)
			}
		}
		if len(alive) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("processes %v still alive %v later", alive, d)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// readPid reads the pid a script wrote to file, waiting for it.
func readPid(t *testing.T, file string) int {
	t.Helper()
	for range 250 {
		b, err := os.ReadFile(file)
		if pid, perr := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && perr == nil {
			return pid
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no pid in %s", file)
	return 0
}

// TestWrapperScriptsDoNotHangTheHost starts plugins through shell scripts
// that leave a child holding the plugin's stdout and stderr, or that run
// the plugin as their child: a timeout, or Close, must end them all
// promptly. Before plugins ran in a process group of their own, the host
// killed the script alone and waited for the pipes forever.
func TestWrapperScriptsDoNotHangTheHost(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("shell scripts")
	}
	exe := testExe(t)
	dir := t.TempDir()
	h := newHost(t, io.Discard)
	for _, tc := range []struct {
		name, body string
		hang       bool
	}{
		{"background child, exec plugin", "sleep 1000 &\necho $! > %[2]s\nexec %[1]q fake-plugin encoder linear-hang\n", true},
		{"plugin as a child", "echo $$ > %[2]s\n%[1]q fake-plugin encoder linear-hang\n", true},
		{"background child, closed normally", "sleep 1000 &\necho $! > %[2]s\nexec %[1]q fake-plugin encoder linear\n", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pidFile := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "-")+".pid")
			script := writeScript(t, dir, strings.ReplaceAll(tc.name, " ", "-")+".sh", fmt.Sprintf(tc.body, exe, pidFile))
			p := open(t, h, plugins.Spec{Kind: sdk.KindEncoder, Path: script, Timeout: 2 * time.Second})
			other := readPid(t, pidFile)
			enc, _ := p.Encoder()
			done := make(chan error, 1)
			go func() {
				ctx := context.Background()
				if err := enc.Configure(ctx, sdk.Setup{InputShape: []int{6}, Seed: 1}); err != nil {
					done <- err
					return
				}
				var err error
				if tc.hang {
					_, err = enc.Forward(ctx, randomTensor(1, 4, 6), false)
				}
				p.Close()
				done <- err
			}()
			select {
			case err := <-done:
				if tc.hang && (err == nil || !strings.Contains(err.Error(), "no reply within 2s")) {
					t.Fatalf("Forward: got %v, want a timeout", err)
				}
				if !tc.hang && err != nil {
					t.Fatal(err)
				}
			case <-time.After(30 * time.Second):
				t.Fatal("the host still waits for the plugin 30 s after the call")
			}
			waitDead(t, 5*time.Second, p.Pid(), other)
		})
	}
}

// TestPluginEnvironmentIsAllowListed checks that a plugin process sees the
// base variables and those its Spec names, not the rest of the host's
// environment, and that its socket directory is private and removed when
// it is closed.
func TestPluginEnvironmentIsAllowListed(t *testing.T) {
	exe := testExe(t)
	tmp := shortTempDir(t)
	t.Setenv("TMPDIR", tmp)
	t.Setenv("DCTEST_SECRET", "hunter2")
	t.Setenv("LC_DCTEST", "C")
	h := newHost(t, io.Discard)
	for _, extra := range [][]string{nil, {"DCTEST_SECRET"}} {
		p := open(t, h, plugins.Spec{Kind: sdk.KindEncoder, Path: exe, Args: []string{"fake-plugin", "encoder", "linear-env"}, Env: extra})
		doc := p.Description().Doc
		envPart, sockDir, ok := strings.Cut(strings.TrimPrefix(doc, "env: "), "; socket dir: ")
		if !ok {
			t.Fatalf("unexpected Doc %q", doc)
		}
		names := strings.Fields(envPart)
		for _, want := range []string{"PATH", "TMPDIR", "LC_DCTEST", serve.Handshake.MagicCookieKey, "PLUGIN_UNIX_SOCKET_DIR"} {
			if !slices.Contains(names, want) {
				t.Errorf("Env %v: plugin lacks %s; it has %v", extra, want, names)
			}
		}
		if got := slices.Contains(names, "DCTEST_SECRET"); got != (extra != nil) {
			t.Errorf("Env %v: plugin sees DCTEST_SECRET: %v", extra, got)
		}
		for _, n := range names {
			if strings.HasPrefix(n, "DEEPCLUST_") && n != serve.Handshake.MagicCookieKey {
				t.Errorf("plugin sees %s", n)
			}
		}
		st, err := os.Stat(sockDir)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o700 || filepath.Dir(sockDir) != tmp {
			t.Errorf("socket directory %s: mode %v, want 0700 in %s", sockDir, st.Mode().Perm(), tmp)
		}
		p.Close()
		if _, err := os.Stat(sockDir); !os.IsNotExist(err) {
			t.Errorf("socket directory %s left after Close (%v)", sockDir, err)
		}
	}
	if _, err := h.Open(context.Background(), plugins.Spec{Kind: sdk.KindEncoder, Path: exe, Env: []string{"A=B"}}); err == nil || !strings.Contains(err.Error(), `"A=B" is not an environment variable name`) {
		t.Errorf("Env A=B: got %v", err)
	}
}

// TestRelativePathIsNotLookedUpOnPath opens a plugin by a bare name that
// exists on PATH but not in the working directory: it must not start.
func TestRelativePathIsNotLookedUpOnPath(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("shell scripts")
	}
	exe := testExe(t)
	onPath, cwd := t.TempDir(), t.TempDir()
	body := fmt.Sprintf("exec %q fake-plugin loss l2\n", exe)
	writeScript(t, onPath, "dctest-plugin", body)
	t.Setenv("PATH", onPath+string(os.PathListSeparator)+os.Getenv("PATH"))
	t.Chdir(cwd)
	h := newHost(t, io.Discard)
	_, err := h.Open(context.Background(), plugins.Spec{Kind: sdk.KindLoss, Path: "dctest-plugin"})
	if want := filepath.Join(cwd, "dctest-plugin"); err == nil || !strings.Contains(err.Error(), "starting "+want) {
		t.Fatalf("got %v, want a failure to start %s", err, want)
	}
	writeScript(t, cwd, "dctest-plugin", body)
	if p := open(t, h, plugins.Spec{Kind: sdk.KindLoss, Path: "dctest-plugin"}); p.Description().Name != "l2" {
		t.Fatalf("opened %q", p.Description().Name)
	}
}

// TestFailureGoesToALogFile checks that a host without a Logger keeps
// go-plugin's lines and a crashing plugin's stack trace out of sight and
// writes them to a log file that the one-line error names, and that a
// session without a failure leaves no file.
func TestFailureGoesToALogFile(t *testing.T) {
	exe := testExe(t)
	logDir := t.TempDir()
	h := &plugins.Host{Registry: fakeRegistry(), LogDir: logDir}
	ctx := context.Background()
	ok := open(t, h, plugins.Spec{Kind: sdk.KindLoss, Path: exe, Args: []string{"fake-plugin", "loss", "l2"}})
	ok.Close()
	if entries, _ := os.ReadDir(logDir); len(entries) != 0 {
		t.Fatalf("a session without failure wrote %v", entries)
	}
	p := open(t, h, plugins.Spec{Kind: sdk.KindEncoder, Path: exe, Args: []string{"fake-plugin", "encoder", "linear-crash-hard"}})
	enc, _ := p.Encoder()
	if err := enc.Configure(ctx, sdk.Setup{InputShape: []int{6}}); err != nil {
		t.Fatal(err)
	}
	_, err := enc.Forward(ctx, randomTensor(1, 4, 6), false)
	var ce *plugins.CallError
	if !errors.As(err, &ce) || !ce.Failed || ce.Log == "" {
		t.Fatalf("got %v, want a failed CallError naming a log", err)
	}
	msg := err.Error()
	if strings.Contains(msg, "\n") || !strings.HasSuffix(msg, "(plugin log: "+ce.Log+")") || filepath.Dir(ce.Log) != logDir {
		t.Fatalf("error %q: want one line ending with the log file in %s", msg, logDir)
	}
	b, err := os.ReadFile(ce.Log)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"panic: fake encoder crashed hard", "goroutine ", "plugin process exited"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("log file lacks %q:\n%s", want, b)
		}
	}
	_, err = enc.Forward(ctx, randomTensor(1, 4, 6), false)
	if err == nil || !strings.Contains(err.Error(), "(plugin log: "+ce.Log+")") {
		t.Errorf("later call: %v", err)
	}
}

// TestSocketDirsOfDeadHostsAreRemoved makes socket directories as killed
// hosts leave them, and checks that a host's first plugin process removes
// those of dead hosts only.
func TestSocketDirsOfDeadHostsAreRemoved(t *testing.T) {
	tmp := shortTempDir(t)
	t.Setenv("TMPDIR", tmp)
	gone := exec.Command("true")
	if err := gone.Run(); err != nil {
		t.Skip("no true command")
	}
	mk := func(name, pid string) string {
		d := filepath.Join(tmp, name)
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
		if pid != "" {
			if err := os.WriteFile(filepath.Join(d, serve.SocketDirMarker), []byte(pid+"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		os.WriteFile(filepath.Join(d, "plugin123"), nil, 0o600)
		return d
	}
	stale := mk("plugin-dir111", strconv.Itoa(gone.Process.Pid))
	live := mk("plugin-dir222", strconv.Itoa(os.Getppid()))
	foreign := mk("plugin-dir333", "")
	h := newHost(t, io.Discard)
	open(t, h, plugins.Spec{Kind: sdk.KindLoss, Name: "l2", Isolation: plugins.Process})
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("the socket directory of a dead host is still there (%v)", err)
	}
	for _, d := range []string{live, foreign} {
		if _, err := os.Stat(d); err != nil {
			t.Errorf("%s was removed: %v", d, err)
		}
	}
}

// descendants returns the pids of every process below pid (Linux /proc).
func descendants(pid int) []int {
	parent := map[int]int{}
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
		if len(f) > 1 {
			parent[p], _ = strconv.Atoi(f[1])
		}
	}
	var out []int
	frontier := []int{pid}
	for len(frontier) > 0 {
		cur := frontier[0]
		frontier = frontier[1:]
		for p, pp := range parent {
			if pp == cur {
				out = append(out, p)
				frontier = append(frontier, p)
			}
		}
	}
	return out
}

// TestPluginsDieWithTheirHost SIGKILLs a host process and checks that its
// plugins follow within 5 s: a plugin it started directly (the
// parent-death signal), and one a wrapper script runs as its child (the
// served plugin watches its parent), which also removes its socket
// directory.
func TestPluginsDieWithTheirHost(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc")
	}
	exe := testExe(t)
	tmp := shortTempDir(t)
	t.Setenv("TMPDIR", tmp)
	script := writeScript(t, t.TempDir(), "wrapper.sh", fmt.Sprintf("%q fake-plugin encoder linear\n", exe))
	for _, tc := range []struct{ name, how, what string }{
		{"direct child", "builtin", "linear"},
		{"child of a wrapper script", "path", script},
	} {
		t.Run(tc.name, func(t *testing.T) {
			host := exec.Command(exe, "fake-host", tc.how, tc.what)
			out, err := host.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			host.Stderr = os.Stderr
			if err := host.Start(); err != nil {
				t.Fatal(err)
			}
			defer host.Wait()
			defer host.Process.Kill()
			line, _ := bufio.NewReader(out).ReadString('\n')
			if line != "ready\n" {
				t.Fatalf("host said %q", line)
			}
			kids := descendants(host.Process.Pid)
			if len(kids) == 0 {
				t.Fatal("the host has no plugin process")
			}
			dirs, _ := filepath.Glob(filepath.Join(tmp, "plugin-dir*"))
			if err := host.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			waitDead(t, 5*time.Second, kids...)
			if tc.how == "path" {
				for _, d := range dirs {
					if _, err := os.Stat(d); !os.IsNotExist(err) {
						t.Errorf("socket directory %s left behind", d)
					}
				}
			}
			for _, d := range dirs {
				os.RemoveAll(d)
			}
		})
	}
}

// TestConfigDocumentsBaseEnv keeps the config's env key, whose comment
// lists the variables every plugin gets, in step with BaseEnv.
func TestConfigDocumentsBaseEnv(t *testing.T) {
	var doc string
	for _, k := range config.SectionKeys("encoder", "mlp", "") {
		if k.Name == "encoder.env" {
			doc = k.Doc
		}
	}
	if doc == "" {
		t.Fatal("no encoder.env key")
	}
	for _, name := range plugins.BaseEnv() {
		if !strings.Contains(doc, name) {
			t.Errorf("the env key's comment does not list %s: %q", name, doc)
		}
	}
}

// TestLongTempDir opens a plugin process under a TMPDIR too long for a
// Unix socket path: its socket goes elsewhere.
func TestLongTempDir(t *testing.T) {
	long := filepath.Join(t.TempDir(), strings.Repeat("long-directory-name-", 4))
	if err := os.Mkdir(long, 0o700); err != nil {
		t.Fatal(err)
	}
	t.Setenv("TMPDIR", long)
	p := open(t, newHost(t, io.Discard), plugins.Spec{Kind: sdk.KindLoss, Name: "l2", Isolation: plugins.Process})
	if p.Description().Name != "l2" {
		t.Fatalf("opened %q", p.Description().Name)
	}
}
