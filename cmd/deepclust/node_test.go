package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// nodePlugin returns the path of examples/node-loss/plugin, skipping the
// test when Node.js or the example's npm packages are missing, except in
// CI (CI=true), where scripts/test.sh installs them and a skip would hide
// a failure.
func nodePlugin(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("..", "..", "examples", "node-loss"))
	if err != nil {
		t.Fatal(err)
	}
	_, nodeErr := exec.LookPath("node")
	_, modErr := os.Stat(filepath.Join(dir, "node_modules", "apache-arrow"))
	if nodeErr != nil || modErr != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("node or examples/node-loss/node_modules missing in CI (run npm ci --prefix examples/node-loss): %v %v", nodeErr, modErr)
		}
		t.Skip("node or examples/node-loss/node_modules missing: npm ci --prefix examples/node-loss")
	}
	return filepath.Join(dir, "plugin")
}

// brokenNodePlugin copies the Node plugin into a temporary tree with one
// edit of loss.js, and returns the copy's plugin path.
func brokenNodePlugin(t *testing.T, from, to string) string {
	t.Helper()
	src := filepath.Dir(nodePlugin(t))
	root := t.TempDir()
	dst := filepath.Join(root, "examples", "node-loss")
	if err := os.MkdirAll(dst, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"plugin", "tls.js", "tensor.js", "loss.js", "controller.proto"} {
		b, err := os.ReadFile(filepath.Join(src, f))
		if err != nil {
			t.Fatal(err)
		}
		if f == "loss.js" {
			if !strings.Contains(string(b), from) {
				t.Fatalf("loss.js no longer contains %q", from)
			}
			b = []byte(strings.Replace(string(b), from, to, 1))
		}
		if err := os.WriteFile(filepath.Join(dst, f), b, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(filepath.Join(src, "node_modules"), filepath.Join(dst, "node_modules")); err != nil {
		t.Fatal(err)
	}
	proto, _ := filepath.Abs(filepath.Join("..", "..", "sdk", "pluginpb"))
	if err := os.MkdirAll(filepath.Join(root, "sdk"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(proto, filepath.Join(root, "sdk", "pluginpb")); err != nil {
		t.Fatal(err)
	}
	return filepath.Join(dst, "plugin")
}

func TestNodePluginPassesCheck(t *testing.T) {
	plugin := nodePlugin(t)
	code, stdout, stderr := deepclust(t, nil, "plugin", "check", plugin, "--kind", "loss", "--clusters", "3")
	if code != 0 || !strings.Contains(stdout, "PASS  loss") || strings.Contains(stdout, "FAIL") {
		t.Fatalf("exit %d\n%s%s", code, stdout, stderr)
	}
}

func TestBrokenNodePluginFailsCheck(t *testing.T) {
	for _, tc := range []struct {
		name, from, to, want string
	}{
		{"gradient times two", "const scale = (2 * weight) / n;", "const scale = (4 * weight) / n;", "FAIL  loss %q (process): eval grad_z matches finite differences: ∂L/∂z"},
		{"wrong shape", "gradZ: { shape: [n, d], data: gz }", "gradZ: { shape: [n - 1, d], data: gz }", "FAIL  loss %q (process): eval shapes: Eval: returned grad_z of shape [7 4] for z of shape [8 4]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			plugin := brokenNodePlugin(t, tc.from, tc.to)
			code, stdout, stderr := deepclust(t, nil, "plugin", "check", plugin, "--kind", "loss", "--clusters", "3")
			want := strings.Replace(tc.want, "%q", `"`+plugin+`"`, 1)
			if code == 0 || !strings.Contains(stdout, want) || !strings.Contains(stderr, "checks failed") {
				t.Fatalf("exit %d, want a failure line containing %q\n%s%s", code, want, stdout, stderr)
			}
		})
	}
}

// TestTrainThroughNodePlugin loads the Node plugin by path from a config and
// trains a few joint epochs through it.
func TestTrainThroughNodePlugin(t *testing.T) {
	plugin := nodePlugin(t)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "node.yaml")
	yaml := "losses:\n  - plugin: reconstruction\n  - path: " + plugin + "\n    weight: 0.1\n    stages: [train]\n    config:\n      weight: 0.5\n"
	if err := os.WriteFile(cfg, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	code, stdout, stderr := deepclust(t, nil, append([]string{"run", "--config", cfg, "--out", out, "--set", "clusterer.plugin=dec"}, small...)...)
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, stdout, stderr)
	}
	if _, err := os.Stat(filepath.Join(out, "metrics.json")); err != nil {
		t.Fatal(err)
	}
}

// TestPluginCheckEveryBuiltin runs the conformance checks over every
// built-in, in-process and out of process (the test binary serves them).
func TestPluginCheckEveryBuiltin(t *testing.T) {
	code, stdout, stderr := deepclust(t, nil, "plugin", "check", "--builtin", "all")
	if code != 0 || strings.Contains(stdout, "FAIL") || !strings.Contains(stdout, "(process): describe") || !strings.Contains(stdout, "(inprocess): describe") {
		t.Fatalf("exit %d\n%s%s", code, stdout, stderr)
	}
}
