// Package dataset loads the samples a deepclust pipeline clusters: the
// built-in MNIST test set, MNIST-style idx files, CSV, Arrow IPC and Parquet.
//
// Every format becomes a Dataset: an N × (sample shape) float32 tensor X,
// optional ground-truth labels (used only for evaluation) and a Source
// string. Loading fails with a one-line error naming the file and the
// problem; rows and elements are numbered from 0 in every message.
//
// Formats:
//
//   - idx: one images file (gzip recognised by its magic bytes) with its
//     labels file beside it (t10k-images-idx3-ubyte[.gz] pairs with
//     t10k-labels-idx1-ubyte[.gz]; no labels file means no labels), or a
//     directory holding the four standard MNIST files, giving all 70,000
//     images (train first, then t10k). Pixels are divided by 255; an
//     [N, H, W] file becomes X of shape [N, 1, H, W].
//   - csv: a header row, then one sample per row. Columns whose cells all
//     parse as numbers (empty cells are missing values) are numeric. A
//     column that holds a number and a cell that is not one (text, a
//     decimal comma, a value beyond float64) is an error naming the cell's
//     row, line and column, unless it is the label column or, with
//     FeatureColumns set, not one of them; columns without any number are
//     text, never features.
//   - arrow (IPC file or stream, including Feather v2) and parquet: either
//     one List or FixedSizeList column of float32 or float64, every row the
//     same length, or a set of numeric columns. They are read through
//     internal/tableio, record by record, only the chosen columns decoded:
//     the reader internal/lake streams with, so a corrupt file is an error,
//     never a crash, and Parquet page checksums are verified.
//
// Features are, unless Options.FeatureColumns names them, the one list
// column when the data has one, else every numeric column but the label.
// The label column (default "label") may hold integers, integral floats or
// strings; strings are numbered 0, 1, ... in order of first appearance.
//
// Streaming readers of lakes (internal/lake, and cmd/deepclust-beam,
// which may use only public packages) share the pieces here: ChooseColumns
// and Extractor pick and read the columns of each record; Partitions,
// WithPartitions and AppendPartitions turn Hive key=value directories into
// constant columns (int64 when every value is an integer, else string;
// HiveNull is null); RowBatch.Drop removes the rows with missing features
// under the nulls: drop policy.
//
// Optional per-feature scaling, with statistics over all N rows of feature j:
//
//	minmax:    x'_ij = (x_ij − min_j) / (max_j − min_j)   (0 where max_j = min_j)
//	standard:  x'_ij = (x_ij − μ_j) / σ_j,  σ_j² = (1/N) Σ_i (x_ij − μ_j)²   (0 where σ_j = 0)
package dataset
