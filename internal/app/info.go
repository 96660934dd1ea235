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

// Validate checks a config file, plugin fields included (external plugins
// are started to describe themselves).
func Validate(ctx context.Context, env Env, file string) error {
	cfg, err := config.Load(config.Options{File: file})
	if err != nil {
		return err
	}
	m, err := model.New(ctx, cfg, model.Options{Log: env.Stderr})
	if err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	m.Close()
	_, err = fmt.Fprintf(env.Stdout, "%s: ok\n", file)
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
