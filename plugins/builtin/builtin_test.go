package builtin

import "testing"

func TestRegistryHoldsEveryBuiltin(t *testing.T) {
	r, err := Registry()
	if err != nil {
		t.Fatal(err)
	}
	if got := len(r.List()); got != len(factories) {
		t.Fatalf("registry lists %d plugins, want %d", got, len(factories))
	}
	for _, d := range r.List() {
		if d.Version == "" || d.Doc == "" {
			t.Errorf("%s %q: missing version or doc", d.Kind, d.Name)
		}
	}
}
