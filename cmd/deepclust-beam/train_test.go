package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/deepclust/deepclust/encoders/mlp"
	"github.com/deepclust/deepclust/model"
	"github.com/deepclust/deepclust/pipeline"
	"github.com/deepclust/deepclust/sdk"
)

// trainConfig is the config of the train tests: one stage, an MLP
// autoencoder pretrained on reconstruction, then k-means.
const trainConfig = `
seed: 3
progress: off
cache: {enabled: false}
checkpoint: {enabled: false}
data: {features: [x], label: label, scale: none}
encoder: {plugin: mlp, config: {hidden: [16], embedding: 3, lr: 0.01}}
losses: [{plugin: reconstruction, stages: [pretrain]}]
clusterer: {plugin: kmeans, config: {k: 3, n_init: 2}}
train: {pretrain_epochs: 2, epochs: 0, batch_size: 32}
`

// TestTrainAveragesReplicas runs train on Prism with 2 replicas and 2
// epochs and checks the model's first-stage weights, byte for byte,
// against the same model averaging done sequentially with the public
// API (sequentialAveraging): once per epoch with the config's batch size
// (--rounds 1 --replica-batch 32), and with the defaults on 2 replicas
// (batch_size / 2 = 16) and --rounds 2. Then that the model loads and
// predicts, and metrics.json.
func TestTrainAveragesReplicas(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	lake := filepath.Join(dir, "lake")
	spec := lakeSpec{files: 2, groups: 3, groupRows: 50, dim: 6, seed: 21}
	rows := writeLake(t, lake, spec)
	cfgFile := filepath.Join(dir, "c.yaml")
	if err := os.WriteFile(cfgFile, []byte(trainConfig), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		flags         []string
		rounds, batch int
	}{
		{[]string{"--rounds", "1", "--replica-batch", "32"}, 1, 32},
		{[]string{"--rounds", "2"}, 2, 16},
	} {
		out := filepath.Join(dir, fmt.Sprintf("out-r%d", c.rounds))
		var stdout, stderr bytes.Buffer
		args := append([]string{"train", "--config", cfgFile, "--data", lake, "--out", out, "--workers", "2", "--runner", "prism"}, c.flags...)
		if err := run(ctx, args, &stdout, &stderr); err != nil {
			t.Fatal(err)
		}
		// trainConfig has progress: off.
		if stderr.Len() > 0 {
			t.Errorf("progress: off, yet stderr has %q", stderr.String())
		}
		if want := fmt.Sprintf("2 epochs on 2 workers (%d rounds per epoch, batches of %d)", c.rounds, c.batch); !strings.Contains(stdout.String(), want) {
			t.Errorf("summary %q, want %q", stdout.String(), want)
		}
		state, losses := sequentialAveraging(t, rows, spec, c.rounds, c.batch)
		got, err := os.ReadFile(filepath.Join(out, "model", "stage1", model.EncoderFile))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, state) {
			t.Fatalf("%v: the trained first stage differs from the sequential model averaging", c.flags)
		}
		if _, err := os.Stat(filepath.Join(out, "epochs")); !os.IsNotExist(err) {
			t.Errorf("%v: the epochs' weights were left in --out (%v)", c.flags, err)
		}
		var met TrainMetrics
		readJSON(t, filepath.Join(out, MetricsFile), &met)
		if met.Report.Scores == nil {
			t.Fatalf("%v: metrics without the clusters' scores", c.flags)
		}
		if want := fmt.Sprintf(", clusters ACC %.4f NMI %.4f", met.Report.Scores.ACC, met.Report.Scores.NMI); !strings.Contains(stdout.String(), want) {
			t.Errorf("summary %q lacks the clusters' scores %q", stdout.String(), want)
		}
		if met.Epochs != 2 || met.Rounds != c.rounds || met.ReplicaBatch != c.batch || !slices.Equal(met.WorkerRows, []int64{150, 150}) ||
			len(met.Losses) != 2 || len(met.Report.Stages) != 1 {
			t.Fatalf("%v: metrics %+v", c.flags, met)
		}
		for e, l := range losses {
			if d := met.Losses[e] - l; d > 1e-12 || d < -1e-12 {
				t.Fatalf("%v: epoch losses %v, sequential %v", c.flags, met.Losses, losses)
			}
		}
		back, err := model.Load(ctx, out, model.Options{})
		if err != nil {
			t.Fatal(err)
		}
		_, err = back.Predict(ctx, sdk.Tensor{Shape: []int{2, spec.dim}, Data: append(slices.Clone(rows[0].x), rows[1].x...)})
		back.Close()
		if err != nil {
			t.Fatal(err)
		}
	}

	// With progress on: a line per epoch, then the driver's stage lines,
	// on stderr.
	lines := filepath.Join(dir, "lines.yaml")
	if err := os.WriteFile(lines, []byte(strings.Replace(trainConfig, "progress: off", "progress: lines", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	if err := run(ctx, []string{"train", "--config", lines, "--data", lake, "--out", filepath.Join(dir, "out-lines"), "--workers", "2"}, io.Discard, &stderr); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"train: epoch 1/2: loss ", "train: epoch 2/2: loss ", "stage 1/1 "} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("progress lines %q lack %q", stderr.String(), want)
		}
	}

	// Refusals, before any job: a scaling the replicas cannot share.
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte(strings.Replace(trainConfig, "scale: none", "scale: standard", 1)), 0o644)
	err := run(ctx, []string{"train", "--config", bad, "--data", lake, "--out", filepath.Join(dir, "o2")}, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "data.scale") {
		t.Errorf("standard scaling: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "o2")); !os.IsNotExist(err) {
		t.Error("a refused train created --out")
	}
}

// sequentialAveraging is train's model averaging of trainConfig's 2
// epochs on 2 replicas, computed in one process with the public API:
// replica w has the rows of shards w, w+2, ... (row groups dealt round
// robin, in input order). Each epoch, each replica's rows are split into
// rounds parts by a permutation (math/rand/v2's PCG seeded by the epoch and
// replica); round r trains part r (its rows in input order) by
// model.PretrainStage from the last average, with batches of batch rows,
// as pretraining epoch e·rounds + r of e·rounds (so that the optimiser's
// schedule runs over the rounds), its batches seeded by that index and
// the replica; then the replicas' states are averaged, weighted by rows in
// float64 (parameters and Adam's moments; the largest step counts), and
// written back by mlp.WriteWeights. It returns the final state and each
// epoch's loss (the replicas' and rounds' losses weighted by rows).
func sequentialAveraging(t *testing.T, rows []lakeRow, spec lakeSpec, rounds, batch int) ([]byte, []float64) {
	t.Helper()
	ctx := context.Background()
	const epochs, workers, seed = 2, 2, 3
	text := strings.NewReplacer("batch_size: 32", fmt.Sprintf("batch_size: %d", batch),
		"pretrain_epochs: 2", fmt.Sprintf("pretrain_epochs: %d", epochs*rounds)).Replace(trainConfig)
	m, _ := modelFromYAML(t, text)
	state, _, err := m.PretrainStage(ctx, 0, pipeline.Data{X: sdk.NewTensor(1, spec.dim)}, nil, 0, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	parts := make([][][]float32, workers)
	for r, row := range rows {
		w := (r / spec.groupRows) % workers
		parts[w] = append(parts[w], row.x)
	}
	mix := func(a, b uint64) uint64 { return splitMix(seed ^ splitMix(a<<32|b)) }
	var losses []float64
	for e := range epochs {
		var sum, seen float64
		for r := range rounds {
			var states [][]byte
			var n []float64
			for w, all := range parts {
				keep := make([]int, len(all))
				for i := range keep {
					keep[i] = i
				}
				if rounds > 1 {
					perm := rand.New(rand.NewPCG(mix(uint64(e), uint64(w))^0x726f756e6473, 0)).Perm(len(all))
					keep = perm[r*len(all)/rounds : (r+1)*len(all)/rounds]
					slices.Sort(keep)
				}
				var x []float32
				for _, i := range keep {
					x = append(x, all[i]...)
				}
				k := e*rounds + r
				s, hist, err := m.PretrainStage(ctx, 0, pipeline.Data{X: sdk.Tensor{Shape: []int{len(keep), spec.dim}, Data: x}}, state, k, k+1, mix(uint64(k), uint64(w)))
				if err != nil {
					t.Fatal(err)
				}
				states = append(states, s)
				n = append(n, float64(len(keep)))
				sum += hist[0] * float64(len(keep))
				seen += float64(len(keep))
			}
			var ws []mlp.Weights
			for _, s := range states {
				w, err := mlp.ReadWeights(s)
				if err != nil {
					t.Fatal(err)
				}
				ws = append(ws, w)
			}
			avg := mlp.Weights{Adam: true, Steps: [2]uint64{max(ws[0].Steps[0], ws[1].Steps[0]), max(ws[0].Steps[1], ws[1].Steps[1])}}
			mean := func(get func(mlp.Weights) []float32) []float32 {
				out := make([]float32, len(get(ws[0])))
				for i := range out {
					var s float64
					for w := range ws {
						s += n[w] * float64(get(ws[w])[i])
					}
					out[i] = float32(s / (n[0] + n[1]))
				}
				return out
			}
			avg.Params = mean(func(w mlp.Weights) []float32 { return w.Params })
			for k := range ws[0].Slots {
				avg.Slots = append(avg.Slots, mean(func(w mlp.Weights) []float32 { return w.Slots[k] }))
			}
			if state, err = mlp.WriteWeights(states[0], avg); err != nil {
				t.Fatal(err)
			}
		}
		losses = append(losses, sum/seen)
	}
	return state, losses
}

// TestReplicasCoder round-trips the averaging's accumulator (empty, of
// one replica, and of several) through its binary coder and rejects
// damaged encodings and workers out of order.
func TestReplicasCoder(t *testing.T) {
	for _, a := range []Replicas{
		{},
		{States: []WorkerState{{Worker: 3, Rows: 7, Loss: 0.5, State: []byte("state")}}},
		{States: []WorkerState{{Worker: 0, Rows: 9, Loss: -1.5, State: []byte("st")}, {Worker: 2, Rows: 4, Loss: math.NaN()}, {Worker: 5, Rows: 1, State: []byte("x")}}},
	} {
		enc, err := encodeReplicas(a)
		if err != nil {
			t.Fatal(err)
		}
		got, err := decodeReplicas(enc)
		if err != nil {
			t.Fatal(err)
		}
		if len(got.States) != len(a.States) {
			t.Fatalf("decoded %+v, want %+v", got, a)
		}
		for i, s := range a.States {
			g := got.States[i]
			if g.Worker != s.Worker || g.Rows != s.Rows || math.Float64bits(g.Loss) != math.Float64bits(s.Loss) || !bytes.Equal(g.State, s.State) {
				t.Fatalf("replica %d: decoded %+v, want %+v", i, g, s)
			}
		}
		for _, bad := range [][]byte{enc[:4], enc[:len(enc)-1], append(slices.Clone(enc), 0)} {
			if _, err := decodeReplicas(bad); err == nil {
				t.Errorf("a damaged accumulator of %d bytes decoded", len(bad))
			}
		}
	}
	enc, err := encodeReplicas(Replicas{States: []WorkerState{{Worker: 2}, {Worker: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := decodeReplicas(enc); err == nil {
		t.Error("workers out of order decoded")
	}
}

// TestTrainReplicaConfig checks that --lr-scale s and --replica-batch b
// train the replicas exactly as a config with s times the lr does with
// the default replica batch (batch_size / --workers = b): the same
// averaged weights and Adam moments; that the driver's saved config keeps
// the configured rate and batch size; and that bad values are refused
// before anything is written.
func TestTrainReplicaConfig(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	lake := filepath.Join(dir, "lake")
	writeLake(t, lake, lakeSpec{files: 2, groups: 2, groupRows: 40, dim: 6, seed: 5})
	weights := func(name, lr, batch string, flags ...string) mlp.Weights {
		t.Helper()
		cfgFile := filepath.Join(dir, name+".yaml")
		text := strings.NewReplacer("lr: 0.01", "lr: "+lr, "batch_size: 32", "batch_size: "+batch, "pretrain_epochs: 2", "pretrain_epochs: 1").Replace(trainConfig)
		if err := os.WriteFile(cfgFile, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		out := filepath.Join(dir, name)
		args := append([]string{"train", "--config", cfgFile, "--data", lake, "--out", out, "--workers", "2", "--runner", "prism"}, flags...)
		if err := run(ctx, args, io.Discard, io.Discard); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(out, "model", "stage1", model.EncoderFile))
		if err != nil {
			t.Fatal(err)
		}
		w, err := mlp.ReadWeights(b)
		if err != nil {
			t.Fatal(err)
		}
		saved, err := os.ReadFile(filepath.Join(out, "model", "config.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(saved), "lr: "+lr+"\n") || !strings.Contains(string(saved), "batch_size: "+batch+"\n") {
			t.Errorf("%s: the saved config does not keep lr %s and batch_size %s:\n%s", name, lr, batch, saved)
		}
		return w
	}
	scaled := weights("scaled", "0.01", "32", "--lr-scale", "2.5", "--replica-batch", "16")
	direct := weights("direct", "0.025", "32")
	if !slices.Equal(scaled.Params, direct.Params) || len(scaled.Slots) != len(direct.Slots) || scaled.Steps != direct.Steps {
		t.Fatal("--lr-scale 2.5 --replica-batch 16 with lr 0.01 trained other weights than lr 0.025 with the default replica batch (32 / 2)")
	}
	for k := range scaled.Slots {
		if !slices.Equal(scaled.Slots[k], direct.Slots[k]) {
			t.Fatalf("optimiser slot %d differs", k)
		}
	}
	for _, bad := range [][]string{{"--lr-scale", "-1"}, {"--replica-batch", "-2"}, {"--rounds", "-1"}} {
		out := filepath.Join(dir, "neg")
		err := run(ctx, append([]string{"train", "--config", filepath.Join(dir, "direct.yaml"), "--data", lake, "--out", out}, bad...), io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), bad[0]) {
			t.Errorf("%s %s: %v", bad[0], bad[1], err)
		}
		if _, err := os.Stat(out); !os.IsNotExist(err) {
			t.Errorf("%s %s: a refused train created --out", bad[0], bad[1])
		}
	}
}
