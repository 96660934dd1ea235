package pipeline

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/deepclust/deepclust/sdk"
)

// notes records the progress notes; heard is closed at the first one that
// contains want.
type notes struct {
	NoProgress
	mu    sync.Mutex
	want  string
	got   []string
	heard chan struct{}
}

func (n *notes) Note(msg string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.got = append(n.got, msg)
	if strings.Contains(msg, n.want) && n.heard != nil {
		close(n.heard)
		n.heard = nil
	}
}

// slowClusterer's Fit returns only once the display has heard a heartbeat,
// or fails after 10 s.
type slowClusterer struct {
	fakeClusterer
	heard <-chan struct{}
}

func (c *slowClusterer) Fit(ctx context.Context, z sdk.Tensor) (sdk.Assignment, error) {
	select {
	case <-c.heard:
	case <-time.After(10 * time.Second):
		return sdk.Assignment{}, context.DeadlineExceeded
	}
	return c.fakeClusterer.Fit(ctx, z)
}

// TestClustererFitHeartbeat checks that a clusterer's Fit, which reports no
// steps of its own, is announced as still running through the progress
// display, and that the notes stop when it returns.
func TestClustererFitHeartbeat(t *testing.T) {
	defer func(d time.Duration) { heartbeatEvery = d }(heartbeatEvery)
	heartbeatEvery = time.Millisecond
	p := &notes{want: "fitting the clusterer c: still running", heard: make(chan struct{})}
	clu := &slowClusterer{fakeClusterer: fakeClusterer{labels: constLabels}, heard: p.heard}
	m := Model{Encoder: &fakeEncoder{}, Clusterer: clu}
	if _, err := Train(context.Background(), m, rampData(8), Schedule{BatchSize: 4}, 1, p); err != nil {
		t.Fatal(err)
	}
	p.mu.Lock()
	n := len(p.got)
	p.mu.Unlock()
	time.Sleep(20 * heartbeatEvery)
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.got) != n {
		t.Fatalf("notes went on after Train returned: %q", p.got[n:])
	}
}
