package mlp

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/deepclust/deepclust/sdk"
)

// TestWeightsRoundTrip decodes a trained encoder's state with ReadWeights
// and checks it against the encoder's own parameters, optimiser slots and
// step counts; writes changed weights back with WriteWeights and checks
// that an encoder loading them holds exactly those; and that damaged
// states and mismatched weights are refused.
func TestWeightsRoundTrip(t *testing.T) {
	for _, opt := range []string{"adam", "sgd"} {
		cfg := sdk.Config{"hidden": []int{8, 6}, "embedding": 3, "noise": 0.05, "optimizer": opt}
		x := randTensor(rand.New(rand.NewPCG(1, 2)), 0, 1, 10, 6)
		a := newTestEncoder(t, cfg, []int{6}, 1)
		trainSteps(t, a, x, 3)
		state, err := a.Save(ctx)
		if err != nil {
			t.Fatal(err)
		}
		w, err := ReadWeights(state)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(w.Params, a.params) || len(w.Slots) != len(a.opt.Slots()) || w.Steps != [2]uint64{3, 3} || w.Adam != (opt == "adam") {
			t.Fatalf("%s: decoded weights differ from the encoder's (steps %v)", opt, w.Steps)
		}
		for i, s := range a.opt.Slots() {
			if !slices.Equal(w.Slots[i], s) {
				t.Fatalf("%s: optimiser slot %d differs", opt, i)
			}
		}
		same, err := WriteWeights(state, w)
		if err != nil || !slices.Equal(same, state) {
			t.Fatalf("%s: writing a state's own weights back changed it (%v)", opt, err)
		}
		for i := range w.Params {
			w.Params[i] = w.Params[i]*0.5 + 0.25
		}
		w.Slots[0][0], w.Steps = 7, [2]uint64{11, 12}
		changed, err := WriteWeights(state, w)
		if err != nil {
			t.Fatal(err)
		}
		b := newTestEncoder(t, cfg, []int{6}, 9)
		if err := b.Load(ctx, changed); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(b.params, w.Params) || b.opt.Slots()[0][0] != 7 || b.steps != [2]int{11, 12} {
			t.Fatalf("%s: the loaded encoder does not hold the written weights", opt)
		}
		for name, bad := range map[string][]byte{"truncated": state[:len(state)-2], "long": append(slices.Clone(state), 0), "magic": []byte("DCMLPENX")} {
			if _, err := ReadWeights(bad); err == nil {
				t.Errorf("%s: a %s state decoded", opt, name)
			}
		}
		short := w
		short.Params = w.Params[:3]
		if _, err := WriteWeights(state, short); err == nil {
			t.Errorf("%s: weights of the wrong size written", opt)
		}
	}
}
