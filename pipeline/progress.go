package pipeline

import (
	"fmt"
	"time"
)

// Progress receives the progress of long stages. Implementations draw a
// bar on a terminal or write periodic log lines.
type Progress interface {
	// Start announces a stage of total steps.
	Start(stage string, total int)
	// Step reports that done of total steps are finished, with the running
	// mean loss.
	Step(done int, loss float64)
	// Note reports an event within the stage, such as a clusterer update.
	Note(msg string)
	// Finish ends the stage with a one-line summary.
	Finish(summary string)
}

// NoProgress discards all progress.
type NoProgress struct{}

// Start implements Progress.
func (NoProgress) Start(string, int) {}

// Step implements Progress.
func (NoProgress) Step(int, float64) {}

// Note implements Progress.
func (NoProgress) Note(string) {}

// Finish implements Progress.
func (NoProgress) Finish(string) {}

// heartbeatEvery is how often a clusterer call that is still running says
// so through the progress display; a variable so that tests can shorten it.
var heartbeatEvery = 30 * time.Second

// heartbeat notes through the progress display, every heartbeatEvery, that
// what is still running and for how long: a clusterer's Fit or Update
// reports no steps of its own and can take minutes. The returned stop ends
// the notes and waits for the goroutine, so the display is never called
// from two goroutines at once (the trainer is blocked in the clusterer
// meanwhile).
func (t *trainer) heartbeat(what string) (stop func()) {
	if _, off := t.progress.(NoProgress); off {
		return func() {}
	}
	begin := time.Now()
	done, exited := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(exited)
		tick := time.NewTicker(heartbeatEvery)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case now := <-tick.C:
				t.progress.Note(fmt.Sprintf("%s: still running, %s elapsed", what, now.Sub(begin).Round(time.Second)))
			}
		}
	}()
	return func() { close(done); <-exited }
}
