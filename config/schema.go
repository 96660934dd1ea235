package config

import (
	"strings"

	"github.com/deepclust/deepclust/sdk"
)

// Key is one configuration key: its dotted name, type, default and
// documentation, and the values it may take when it is an enumeration.
type Key struct {
	Name    string
	Type    sdk.FieldType
	Default any
	Doc     string
	Enum    []string
}

// Isolation values for a plugin section.
const (
	IsolationInProcess = "inprocess"
	IsolationProcess   = "process"
)

// CoreKeys lists the keys of the run as a whole, in the order `config
// defaults` prints them. The keys of a stage (train, encoder, clusterer,
// losses) are in TrainKeys, SectionKeys and LossKeys.
var CoreKeys = []Key{
	{"seed", sdk.TypeInt, 1, "Seed that fixes every random choice of the run.", nil},
	{"out", sdk.TypeString, "out", "Output directory (assignments.parquet, metrics.json, model/), written atomically.", nil},
	{"progress", sdk.TypeString, "auto", "Progress display: auto (a bar on a terminal, log lines otherwise), bar, lines or off.", []string{"auto", "bar", "lines", "off"}},
	{"data.path", sdk.TypeString, "", "Input: an MNIST idx file or directory, .csv, .arrow/.ipc or .parquet file. Empty: the built-in MNIST test set (10,000 images).", nil},
	{"data.format", sdk.TypeString, "auto", "Input format: auto (from the extension), idx, csv, arrow or parquet.", []string{"auto", "idx", "csv", "arrow", "parquet"}},
	{"data.features", sdk.TypeStrings, []string{}, "Feature columns (csv/arrow/parquet). Empty: every numeric column but the label, or the one list column.", nil},
	{"data.label", sdk.TypeString, "", "Label column (csv/arrow/parquet), used only for metrics. Empty: a column named label if there is one.", nil},
	{"data.shape", sdk.TypeInts, []int{}, "Shape of one sample, e.g. [1, 28, 28], for tabular inputs that hold images.", nil},
	{"data.scale", sdk.TypeString, "auto", "Feature scaling, fitted on the training samples and kept in the model for prediction: none, minmax (to [0,1]), standard (zero mean, unit variance) or auto (standard for csv, arrow and parquet tables; none for idx images, which are always divided by 255).", []string{"auto", "none", "minmax", "standard"}},
	{"data.limit", sdk.TypeInt, 0, "Use only the first N rows (0: all).", nil},
	{"data.stream", sdk.TypeBool, false, "Train on a Parquet/Arrow input read again on every pass, in bounded memory, instead of loading it (needs limit 0).", nil},
	{"data.nulls", sdk.TypeString, "error", "With data.stream: what a null or NaN feature does: error (naming row and column), drop (skip the row) or zero. Loaded inputs always treat it as an error.", []string{"error", "drop", "zero"}},
	{"data.shuffle_rows", sdk.TypeInt, 262144, "With data.stream: rows of the shuffle buffer; an epoch is shuffled within blocks of this many rows.", nil},
	{"cache.enabled", sdk.TypeBool, true, "Keep every trained stage (its model and embeddings) in the stage cache and reuse it when a later run has the same stage config, seed and input; --no-cache turns it off for one run.", nil},
	{"cache.dir", sdk.TypeString, "", "Stage cache directory. Empty: deepclust/stages under the user's cache directory ($XDG_CACHE_HOME or ~/.cache).", nil},
	{"checkpoint.enabled", sdk.TypeBool, true, "Write a checkpoint (in OUT.checkpoint beside the output directory, removed when the run succeeds) at every epoch boundary, from which deepclust run --resume OUT continues a killed run with the same result.", nil},
	{"checkpoint.interval", sdk.TypeString, "0s", "Also write a checkpoint within an epoch once this long (a Go duration, e.g. 5m) has passed since the last one; 0s: only at epoch boundaries.", nil},
}

// TrainKeys are the keys of a stage's train section (or of the top-level
// train section of a single-stage config).
var TrainKeys = []Key{
	{"train.batch_size", sdk.TypeInt, 256, "Mini-batch size for pretraining and joint training.", nil},
	{"train.pretrain_epochs", sdk.TypeInt, 100, "Epochs of pretraining on the pretrain-stage losses.", nil},
	{"train.pretrained", sdk.TypeString, "", "A previous run's output directory (or its model/ folder) whose encoder weights replace pretraining (of the stage with the same index, or of its only stage). Empty: pretrain.", nil},
	{"train.pretrain_sampler", sdk.TypeString, "shuffle", "Pretraining batch order: shuffle (every sample once per epoch) or neighbors (each batch: half random anchors, half one of each anchor's train.neighbors nearest neighbours in the input, paired row by row; for the contrastive loss of a Siamese network, as SpectralNet trains one). neighbors needs the data in memory.", []string{"shuffle", "neighbors"}},
	{"train.neighbors", sdk.TypeInt, 2, "With pretrain_sampler neighbors: the number of nearest neighbours an anchor's partner is drawn from (SpectralNet's siam_k).", nil},
	{"train.knn_search", sdk.TypeString, "auto", "With pretrain_sampler neighbors: how the neighbours are found: exact (every pair, O(n²)), approx (NN-descent, started from random-projection trees below 16 dimensions as pynndescent does, from exact search in k-means cells above; recall@10 about 0.99 on MNIST autoencoder codes) or auto (exact up to 100,000 samples, approx above).", []string{"auto", "exact", "approx"}},
	{"train.pretrain_lr", sdk.TypeFloat, 0.0, "Learning rate for pretraining (0: the encoder's own lr).", nil},
	{"train.pretrain_decay", sdk.TypeString, "none", "Pretraining learning-rate schedule: none (constant) or cosine (from pretrain_lr down to 0; needs pretrain_lr > 0).", []string{"none", "cosine"}},
	{"train.epochs", sdk.TypeInt, 50, "Maximum epochs of joint training on L = Σ α_k·L_k + β·L_c (0: pretrain and cluster only). A stage without a clusterer has none, and its default is 0.", nil},
	{"train.lr", sdk.TypeFloat, 0.0, "Learning rate for joint training (0: the encoder's own lr).", nil},
	{"train.beta", sdk.TypeFloat, 0.1, "Weight β of the clustering loss L_c.", nil},
	{"train.tol", sdk.TypeFloat, 0.001, "Stop joint training when fewer than this fraction of samples change cluster between updates.", nil},
	{"train.sampler", sdk.TypeString, "shuffle", "Joint-training batch order: shuffle (every sample once per epoch) or uniform (uniform over the current clusters, as DeepCluster samples).", []string{"shuffle", "uniform"}},
	{"train.update_interval", sdk.TypeInt, 0, "Training batches between clusterer updates on all embeddings (targets, assignments, label-change check); 0: once per epoch.", nil},
}

// SectionKeys are the host-side keys of a plugin section (encoder,
// clusterer, or an item of losses, whose names start with "."); the
// section's "config" sub-map holds the plugin's own fields.
func SectionKeys(section, plugin, doc string) []Key {
	return []Key{
		{section + ".plugin", sdk.TypeString, plugin, doc, nil},
		{section + ".path", sdk.TypeString, "", "Path of an external plugin binary (when set, plugin is ignored; it runs out of process, with your rights). Relative to the config file's directory, or to the working directory when set by --set or DEEPCLUST_*; never looked up on PATH.", nil},
		{section + ".sha256", sdk.TypeString, "", "Optional hex SHA-256 of the external binary; a mismatch stops the run.", nil},
		{section + ".args", sdk.TypeStrings, []string{}, "Command-line arguments for the external binary.", nil},
		{section + ".env", sdk.TypeStrings, []string{}, "Names of environment variables a plugin process gets besides PATH, HOME, USER, LOGNAME, TMPDIR, TZ, LANG, LANGUAGE, LC_*, GOMAXPROCS and GOMEMLIMIT; it gets no other variable of yours.", nil},
		{section + ".isolation", sdk.TypeString, IsolationInProcess, "inprocess, or process to run a built-in plugin in a child process through the gRPC protocol.", []string{IsolationInProcess, IsolationProcess}},
		{section + ".timeout", sdk.TypeString, "10m", "Longest one plugin call may take before the plugin is stopped (Go duration).", nil},
	}
}

var (
	encoderKeys   = SectionKeys("encoder", "mlp", "Built-in encoder plugin name (deepclust plugins list).")
	clustererKeys = SectionKeys("clusterer", "dec", "Built-in clusterer plugin name (deepclust plugins list).")
)

// LossKeys are the host-side keys of one entry of a losses list.
var LossKeys = append(SectionKeys("", "reconstruction", "Built-in loss plugin name (deepclust plugins list)."),
	Key{".weight", sdk.TypeFloat, 1.0, "Weight α_k of this loss in L = Σ α_k·L_k + β·L_c.", nil},
	Key{".stages", sdk.TypeStrings, []string{"pretrain", "train"}, "Phases the loss takes part in: pretrain, train.", nil},
)

// StageNameKey is the key that names a stage in a stages list.
var StageNameKey = Key{"name", sdk.TypeString, "", "Name of the stage in messages, metrics and the model (default stage1, stage2, ...).", nil}

// DefaultLosses is the losses list of a stage that gives none.
var DefaultLosses = []map[string]any{{"plugin": "reconstruction", "weight": 1.0}}

// stageSections are the keys of a stage that a single-stage config gives
// at the top level.
var stageSections = []string{"encoder", "clusterer", "losses", "train"}

func findKey(keys []Key, name string) (Key, bool) {
	for _, k := range keys {
		if k.Name == name {
			return k, true
		}
	}
	return Key{}, false
}

// sectionKey finds the host-side key sub ("plugin", "timeout", ...) of a
// plugin section.
func sectionKey(sub string) (Key, bool) {
	k, ok := findKey(encoderKeys, "encoder."+sub)
	k.Name = strings.TrimPrefix(k.Name, "encoder")
	return k, ok
}
