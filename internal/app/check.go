package app

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/deepclust/deepclust/plugins"
	"github.com/deepclust/deepclust/sdk"
	"github.com/deepclust/deepclust/sdk/conformance"
)

// CheckOptions set up "deepclust plugin check".
type CheckOptions struct {
	// Path is an external plugin binary; exactly one of Path and Builtin.
	Path string
	// Args are extra command-line arguments for the binary at Path.
	Args []string
	// Builtin names a built-in plugin, or "all" for every built-in.
	Builtin string
	// Kind is the plugin's kind; found by trying each kind when empty.
	Kind string
	// Isolation is inprocess or process for built-ins; both when empty.
	Isolation string
	// Timeout bounds each call; plugins.DefaultTimeout when 0.
	Timeout time.Duration
	// Options set up the checks; for a built-in, zero fields take the
	// built-in's own test setup (builtinChecks).
	Options conformance.Options
}

// builtinChecks is the test setup of the built-ins that need more than the
// defaults: images for conv, batches of at least k rows for spectralnet,
// neighbour pairs for contrastive, x and x̂ or clusters for the losses that
// read them.
var builtinChecks = map[string]conformance.Options{
	"encoder/conv":        {InputShape: []int{1, 28, 28}},
	"encoder/spectralnet": {Batch: 32},
	"encoder/identity":    {NoParameters: true},
	"loss/reconstruction": {InputShape: []int{6}},
	"loss/spectral":       {InputShape: []int{6}},
	"loss/uniformity":     {Clusters: 3},
	"loss/contrastive":    {Pairs: 4},
}

// CheckPlugin runs the conformance checks on a plugin binary or on
// built-ins and prints one line per check: PASS, FAIL with the reason, or
// SKIP (an earlier check it needs failed). It fails when a check failed.
func CheckPlugin(ctx context.Context, env Env, opt CheckOptions) error {
	if (opt.Path == "") == (opt.Builtin == "") {
		return errors.New("plugin check: give a plugin binary PATH or --builtin NAME")
	}
	s, err := newSession(env)
	if err != nil {
		return err
	}
	defer s.close()
	if opt.Timeout == 0 {
		opt.Timeout = plugins.DefaultTimeout
	}
	var failed, total int
	run := func(spec plugins.Spec, o conformance.Options) error {
		label := spec.Name
		if spec.Path != "" {
			label = spec.Path
		}
		label = fmt.Sprintf("%s %q (%s)", spec.Kind, label, spec.Isolation)
		rs, err := conformance.Run(ctx, spec.Kind, func() (sdk.Describer, error) {
			p, err := s.host.Open(ctx, spec)
			if err != nil {
				return nil, err
			}
			s.opened = append(s.opened, p)
			return p.Value(), nil
		}, o)
		if err != nil {
			return err
		}
		for _, r := range rs {
			total++
			switch {
			case r.Err != nil:
				failed++
				fmt.Fprintf(env.Stdout, "FAIL  %s: %s: %s\n", label, r.Name, reason(r.Err, label))
			case r.Skipped:
				fmt.Fprintf(env.Stdout, "SKIP  %s: %s (an earlier check failed)\n", label, r.Name)
			default:
				fmt.Fprintf(env.Stdout, "PASS  %s: %s\n", label, r.Name)
			}
		}
		s.close()
		return nil
	}
	if opt.Path != "" {
		kind, err := s.findKind(ctx, opt)
		if err != nil {
			return err
		}
		spec := plugins.Spec{Kind: kind, Path: opt.Path, Args: opt.Args, Isolation: plugins.Process, Timeout: opt.Timeout}
		if err := run(spec, opt.Options); err != nil {
			return err
		}
	} else {
		isolations := []plugins.Isolation{plugins.InProcess, plugins.Process}
		if opt.Isolation != "" {
			isolations = []plugins.Isolation{plugins.Isolation(opt.Isolation)}
		}
		var targets []sdk.Description
		for _, d := range s.host.Registry.List() {
			if (opt.Builtin == "all" || d.Name == opt.Builtin) && (opt.Kind == "" || string(d.Kind) == opt.Kind) {
				targets = append(targets, d)
			}
		}
		if len(targets) == 0 {
			return fmt.Errorf("plugin check: no built-in plugin named %q (see deepclust plugins list)", opt.Builtin)
		}
		for _, d := range targets {
			o := mergeOptions(opt.Options, builtinChecks[string(d.Kind)+"/"+d.Name])
			for _, iso := range isolations {
				if err := run(plugins.Spec{Kind: d.Kind, Name: d.Name, Isolation: iso, Timeout: opt.Timeout}, o); err != nil {
					return err
				}
			}
		}
	}
	if failed > 0 {
		return fmt.Errorf("plugin check: %d of %d checks failed", failed, total)
	}
	_, err = fmt.Fprintf(env.Stdout, "ok: %d checks passed\n", total)
	return err
}

// findKind returns opt.Kind, or the kind the binary serves: the host's
// Describe fails with "does not serve" for the others.
func (s *session) findKind(ctx context.Context, opt CheckOptions) (sdk.Kind, error) {
	if opt.Kind != "" {
		return sdk.Kind(opt.Kind), nil
	}
	for _, k := range []sdk.Kind{sdk.KindEncoder, sdk.KindClusterer, sdk.KindLoss} {
		p, err := s.host.Open(ctx, plugins.Spec{Kind: k, Path: opt.Path, Args: opt.Args, Timeout: opt.Timeout})
		if err == nil {
			p.Close()
			return k, nil
		}
		if !strings.Contains(err.Error(), "does not serve a") {
			return "", err
		}
	}
	return "", fmt.Errorf("plugin check: %s serves none of encoder, clusterer and loss", opt.Path)
}

// mergeOptions fills the zero fields of o from def.
func mergeOptions(o, def conformance.Options) conformance.Options {
	if len(o.InputShape) == 0 {
		o.InputShape = def.InputShape
	}
	for _, f := range []struct{ v, d *int }{{&o.EmbeddingDim, &def.EmbeddingDim}, {&o.Rows, &def.Rows}, {&o.Batch, &def.Batch}, {&o.Clusters, &def.Clusters}, {&o.Pairs, &def.Pairs}} {
		if *f.v == 0 {
			*f.v = *f.d
		}
	}
	o.NoParameters = o.NoParameters || def.NoParameters
	if o.Config == nil {
		o.Config = def.Config
	}
	return o
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// reason is err on one line without the plugin's label, which the line
// already starts with, and without a method named twice in a row
// ("Eval: Eval: returned ..." from the check and the host's error).
func reason(err error, label string) string {
	parts := strings.Split(strings.ReplaceAll(oneLine(err.Error()), label+": ", ""), ": ")
	out := parts[:1]
	for _, p := range parts[1:] {
		if p != out[len(out)-1] {
			out = append(out, p)
		}
	}
	return strings.Join(out, ": ")
}
