package pipeline

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
