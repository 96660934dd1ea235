// Package tableio is deepclust's one reader of Parquet and Arrow IPC
// files, used by dataset (which loads an input whole) and internal/lake
// (which streams it), and the checksums of the Parquet files deepclust
// writes.
//
// Reading never panics and never trusts a size:
//
//   - Every Arrow buffer comes from an allocator that refuses to hold more
//     than arrowsafe.Limit(file size) bytes at once (64 times the file's
//     size, at least 256 MiB; 4 GiB for a stream of unknown size), and
//     Arrow IPC messages (and a Parquet file's stored Arrow schema) are
//     checked by arrowsafe before Arrow's reader decodes them, so that a
//     corrupt length is an error instead of a fatal out-of-memory.
//   - Parquet footers are checked before pqarrow sees them (row groups have
//     every column, column chunks lie within the file, codecs are known),
//     and each row group's pages are walked before it is read: headers
//     decode, pages fit in their column chunk and declare at most the
//     limit uncompressed, and a page with a CRC-32 must match it.
//   - pqarrow reads with Parallel off, so that decoding happens in the
//     caller's goroutine, where panics of the Arrow and Parquet readers
//     (which corrupt input provokes) are recovered and returned as errors.
//   - Every record is validated (buffer sizes, offsets) before it is
//     returned, so that reading its values cannot index out of range.
//
// ChecksumWriter adds the page CRCs that the Parquet writer of arrow/go
// v15 leaves out: it sits between the writer and the file, adds a CRC-32
// to each page header and rewrites the footer's offsets to match.
package tableio
