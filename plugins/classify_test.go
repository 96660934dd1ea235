package plugins

import (
	"context"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// expiredUnfired is a context whose deadline has passed but whose timer has
// not fired yet, as a loaded host sees it when the plugin's server, which
// enforces the same deadline, resets the stream first.
type expiredUnfired struct{ context.Context }

func (expiredUnfired) Deadline() (time.Time, bool) { return time.Now().Add(-time.Millisecond), true }

// TestServerSideDeadlineIsATimeout checks that a stream the server cancels
// at the call's deadline is reported as the timeout it is, and that a
// cancellation before the deadline is still a lost connection.
func TestServerSideDeadlineIsATimeout(t *testing.T) {
	c := &caller{label: "p", timeout: 3 * time.Second}
	reset := status.Error(codes.Canceled, "stream terminated by RST_STREAM with error code: CANCEL")
	ctx := context.Background()
	problem, failed := c.classify(ctx, expiredUnfired{ctx}, reset)
	if !failed || !strings.Contains(problem.Error(), "no reply within 3s") {
		t.Errorf("reset at the deadline: %v (failed %v), want the timeout", problem, failed)
	}
	early, cancel := context.WithTimeout(ctx, time.Hour)
	defer cancel()
	problem, failed = c.classify(ctx, early, reset)
	if !failed || !strings.Contains(problem.Error(), "lost its connection") {
		t.Errorf("reset before the deadline: %v (failed %v), want a lost connection", problem, failed)
	}
}
