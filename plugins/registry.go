package plugins

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/deepclust/deepclust/sdk"
)

// Factory makes a new, unconfigured instance of a built-in plugin.
type Factory func() sdk.Describer

// Registry maps a kind and name to the factory of a built-in plugin. The
// zero Registry is empty and ready to use; it is not safe for concurrent
// Register calls.
type Registry struct {
	entries map[key]entry
}

type key struct {
	kind sdk.Kind
	name string
}

type entry struct {
	factory Factory
	desc    sdk.Description
}

// Register adds a built-in. Its kind and name are read from the Describe of
// one instance, which must implement the interface of its kind and whose
// config defaults must resolve; a second plugin of the same kind and name is
// an error.
func (r *Registry) Register(f Factory) error {
	p := f()
	d := p.Describe()
	if err := sdk.CheckPlugin(p); err != nil {
		return fmt.Errorf("registering %T: %w", p, err)
	}
	k := key{d.Kind, d.Name}
	if _, dup := r.entries[k]; dup {
		return fmt.Errorf("registering %s %q: already registered", d.Kind, d.Name)
	}
	if r.entries == nil {
		r.entries = map[key]entry{}
	}
	r.entries[k] = entry{factory: f, desc: d}
	return nil
}

// Lookup returns the factory of the built-in kind/name.
func (r *Registry) Lookup(kind sdk.Kind, name string) (Factory, error) {
	e, ok := r.entries[key{kind, name}]
	if !ok {
		var names []string
		for _, d := range r.List() {
			if d.Kind == kind {
				names = append(names, d.Name)
			}
		}
		return nil, fmt.Errorf("no built-in %s named %q (known: %s)", kind, name, strings.Join(names, ", "))
	}
	return e.factory, nil
}

// List returns the descriptions of all built-ins sorted by kind, then name.
func (r *Registry) List() []sdk.Description {
	out := make([]sdk.Description, 0, len(r.entries))
	for _, e := range r.entries {
		out = append(out, e.desc)
	}
	slices.SortFunc(out, func(a, b sdk.Description) int {
		return cmp.Or(cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Name, b.Name))
	})
	return out
}
