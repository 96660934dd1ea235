package nn

import (
	"fmt"
	"math"
	"runtime"

	"github.com/deepclust/deepclust/sdk"
)

// OptimizerFields are the config fields of the optimiser, shared by the
// encoders: optimizer, lr, momentum, beta1, beta2, eps, weight_decay.
func OptimizerFields() []sdk.Field {
	return []sdk.Field{
		{Name: "optimizer", Type: sdk.TypeString, Default: "adam", Enum: []string{"adam", "sgd"}, Doc: "adam (Kingma & Ba 2015, bias-corrected) or sgd with momentum (PyTorch form v = μv + g, w -= lr·v)"},
		{Name: "lr", Type: sdk.TypeFloat, Default: 0.001, Doc: "learning rate; a Backward request's LearningRate > 0 overrides it"},
		{Name: "momentum", Type: sdk.TypeFloat, Default: 0.9, Doc: "sgd momentum μ in [0, 1)"},
		{Name: "beta1", Type: sdk.TypeFloat, Default: 0.9, Doc: "adam first-moment decay in [0, 1)"},
		{Name: "beta2", Type: sdk.TypeFloat, Default: 0.999, Doc: "adam second-moment decay in [0, 1)"},
		{Name: "eps", Type: sdk.TypeFloat, Default: 1e-8, Doc: "adam denominator term ε > 0"},
		{Name: "weight_decay", Type: sdk.TypeFloat, Default: 0.0, Doc: "L2 penalty λ ≥ 0 added to every gradient as λ·w (PyTorch semantics, not decoupled AdamW)"},
	}
}

// Hyper holds the validated optimiser settings.
type Hyper struct {
	Adam        bool
	LR          float64
	Momentum    float64
	Beta1       float64
	Beta2       float64
	Eps         float64
	WeightDecay float64
}

// ParseHyper reads the OptimizerFields from a resolved config and checks
// their ranges; errors name the plugin and the key.
func ParseHyper(plugin string, c sdk.Config) (Hyper, error) {
	h := Hyper{
		Adam:        c.String("optimizer") == "adam",
		LR:          c.Float("lr"),
		Momentum:    c.Float("momentum"),
		Beta1:       c.Float("beta1"),
		Beta2:       c.Float("beta2"),
		Eps:         c.Float("eps"),
		WeightDecay: c.Float("weight_decay"),
	}
	checks := []struct {
		ok   bool
		key  string
		want string
		val  float64
	}{
		{h.LR > 0, "lr", "> 0", h.LR},
		{h.Momentum >= 0 && h.Momentum < 1, "momentum", "in [0, 1)", h.Momentum},
		{h.Beta1 >= 0 && h.Beta1 < 1, "beta1", "in [0, 1)", h.Beta1},
		{h.Beta2 >= 0 && h.Beta2 < 1, "beta2", "in [0, 1)", h.Beta2},
		{h.Eps > 0, "eps", "> 0", h.Eps},
		{h.WeightDecay >= 0, "weight_decay", ">= 0", h.WeightDecay},
	}
	for _, ch := range checks {
		if !ch.ok {
			return Hyper{}, fmt.Errorf("encoder %q: config key %q is %v, want %s", plugin, ch.key, ch.val, ch.want)
		}
	}
	return h, nil
}

// Step returns the scalars of optimiser step t (t ≥ 1, counted by the
// caller) with learning rate lr.
func (h Hyper) Step(lr float64, t int) Step {
	if !h.Adam {
		return Step{lr: float32(lr), wd: float32(h.WeightDecay), momentum: float32(h.Momentum)}
	}
	return Step{
		lr: float32(lr), wd: float32(h.WeightDecay),
		beta1: float32(h.Beta1), beta2: float32(h.Beta2), eps: float32(h.Eps),
		stepSize:   float32(lr / (1 - math.Pow(h.Beta1, float64(t)))),
		invSqrtBC2: float32(1 / math.Sqrt(1-math.Pow(h.Beta2, float64(t)))),
	}
}

// Step holds the scalars of one optimiser step over a parameter range.
type Step struct {
	lr, wd       float32
	beta1, beta2 float32
	eps          float32
	stepSize     float32 // Adam: lr / (1 − β1^t)
	invSqrtBC2   float32 // Adam: 1 / sqrt(1 − β2^t)
	momentum     float32
}

// parallelMin is the parameter count above which an optimiser step is split
// across two goroutines; below it the goroutine hand-off costs more than it
// saves.
const parallelMin = 1 << 18

// Optimizer holds the per-parameter state of Adam (M, V) or SGD with
// momentum (M only), laid out like the flat parameter vector it updates.
type Optimizer struct {
	Adam   bool
	M, V   []float32
	helper *helper // nil unless the network is large enough to split steps
}

// NewOptimizer returns zeroed Adam (adam set) or SGD state for params
// parameters.
func NewOptimizer(adam bool, params int) Optimizer {
	o := Optimizer{Adam: adam, M: make([]float32, params)}
	if adam {
		o.V = make([]float32, params)
	}
	if params >= parallelMin && runtime.GOMAXPROCS(0) > 1 {
		o.helper = newHelper()
	}
	return o
}

// Slots returns the per-parameter arrays in save order (adam: M, V; sgd: M).
func (o Optimizer) Slots() [][]float32 {
	if o.Adam {
		return [][]float32{o.M, o.V}
	}
	return [][]float32{o.M}
}

// Reset zeroes the optimiser state.
func (o Optimizer) Reset() {
	clear(o.M)
	clear(o.V)
}

// helper runs half of a large optimiser step on a long-lived goroutine, so
// that a step allocates nothing (a fresh goroutine and closure per step
// would). The goroutine ends once the helper is garbage collected.
type helper struct {
	jobs chan rangeUpdate
	done chan struct{}
}

// rangeUpdate is one optimiser step over params[lo:hi].
type rangeUpdate struct {
	o      Optimizer
	w, g   []float32
	lo, hi int
	p      Step
}

func newHelper() *helper {
	h := &helper{jobs: make(chan rangeUpdate), done: make(chan struct{})}
	go func(jobs <-chan rangeUpdate, done chan<- struct{}) {
		for j := range jobs {
			j.o.updateRange(j.w, j.g, j.lo, j.hi, j.p)
			done <- struct{}{}
		}
	}(h.jobs, h.done)
	runtime.AddCleanup(h, func(jobs chan rangeUpdate) { close(jobs) }, h.jobs)
	return h
}

// Update applies one step to w[lo:hi] from gradients g, splitting large
// ranges in two halves run concurrently (elementwise, so the result does not
// depend on scheduling).
func (o Optimizer) Update(w, g []float32, lo, hi int, p Step) {
	if o.helper == nil || hi-lo < parallelMin {
		o.updateRange(w, g, lo, hi, p)
		return
	}
	mid := lo + (hi-lo)/2
	o.helper.jobs <- rangeUpdate{o: Optimizer{Adam: o.Adam, M: o.M, V: o.V}, w: w, g: g, lo: lo, hi: mid, p: p}
	o.updateRange(w, g, mid, hi, p)
	<-o.helper.done
}

func (o Optimizer) updateRange(w, g []float32, lo, hi int, p Step) {
	if o.Adam {
		adamUpdate(w[lo:hi], g[lo:hi], o.M[lo:hi], o.V[lo:hi], p)
		return
	}
	sgdUpdate(w[lo:hi], g[lo:hi], o.M[lo:hi], p)
}

// adamUpdate is Algorithm 1 of Kingma & Ba (2015) with an L2 term:
// g ← g + λw; m ← β1·m + (1−β1)·g; v ← β2·v + (1−β2)·g²;
// w ← w − lr·m̂/(sqrt(v̂)+ε), m̂ = m/(1−β1^t), v̂ = v/(1−β2^t).
//
// The leading multiple of 16 elements runs in AVX-512 assembly where the CPU
// has it (adam_amd64.s), with the same operations in the same order, so the
// result is bit-identical to this loop's (TestAdamVectorMatchesGo).
func adamUpdate(w, g, m, v []float32, p Step) {
	g, m, v = g[:len(w)], m[:len(w)], v[:len(w)]
	done := adamVector(w, g, m, v, p)
	adamGo(w[done:], g[done:], m[done:], v[done:], p)
}

// adamGo is adamUpdate's scalar loop.
func adamGo(w, g, m, v []float32, p Step) {
	g, m, v = g[:len(w)], m[:len(w)], v[:len(w)]
	b1, b2 := p.beta1, p.beta2
	c1, c2 := 1-b1, 1-b2
	for i, wi := range w {
		gi := g[i] + p.wd*wi
		mi := b1*m[i] + c1*gi
		vi := b2*v[i] + c2*gi*gi
		m[i], v[i] = mi, vi
		w[i] = wi - p.stepSize*mi/(float32(math.Sqrt(float64(vi)))*p.invSqrtBC2+p.eps)
	}
}

// sgdUpdate is SGD with momentum in PyTorch's form:
// g ← g + λw; m ← μ·m + g; w ← w − lr·m.
func sgdUpdate(w, g, m []float32, p Step) {
	g, m = g[:len(w)], m[:len(w)]
	for i, wi := range w {
		mi := p.momentum*m[i] + g[i] + p.wd*wi
		m[i] = mi
		w[i] = wi - p.lr*mi
	}
}
