package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/deepclust/deepclust/internal/results"
	"github.com/deepclust/deepclust/pipeline"
)

// Configs of the kill-and-resume test: one stage killed in pretraining,
// one killed in joint training (DEC, whose targets must come back, and tol
// 0 so that it runs every epoch), and two stages. Batches of 32 over 1,500
// rows make epochs of 47 steps, a few tens of milliseconds each.
const (
	resumePretrain = `
seed: 3
progress: off
cache: {enabled: false}
encoder: {plugin: mlp, config: {hidden: [128, 128], embedding: 4, noise: 0.05}}
clusterer: {plugin: kmeans, config: {k: 3, n_init: 2}}
losses: [{plugin: reconstruction}]
train: {pretrain_epochs: 10, epochs: 0, batch_size: 32}
`
	resumeJoint = `
seed: 3
progress: off
cache: {enabled: false}
encoder: {plugin: mlp, config: {hidden: [128, 128], embedding: 4}}
clusterer: {plugin: dec, config: {k: 3, n_init: 2}}
losses: [{plugin: reconstruction}]
train: {pretrain_epochs: 1, epochs: 10, batch_size: 32, tol: 0, update_interval: 40}
`
	resumeStages = `
seed: 3
progress: off
cache: {enabled: false}
stages:
  - name: ae
    train: {pretrain_epochs: 6, batch_size: 32}
    encoder: {plugin: mlp, config: {hidden: [128, 128], embedding: 6}}
    losses: [{plugin: reconstruction, stages: [pretrain]}]
  - name: joint
    train: {pretrain_epochs: 5, epochs: 6, batch_size: 32, tol: 0}
    encoder: {plugin: mlp, config: {hidden: [32], embedding: 3}}
    losses: [{plugin: reconstruction}]
    clusterer: {plugin: kmeans, config: {k: 3, n_init: 2}}
`
)

// The full-size configs of TestKillAndResume with DCTEST_RESUME_FULL:
// MNIST-10k through N2D's and DEC's d-500-500-2000-10 autoencoder (DEC
// with its update interval of 140 batches), and the default two stages
// (autoencoder, then parametric UMAP and k-means) with fewer epochs.
const (
	fullPretrain = `
seed: 1
progress: off
cache: {enabled: false}
encoder: {plugin: mlp, config: {hidden: [500, 500, 2000], embedding: 10}}
clusterer: {plugin: kmeans, config: {k: 10, n_init: 10}}
losses: [{plugin: reconstruction}]
train: {pretrain_epochs: 8, epochs: 0, batch_size: 256}
`
	fullJoint = `
seed: 1
progress: off
cache: {enabled: false}
encoder: {plugin: mlp, config: {hidden: [500, 500, 2000], embedding: 10}}
clusterer: {plugin: dec, config: {k: 10, n_init: 20}}
losses: [{plugin: reconstruction, stages: [pretrain]}]
train: {pretrain_epochs: 2, epochs: 8, batch_size: 256, beta: 1, tol: 0, update_interval: 140}
`
	fullStages = `
seed: 1
progress: off
cache: {enabled: false}
stages:
  - name: autoencoder
    train: {pretrain_epochs: 6, epochs: 0}
    encoder: {plugin: mlp, config: {hidden: [500, 500, 2000], embedding: 10}}
    losses: [{plugin: reconstruction, stages: [pretrain]}]
  - name: manifold
    train: {pretrain_sampler: neighbors, neighbors: 15, pretrain_epochs: 10, epochs: 0}
    encoder: {plugin: mlp, config: {hidden: [256, 256], embedding: 10}}
    losses: [{plugin: contrastive, stages: [pretrain], config: {kind: umap, a: 1.929, b: 0.7915, negatives: 5}}]
    clusterer: {plugin: kmeans, config: {k: 10, n_init: 10}}
`
)

// checkpointState reads the training state of a checkpoint directory: the
// stage it belongs to and the state, and the file's modification time; ok
// is false while there is none.
func checkpointState(dir string) (stage int, st *pipeline.State, mtime time.Time, ok bool) {
	f, err := os.Open(filepath.Join(dir, "train.state"))
	if err != nil {
		return 0, nil, time.Time{}, false
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return 0, nil, time.Time{}, false
	}
	r := bufio.NewReader(f)
	line, err := r.ReadBytes('\n')
	if err != nil {
		return 0, nil, time.Time{}, false
	}
	var h struct {
		Stage int `json:"stage"`
	}
	if json.Unmarshal(line, &h) != nil {
		return 0, nil, time.Time{}, false
	}
	payload, err := io.ReadAll(r)
	if err != nil {
		return 0, nil, time.Time{}, false
	}
	st, err = pipeline.UnmarshalState(payload)
	if err != nil {
		return 0, nil, time.Time{}, false
	}
	return h.Stage, st, fi.ModTime(), true
}

// phaseOf names where a state is: "pretrain" or "train" of a stage.
func phaseOf(stage int, st *pipeline.State) string { return fmt.Sprintf("%d/%s", stage, st.Phase) }

// killedRun is one run killed with SIGKILL.
type killedRun struct {
	at       string        // the stage/phase of the last checkpoint before the kill
	lost     time.Duration // wall time from the last checkpoint write to the kill
	epoch    time.Duration // an epoch's time: the mean of the phase, or the last one seen if longer
	finished bool          // the run ended before the kill
}

// killAt starts a run and kills it with SIGKILL at a random moment of the
// three epochs that follow the first checkpoint after an epoch of the
// phase want ("STAGE/PHASE").
func killAt(t *testing.T, rng *rand.Rand, args []string, ckDir, want string) killedRun {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "DCTEST_MAIN=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	deadline := time.After(30 * time.Minute)
	var armed, last time.Time
	var delay, gap time.Duration
	lastAt, lastEpoch := "", 0
	for {
		select {
		case <-done:
			return killedRun{finished: true}
		case <-deadline:
			cmd.Process.Kill()
			<-done
			t.Fatalf("the run never reached %s\n%s", want, stderr.String())
		case <-time.After(2 * time.Millisecond):
		}
		stage, st, mtime, ok := checkpointState(ckDir)
		if !ok {
			continue
		}
		if !mtime.Equal(last) {
			// Two checkpoints at consecutive epochs of one phase: an
			// epoch's time, with its checkpoint.
			if at := phaseOf(stage, st); at == lastAt && st.Epoch == lastEpoch+1 {
				gap = mtime.Sub(last)
			}
			last, lastAt, lastEpoch = mtime, phaseOf(stage, st), st.Epoch
		}
		if armed.IsZero() && phaseOf(stage, st) == want && st.Epoch >= 1 {
			epoch := time.Duration(st.PhaseSeconds / float64(st.Epoch) * float64(time.Second))
			armed, delay = time.Now(), time.Duration(rng.Float64()*3*float64(epoch))
		}
		if !armed.IsZero() && time.Since(armed) >= delay {
			break
		}
	}
	killed := time.Now()
	cmd.Process.Kill()
	<-done
	stage, st, mtime, ok := checkpointState(ckDir)
	if !ok {
		// Killed between a stage's end, which stores the stage and drops
		// its training state, and the next stage's first checkpoint.
		done, _ := filepath.Glob(filepath.Join(ckDir, "stages", "[0-9a-f]*"))
		if len(done) == 0 {
			t.Fatalf("no training state nor completed stage in %s after the kill", ckDir)
		}
		fi, err := os.Stat(done[len(done)-1])
		if err != nil {
			t.Fatal(err)
		}
		return killedRun{at: fmt.Sprintf("%d stages done", len(done)), lost: killed.Sub(fi.ModTime()), epoch: gap}
	}
	if st.Batch != 0 {
		t.Fatalf("a checkpoint within an epoch (batch %d) without checkpoint.interval", st.Batch)
	}
	k := killedRun{at: phaseOf(stage, st), lost: killed.Sub(mtime), epoch: gap}
	if st.Epoch > 0 {
		k.epoch = max(k.epoch, time.Duration(st.PhaseSeconds/float64(st.Epoch)*float64(time.Second)))
	}
	return k
}

// blobCSV writes rows samples of d features around three centres, with a
// label column.
func blobCSV(t *testing.T, dir string, rows, d int) string {
	t.Helper()
	rng := rand.New(rand.NewPCG(9, 9))
	var b strings.Builder
	for j := range d {
		fmt.Fprintf(&b, "f%d,", j)
	}
	b.WriteString("label\n")
	for i := range rows {
		for j := range d {
			centre := 0.0
			if j%3 == i%3 {
				centre = 1.5
			}
			b.WriteString(strconv.FormatFloat(centre+rng.NormFloat64()*0.7, 'f', 5, 64) + ",")
		}
		fmt.Fprintf(&b, "%d\n", i%3)
	}
	p := filepath.Join(dir, "data.csv")
	if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestKillAndResume kills runs with SIGKILL at random moments, three times
// each in pretraining, in joint training and in a two-stage run (once in
// each of its stages' training phases), resumes each with run --resume OUT
// alone, and checks that every resumed run ends with exactly the
// assignments and embeddings of an uninterrupted run with the same seed,
// that a kill lost at most about one epoch of work (the time since the
// last checkpoint, against the mean epoch time), and that the checkpoint
// and staging directories are gone afterwards.
//
// With DCTEST_RESUME_FULL=1 it runs the same on the built-in MNIST-10k
// with the full-size networks (N2D's autoencoder and DEC's config, the
// default two stages), which takes tens of minutes.
func TestKillAndResume(t *testing.T) {
	if testing.Short() {
		t.Skip("kills and resumes 9 runs")
	}
	dir := t.TempDir()
	data := []string{"--data", blobCSV(t, dir, 1500, 24)}
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
	cases := []struct {
		name, config string
		phases       []string
	}{
		{"pretraining", resumePretrain, []string{"0/pretrain", "0/pretrain", "0/pretrain"}},
		{"joint training", resumeJoint, []string{"0/train", "0/train", "0/train"}},
		{"two stages", resumeStages, []string{"0/pretrain", "1/pretrain", "1/train"}},
	}
	if os.Getenv("DCTEST_RESUME_FULL") != "" {
		data = nil
		cases[0].config, cases[1].config, cases[2].config = fullPretrain, fullJoint, fullStages
		// The default second stage has no joint training.
		cases[2].phases = []string{"0/pretrain", "1/pretrain", "1/pretrain"}
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "-")+".yaml")
			if err := os.WriteFile(cfg, []byte(tc.config), 0o644); err != nil {
				t.Fatal(err)
			}
			ref := filepath.Join(dir, tc.name, "ref")
			begin := time.Now()
			if code, _, stderr := deepclust(t, nil, append([]string{"run", "--config", cfg, "--out", ref, "--no-report"}, data...)...); code != 0 {
				t.Fatalf("uninterrupted run: exit %d\n%s", code, stderr)
			}
			t.Logf("uninterrupted run: %v", time.Since(begin).Round(time.Millisecond))
			want, err := results.ReadAssignments(filepath.Join(ref, "assignments.parquet"))
			if err != nil {
				t.Fatal(err)
			}
			for i, phase := range tc.phases {
				out := filepath.Join(dir, tc.name, fmt.Sprintf("killed%d", i))
				args := append([]string{"run", "--config", cfg, "--out", out, "--no-report"}, data...)
				begin := time.Now()
				var k killedRun
				for try := 0; ; try++ {
					if k = killAt(t, rng, args, out+".checkpoint", phase); !k.finished {
						break
					}
					if try == 2 {
						t.Fatalf("the run ended before every attempt to kill it in %s", phase)
					}
					os.RemoveAll(out)
				}
				killed := time.Since(begin)
				// The kill may fall while the next checkpoint is written,
				// after a whole epoch; on a loaded machine epochs vary.
				if k.epoch > 0 && k.lost > 2*k.epoch+200*time.Millisecond {
					t.Errorf("kill %d lost %v of work, more than one epoch (%v)", i+1, k.lost, k.epoch)
				}
				begin = time.Now()
				code, stdout, stderr := deepclust(t, nil, "run", "--resume", out)
				if code != 0 {
					t.Fatalf("resume: exit %d\n%s", code, stderr)
				}
				t.Logf("kill %d after %v: last checkpoint in %s, %v before the kill (an epoch: %v); the resumed run took %v",
					i+1, killed.Round(time.Millisecond), k.at, k.lost.Round(time.Millisecond), k.epoch.Round(time.Millisecond), time.Since(begin).Round(time.Millisecond))
				if !strings.Contains(stderr, "resuming at") && !strings.Contains(stderr, "completed before the interruption") {
					t.Errorf("the resumed run does not say where it resumed:\n%s", stderr)
				}
				got, err := results.ReadAssignments(filepath.Join(out, "assignments.parquet"))
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(got.Clusters, want.Clusters) || !slices.Equal(got.Z.Data, want.Z.Data) {
					t.Fatalf("kill %d in %s: the resumed run's assignments differ from the uninterrupted run's\n%s%s", i+1, phase, stdout, stderr)
				}
				left, _ := filepath.Glob(filepath.Join(filepath.Dir(out), "*"+filepath.Base(out)+".*"))
				if len(left) > 0 {
					t.Errorf("left behind after the resumed run: %v", left)
				}
			}
		})
	}
}

// TestResumeRefusals checks the one-line errors of a resume: no
// checkpoint, a checkpoint of another build, of another config, and a
// fresh run into an output whose checkpoint holds an interrupted run.
func TestResumeRefusals(t *testing.T) {
	dir := t.TempDir()
	data := blobCSV(t, dir, 300, 6)
	cfg := filepath.Join(dir, "c.yaml")
	if err := os.WriteFile(cfg, []byte(resumePretrain), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	args := []string{"run", "--config", cfg, "--data", data, "--out", out, "--no-report"}
	if k := killAt(t, rand.New(rand.NewPCG(1, 1)), args, out+".checkpoint", "0/pretrain"); k.finished {
		t.Skip("the run ended before it could be killed")
	}
	oneLine := func(args []string, want string) {
		t.Helper()
		code, _, stderr := deepclust(t, nil, args...)
		lines := strings.Split(strings.TrimRight(stderr, "\n"), "\n")
		if code == 0 || len(lines) != 1 || !strings.Contains(lines[0], want) {
			t.Errorf("%v: exit %d, stderr %q; want one line containing %q", args, code, stderr, want)
		}
	}
	oneLine([]string{"run", "--resume", filepath.Join(dir, "nothing")}, "no checkpoint at")
	oneLine(args, "--resume "+out)
	oneLine([]string{"run", "--resume", out, "--seed", "4"}, "drop --seed")
	info := filepath.Join(out+".checkpoint", "checkpoint.json")
	orig, err := os.ReadFile(info)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(orig, &m); err != nil {
		t.Fatal(err)
	}
	m["binary_sha256"] = strings.Repeat("0", 64)
	b, _ := json.Marshal(m)
	os.WriteFile(info, b, 0o644)
	oneLine([]string{"run", "--resume", out}, "resume it with the same build")
	os.WriteFile(info, orig, 0o644)
	// Another config: the checkpoint's config.yaml edited.
	ckCfg := filepath.Join(out+".checkpoint", "config.yaml")
	c, err := os.ReadFile(ckCfg)
	if err != nil {
		t.Fatal(err)
	}
	edited := strings.Replace(string(c), "embedding: 4", "embedding: 5", 1)
	if edited == string(c) {
		t.Fatalf("no embedding width in the checkpoint's config:\n%s", c)
	}
	os.WriteFile(ckCfg, []byte(edited), 0o644)
	oneLine([]string{"run", "--resume", out}, "is of another config")
	os.WriteFile(ckCfg, c, 0o644)
	// Put right, it resumes.
	if code, _, stderr := deepclust(t, nil, "run", "--resume", out); code != 0 {
		t.Fatalf("resume: exit %d\n%s", code, stderr)
	}
}
