// Package pipeline trains a deep clustering model: an encoder f_w, a
// clusterer and auxiliary losses, on
//
//	L = Σ_k α_k·L_k + β·L_c
//
// in three stages. Pretrain fits the encoder on the pretrain-stage losses
// (usually autoencoder reconstruction) alone. Cluster init embeds all data,
// z_i = f_w(x_i), and fits the clusterer on the embeddings. Joint training
// then alternates SGD steps on L over mini-batches, each followed by the
// clusterer's in-batch Step, with clusterer Updates on all embeddings every
// UpdateInterval batches (or once per epoch), until fewer than Tol of the
// samples change cluster between updates or Epochs is reached.
//
// The pipeline only sees the sdk interfaces: plugins run in-process or out of
// process alike. One seed fixes the batch order.
//
// TrainWith also hands the run's State to a callback at every epoch
// boundary (a checkpoint), and continues a run from such a State with the
// result the uninterrupted run gives.
package pipeline
