//go:build race

package kernels

// convRaceEnabled reports a -race build, whose instrumentation allocates.
const convRaceEnabled = true
