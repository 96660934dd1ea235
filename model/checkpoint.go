package model

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/deepclust/deepclust/config"
	"github.com/deepclust/deepclust/internal/results"
	"github.com/deepclust/deepclust/pipeline"
)

// CheckpointSuffix names the checkpoint directory of a run beside its
// output directory: OUT.checkpoint.
const CheckpointSuffix = ".checkpoint"

// CheckpointDir returns the checkpoint directory of a run writing into
// out.
func CheckpointDir(out string) string { return filepath.Clean(out) + CheckpointSuffix }

// Files of a checkpoint directory.
const (
	checkpointFormat    = 1
	checkpointInfoFile  = "checkpoint.json"
	checkpointConfig    = ConfigFile
	checkpointStateFile = "train.state"
	checkpointStages    = "stages"
)

// CheckpointInfo is what a checkpoint's checkpoint.json records.
type CheckpointInfo struct {
	Format int `json:"format"`
	// Version and Binary identify the deepclust build that wrote the
	// checkpoint: its version and the SHA-256 of its executable. A resume
	// needs both to match.
	Version string `json:"version"`
	Binary  string `json:"binary_sha256"`
	// Owner is the process writing the checkpoint.
	Owner results.Owner `json:"owner"`
	// WorkDir is the working directory of the run, against which the
	// relative paths of its config are read.
	WorkDir string `json:"work_dir"`
	// Config is the SHA-256 of what decides the run's results (seed, data
	// spec, each stage's plugins with their resolved configs and versions,
	// schedule and loss weights), and Input the fingerprint of the scaled
	// samples the first stage trains on; both set when Fit begins.
	Config string `json:"config_sha256,omitempty"`
	Input  string `json:"input_sha256,omitempty"`
	// Run holds the caller's own options of the run (the deepclust command
	// keeps its flags there).
	Run json.RawMessage `json:"run,omitempty"`
}

// Checkpoint is the checkpoint directory of one run (Options.Checkpoint):
// Fit keeps there the resolved config, every completed stage (like the
// stage cache) and the training state of the stage in progress, written
// atomically at every epoch boundary (and at the config's
// checkpoint.interval), so that a run killed at any moment can be resumed
// by a Fit with a Checkpoint from OpenCheckpoint, losing at most one epoch
// of work, and ends exactly as it would have without the interruption.
type Checkpoint struct {
	dir    string
	info   CheckpointInfo
	resume bool
	// begun says Fit created the directory; saved that some progress was
	// written; failed that a write failed, which stops further
	// checkpoints.
	begun, saved, failed bool
	log                  io.Writer
	// pending, when not nil, delivers the result of the training-state
	// write in flight (saveState writes in the background; flush waits).
	pending chan error
}

// NewCheckpoint prepares the checkpoint of a fresh run in dir, with the
// caller's options run (any JSON value, or nil) recorded beside it. dir
// must not exist: it may hold an interrupted run's checkpoint, which
// would be lost. Fit creates it.
func NewCheckpoint(dir string, run any) (*Checkpoint, error) {
	if _, err := os.Lstat(dir); err == nil {
		info, err := readCheckpointInfo(dir)
		switch {
		case err == nil && info.Owner.Alive():
			return nil, fmt.Errorf("checkpoint %s: another run (%v) is writing it, to the same output directory", dir, info.Owner)
		case err == nil && !hasProgress(dir):
			// A run killed before its first checkpoint: nothing to lose.
			if err := os.RemoveAll(dir); err != nil {
				return nil, fmt.Errorf("checkpoint %s: %w", dir, err)
			}
		default:
			return nil, fmt.Errorf("checkpoint %s exists: it holds the checkpoint of an interrupted run; continue it with deepclust run --resume %s, or remove it to start afresh", dir, trimSuffix(dir))
		}
	} else if !os.IsNotExist(err) {
		return nil, fmt.Errorf("checkpoint %s: %w", dir, err)
	}
	wd, err := os.Getwd()
	if err != nil {
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	bin, err := BinaryID()
	if err != nil {
		return nil, err
	}
	c := &Checkpoint{dir: dir, info: CheckpointInfo{Format: checkpointFormat, Version: Version, Binary: bin, Owner: results.Self(), WorkDir: wd}}
	if run != nil {
		if c.info.Run, err = json.Marshal(run); err != nil {
			return nil, fmt.Errorf("checkpoint: %w", err)
		}
	}
	return c, nil
}

func trimSuffix(dir string) string { return strings.TrimSuffix(dir, CheckpointSuffix) }

// OpenCheckpoint opens the checkpoint in dir to resume the run that wrote
// it. It refuses a checkpoint written by another deepclust version or
// build, or by a run that is still going; Fit refuses one of another
// config or input. The run's config is ConfigFile.
func OpenCheckpoint(dir string) (*Checkpoint, error) {
	info, err := readCheckpointInfo(dir)
	if err != nil {
		return nil, err
	}
	bin, err := BinaryID()
	if err != nil {
		return nil, err
	}
	switch {
	case info.Format != checkpointFormat:
		return nil, fmt.Errorf("checkpoint %s: format %d, this build reads %d", dir, info.Format, checkpointFormat)
	case info.Version != Version || info.Binary != bin:
		return nil, fmt.Errorf("checkpoint %s was written by deepclust %s (binary %.12s), this is %s (binary %.12s): resume it with the same build", dir, info.Version, info.Binary, Version, bin)
	case info.Owner.Alive():
		return nil, fmt.Errorf("checkpoint %s: the run that writes it (%v) is still going", dir, info.Owner)
	case info.Config == "":
		return nil, fmt.Errorf("checkpoint %s holds no progress (the run stopped before training): start the run again", dir)
	}
	// Temporary files of an interrupted write.
	if tmps, err := filepath.Glob(filepath.Join(dir, checkpointStateFile+".tmp-*")); err == nil {
		for _, t := range tmps {
			os.Remove(t)
		}
	}
	return &Checkpoint{dir: dir, info: *info, resume: true, begun: true, saved: true}, nil
}

// hasProgress reports whether the checkpoint in dir holds a training
// state or a completed stage.
func hasProgress(dir string) bool {
	if _, err := os.Stat(filepath.Join(dir, checkpointStateFile)); err == nil {
		return true
	}
	entries, _ := os.ReadDir(filepath.Join(dir, checkpointStages))
	for _, e := range entries {
		if e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
			return true
		}
	}
	return false
}

func readCheckpointInfo(dir string) (*CheckpointInfo, error) {
	var info CheckpointInfo
	b, err := os.ReadFile(filepath.Join(dir, checkpointInfoFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("no checkpoint at %s: only a run interrupted after it began training leaves one", dir)
	}
	if err != nil {
		return nil, fmt.Errorf("checkpoint %s: %w", dir, err)
	}
	if err := json.Unmarshal(b, &info); err != nil {
		return nil, fmt.Errorf("checkpoint %s: reading %s: %w", dir, checkpointInfoFile, err)
	}
	return &info, nil
}

// Dir returns the checkpoint directory.
func (c *Checkpoint) Dir() string { return c.dir }

// Info returns what checkpoint.json records.
func (c *Checkpoint) Info() CheckpointInfo { return c.info }

// ConfigFile returns the run's resolved config in the checkpoint.
func (c *Checkpoint) ConfigFile() string { return filepath.Join(c.dir, checkpointConfig) }

// Resuming reports whether the checkpoint continues an earlier run.
func (c *Checkpoint) Resuming() bool { return c.resume }

// HasProgress reports whether the checkpoint holds any training state or
// completed stage, which a resume would continue from. It first waits for
// a training-state write in flight.
func (c *Checkpoint) HasProgress() bool {
	c.flush()
	return c.saved
}

// Remove deletes the checkpoint directory, once the run's outputs are
// written.
func (c *Checkpoint) Remove() error {
	c.flush()
	if !c.begun {
		return nil
	}
	if err := os.RemoveAll(c.dir); err != nil {
		return fmt.Errorf("removing checkpoint %s: %w", c.dir, err)
	}
	c.begun = false
	return nil
}

// begin starts the checkpoint when Fit begins: a fresh run creates the
// directory with its config and identity; a resumed one checks that the
// model's config and the input are the run's, and takes the checkpoint
// over.
func (c *Checkpoint) begin(m *Model, input string) error {
	c.log = m.opt.Log
	key, err := runKey(m)
	if err != nil {
		return err
	}
	if c.resume {
		if err := c.Check(m); err != nil {
			return err
		}
		if input != c.info.Input {
			return fmt.Errorf("checkpoint %s: the input data differ from the interrupted run's (fingerprint %.12s, was %.12s)", c.dir, input, c.info.Input)
		}
		c.info.Owner = results.Self()
		return c.writeInfo()
	}
	if err := os.MkdirAll(filepath.Dir(c.dir), 0o755); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	if err := os.Mkdir(c.dir, 0o755); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	c.begun = true
	var buf bytes.Buffer
	if err := config.Write(&buf, m.cfg, m.descs, false); err != nil {
		return err
	}
	if err := writeFileAtomic(c.ConfigFile(), buf.Bytes()); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	c.info.Config, c.info.Input = key, input
	return c.writeInfo()
}

// Check reports, for a resume, whether m is built from the interrupted
// run's config: the same seed, data spec, stages, plugins (names,
// versions, resolved configs), schedules and loss weights. Fit checks it
// too; calling it right after New refuses another config before the data
// are read.
func (c *Checkpoint) Check(m *Model) error {
	if !c.resume {
		return nil
	}
	key, err := runKey(m)
	if err != nil {
		return err
	}
	if key != c.info.Config {
		return fmt.Errorf("checkpoint %s is of another config (%.12s, this one is %.12s): resume it with its own config", c.dir, c.info.Config, key)
	}
	return nil
}

func (c *Checkpoint) writeInfo() error {
	b, err := json.MarshalIndent(c.info, "", "  ")
	if err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	if err := writeFileAtomic(filepath.Join(c.dir, checkpointInfoFile), append(b, '\n')); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	return nil
}

// stateHeader is the first line of train.state: which stage the training
// state that follows belongs to, and its length and CRC-32C.
type stateHeader struct {
	Format int    `json:"format"`
	Stage  int    `json:"stage"`
	Key    string `json:"key"`
	Bytes  int    `json:"bytes"`
	CRC32C uint32 `json:"crc32c"`
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// saveState writes the training state s of stage index (whose stage key
// is key) atomically, replacing the previous one. It encodes s at once and
// writes it in the background, so training goes on during the write and
// its fsync: a further saveState, stageDone, HasProgress and Remove first
// wait for the write in flight, and the state file always holds a whole
// state, the previous one until the new one is renamed over it. A killed
// run thus loses at most the epoch being written besides the one in
// progress. A failed write is reported once in the log and turns
// checkpoints off for the rest of the run, which goes on. s's plugin
// states must not change after the call (Save returns a fresh slice).
func (c *Checkpoint) saveState(index int, key string, s *pipeline.State) error {
	c.flush()
	if c.failed {
		return nil
	}
	parts, err := s.Encode()
	var head []byte
	if err == nil {
		h := stateHeader{Format: checkpointFormat, Stage: index, Key: key}
		for _, p := range parts {
			h.Bytes += len(p)
			h.CRC32C = crc32.Update(h.CRC32C, castagnoli, p)
		}
		head, err = json.Marshal(h)
	}
	if err != nil {
		c.fail(err)
		return nil
	}
	done := make(chan error, 1)
	c.pending = done
	path := filepath.Join(c.dir, checkpointStateFile)
	go func() { done <- writeFileAtomic(path, append(head, '\n'), parts...) }()
	return nil
}

// flush waits for the training-state write in flight, if any, and records
// its outcome.
func (c *Checkpoint) flush() {
	if c.pending == nil {
		return
	}
	err := <-c.pending
	c.pending = nil
	if err != nil {
		c.fail(err)
		return
	}
	c.saved = true
}

// fail turns checkpoints off after a failed write, saying so once.
func (c *Checkpoint) fail(err error) {
	c.failed = true
	fmt.Fprintf(c.log, "checkpoint %s: %v: going on without checkpoints\n", c.dir, err)
}

// loadState returns the saved training state of stage index when it is
// there, whole, and of the stage with this key.
func (c *Checkpoint) loadState(index int, key string) (*pipeline.State, error) {
	f, err := os.Open(filepath.Join(c.dir, checkpointStateFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := bufio.NewReader(f)
	line, err := r.ReadBytes('\n')
	if err != nil {
		return nil, fmt.Errorf("%s: reading its header: %w", checkpointStateFile, err)
	}
	var h stateHeader
	if err := json.Unmarshal(line, &h); err != nil {
		return nil, fmt.Errorf("%s: reading its header: %w", checkpointStateFile, err)
	}
	if h.Format != checkpointFormat || h.Stage != index || h.Key != key {
		return nil, nil
	}
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if h.Bytes < 0 || int64(h.Bytes) != fi.Size()-int64(len(line)) {
		return nil, fmt.Errorf("%s: %d bytes, its header says %d", checkpointStateFile, fi.Size()-int64(len(line)), h.Bytes)
	}
	payload := make([]byte, h.Bytes)
	if _, err := io.ReadFull(r, payload); err != nil {
		return nil, fmt.Errorf("%s: %w", checkpointStateFile, err)
	}
	if crc32.Checksum(payload, castagnoli) != h.CRC32C {
		return nil, fmt.Errorf("%s does not match its checksum: the file was damaged", checkpointStateFile)
	}
	s, err := pipeline.UnmarshalState(payload)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", checkpointStateFile, err)
	}
	return s, nil
}

// stages returns the store of the run's completed stages.
func (c *Checkpoint) stages() *stageCache {
	return &stageCache{dir: filepath.Join(c.dir, checkpointStages), log: c.log, keepScores: true}
}

// stageDone stores a completed stage and drops its training state.
func (c *Checkpoint) stageDone(ctx context.Context, key string, st *stage, res *pipeline.Result) {
	c.flush()
	if c.failed {
		return
	}
	if err := c.stages().put(ctx, key, st, res); err != nil {
		c.failed = true
		fmt.Fprintf(c.log, "checkpoint %s: storing stage %s: %v: going on without checkpoints\n", c.dir, st.spec.Name, err)
		return
	}
	c.saved = true
	os.Remove(filepath.Join(c.dir, checkpointStateFile))
}

// runKey is the SHA-256 of what decides a run's results: the seed, the
// data spec, and every stage's name, schedule, plugins (name, version,
// external binary's SHA-256, resolved config) and loss weights and
// phases. Isolation, timeouts, progress, the output and
// cache directories and checkpointing do not change results and are left
// out.
func runKey(m *Model) (string, error) {
	type stageKey struct {
		Name      string            `json:"name"`
		Train     pipeline.Schedule `json:"train"`
		Encoder   pluginKey         `json:"encoder"`
		Clusterer *pluginKey        `json:"clusterer,omitempty"`
		Losses    []pluginKey       `json:"losses"`
		Weights   []float64         `json:"weights"`
		Phases    [][]string        `json:"phases"`
	}
	key := struct {
		Format int             `json:"format"`
		Seed   uint64          `json:"seed"`
		Data   config.DataSpec `json:"data"`
		Stages []stageKey      `json:"stages"`
	}{Format: checkpointFormat, Seed: m.cfg.Seed, Data: m.cfg.Data}
	// Paths are left out: a resume from another working directory reads
	// them from there. The input's fingerprint, checked when Fit begins,
	// and the stage keys (with the pretrained weights' SHA-256) cover what
	// they hold.
	key.Data.Path = ""
	for _, st := range m.stages {
		sk := stageKey{Name: st.spec.Name, Train: st.spec.Train}
		var err error
		if sk.Encoder, err = keyOf(st.spec.Encoder, st.encoder.Description()); err != nil {
			return "", err
		}
		if st.clusterer != nil {
			k, err := keyOf(*st.spec.Clusterer, st.clusterer.Description())
			if err != nil {
				return "", err
			}
			sk.Clusterer = &k
		}
		for i, l := range st.spec.Losses {
			k, err := keyOf(l.PluginSpec, st.losses[i].Description())
			if err != nil {
				return "", err
			}
			sk.Losses = append(sk.Losses, k)
			sk.Weights = append(sk.Weights, l.Weight)
			sk.Phases = append(sk.Phases, l.Stages)
		}
		key.Stages = append(key.Stages, sk)
	}
	b, err := json.Marshal(key)
	if err != nil {
		return "", fmt.Errorf("checkpoint: config key: %w", err)
	}
	return sha(b), nil
}

var (
	binaryOnce sync.Once
	binaryID   string
	binaryErr  error
)

// BinaryID returns the SHA-256 of the running executable, which
// identifies the build that wrote a checkpoint.
func BinaryID() (string, error) {
	binaryOnce.Do(func() {
		path, err := os.Executable()
		if err == nil {
			var f *os.File
			if f, err = os.Open(path); err == nil {
				h := sha256.New()
				_, err = io.Copy(h, f)
				f.Close()
				binaryID = hex.EncodeToString(h.Sum(nil))
			}
		}
		if err != nil {
			binaryErr = fmt.Errorf("identifying the deepclust binary: %w", err)
		}
	})
	return binaryID, binaryErr
}

// writeFileAtomic writes b and then more to path through a temporary file in the same
// directory that is synced to disk and renamed over path, then syncs the
// directory: path holds the old content or the new, even after a crash.
func writeFileAtomic(path string, b []byte, more ...[]byte) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, filepath.Base(path)+".tmp-")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(b)
	for _, p := range more {
		if err == nil {
			_, err = f.Write(p)
		}
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp, 0o644)
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// resumeNote says where a stage resumes.
func resumeNote(s *pipeline.State) string {
	if s.Phase == pipeline.StagePretrain {
		return fmt.Sprintf("pretraining epoch %d, batch %d", s.Epoch+1, s.Batch)
	}
	if s.Epoch == 0 && s.Batch == 0 {
		return "joint training, after cluster init"
	}
	return fmt.Sprintf("joint-training epoch %d, batch %d", s.Epoch+1, s.Batch)
}
