// Command deepclust-beam runs deepclust's prediction and k-means on Apache
// Beam (Go SDK): on Prism, Beam's local runner, in one process with no
// Docker or Java, and through the same binary on Dataflow, Flink or Spark.
// It is its own Go module, so that Beam never enters the dependency graph
// of the deepclust command or of the plugin SDK; it builds on the public
// packages model, dataset and clusterers/kmeans.
//
//	cd cmd/deepclust-beam && go build -o deepclust-beam .
//	deepclust-beam predict --model out/model --data lake/ --out pred/ --runner prism
//	deepclust-beam kmeans --data lake/ --k 10 --iters 20 --out km/
//
// # predict
//
// Takes deepclust predict's flags for Parquet input. The input (a Parquet
// file, or a directory of them with Hive key=value partitions) is listed
// by the driver; the files' footers are read in parallel, one combine
// turns their row-group sizes into row offsets, each file expands into one
// shard per row group, and a reshuffle spreads the shards over the
// workers. A DoFn loads the model once per worker (Setup, from a
// per-process pool), reads its row group with pqarrow (Beam's parquetio
// reads whole files and cannot read list columns), runs model.Predict in
// batches of --batch-rows exactly as deepclust predict does, and writes
// one Parquet part per shard, assignments/part-NNNNNN.parquet, with
// deepclust predict's columns (row, ids, label, cluster, distance, soft,
// embedding). Parts go to a staging directory beside --out, which is
// renamed into place only after the job succeeded; a failed job leaves
// --out as it was. Scores come from a CombineFn merging contingency tables
// (model.ScoreCounts); string labels are numbered, as deepclust numbers
// them, by their first appearance in the input, found by one more combine.
//
// # kmeans
//
// The rows (features, or with --model the model's embeddings) become
// blocks; k-means++ (kmeans.PlusPlus) seeds on a uniform sample chosen by a
// hash of the seed and the row number; each Lloyd step is a ParDo that
// assigns the rows of a block to the nearest centroid (a side input read
// once per bundle) and sums them per cluster, a CombineFn that adds the
// sums and counts and keeps the k farthest rows (for empty clusters), and
// an update to the means, chained --iters times in one job. With exact
// float64 sums the centroids are bit-identical to kmeans.Cluster's.
// --mini-batch makes each step a mini-batch step; --dec adds DEC's soft
// cluster frequencies f_j = Σ_i q_ij.
//
// Errors of a DoFn reach the user as one line naming the file. The
// runner and its options are Beam's flags (--runner, --endpoint,
// --project, --region, --staging_location, --environment_type, ...); see
// docs/scale.md.
package main
