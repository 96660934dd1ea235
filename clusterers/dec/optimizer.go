package dec

import "math"

// Optimisers for the centroids.
const (
	OptimizerAdam = "adam"
	OptimizerSGD  = "sgd"
)

// Adam's moment decays and denominator term: the defaults of Kingma & Ba
// (2015), which are also Keras 2.0's Adam defaults used by IDEC's code.
const (
	adamBeta1 = 0.9
	adamBeta2 = 0.999
	adamEps   = 1e-8
)

// optimizer updates the centroids from their gradient: Adam or SGD with
// momentum, in float64.
type optimizer struct {
	adam         bool
	lr, momentum float64
	m, v         []float64 // first moment / momentum buffer; Adam's second moment
	steps        uint64    // Adam's t
}

func newOptimizer(kind string, lr, momentum float64, params int) optimizer {
	return optimizer{adam: kind == OptimizerAdam, lr: lr, momentum: momentum,
		m: make([]float64, params), v: make([]float64, params)}
}

// step applies one update to w from the gradient g. Adam (Kingma & Ba 2015,
// Algorithm 1): m ← β1 m + (1−β1) g, v ← β2 v + (1−β2) g²,
// w ← w − lr·m̂/(√v̂ + ε) with m̂ = m/(1−β1^t), v̂ = v/(1−β2^t).
// SGD (PyTorch's form): m ← momentum·m + g, w ← w − lr·m.
func (o *optimizer) step(w, g []float64) {
	if !o.adam {
		for i, gi := range g {
			o.m[i] = o.momentum*o.m[i] + gi
			w[i] -= o.lr * o.m[i]
		}
		return
	}
	o.steps++
	t := float64(o.steps)
	c1 := 1 - math.Pow(adamBeta1, t)
	c2 := 1 - math.Pow(adamBeta2, t)
	for i, gi := range g {
		o.m[i] = adamBeta1*o.m[i] + (1-adamBeta1)*gi
		o.v[i] = adamBeta2*o.v[i] + (1-adamBeta2)*gi*gi
		w[i] -= o.lr * (o.m[i] / c1) / (math.Sqrt(o.v[i]/c2) + adamEps)
	}
}
