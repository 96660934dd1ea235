//go:build race

package mlp

// raceEnabled reports a -race build, whose instrumentation allocates.
const raceEnabled = true
