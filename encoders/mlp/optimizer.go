package mlp

import (
	"math"
	"runtime"
)

// parallelMin is the parameter count above which an optimiser step is split
// across two goroutines; below it the goroutine hand-off costs more than it
// saves.
const parallelMin = 1 << 18

// optimizer holds the per-parameter state of Adam (m, v) or SGD with
// momentum (m only), laid out like the flat parameter vector.
type optimizer struct {
	adam   bool
	m, v   []float32
	helper *helper // nil unless the network is large enough to split steps
}

func newOptimizer(kind string, params int) optimizer {
	o := optimizer{adam: kind == "adam", m: make([]float32, params)}
	if o.adam {
		o.v = make([]float32, params)
	}
	if params >= parallelMin && runtime.GOMAXPROCS(0) > 1 {
		o.helper = newHelper()
	}
	return o
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
	o      optimizer
	w, g   []float32
	lo, hi int
	p      stepParams
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

// reset zeroes the optimiser state.
func (o optimizer) reset() {
	clear(o.m)
	clear(o.v)
}

// stepParams holds the scalars of one optimiser step over a parameter range.
type stepParams struct {
	lr, wd       float32
	beta1, beta2 float32
	eps          float32
	stepSize     float32 // Adam: lr / (1 − β1^t)
	invSqrtBC2   float32 // Adam: 1 / sqrt(1 − β2^t)
	momentum     float32
}

// adamStep computes the scalars of Adam step t (t ≥ 1).
func adamStep(s settings, lr float64, t int) stepParams {
	return stepParams{
		lr: float32(lr), wd: float32(s.weightDecay),
		beta1: float32(s.beta1), beta2: float32(s.beta2), eps: float32(s.eps),
		stepSize:   float32(lr / (1 - math.Pow(s.beta1, float64(t)))),
		invSqrtBC2: float32(1 / math.Sqrt(1-math.Pow(s.beta2, float64(t)))),
	}
}

// sgdStep computes the scalars of an SGD+momentum step.
func sgdStep(s settings, lr float64) stepParams {
	return stepParams{lr: float32(lr), wd: float32(s.weightDecay), momentum: float32(s.momentum)}
}

// update applies one step to w[lo:hi] from gradients g, splitting large
// ranges in two halves run concurrently (elementwise, so the result does not
// depend on scheduling).
func (o optimizer) update(w, g []float32, lo, hi int, p stepParams) {
	if o.helper == nil || hi-lo < parallelMin {
		o.updateRange(w, g, lo, hi, p)
		return
	}
	mid := lo + (hi-lo)/2
	o.helper.jobs <- rangeUpdate{o: optimizer{adam: o.adam, m: o.m, v: o.v}, w: w, g: g, lo: lo, hi: mid, p: p}
	o.updateRange(w, g, mid, hi, p)
	<-o.helper.done
}

func (o optimizer) updateRange(w, g []float32, lo, hi int, p stepParams) {
	if o.adam {
		adamUpdate(w[lo:hi], g[lo:hi], o.m[lo:hi], o.v[lo:hi], p)
		return
	}
	sgdUpdate(w[lo:hi], g[lo:hi], o.m[lo:hi], p)
}

// adamUpdate is Algorithm 1 of Kingma & Ba (2015) with an L2 term:
// g ← g + λw; m ← β1·m + (1−β1)·g; v ← β2·v + (1−β2)·g²;
// w ← w − lr·m̂/(sqrt(v̂)+ε), m̂ = m/(1−β1^t), v̂ = v/(1−β2^t).
func adamUpdate(w, g, m, v []float32, p stepParams) {
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
func sgdUpdate(w, g, m []float32, p stepParams) {
	g, m = g[:len(w)], m[:len(w)]
	for i, wi := range w {
		mi := p.momentum*m[i] + g[i] + p.wd*wi
		m[i] = mi
		w[i] = wi - p.lr*mi
	}
}
