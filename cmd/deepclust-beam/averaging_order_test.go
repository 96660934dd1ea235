package main

import (
	"bytes"
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/deepclust/deepclust/encoders/mlp"
	"github.com/deepclust/deepclust/pipeline"
	"github.com/deepclust/deepclust/sdk"
)

// TestAverageOrderIndependent feeds the same four replica states to
// averageFn in different orders and merge trees (inputs added in worker
// order and reversed, (3+1)+(0+2), and random trees, every partial
// accumulator passed through the coder) and requires byte-identical
// states, losses and rows, equal to the reference: per value the float64
// sum from 0 of rows × value in worker order 0, 1, 2, 3, divided by the
// rows and rounded to float32 (sequentialAveraging's mean), and the loss
// likewise. The values cancel (±1e20 next to values of order 1), so
// that any other order of the float64 additions changes the float32
// result.
func TestAverageOrderIndependent(t *testing.T) {
	ctx := context.Background()
	m, _ := modelFromYAML(t, trainConfig)
	base, _, err := m.PretrainStage(ctx, 0, pipeline.Data{X: sdk.NewTensor(1, 6)}, nil, 0, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	w0, err := mlp.ReadWeights(base)
	if err != nil {
		t.Fatal(err)
	}
	// Replica w's value of parameter i: big cancelling terms on
	// replicas 0 and 2 (which ones are + and - varies with i), values of
	// order 1 on 1 and 3.
	rng := rand.New(rand.NewPCG(7, 8))
	rows := []int64{3, 5, 3, 7}
	losses := []float64{1e20, 0.25 + rng.Float64(), -1e20, 0.5 + rng.Float64()}
	value := func(w, i int) float32 {
		sign := float32(1 - 2*(i%2))
		switch w {
		case 0:
			return sign * 1e20
		case 2:
			return -sign * 1e20
		}
		return float32(rng.Float64()*2 - 1)
	}
	var states []WorkerState
	for w := range rows {
		ws := mlp.Weights{Params: make([]float32, len(w0.Params)), Steps: [2]uint64{uint64(10 + w), uint64(20 - w)}, Adam: w0.Adam}
		for i := range ws.Params {
			ws.Params[i] = value(w, i)
		}
		for range w0.Slots {
			sl := make([]float32, len(w0.Params))
			for i := range sl {
				sl[i] = value(w, i+1)
			}
			ws.Slots = append(ws.Slots, sl)
		}
		s, err := mlp.WriteWeights(base, ws)
		if err != nil {
			t.Fatal(err)
		}
		states = append(states, WorkerState{Worker: w, Rows: rows[w], Loss: losses[w], State: s})
	}

	// The reference, in worker order.
	var n float64
	for _, r := range rows {
		n += float64(r)
	}
	var ws []mlp.Weights
	for _, s := range states {
		w, err := mlp.ReadWeights(s.State)
		if err != nil {
			t.Fatal(err)
		}
		ws = append(ws, w)
	}
	mean := func(get func(mlp.Weights) []float32) []float32 {
		out := make([]float32, len(get(ws[0])))
		for i := range out {
			var s float64
			for w := range ws {
				s += float64(rows[w]) * float64(get(ws[w])[i])
			}
			out[i] = float32(s / n)
		}
		return out
	}
	ref := mlp.Weights{Adam: w0.Adam, Steps: [2]uint64{13, 20}, Params: mean(func(w mlp.Weights) []float32 { return w.Params })}
	for k := range w0.Slots {
		ref.Slots = append(ref.Slots, mean(func(w mlp.Weights) []float32 { return w.Slots[k] }))
	}
	want, err := mlp.WriteWeights(base, ref)
	if err != nil {
		t.Fatal(err)
	}
	var lossSum float64
	for w, l := range losses {
		lossSum += float64(rows[w]) * l
	}
	wantLoss := lossSum / n

	f := averageFn{}
	coded := func(a Replicas) Replicas {
		t.Helper()
		b, err := encodeReplicas(a)
		if err != nil {
			t.Fatal(err)
		}
		if a, err = decodeReplicas(b); err != nil {
			t.Fatal(err)
		}
		return a
	}
	add := func(workers ...int) Replicas {
		t.Helper()
		a := f.CreateAccumulator()
		for _, w := range workers {
			var err error
			if a, err = f.AddInput(a, states[w]); err != nil {
				t.Fatal(err)
			}
		}
		return coded(a)
	}
	merge := func(as ...Replicas) Replicas {
		t.Helper()
		out := as[0]
		for _, a := range as[1:] {
			var err error
			if out, err = f.MergeAccumulators(out, a); err != nil {
				t.Fatal(err)
			}
		}
		return coded(out)
	}
	// random merges the workers' accumulators in a random binary tree.
	random := func(seed uint64) Replicas {
		r := rand.New(rand.NewPCG(seed, 1))
		var parts []Replicas
		for _, w := range r.Perm(len(states)) {
			parts = append(parts, add(w))
		}
		for len(parts) > 1 {
			i := r.IntN(len(parts) - 1)
			parts = slices.Replace(parts, i, i+2, merge(parts[i], parts[i+1]))
		}
		return parts[0]
	}
	trees := map[string]Replicas{
		"0,1,2,3":       add(0, 1, 2, 3),
		"3,2,1,0":       add(3, 2, 1, 0),
		"(3+1)+(0+2)":   merge(merge(add(3), add(1)), merge(add(0), add(2))),
		"((0+2)+1)+3":   merge(add(0, 2), add(1), add(3)),
		"2+(0+(3,1))":   merge(add(2), merge(add(0), add(3, 1))),
		"empty+(1,0)+…": merge(f.CreateAccumulator(), add(1, 0), f.CreateAccumulator(), add(2, 3)),
	}
	for s := range uint64(8) {
		trees["random"+string(rune('0'+s))] = random(s)
	}
	for name, a := range trees {
		got, err := f.ExtractOutput(a)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !bytes.Equal(got.State, want) {
			t.Errorf("%s: the average differs from the reference in worker order", name)
		}
		if len(got.Losses) != 1 || math.Float64bits(got.Losses[0]) != math.Float64bits(wantLoss) {
			t.Errorf("%s: loss %v, want %v (bit for bit)", name, got.Losses, wantLoss)
		}
		if !slices.Equal(got.Rows, rows) {
			t.Errorf("%s: rows %v, want %v", name, got.Rows, rows)
		}
	}

	// A replica twice, or states of different networks, are refused.
	if _, err := f.MergeAccumulators(add(0, 1), add(1)); err == nil {
		t.Error("a replica counted twice was accepted")
	}
	other, err := f.AddInput(add(0), WorkerState{Worker: 1, Rows: 2, State: []byte("not a state")})
	if err == nil {
		t.Errorf("a damaged state was accepted: %+v", other)
	}
}
