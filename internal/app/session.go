package app

import (
	"context"
	"io"

	"github.com/deepclust/deepclust/config"
	"github.com/deepclust/deepclust/model"
	"github.com/deepclust/deepclust/plugins"
	"github.com/deepclust/deepclust/sdk"
)

// Env is what the commands write to.
type Env struct {
	Stdout, Stderr io.Writer
	// Verbose sends the plugin host's log lines (go-plugin's, the plugin
	// processes' stderr) to Stderr as they come; otherwise they are kept
	// for a log file that a plugin failure writes and its error names.
	Verbose bool
}

// pluginLog is where the plugin host logs: Stderr when verbose, else nil.
func (e Env) pluginLog() io.Writer {
	if e.Verbose {
		return e.Stderr
	}
	return nil
}

// session owns the plugin host of one informational command and every
// plugin it opened.
type session struct {
	host   *plugins.Host
	opened []*plugins.Plugin
}

func newSession(env Env) (*session, error) {
	h, err := model.NewHost(env.pluginLog())
	if err != nil {
		return nil, err
	}
	return &session{host: h}, nil
}

// open starts the plugin of one config section and keeps it for close.
func (s *session) open(ctx context.Context, kind sdk.Kind, spec config.PluginSpec) (*plugins.Plugin, error) {
	p, err := s.host.Open(ctx, plugins.Spec{Kind: kind, Path: spec.Path, SHA256: spec.SHA256, Args: spec.Args, Env: spec.Env, Timeout: spec.Timeout})
	if err != nil {
		return nil, err
	}
	s.opened = append(s.opened, p)
	return p, nil
}

// close stops every plugin the session opened.
func (s *session) close() {
	for _, p := range s.opened {
		p.Close()
	}
	s.opened = nil
}
