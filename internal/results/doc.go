// Package results writes what a deepclust run produces into its output
// directory, atomically: files are written into a Stage, a temporary
// directory beside the output directory, and moved into place by Commit, so
// a run that fails or crashes before Commit leaves the output directory as
// it was.
//
// Cluster assignments are stored as Parquet (zstd-compressed) with one row
// per sample:
//
//	row        int64                    the sample's row in the input data
//	cluster    int32                    the assigned cluster
//	embedding  fixed_size_list<float32>[d]   the sample's embedding z
//	label      int32                    ground truth, only when known
package results
