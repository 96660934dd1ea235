package builtin

import (
	"testing"

	"github.com/deepclust/deepclust/sdk"
)

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
	for _, name := range []string{"kmeans", "dec", "spectral", "gmm", "subspace"} {
		if _, err := r.Lookup(sdk.KindClusterer, name); err != nil {
			t.Errorf("clusterer %q: %v", name, err)
		}
	}
}
