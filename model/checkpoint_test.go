package model

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/deepclust/deepclust/pipeline"
)

// stopAfter is a Progress that cancels the fit once n steps of a phase are
// done, the in-process stand-in for a kill.
type stopAfter struct {
	pipeline.NoProgress
	n, seen int
	cancel  context.CancelFunc
}

func (s *stopAfter) Step(int, float64) {
	if s.seen++; s.seen == s.n {
		s.cancel()
	}
}

// orphan makes the checkpoint in dir look written by a process that has
// ended, as after a kill, so that it can be resumed in this process.
func orphan(t *testing.T, dir string) {
	t.Helper()
	path := filepath.Join(dir, checkpointInfoFile)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var info CheckpointInfo
	if err := json.Unmarshal(b, &info); err != nil {
		t.Fatal(err)
	}
	info.Owner.PID = 1 << 30
	info.Owner.Start = 1
	if b, err = json.Marshal(info); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// interrupted fits cfg with a checkpoint in dir and stops it after steps
// training steps; it returns the error of the stopped fit.
func interrupted(t *testing.T, body string, data pipeline.Data, dir string, steps int) error {
	t.Helper()
	ck, err := NewCheckpoint(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	m, err := New(ctx, load(t, body, map[string]string{"cache.enabled": "false"}), Options{Checkpoint: ck, Progress: &stopAfter{n: steps, cancel: cancel}})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	_, err = m.Fit(ctx, data)
	return err
}

// TestFitResumesAfterEveryStage stops a two-stage fit (the second stage
// with joint training) in each of its phases and resumes it from its
// checkpoint: every resumed fit gives the labels, embeddings and histories
// of an uninterrupted one, and says which stages it resumed.
func TestFitResumesAfterEveryStage(t *testing.T) {
	data := blobs(240, 6)
	body := strings.Replace(twoStages, "epochs: 0", "epochs: 3, tol: 0", 1)
	_, want, _ := fit(t, load(t, body, map[string]string{"cache.enabled": "false"}), data, Options{})
	// 240 rows in batches of 32: 8 steps an epoch; stage 1 pretrains 3
	// epochs (24 steps), stage 2 pretrains 2 (16) and trains 3 (24).
	for _, steps := range []int{5, 20, 30, 45, 60} {
		dir := filepath.Join(t.TempDir(), "out.checkpoint")
		err := interrupted(t, body, data, dir, steps)
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("stopped after %d steps: %v", steps, err)
		}
		orphan(t, dir)
		ck, err := OpenCheckpoint(dir)
		if err != nil {
			t.Fatalf("after %d steps: %v", steps, err)
		}
		cfg := load(t, body, map[string]string{"cache.enabled": "false"})
		_, got, log := fit(t, cfg, data, Options{Checkpoint: ck})
		if !slices.Equal(got.Labels, want.Labels) || !slices.Equal(got.Z.Data, want.Z.Data) {
			t.Fatalf("resumed after %d steps: the result differs from an uninterrupted fit\n%s", steps, log)
		}
		for i, s := range got.Report.Stages {
			w := want.Report.Stages[i]
			if !slices.Equal(s.PretrainHistory, w.PretrainHistory) || len(s.History) != len(w.History) {
				t.Errorf("resumed after %d steps: stage %s's history differs", steps, s.Name)
			}
		}
		if steps > 24 && (!got.Report.Stages[0].Resumed || !strings.Contains(log, "completed before the interruption")) {
			t.Errorf("resumed after %d steps: the first stage was not taken from the checkpoint\n%s", steps, log)
		}
		// A training state is there when the stop fell after an epoch of
		// the stage in progress.
		if inEpoch := steps == 20 || steps >= 45; inEpoch != strings.Contains(log, "resuming at") {
			t.Errorf("resumed after %d steps: no resume line\n%s", steps, log)
		}
		if err := ck.Remove(); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(dir); !os.IsNotExist(err) {
			t.Fatalf("the checkpoint is still there after Remove: %v", err)
		}
	}
}

// TestResumeLoadsTheClustererFit stops a fit in its second stage, the
// first having a clusterer without joint training: the resumed fit takes
// the first stage and its clusterer's fit from the checkpoint (it does not
// fit it again) and gives an uninterrupted fit's result.
func TestResumeLoadsTheClustererFit(t *testing.T) {
	data := blobs(240, 7)
	body := strings.Replace(strings.Replace(strings.Replace(twoStages, "epochs: 0", "epochs: 3, tol: 0", 1),
		"train: {pretrain_epochs: 3, batch_size: 32}", "train: {pretrain_epochs: 3, batch_size: 32, epochs: 0}", 1),
		"      - plugin: reconstruction\n        stages: [pretrain]\n  - name: second",
		"      - plugin: reconstruction\n        stages: [pretrain]\n    clusterer:\n      plugin: kmeans\n      config: {k: 3, n_init: 2}\n  - name: second", 1)
	_, want, _ := fit(t, load(t, body, map[string]string{"cache.enabled": "false"}), data, Options{})
	if want.Report.Stages[0].Clusterer == nil {
		t.Fatalf("the first stage has no clusterer: %+v", want.Report.Stages[0])
	}
	dir := filepath.Join(t.TempDir(), "out.checkpoint")
	// Stage 1: 3 pretraining epochs of 8 steps; stop in stage 2.
	if err := interrupted(t, body, data, dir, 30); !errors.Is(err, context.Canceled) {
		t.Fatalf("stopped after 30 steps: %v", err)
	}
	orphan(t, dir)
	ck, err := OpenCheckpoint(dir)
	if err != nil {
		t.Fatal(err)
	}
	_, got, log := fit(t, load(t, body, map[string]string{"cache.enabled": "false"}), data, Options{Checkpoint: ck})
	if s := got.Report.Stages[0]; !s.Resumed || !s.ClustererCached || *s.Clusterer != *want.Report.Stages[0].Clusterer {
		t.Fatalf("first stage: resumed %v, fit loaded %v, scores %v and %v\n%s", s.Resumed, s.ClustererCached, s.Clusterer, want.Report.Stages[0].Clusterer, log)
	}
	if !slices.Equal(got.Labels, want.Labels) || !slices.Equal(got.Z.Data, want.Z.Data) {
		t.Fatalf("the resumed fit differs from an uninterrupted one\n%s", log)
	}
}

// TestCheckpointRefusals checks what a checkpoint refuses: a fresh run
// over an interrupted one's (unless it saved no progress), a resume while its writer runs, a resume on
// other data or with another config, and a damaged training state, which
// is not used (the stage trains from its start).
func TestCheckpointRefusals(t *testing.T) {
	data := blobs(240, 7)
	dir := filepath.Join(t.TempDir(), "out.checkpoint")
	// Stopped before the first epoch ended: nothing to keep, a new run
	// takes the directory over.
	if err := interrupted(t, twoStages, data, dir, 3); !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
	orphan(t, dir)
	if _, err := NewCheckpoint(dir, nil); err != nil {
		t.Errorf("a fresh checkpoint over one without progress: %v", err)
	}
	if err := interrupted(t, twoStages, data, dir, 12); !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
	if _, err := NewCheckpoint(dir, nil); err == nil || !strings.Contains(err.Error(), "another run") {
		t.Errorf("a fresh checkpoint over a running one: %v", err)
	}
	if _, err := OpenCheckpoint(dir); err == nil || !strings.Contains(err.Error(), "still going") {
		t.Errorf("resuming while the writer runs: %v", err)
	}
	orphan(t, dir)
	if _, err := NewCheckpoint(dir, nil); err == nil || !strings.Contains(err.Error(), "--resume") {
		t.Errorf("a fresh checkpoint over an interrupted run's: %v", err)
	}
	resume := func(body string, d pipeline.Data) (string, error) {
		ck, err := OpenCheckpoint(dir)
		if err != nil {
			t.Fatal(err)
		}
		var log strings.Builder
		m, err := New(context.Background(), load(t, body, map[string]string{"cache.enabled": "false"}), Options{Checkpoint: ck, Log: &log})
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		if err := ck.Check(m); err != nil {
			return log.String(), err
		}
		_, err = m.Fit(context.Background(), d)
		return log.String(), err
	}
	if _, err := resume(strings.Replace(twoStages, "lr: 0.01}", "lr: 0.02}", 1), data); err == nil || !strings.Contains(err.Error(), "another config") {
		t.Errorf("another config: %v", err)
	}
	if _, err := resume(twoStages, blobs(240, 8)); err == nil || !strings.Contains(err.Error(), "input data differ") {
		t.Errorf("other data: %v", err)
	}
	state := filepath.Join(dir, checkpointStateFile)
	b, err := os.ReadFile(state)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)-5] ^= 0x10
	os.WriteFile(state, b, 0o644)
	log, err := resume(twoStages, data)
	if err != nil || !strings.Contains(log, "checksum") || strings.Contains(log, "resuming at") {
		t.Errorf("a damaged state: %v\n%s", err, log)
	}
}
