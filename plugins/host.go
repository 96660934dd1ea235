package plugins

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/deepclust/deepclust/sdk"
	"github.com/deepclust/deepclust/sdk/serve"
)

// Host opens plugins.
type Host struct {
	// Registry holds the built-ins that Spec.Name selects.
	Registry *Registry
	// SelfCommand returns the command that serves the built-in kind/name
	// through the protocol, for built-ins with Isolation Process; the CLI
	// runs "deepclust plugin serve KIND NAME", which calls ServeBuiltin.
	// The host replaces the command's environment with the plugin
	// environment (see BaseEnv).
	SelfCommand func(kind sdk.Kind, name string) *exec.Cmd
	// Logger receives the host's and the plugins' log lines: go-plugin's,
	// and each plugin's stderr (its hclog lines at their levels, other
	// lines at debug, a crash's stack trace at error). Nil keeps the last
	// MiB of them in memory and, once a plugin fails, writes them to a log
	// file in LogDir, which the error names (CallError.Log), so that the
	// user sees one error line.
	Logger hclog.Logger
	// LogDir is the directory of that log file; empty for the OS
	// temporary directory.
	LogDir string

	// protocolVersion overrides serve.ProtocolVersion, for tests of the
	// version check.
	protocolVersion int

	once   sync.Once
	logger hclog.Logger
	flog   *failureLog
}

// Plugin is an opened plugin. Its Encoder, Clusterer or Loss checks every
// call (see the package documentation). Close it when done.
type Plugin struct {
	label  string
	desc   sdk.Description
	impl   sdk.Describer
	client *plugin.Client // nil in-process
	runner *groupRunner   // nil in-process
	pid    int
	closed sync.Once
}

// start sets up what the host's first plugin process needs: the logger,
// and the removal of socket directories that killed hosts left behind.
func (h *Host) start() {
	h.once.Do(func() {
		h.logger = h.Logger
		if h.logger == nil {
			h.flog = &failureLog{dir: h.LogDir}
			h.logger = hclog.New(&hclog.LoggerOptions{Name: "deepclust", Output: h.flog, Level: hclog.Debug})
		}
		sweepSocketDirs(socketBase())
	})
}

// logFile writes the kept log lines to the failure log file and returns
// its path; "" when the host has a Logger.
func (h *Host) logFile() string {
	if h.flog == nil {
		return ""
	}
	return h.flog.persist()
}

// Open starts (or, in-process, instantiates) the plugin s asks for and
// checks that it is what s says: its Describe reports s.Kind and, for a
// built-in, s.Name. On error nothing is left running.
func (h *Host) Open(ctx context.Context, s Spec) (*Plugin, error) {
	s, err := s.withDefaults()
	if err != nil {
		return nil, err
	}
	if s.Isolation == InProcess {
		return h.openInProcess(s)
	}
	return h.openProcess(ctx, s)
}

func (h *Host) openInProcess(s Spec) (*Plugin, error) {
	if h.Registry == nil {
		return nil, fmt.Errorf("%s: the host has no registry of built-ins", s.label())
	}
	f, err := h.Registry.Lookup(s.Kind, s.Name)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", s.label(), err)
	}
	p := &Plugin{label: s.label()}
	c := &caller{label: p.label, timeout: s.Timeout, inProcess: true}
	impl, err := call(context.Background(), c, "Describe", func(context.Context) (sdk.Describer, error) { return f(), nil })
	if err != nil {
		return nil, err
	}
	return p, p.wrap(impl, c)
}

// wrap puts the checking wrapper of its kind around impl.
func (p *Plugin) wrap(impl sdk.Describer, c *caller) error {
	p.desc = impl.Describe()
	switch inner := impl.(type) {
	case sdk.Encoder:
		p.impl = &checkedEncoder{inner: inner, c: c, desc: p.desc}
	case sdk.Clusterer:
		p.impl = &checkedClusterer{inner: inner, c: c, desc: p.desc}
	case sdk.Loss:
		p.impl = &checkedLoss{inner: inner, c: c, desc: p.desc}
	default:
		return fmt.Errorf("%s: %T implements none of sdk.Encoder, sdk.Clusterer, sdk.Loss", p.label, impl)
	}
	return nil
}

func (h *Host) openProcess(ctx context.Context, s Spec) (*Plugin, error) {
	h.start()
	var cmd *exec.Cmd
	if s.Path != "" {
		path, err := executable(s.Path)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", s.label(), err)
		}
		if s.SHA256 != "" {
			switch ok, err := checkSum(path, s.SHA256); {
			case err != nil:
				return nil, fmt.Errorf("%s: starting %s: %w", s.label(), path, err)
			case !ok:
				return nil, fmt.Errorf("%s: sha256 of %s does not match the pinned %s", s.label(), path, s.SHA256)
			}
		}
		cmd = exec.Command(path, s.Args...)
	} else {
		if h.SelfCommand == nil {
			return nil, fmt.Errorf("%s: the host cannot run built-ins as a process (no self command)", s.label())
		}
		if _, err := h.Registry.Lookup(s.Kind, s.Name); err != nil {
			return nil, fmt.Errorf("%s: %w", s.label(), err)
		}
		cmd = h.SelfCommand(s.Kind, s.Name)
	}
	cmd.Env = pluginEnv(os.Environ(), s.Env)
	stderr := &lastLine{}
	handshake := serve.Handshake
	if h.protocolVersion != 0 {
		handshake.ProtocolVersion = uint(h.protocolVersion)
	}
	var run *groupRunner
	client := plugin.NewClient(&plugin.ClientConfig{
		Stderr:          stderr,
		HandshakeConfig: handshake,
		Plugins:         plugin.PluginSet{string(s.Kind): &hostedPlugin{}},
		// The runner starts cmd in a process group of its own; go-plugin
		// gives it a private socket directory (mode 0700), removed when
		// the plugin is killed.
		RunnerFunc:       runnerFunc(cmd, &run),
		UnixSocketConfig: &plugin.UnixSocketConfig{TempDir: socketBase()},
		SkipHostEnv:      true,
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		AutoMTLS:         true,
		StartTimeout:     s.Timeout,
		Logger:           h.logger.Named(string(s.Kind)).With("plugin", s.label()),
		GRPCDialOptions: []grpc.DialOption{grpc.WithDefaultCallOptions(
			grpc.MaxCallRecvMsgSize(serve.MaxMessageSize), grpc.MaxCallSendMsgSize(serve.MaxMessageSize))},
	})
	p := &Plugin{label: s.label(), client: client}
	fail := func(format string, args ...any) (*Plugin, error) {
		p.kill()
		err := fmt.Errorf("%s: "+format, append([]any{p.label}, args...)...)
		if run != nil && run.Pid() > 0 {
			if log := h.logFile(); log != "" {
				err = fmt.Errorf("%w (plugin log: %s)", err, log)
			}
		}
		return nil, err
	}
	rpc, err := client.Client()
	p.runner = run
	if run != nil {
		p.pid = run.Pid()
	}
	switch {
	case err != nil && versionMismatch.MatchString(err.Error()):
		m := versionMismatch.FindStringSubmatch(err.Error())
		return fail("%s speaks deepclust plugin protocol %s, this host speaks %d; rebuild the plugin against a matching sdk", cmd.Path, m[1], handshake.ProtocolVersion)
	case err != nil && strings.Contains(err.Error(), "Unrecognized remote plugin message"):
		// go-plugin's several-line explanation, condensed.
		// Kill waits for the process and for its stderr to be copied, so
		// that the last line is there to quote.
		p.kill()
		said := "it wrote nothing to stderr"
		line := stderr.last()
		if _, refusal, ok := strings.Cut(line, "deepclust plugin: the host speaks"); ok {
			return fail("the plugin refused this host: the host speaks%s", refusal)
		}
		if line != "" {
			said = "its last stderr line: " + line
		}
		return fail("starting %s: it exited or wrote no go-plugin handshake (not a deepclust plugin?); %s", cmd.Path, said)
	case err != nil:
		return fail("starting %s: %s", cmd.Path, oneLine(err.Error()))
	}
	raw, err := rpc.Dispense(string(s.Kind))
	if err != nil {
		return fail("starting: %v", err)
	}
	c := &caller{label: p.label, timeout: s.Timeout, kill: p.kill, log: h.logFile}
	impl, err := call(ctx, c, "Describe", func(ctx context.Context) (sdk.Describer, error) {
		d, err := serve.NewClient(ctx, raw.(*grpc.ClientConn), s.Kind)
		if status.Code(err) == codes.Unimplemented {
			return nil, replyErrorf("the binary does not serve a %s plugin", s.Kind)
		}
		return d, err
	})
	if err != nil {
		p.Close()
		return nil, err
	}
	if s.Name != "" && impl.Describe().Name != s.Name {
		return fail("the process serves %q", impl.Describe().Name)
	}
	if err := p.wrap(impl, c); err != nil {
		return fail("%v", err)
	}
	return p, nil
}

// kill ends a failed plugin at once: its whole process group, then
// go-plugin's side of it, which waits until the plugin's output is read.
func (p *Plugin) kill() {
	if p.runner != nil {
		p.runner.killGroup()
	}
	p.client.Kill()
}

// versionMismatch matches go-plugin's error for a plugin whose handshake
// names another application protocol version.
var versionMismatch = regexp.MustCompile(`(?i)incompatible API version with plugin\. Plugin version: (\d+)`)

// lastLine keeps the last non-empty line written to it (at most 300 bytes),
// so that start-up errors can quote what the plugin said before dying.
type lastLine struct {
	mu   sync.Mutex
	line []byte
	cur  []byte
}

// Write collects lines; go-plugin writes the plugin's stderr here.
func (l *lastLine) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, b := range p {
		if b == '\n' {
			if len(bytes.TrimSpace(l.cur)) > 0 {
				l.line = append(l.line[:0], l.cur...)
			}
			l.cur = l.cur[:0]
		} else if len(l.cur) < 300 {
			l.cur = append(l.cur, b)
		}
	}
	return len(p), nil
}

func (l *lastLine) last() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return string(l.line)
}

// hostedPlugin is the go-plugin entry of a plugin on the host side: it hands
// out the gRPC connection, which serve.NewClient wraps.
type hostedPlugin struct {
	plugin.NetRPCUnsupportedPlugin
}

// GRPCServer is not used: plugins are served by package sdk/serve.
func (hostedPlugin) GRPCServer(*plugin.GRPCBroker, *grpc.Server) error {
	return errors.New("the host does not serve plugins; use package sdk/serve")
}

// GRPCClient returns the connection to the plugin.
func (hostedPlugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, conn *grpc.ClientConn) (any, error) {
	return conn, nil
}

// String names the plugin as errors do: kind, name or path, isolation.
func (p *Plugin) String() string { return p.label }

// Description is what the plugin said about itself when opened.
func (p *Plugin) Description() sdk.Description { return p.desc }

// Pid is the process id of an out-of-process plugin, 0 in-process.
func (p *Plugin) Pid() int { return p.pid }

// Value returns the plugin behind its checking wrapper: an sdk.Encoder,
// sdk.Clusterer or sdk.Loss, as its kind says.
func (p *Plugin) Value() sdk.Describer { return p.impl }

// Encoder returns the plugin as an encoder.
func (p *Plugin) Encoder() (sdk.Encoder, error) {
	if e, ok := p.impl.(sdk.Encoder); ok {
		return e, nil
	}
	return nil, fmt.Errorf("%s is not an encoder", p.label)
}

// Clusterer returns the plugin as a clusterer.
func (p *Plugin) Clusterer() (sdk.Clusterer, error) {
	if c, ok := p.impl.(sdk.Clusterer); ok {
		return c, nil
	}
	return nil, fmt.Errorf("%s is not a clusterer", p.label)
}

// Loss returns the plugin as an auxiliary loss.
func (p *Plugin) Loss() (sdk.Loss, error) {
	if l, ok := p.impl.(sdk.Loss); ok {
		return l, nil
	}
	return nil, fmt.Errorf("%s is not a loss", p.label)
}

// Close ends the plugin's process, if it has one, and waits for it to be
// gone: it asks the plugin to exit, kills it if it has not within two
// seconds, and then kills whatever is left of its process group. It is
// safe to call more than once.
func (p *Plugin) Close() error {
	p.closed.Do(func() {
		if p.client == nil {
			return
		}
		p.client.Kill()
		if p.runner != nil {
			p.runner.killGroup()
		}
	})
	return nil
}

// ServeBuiltin serves the built-in kind/name of reg through the protocol
// until the host closes it: the body of "deepclust plugin serve KIND NAME".
func ServeBuiltin(reg *Registry, kind sdk.Kind, name string) error {
	f, err := reg.Lookup(kind, name)
	if err != nil {
		return err
	}
	serve.Plugin(f())
	return nil
}
