// Package model builds, trains, saves, loads and runs a deepclust pipeline
// of stages from a config: what the deepclust command does, for Go
// programs.
//
// A pipeline is a list of stages (config.Stage). Stage s trains an encoder
// f_s on its losses with its schedule (pipeline.Train), on the embeddings
// of stage s−1 (the samples for the first stage):
//
//	z⁽⁰⁾ = x,   z⁽ˢ⁾ = f_s(z⁽ˢ⁻¹⁾),   labels = clusterer_last(z⁽ᴸ⁾)
//
// A stage may have a clusterer (and then joint training on
// L = Σ α_k·L_k + β·L_c); the last stage must, and its clusterer gives the
// assignments. A single-stage config is one stage.
//
// Typical use:
//
//	cfg, err := config.Load(config.Options{File: "configs/mnist-n2d.yaml"})
//	m, err := model.New(ctx, cfg, model.Options{Log: os.Stderr})
//	defer m.Close()
//	src, _, err := model.OpenData(ctx, cfg.Data)
//	res, err := m.Fit(ctx, src)          // res.Labels, res.Z, res.Report
//	err = m.Save(ctx, "out/model")
//	m2, err := model.Load(ctx, "out/model", model.Options{})
//	pred, err := m2.Predict(ctx, x)     // pred.Labels, pred.Z, pred.Soft
//
// The same config and seed give the same assignments as `deepclust run`.
//
// # Stage cache
//
// Fit keeps every trained stage (encoder state, embeddings and, after
// joint training, the clusterer's state and labels) in a cache directory
// (config.CacheSpec), keyed by a SHA-256 of the stage's resolved config,
// its seed and its input's key: a fingerprint of the samples (not their
// labels) for the first stage, the previous stage's key after it. A run
// that changes only a later stage takes the earlier ones from the cache. A
// stage without joint training leaves its clusterer out of the key: its
// clusterer is fitted again on the cached embeddings, which gives the same
// result as training anew since pretraining draws nothing the clusterer
// uses. Entries are written atomically; one whose files do not match its
// recorded checksums is removed and the stage trained again.
//
// # Checkpoints
//
// With Options.Checkpoint from NewCheckpoint, Fit keeps the resolved
// config, every completed stage and the training state of the stage in
// progress (pipeline.State, at every epoch boundary) in a checkpoint
// directory; a Fit with a Checkpoint from OpenCheckpoint continues the
// run it holds and ends exactly as the uninterrupted run would have.
package model
