package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestBeamStaysOut checks that Beam is no dependency of the deepclust
// command nor of the plugin SDK: only this nested module pulls it in.
func TestBeamStaysOut(t *testing.T) {
	cmd := exec.Command("go", "list", "-deps", "./cmd/deepclust", "./sdk/...")
	cmd.Dir = "../.."
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	pkgs := strings.Fields(string(out))
	if len(pkgs) < 50 {
		t.Fatalf("go list -deps listed only %d packages", len(pkgs))
	}
	for _, p := range pkgs {
		if strings.Contains(p, "apache/beam") {
			t.Errorf("%s depends on Beam (%s)", "deepclust or sdk", p)
		}
	}
	mod := exec.Command("go", "list", "-m", "all")
	mod.Dir = "../.."
	if out, err = mod.Output(); err != nil {
		t.Fatalf("go list -m all: %v", err)
	}
	if strings.Contains(string(out), "apache/beam") {
		t.Error("the main module's build list holds Beam")
	}
}
