package app

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"

	"github.com/hashicorp/go-hclog"

	"github.com/deepclust/deepclust/internal/config"
	"github.com/deepclust/deepclust/plugins"
	"github.com/deepclust/deepclust/plugins/builtin"
	"github.com/deepclust/deepclust/sdk"
)

// Env is what the commands write to.
type Env struct {
	Stdout, Stderr io.Writer
}

// session owns the plugin host of one command and every plugin it opened.
type session struct {
	host   *plugins.Host
	opened []*plugins.Plugin
}

func newSession(env Env) (*session, error) {
	reg, err := builtin.Registry()
	if err != nil {
		return nil, err
	}
	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("finding the deepclust binary for out-of-process plugins: %w", err)
	}
	return &session{host: &plugins.Host{
		Registry: reg,
		SelfCommand: func(kind sdk.Kind, name string) *exec.Cmd {
			return exec.Command(self, "plugin", "serve", string(kind), name)
		},
		Logger: hclog.New(&hclog.LoggerOptions{Name: "deepclust", Output: env.Stderr, Level: hclog.Warn}),
	}}, nil
}

// open starts the plugin of one config section and keeps it for close.
func (s *session) open(ctx context.Context, kind sdk.Kind, spec config.PluginSpec) (*plugins.Plugin, error) {
	ps := plugins.Spec{Kind: kind, Path: spec.Path, SHA256: spec.SHA256, Args: spec.Args, Timeout: spec.Timeout}
	if spec.Path == "" {
		ps.Name = spec.Plugin
		ps.Isolation = plugins.Isolation(spec.Isolation)
	}
	p, err := s.host.Open(ctx, ps)
	if err != nil {
		return nil, err
	}
	s.opened = append(s.opened, p)
	return p, nil
}

// resolve opens every plugin cfg names, in the order encoder, clusterer,
// losses, and resolves their configs against their descriptions.
func (s *session) resolve(ctx context.Context, cfg *config.Config) (config.Descriptions, error) {
	var d config.Descriptions
	err := cfg.ResolvePlugins(func(kind sdk.Kind, spec config.PluginSpec) (sdk.Description, error) {
		p, err := s.open(ctx, kind, spec)
		if err != nil {
			return sdk.Description{}, err
		}
		d.Add(kind, p.Description())
		return p.Description(), nil
	})
	return d, err
}

// close stops every plugin the session opened.
func (s *session) close() {
	for _, p := range s.opened {
		p.Close()
	}
	s.opened = nil
}

// forceIsolation sets the isolation of every built-in section of cfg.
func forceIsolation(cfg *config.Config, iso string) error {
	if iso == "" {
		return nil
	}
	if iso != config.IsolationInProcess && iso != config.IsolationProcess {
		return fmt.Errorf("--isolation %q: want inprocess or process", iso)
	}
	cfg.Encoder.Isolation, cfg.Clusterer.Isolation = iso, iso
	for i := range cfg.Losses {
		cfg.Losses[i].Isolation = iso
	}
	return nil
}

// seedFor derives the seed of the i-th plugin from the run's seed
// (SplitMix64), so that plugins draw independent streams.
func seedFor(seed uint64, i int) uint64 {
	z := seed + uint64(i+1)*0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}
