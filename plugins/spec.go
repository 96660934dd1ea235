package plugins

import (
	"encoding/hex"
	"fmt"
	"time"

	"github.com/deepclust/deepclust/sdk"
)

// Isolation says where a plugin runs.
type Isolation string

// The isolation levels. In-process is the default for built-ins; external
// plugins always run as a process.
const (
	InProcess Isolation = "inprocess"
	Process   Isolation = "process"
)

// DefaultTimeout bounds every plugin call whose Spec sets no Timeout, and a
// plugin's start-up: 10 minutes, long enough for a clusterer's Fit on a large
// data set. It is the one default of the plugin timeout; the config's
// default (a section's timeout key) should be DefaultTimeout.String().
const DefaultTimeout = 10 * time.Minute

// Spec is how a pipeline asks for a plugin.
type Spec struct {
	// Kind is the role of the plugin: encoder, clusterer or loss.
	Kind sdk.Kind
	// Name selects a built-in plugin; exactly one of Name and Path is set.
	Name string
	// Path is the executable of an external plugin. A relative path is
	// relative to the working directory (package config resolves the paths
	// of a config file against the file's directory); it is never looked
	// up on PATH.
	Path string
	// SHA256 optionally pins the hex SHA-256 of the executable at Path; a
	// binary that does not match is not started.
	SHA256 string
	// Isolation is InProcess (the default for built-ins) or Process
	// (always, for external plugins).
	Isolation Isolation
	// Timeout bounds each call, including start-up; DefaultTimeout when 0.
	Timeout time.Duration
	// Args are extra command-line arguments for the executable at Path.
	Args []string
	// Env names environment variables of the host that the plugin process
	// gets besides BaseEnv's; the others are withheld from it. An
	// in-process plugin shares the host's environment.
	Env []string
}

// label names the plugin in errors: kind, name or path, and isolation.
func (s Spec) label() string {
	who := s.Name
	if s.Path != "" {
		who = s.Path
	}
	return fmt.Sprintf("%s %q (%s)", s.Kind, who, s.Isolation)
}

// withDefaults checks s and fills in Isolation and Timeout.
func (s Spec) withDefaults() (Spec, error) {
	switch s.Kind {
	case sdk.KindEncoder, sdk.KindClusterer, sdk.KindLoss:
	default:
		return s, fmt.Errorf("plugin spec: unknown kind %q (want encoder, clusterer or loss)", s.Kind)
	}
	if (s.Name == "") == (s.Path == "") {
		return s, fmt.Errorf("plugin spec for a %s: set exactly one of name (built-in) and path (external binary)", s.Kind)
	}
	if s.Isolation == "" {
		s.Isolation = InProcess
		if s.Path != "" {
			s.Isolation = Process
		}
	}
	switch {
	case s.Isolation != InProcess && s.Isolation != Process:
		return s, fmt.Errorf("%s: unknown isolation %q (want inprocess or process)", s.label(), s.Isolation)
	case s.Path != "" && s.Isolation == InProcess:
		return s, fmt.Errorf("%s: external plugins always run as a process", s.label())
	case s.Path == "" && s.SHA256 != "":
		return s, fmt.Errorf("%s: sha256 pins an external binary; it needs path", s.label())
	case s.Path == "" && len(s.Args) > 0:
		return s, fmt.Errorf("%s: args are passed to an external binary; they need path", s.label())
	case s.Timeout < 0:
		return s, fmt.Errorf("%s: negative timeout %v", s.label(), s.Timeout)
	}
	if err := checkEnvNames(s.Env); err != nil {
		return s, fmt.Errorf("%s: %w", s.label(), err)
	}
	if s.SHA256 != "" {
		if b, err := hex.DecodeString(s.SHA256); err != nil || len(b) != 32 {
			return s, fmt.Errorf("%s: sha256 %q is not 64 hex digits", s.label(), s.SHA256)
		}
	}
	if s.Timeout == 0 {
		s.Timeout = DefaultTimeout
	}
	return s, nil
}
