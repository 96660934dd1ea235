//go:build !race

package conv

// raceEnabled reports a -race build, whose instrumentation allocates.
const raceEnabled = false
