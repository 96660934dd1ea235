// Package lake streams data-lake tables through prediction in bounded
// memory: a Reader yields record batches of at most Options.BatchRows rows
// from a Parquet file, a directory of Parquet or Arrow files (Hive-style
// key=value partitions become columns), or an Arrow IPC file or stream
// (stdin as "-"); a Writer appends predictions to Parquet, row group by row
// group, or to an Arrow IPC stream.
//
// Each Batch holds the features X (rows × sample shape, chosen as
// dataset chooses them), the labels when there is a label column,
// the id columns passed through unchanged, and the input row number of
// every row, counted across files in lexical path order. Peak memory is a
// few batches plus one Parquet row group, whatever the number of rows.
//
// Files are read through internal/tableio, the reader dataset loads with
// too: a corrupt file is an error naming it, never a panic or an
// allocation its size does not justify. Parquet output carries a CRC-32
// on every page (tableio.ChecksumWriter).
//
// Missing feature values (nulls, and NaNs) follow Options.Nulls: error
// (the default; the message names the file, row and column), drop (the row
// is skipped and counted) or zero (the value reads as 0). Errors name the
// file and, where there is one, the column.
//
// A predictions file has the columns
//
//	row        int64                      input row number
//	<ids>      as in the input            Options.IDs, in order
//	cluster    int32                      assigned cluster
//	distance   float32 (optional)         ‖z − μ_cluster‖₂
//	embedding  fixed_size_list<float32>   z, marked nullable (apache/arrow-go#584)
package lake
