package app

import (
	"context"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/deepclust/deepclust/config"
	"github.com/deepclust/deepclust/model"
	"github.com/deepclust/deepclust/plugins"
	"github.com/deepclust/deepclust/sdk"
)

// ListPlugins prints the built-in plugins.
func ListPlugins(env Env) error {
	s, err := newSession(env)
	if err != nil {
		return err
	}
	w := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "KIND\tNAME\tVERSION\tDESCRIPTION")
	for _, d := range s.host.Registry.List() {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", d.Kind, d.Name, d.Version, firstSentence(d.Doc))
	}
	return w.Flush()
}

// DescribePlugin prints one plugin's description and config fields: a
// built-in by name (kind optional unless ambiguous), or an external binary.
func DescribePlugin(ctx context.Context, env Env, kind, name, path string) error {
	s, err := newSession(env)
	if err != nil {
		return err
	}
	defer s.close()
	var d sdk.Description
	if path != "" {
		if kind == "" {
			return fmt.Errorf("describing %s: --kind is required for an external plugin", path)
		}
		p, err := s.open(ctx, sdk.Kind(kind), config.PluginSpec{Path: path, Timeout: plugins.DefaultTimeout})
		if err != nil {
			return err
		}
		d = p.Description()
	} else if d, err = findBuiltin(s.host.Registry, kind, name); err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "%s %s %s\n%s\n\nConfig fields:\n", d.Kind, d.Name, d.Version, d.Doc)
	w := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "  FIELD\tTYPE\tDEFAULT\tDESCRIPTION")
	for _, f := range d.Fields {
		doc := f.Doc
		if len(f.Enum) > 0 {
			doc += " (" + strings.Join(f.Enum, ", ") + ")"
		}
		fmt.Fprintf(w, "  %s\t%s\t%v\t%s\n", f.Name, f.Type, f.Default, doc)
	}
	return w.Flush()
}

func findBuiltin(r *plugins.Registry, kind, name string) (sdk.Description, error) {
	var found []sdk.Description
	for _, d := range r.List() {
		if d.Name == name && (kind == "" || string(d.Kind) == kind) {
			found = append(found, d)
		}
	}
	switch len(found) {
	case 0:
		return sdk.Description{}, fmt.Errorf("no built-in plugin named %q (see deepclust plugins list)", name)
	case 1:
		return found[0], nil
	}
	return sdk.Description{}, fmt.Errorf("several built-in plugins are named %q: give --kind", name)
}

func firstSentence(doc string) string {
	if i := strings.Index(doc, ". "); i >= 0 {
		return doc[:i+1]
	}
	return doc
}

// PrintDefaults prints the full default configuration with a comment on
// every key, the built-in default plugins' fields included.
func PrintDefaults(env Env) error {
	cfg, err := config.Load(config.Options{NoEnv: true})
	if err != nil {
		return err
	}
	s, err := newSession(env)
	if err != nil {
		return err
	}
	d, err := cfg.ResolvePlugins(func(kind sdk.Kind, spec config.PluginSpec) (sdk.Description, error) {
		return findBuiltin(s.host.Registry, string(kind), spec.Plugin)
	})
	if err != nil {
		return err
	}
	fmt.Fprintln(env.Stdout, "# deepclust default configuration. Every key can also be set with a DEEPCLUST_* environment")
	fmt.Fprintln(env.Stdout, "# variable (stages.0.train.pretrain_epochs: DEEPCLUST_STAGES_0_TRAIN_PRETRAIN_EPOCHS) or with")
	fmt.Fprintln(env.Stdout, "# --set stages.0.train.pretrain_epochs=5; items of a list by index, from 0.")
	fmt.Fprint(env.Stdout, config.DefaultHeader)
	return config.Write(env.Stdout, cfg, d, true)
}

// ValidateOptions say what Validate checks.
type ValidateOptions struct {
	// File is the config file.
	File string
	// Plugins starts every plugin the config names, external binaries
	// included, so that each checks its own config fields. Without it no
	// plugin is executed: built-ins are checked against their descriptions
	// in this binary, and an external plugin only for being an executable
	// file that matches its pinned sha256.
	Plugins bool
}

// Validate checks a config file and says on Stdout which plugins it ran:
// none, unless opt.Plugins asks for all of them. Validating a config one
// did not write is then safe.
func Validate(ctx context.Context, env Env, opt ValidateOptions) error {
	cfg, err := config.Load(config.Options{File: opt.File})
	if err != nil {
		return err
	}
	if opt.Plugins {
		m, err := model.New(ctx, cfg, model.Options{Log: env.Stderr, PluginLog: env.pluginLog()})
		if err != nil {
			return fmt.Errorf("%s: %w", opt.File, err)
		}
		m.Close()
		_, err = fmt.Fprintf(env.Stdout, "%s: ok\nnote: every plugin was started (external binaries executed) and checked its config fields\n", opt.File)
		return err
	}
	s, err := newSession(env)
	if err != nil {
		return err
	}
	var external []string
	_, err = cfg.ResolvePlugins(func(kind sdk.Kind, spec config.PluginSpec) (sdk.Description, error) {
		if spec.Path == "" {
			return findBuiltin(s.host.Registry, string(kind), spec.Plugin)
		}
		if err := plugins.VerifyBinary(spec.Path, spec.SHA256); err != nil {
			return sdk.Description{}, fmt.Errorf("%s plugin: %w", kind, err)
		}
		external = append(external, spec.Path)
		return sdk.Description{}, config.ErrSkipPlugin
	})
	if err != nil {
		return fmt.Errorf("%s: %w", opt.File, err)
	}
	note := "no plugin was executed; the built-in plugins' config fields were checked"
	if len(external) > 0 {
		note = fmt.Sprintf("no plugin was executed; the config fields of %d external plugin(s) were not checked (%s): 'config validate --plugins' runs them to check", len(external), strings.Join(external, ", "))
	}
	_, err = fmt.Fprintf(env.Stdout, "%s: ok\nnote: %s\n", opt.File, note)
	return err
}

// ServeBuiltin serves the built-in plugin kind/name through the plugin
// protocol: the hidden command "deepclust plugin serve KIND NAME".
func ServeBuiltin(kind, name string) error {
	s, err := newSession(Env{})
	if err != nil {
		return err
	}
	return plugins.ServeBuiltin(s.host.Registry, sdk.Kind(kind), name)
}
