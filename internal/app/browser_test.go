package app

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image/png"
	"math"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// chromium returns the path of a Chromium binary. Without one the test is
// skipped, except under CI=true, where scripts/test.sh installs Debian's
// chromium package first and a missing browser is a failure.
func chromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("CHROMIUM_BIN"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("no Chromium (chromium, chromium-browser or google-chrome) on PATH under CI=true: scripts/test.sh should have installed Debian's chromium package")
	}
	t.Skip("SKIP: no Chromium on PATH, so report.html is not rendered (install Debian's chromium package, or set CHROMIUM_BIN)")
	return ""
}

// proxy listens on loopback and closes every connection, so that nothing
// Chromium requests (the page, or the browser's own update and account
// checks) leaves the machine; it counts them.
func proxy(t *testing.T) (addr string, count *atomic.Int64) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	count = &atomic.Int64{}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			count.Add(1)
			c.Close()
		}
	}()
	return l.Addr().String(), count
}

// browse runs headless Chromium on the report with extra arguments and
// returns its stdout; every request goes through the counting proxy and
// into a NetLog file.
func browse(t *testing.T, bin, page, proxyAddr, netlog string, extra ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	args := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
		"--user-data-dir=" + t.TempDir(), "--proxy-server=http://" + proxyAddr, "--proxy-bypass-list=<-loopback>",
		"--log-net-log=" + netlog, "--hide-scrollbars"}
	args = append(append(args, extra...), "file://"+page)
	var out, errb bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium %v: %v\n%s", extra, err, errb.String())
	}
	return out.String()
}

// pageRequests returns the URLs the page itself requested, from a NetLog:
// requests whose initiator is an origin (a file:// page's is "null") or
// whose network isolation key is the file:// page's. The browser's own
// background requests have the initiator "not an origin".
func pageRequests(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// Chromium may leave the closing brackets off when it exits.
	s := strings.TrimSpace(string(b))
	s = strings.TrimSuffix(s, ",")
	for _, tail := range []string{"", "]}", "\n]}"} {
		var log struct {
			Events []struct {
				Params map[string]any `json:"params"`
			} `json:"events"`
		}
		if json.Unmarshal([]byte(s+tail), &log) != nil {
			continue
		}
		var urls []string
		for _, e := range log.Events {
			u, ok := e.Params["url"].(string)
			if !ok || strings.HasPrefix(u, "data:") {
				continue
			}
			initiator, _ := e.Params["initiator"].(string)
			nik, _ := e.Params["network_isolation_key"].(string)
			if (initiator != "" && initiator != "not an origin") || strings.Contains(nik, "file://") {
				urls = append(urls, u)
			}
		}
		return urls
	}
	t.Fatalf("NetLog %s is not JSON", path)
	return nil
}

// checkReport renders page in Chromium: it asserts that the page made no
// network request (none in the NetLog, see pageRequests), that
// every section id in want is in the DOM and none of absent is, and that
// the screenshot, saved to shot, is not blank.
func checkReport(t *testing.T, bin, page, shot string, want, absent []string) {
	t.Helper()
	addr, _ := proxy(t)
	netlog := filepath.Join(t.TempDir(), "netlog.json")
	dom := browse(t, bin, page, addr, netlog, "--dump-dom", "--virtual-time-budget=3000")
	for _, id := range want {
		if !strings.Contains(dom, `<section id="`+id+`"`) {
			t.Errorf("%s: section %q missing from the DOM", page, id)
		}
	}
	for _, id := range absent {
		if strings.Contains(dom, `<section id="`+id+`"`) {
			t.Errorf("%s: section %q present, but it does not apply", page, id)
		}
	}
	if !strings.Contains(dom, "<svg") {
		t.Errorf("%s: no SVG in the DOM", page)
	}
	browse(t, bin, page, addr, netlog+".2", "--screenshot="+shot, "--window-size=1280,2400")
	for _, log := range []string{netlog, netlog + ".2"} {
		for _, u := range pageRequests(t, log) {
			t.Errorf("%s: the page requested %s", page, u)
		}
	}
	f, err := os.Open(shot)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	var sum, sq, n float64
	bounds := img.Bounds()
	for y := bounds.Min.Y; y < bounds.Max.Y; y += 2 {
		for x := bounds.Min.X; x < bounds.Max.X; x += 2 {
			r, g, b, _ := img.At(x, y).RGBA()
			v := float64(r+g+b) / 3 / 257
			sum += v
			sq += v * v
			n++
		}
	}
	variance := sq/n - (sum/n)*(sum/n)
	t.Logf("%s: screenshot %s, %dx%d, pixel variance %.1f", page, shot, bounds.Dx(), bounds.Dy(), variance)
	if variance < 100 || math.IsNaN(variance) {
		t.Errorf("%s: screenshot looks blank (pixel variance %.1f < 100)", page, variance)
	}
}

// shotDir is where the screenshots go: REPORT_SCREENSHOTS when set (to
// keep them), a temporary directory otherwise.
func shotDir(t *testing.T) string {
	if d := os.Getenv("REPORT_SCREENSHOTS"); d != "" {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		return d
	}
	return t.TempDir()
}

// TestReportInChromium renders the report.html of two small runs in
// headless Chromium: MNIST images through the two-stage default pipeline
// with k auto, and a labelled CSV table through identity + k-means.
func TestReportInChromium(t *testing.T) {
	bin := chromium(t)
	shots := shotDir(t)
	dir := t.TempDir()

	// The check can fail: a page with one remote image is caught.
	control := filepath.Join(dir, "control.html")
	if err := os.WriteFile(control, []byte(`<html><body><img src="http://127.0.0.1:9/x.png"><p>control</p></body></html>`), 0o644); err != nil {
		t.Fatal(err)
	}
	addr, count := proxy(t)
	controlLog := filepath.Join(dir, "control-netlog.json")
	browse(t, bin, control, addr, controlLog, "--dump-dom", "--virtual-time-budget=2000")
	if got := pageRequests(t, controlLog); len(got) == 0 || count.Load() == 0 {
		t.Fatalf("control page with a remote image: requests %v, %d proxy connections; the NetLog check sees nothing", got, count.Load())
	}
	var log bytes.Buffer
	env := Env{Stdout: &log, Stderr: &log}

	images := filepath.Join(dir, "images")
	_, err := Run(context.Background(), env, RunOptions{Isolation: "inprocess", NoCache: true, Set: map[string]string{
		"out": images, "progress": "off", "data.limit": "600",
		"stages.0.train.pretrain_epochs": "2", "stages.1.train.pretrain_epochs": "2",
		"stages.1.clusterer.config.k": "auto", "stages.1.clusterer.config.k_range": "2,8",
	}})
	if err != nil {
		t.Fatalf("image run: %v\n%s", err, log.String())
	}
	checkReport(t, bin, filepath.Join(images, ReportFile), filepath.Join(shots, "report-mnist.png"),
		[]string{"summary", "indices", "k-selection", "sizes", "map", "images", "training", "confusion", "config"}, []string{"profile"})

	csv := filepath.Join(dir, "blobs.csv")
	var b strings.Builder
	b.WriteString("age,income,score,visits,label\n")
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 400 {
		c := i % 4
		fmt.Fprintf(&b, "%.2f,%.1f,%.3f,%.1f,%d\n", 30+10*float64(c)+3*rng.NormFloat64(), 1000*float64(c%2)+200*rng.NormFloat64(),
			float64(c)+0.3*rng.NormFloat64(), 5*float64(3-c)+rng.NormFloat64(), c)
	}
	if err := os.WriteFile(csv, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "tab.yaml")
	yaml := "train:\n  pretrain_epochs: 0\n  epochs: 0\nencoder:\n  plugin: identity\nclusterer:\n  plugin: kmeans\n  config:\n    k: auto\n    k_range: [2, 8]\n    n_init: 3\nlosses: []\nprogress: off\n"
	if err := os.WriteFile(cfg, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	table := filepath.Join(dir, "table")
	if _, err := Run(context.Background(), env, RunOptions{ConfigFile: cfg, Isolation: "inprocess", NoCache: true,
		Set: map[string]string{"data.path": csv, "out": table}}); err != nil {
		t.Fatalf("table run: %v\n%s", err, log.String())
	}
	checkReport(t, bin, filepath.Join(table, ReportFile), filepath.Join(shots, "report-csv.png"),
		[]string{"summary", "indices", "k-selection", "sizes", "map", "profile", "confusion", "config"}, []string{"images"})
}
