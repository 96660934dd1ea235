package model

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestPretrainStageAndSetPretrained checks the two halves of training
// outside Fit: PretrainStage over all of a stage's pretraining epochs
// leaves the encoder byte for byte as Fit does (the same seeds, batches
// and learning rates), and a Fit whose first stage gets those weights by
// SetPretrained skips its pretraining and ends as the plain Fit (the same
// stage-1 state and labels).
func TestPretrainStageAndSetPretrained(t *testing.T) {
	ctx := context.Background()
	data := blobs(200, 3)
	set := map[string]string{"cache.enabled": "false", "data.scale": "none"}
	m, res, _ := fit(t, load(t, twoStages, set), data, Options{})
	dir := filepath.Join(t.TempDir(), "model")
	if err := m.Save(ctx, dir); err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(filepath.Join(dir, "stage1", EncoderFile))
	if err != nil {
		t.Fatal(err)
	}

	w, err := New(ctx, load(t, twoStages, set), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	start, hist, err := w.PretrainStage(ctx, 0, data, nil, 0, 0, 4)
	if err != nil || hist != nil || bytes.Equal(start, want) {
		t.Fatalf("no epochs: history %v, error %v (or the initial state equals the trained one)", hist, err)
	}
	got, hist, err := w.PretrainStage(ctx, 0, data, nil, 0, 3, 4)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) || len(hist) != 3 || !(hist[2] < hist[0]) {
		t.Fatalf("PretrainStage differs from Fit's pretraining (history %v)", hist)
	}
	if _, _, err := w.PretrainStage(ctx, 0, data, start, 2, 4, 4); err == nil {
		t.Error("epochs beyond the schedule's pretrain_epochs ran")
	}

	var log bytes.Buffer
	m2, err := New(ctx, load(t, twoStages, set), Options{Log: &log})
	if err != nil {
		t.Fatal(err)
	}
	defer m2.Close()
	if err := m2.SetPretrained(2, got); err == nil {
		t.Error("SetPretrained of a third stage in a two-stage model succeeded")
	}
	if err := m2.SetPretrained(0, got); err != nil {
		t.Fatal(err)
	}
	res2, err := m2.Fit(ctx, data)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(log.String(), "encoder weights given (pretraining skipped)") || res2.Report.Stages[0].PretrainHistory != nil {
		t.Fatalf("stage 1 was pretrained again:\n%s", log.String())
	}
	if !slices.Equal(res2.Labels, res.Labels) || !slices.Equal(res2.Z.Data, res.Z.Data) {
		t.Fatal("a Fit from the given weights ends elsewhere than the plain Fit")
	}
	if _, _, err := m2.PretrainStage(ctx, 0, data, nil, 0, 1, 4); err == nil {
		t.Error("PretrainStage after Fit succeeded")
	}
}
