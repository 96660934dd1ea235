// Command deepclust-beam runs deepclust's prediction, k-means, Gaussian
// mixtures and model-averaged training on Apache Beam (Go SDK): on Prism, Beam's local runner, in one process with no
// Docker or Java, and through the same binary on Dataflow, Flink or Spark.
// It is its own Go module, so that Beam never enters the dependency graph
// of the deepclust command or of the plugin SDK; it builds on the public
// packages model, pipeline, dataset, config, clusterers/kmeans,
// clusterers/gmm and encoders/mlp.
//
//	cd cmd/deepclust-beam && go build -o deepclust-beam .
//	deepclust-beam predict --model out/model --data lake/ --out pred/ --runner prism
//	deepclust-beam kmeans --data lake/ --k 10 --iters 20 --out km/
//	deepclust-beam gmm --data lake/ --k 10 --iters 20 --out gmm/
//	deepclust-beam train --config cfg.yaml --data lake/ --epochs 5 --workers 4 --out run/
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
// # gmm
//
// A Gaussian mixture fitted by EM as clusterers/gmm fits it. The start is
// the gmm clusterer's: k-means++ on the sample (seeded by
// gmm.RestartSeed), with --init kmeans followed by Lloyd steps, then the
// hard responsibilities of the nearest centre summed by one combine
// (gmm.AddHard) and turned into weights, means and covariances by one
// M-step; or --init-state, a saved gmm state. Each EM iteration is a ParDo
// that runs the E-step of a block under the parameters (a side input read
// and factored once per bundle, gmm.EStep) and emits the sufficient
// statistics (responsibility sums, first and second moments about the
// previous means, full or diagonal), a CombineFn that adds them, and the
// M-step (gmm.MStep) with scikit-learn's lower-bound test on tol; a
// converged iteration passes the parameters through. Output: gmm.json and
// gmm.state (the clusterer's Save format).
//
// # train
//
// Model averaging (local SGD, FedAvg) of the config's first stage: the
// row groups are dealt round-robin to --workers replicas (a GroupByKey of
// the shards); every epoch each replica reads its row groups, splits
// them into --rounds random parts and, round by round, trains one part
// (model.PretrainStage, with batches of --replica-batch rows, by default
// batch_size / --workers) from the broadcast weights (a side input read
// once per bundle), and a CombineFn averages the replicas' mlp states
// weighted by their rows (mlp.ReadWeights and WriteWeights: the
// parameters and Adam's moments, in float64, summed in ascending worker
// order whatever the runner's combining order, so its accumulator holds
// every replica's state of the round); each round's average is the
// next round's side input. One job per epoch (a driver loop); the
// averaged weights go to --staging. The driver then loads the averaged weights
// (model.SetPretrained) and runs the rest of deepclust run on the lake
// streamed: cluster init, joint training and later stages; the output
// holds model/ (what deepclust predict loads) and metrics.json.
//
// Errors of a DoFn reach the user as one line naming the file. The
// runner and its options are Beam's flags (--runner, --endpoint,
// --project, --region, --staging_location, --environment_type, ...); see
// docs/scale.md.
package main
