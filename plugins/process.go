package plugins

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin/runner"

	"github.com/deepclust/deepclust/sdk/serve"
)

// How a plugin process is started and ended.
//
// A plugin runs in a process group of its own (on Unix), so that ending it
// ends whatever it started too: a wrapper script's children, which would
// otherwise keep the plugin's stderr open and make go-plugin wait for them
// forever. On Linux the plugin also gets SIGKILL when the host dies (the
// parent-death signal); package sdk/serve makes plugins built on it watch
// their parent on every system, which covers the children of wrapper
// scripts too.
//
// go-plugin creates each plugin's socket directory (os.MkdirTemp: mode
// 0700) and removes it when the plugin is killed. A host that is killed
// itself cannot remove them, so the directory holds a marker file naming
// the host's pid, and the next host removes the directories of hosts that
// are gone.

// socketMarker is the file in a plugin's socket directory that holds the
// pid of the host that created it.
const socketMarker = serve.SocketDirMarker

// socketDirPrefix is how go-plugin names the socket directories it creates.
const socketDirPrefix = "plugin-dir"

// baseEnv lists the environment variables every plugin gets from the
// host's environment; everything else is withheld unless the plugin's Spec
// names it in Env. Variables ending in "*" are prefixes. go-plugin adds its
// own (the handshake cookie, PLUGIN_*) after these.
var baseEnv = []string{
	"PATH", "HOME", "USER", "LOGNAME", "TMPDIR", "TZ", "LANG", "LANGUAGE", "LC_*",
	"GOMAXPROCS", "GOMEMLIMIT",
}

// BaseEnv returns the names of the environment variables every plugin
// process gets (a trailing "*" is a prefix): the locale, the user's home and
// PATH, the temporary directory, the time zone and the Go runtime's
// resource limits. Spec.Env adds more.
func BaseEnv() []string { return slices.Clone(baseEnv) }

// pluginEnv returns the entries of environ that a plugin may see: those
// baseEnv or extra names.
func pluginEnv(environ, extra []string) []string {
	var out []string
	for _, kv := range environ {
		name, _, ok := strings.Cut(kv, "=")
		if !ok || name == "" {
			continue
		}
		if slices.Contains(extra, name) || envAllowed(name) {
			out = append(out, kv)
		}
	}
	return out
}

func envAllowed(name string) bool {
	for _, a := range baseEnv {
		if p, ok := strings.CutSuffix(a, "*"); ok && strings.HasPrefix(name, p) || a == name {
			return true
		}
	}
	return false
}

// checkEnvNames checks the names of Spec.Env.
func checkEnvNames(names []string) error {
	for _, n := range names {
		if n == "" || strings.ContainsAny(n, "=\x00") {
			return fmt.Errorf("env: %q is not an environment variable name", n)
		}
	}
	return nil
}

// executable returns the absolute path of an external plugin's binary:
// path as is when absolute, else relative to the working directory. It is
// never looked up on PATH.
func executable(path string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", fmt.Errorf("resolving %s: %w", path, err)
	}
	return abs, nil
}

// VerifyBinary checks, without running it, that path (relative to the
// working directory, never looked up on PATH) is an executable file and,
// when sha256 is set, that its hex SHA-256 is sha256.
func VerifyBinary(path, sha256 string) error {
	abs, err := executable(path)
	if err != nil {
		return err
	}
	st, err := os.Stat(abs)
	switch {
	case err != nil:
		return err
	case st.IsDir():
		return fmt.Errorf("%s is a directory, not a plugin binary", abs)
	case st.Mode().Perm()&0o111 == 0 && runtime.GOOS != "windows":
		return fmt.Errorf("%s is not executable", abs)
	}
	if sha256 == "" {
		return nil
	}
	ok, err := checkSum(abs, sha256)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("sha256 of %s does not match the pinned %s", abs, sha256)
	}
	return nil
}

// checkSum compares the SHA-256 of the file at path with the hex want.
func checkSum(path, want string) (bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return false, err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return false, fmt.Errorf("hashing %s: %w", path, err)
	}
	return strings.EqualFold(hex.EncodeToString(h.Sum(nil)), want), nil
}

// groupRunner is the runner.Runner of a plugin process: go-plugin's own
// command runner, but the process leads a process group of its own, which
// Kill ends as a whole.
type groupRunner struct {
	cmd       *exec.Cmd
	name      string
	socketDir string
	stdout    io.ReadCloser
	stderr    io.ReadCloser

	mu  sync.Mutex
	pid int
	// waited is set once the process was waited for; swept once the group
	// was killed after that. Its pid may then be reused: no more kills.
	waited, swept bool
}

var _ runner.Runner = (*groupRunner)(nil)

// newGroupRunner prepares cmd to start as a plugin whose go-plugin
// environment is pluginEnv (what go-plugin gives the command it hands to a
// RunnerFunc) and whose socket directory is socketDir.
func newGroupRunner(cmd *exec.Cmd, pluginEnv []string, socketDir string) (*groupRunner, error) {
	cmd.Env = append(cmd.Env, pluginEnv...)
	cmd.SysProcAttr = processAttr()
	cmd.Stdin = nil // /dev/null: the host's stdin may be data (predict --data -)
	r := &groupRunner{cmd: cmd, name: cmd.Path, socketDir: socketDir}
	var err error
	if r.stdout, err = cmd.StdoutPipe(); err != nil {
		return nil, fmt.Errorf("plugin stdout: %w", err)
	}
	if r.stderr, err = cmd.StderrPipe(); err != nil {
		return nil, fmt.Errorf("plugin stderr: %w", err)
	}
	if socketDir != "" {
		marker := filepath.Join(socketDir, socketMarker)
		if err := os.WriteFile(marker, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o600); err != nil {
			return nil, fmt.Errorf("marking the plugin's socket directory: %w", err)
		}
	}
	return r, nil
}

// Start starts the process. go-plugin does not remove the socket directory
// of a plugin that never started, so Start does.
func (r *groupRunner) Start(context.Context) error {
	if err := r.cmd.Start(); err != nil {
		if r.socketDir != "" {
			os.RemoveAll(r.socketDir)
		}
		return err
	}
	r.mu.Lock()
	r.pid = r.cmd.Process.Pid
	r.mu.Unlock()
	return nil
}

// Wait waits for the process (go-plugin calls it once its output is read).
func (r *groupRunner) Wait(context.Context) error {
	err := r.cmd.Wait()
	r.mu.Lock()
	r.waited = true
	r.mu.Unlock()
	return err
}

// Kill ends the process group. Should something the plugin started have
// left the group and kept its stdout or stderr open, go-plugin would wait
// for them forever: the pipes are closed a moment later, once what the
// plugin wrote before dying has been read.
func (r *groupRunner) Kill(context.Context) error {
	r.killGroup()
	time.AfterFunc(2*time.Second, func() {
		r.stdout.Close()
		r.stderr.Close()
	})
	return nil
}

// killGroup sends SIGKILL to the plugin's process group (the plugin alone
// where there are no process groups).
func (r *groupRunner) killGroup() {
	r.mu.Lock()
	pid, done := r.pid, r.swept
	if r.waited {
		r.swept = true
	}
	r.mu.Unlock()
	if pid > 0 && !done {
		killGroup(pid, r.cmd.Process)
	}
}

// Pid is the plugin's process id, 0 before it started.
func (r *groupRunner) Pid() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.pid
}

// ID is the pid, as go-plugin's command runner says it.
func (r *groupRunner) ID() string {
	if pid := r.Pid(); pid > 0 {
		return strconv.Itoa(pid)
	}
	return ""
}

// Diagnose adds nothing: the host quotes the plugin's last stderr line.
func (r *groupRunner) Diagnose(context.Context) string { return "" }

// Stdout is the plugin's stdout, where it writes the handshake.
func (r *groupRunner) Stdout() io.ReadCloser { return r.stdout }

// Stderr is the plugin's stderr, which go-plugin logs.
func (r *groupRunner) Stderr() io.ReadCloser { return r.stderr }

// Name is the binary's path.
func (r *groupRunner) Name() string { return r.name }

// PluginToHost: the plugin's addresses are the host's.
func (r *groupRunner) PluginToHost(network, addr string) (string, string, error) {
	return network, addr, nil
}

// HostToPlugin: the host's addresses are the plugin's.
func (r *groupRunner) HostToPlugin(network, addr string) (string, string, error) {
	return network, addr, nil
}

// runnerFunc returns go-plugin's RunnerFunc for cmd; it stores the runner
// it makes in *made.
func runnerFunc(cmd *exec.Cmd, made **groupRunner) func(hclog.Logger, *exec.Cmd, string) (runner.Runner, error) {
	return func(_ hclog.Logger, spec *exec.Cmd, socketDir string) (runner.Runner, error) {
		r, err := newGroupRunner(cmd, spec.Env, socketDir)
		if err != nil {
			return nil, err
		}
		*made = r
		return r, nil
	}
}

// socketBase is the directory where go-plugin makes each plugin's socket
// directory: the OS temporary directory, unless it is too long for the
// socket's path (DIR/plugin-dirN/NAME, where Unix allows some 104 bytes and
// a plugin's NAME may take 40), then /tmp.
func socketBase() string {
	dir := os.TempDir()
	if runtime.GOOS == "windows" || len(dir)+len("/plugin-dir0123456789/") <= 104-40 {
		return dir
	}
	if st, err := os.Stat("/tmp"); err == nil && st.IsDir() {
		return "/tmp"
	}
	return dir
}

// sweepSocketDirs removes, from dir, the plugin socket directories of
// hosts that no longer run (found by their marker file). It returns how
// many it removed.
func sweepSocketDirs(dir string) int {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return 0
	}
	removed := 0
	for _, e := range entries {
		if !e.IsDir() || !strings.HasPrefix(e.Name(), socketDirPrefix) {
			continue
		}
		path := filepath.Join(dir, e.Name())
		b, err := os.ReadFile(filepath.Join(path, socketMarker))
		if err != nil {
			continue
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil || pid <= 0 || pid == os.Getpid() || processAlive(pid) {
			continue
		}
		if os.RemoveAll(path) == nil {
			removed++
		}
	}
	return removed
}
