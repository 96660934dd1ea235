// Package app carries out the deepclust commands: it loads the data, opens
// the plugins a config names (in-process or out of process), configures them,
// runs the pipeline or a saved model, and writes the outputs atomically.
//
// Layout of an output directory:
//
//	assignments.parquet   row, cluster, embedding[, label]
//	metrics.json          acc, nmi, ari, n, k, seconds per stage, samples/s, history
//	model/config.yaml     the resolved configuration
//	model/manifest.json   input shape, embedding width, plugin names and versions
//	model/encoder.bin     encoder state (Encoder.Save)
//	model/clusterer.bin   clusterer state (Clusterer.Save)
package app
