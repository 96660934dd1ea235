package serve

import (
	"sync/atomic"
	"testing"
	"time"
)

// TestWatchParent checks that the watch calls gone once the parent pid
// changes, and not before; and that closing stop ends it quietly.
func TestWatchParent(t *testing.T) {
	var ppid atomic.Int64
	ppid.Store(42)
	called := make(chan struct{})
	go watchParent(42, func() int { return int(ppid.Load()) }, time.Millisecond, make(chan struct{}), func() { close(called) })
	select {
	case <-called:
		t.Fatal("gone called while the parent is there")
	case <-time.After(50 * time.Millisecond):
	}
	ppid.Store(1)
	select {
	case <-called:
	case <-time.After(5 * time.Second):
		t.Fatal("gone not called after the parent changed")
	}

	stop := make(chan struct{})
	ended := make(chan struct{})
	go func() {
		watchParent(7, func() int { return 7 }, time.Millisecond, stop, func() { t.Error("gone called") })
		close(ended)
	}()
	close(stop)
	select {
	case <-ended:
	case <-time.After(5 * time.Second):
		t.Fatal("the watch did not end when stopped")
	}
}
