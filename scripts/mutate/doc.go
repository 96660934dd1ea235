// Package mutate is the mutation harness of issue 14: it runs
// `deepclust run` and `deepclust predict` on random mutations of small
// valid CSV, Parquet, Arrow IPC and idx files, and fails on any panic,
// fatal runtime error, hang (20 s) or staging directory left behind.
//
// It runs only when DEEPCLUST_MUTATIONS is set (mutations per format):
//
//	DEEPCLUST_MUTATIONS=1000 go test -count=1 -timeout 2h ./scripts/mutate/
//
// DEEPCLUST_BIN names a deepclust binary to test (default: one built from
// ./cmd/deepclust into the test's temporary directory), and
// DEEPCLUST_MUTATION_JOBS the processes run at once (default 2). The
// counts per format are logged (go test -v) and written to the file
// DEEPCLUST_MUTATION_REPORT when it is set; failing inputs are copied
// into the directory DEEPCLUST_MUTATION_KEEP when it is set.
package mutate
