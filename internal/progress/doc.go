// Package progress shows the progress of long stages: a redrawn bar with
// the running loss and an ETA when stderr is a terminal, and plain periodic
// log lines otherwise (CI logs, files, pipes).
package progress
