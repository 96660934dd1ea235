package conformance

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"

	"github.com/deepclust/deepclust/sdk"
)

// Encoder runs the encoder checks on instances that newEnc makes (three:
// one under test, one for Save/Load, one for determinism): a well-formed
// Describe whose config resolves; Configure and EmbeddingDim > 0; Forward
// shapes and finiteness (z is Batch × EmbeddingDim, x̂ absent or shaped like
// x); Backward accepting gradients of those shapes; Backward descending (a
// step on the gradient of L = Σ G⊙z + Σ H⊙x̂ lowers L on the same batch, or
// at least changes the output, unless NoParameters); Save/Load giving an
// identical Forward; two instances with one seed giving identical output.
func Encoder(ctx context.Context, newEnc func() (sdk.Encoder, error), o Options) []Result {
	shape := o.InputShape
	if len(shape) == 0 {
		shape = []int{6}
	}
	rng := rand.New(rand.NewPCG(o.Seed, 0x5d7))
	x := randomTensor(rng, append([]int{or(o.Batch, 8)}, shape...)...)
	var r runner
	var cfg sdk.Config
	configured := func() (sdk.Encoder, int, error) {
		e, err := newEnc()
		if err != nil {
			return nil, 0, err
		}
		if err := e.Configure(ctx, sdk.Setup{Config: cfg, InputShape: shape, Seed: o.Seed}); err != nil {
			return nil, 0, fmt.Errorf("Configure: %w", err)
		}
		dim, err := e.EmbeddingDim(ctx)
		if err == nil && dim <= 0 {
			err = fmt.Errorf("embedding dim %d", dim)
		}
		if err != nil {
			return nil, 0, fmt.Errorf("EmbeddingDim: %w", err)
		}
		return e, dim, nil
	}
	var (
		e     sdk.Encoder
		dim   int
		first sdk.Forward
		grad  sdk.BackwardRequest
	)
	r.check("describe", true, func() error {
		p, err := newEnc()
		if err != nil {
			return err
		}
		cfg, err = describe(p, sdk.KindEncoder, o.Config)
		return err
	})
	r.check("configure", true, func() (err error) {
		e, dim, err = configured()
		return err
	})
	r.check("forward shapes", true, func() (err error) {
		if first, err = e.Forward(ctx, x, true); err != nil {
			return fmt.Errorf("Forward: %w", err)
		}
		// An in-process plugin may reuse its output buffers.
		first = sdk.Forward{Z: first.Z.Clone(), XHat: first.XHat.Clone()}
		if err := tensorShaped("z", first.Z, x.Rows(), dim); err != nil {
			return err
		}
		if !first.XHat.Empty() {
			return tensorShaped("x_hat", first.XHat, x.Shape...)
		}
		return nil
	})
	r.check("backward accepts gradients", true, func() error {
		grad = sdk.BackwardRequest{GradZ: randomTensor(rng, x.Rows(), dim)}
		if !first.XHat.Empty() {
			grad.GradXHat = randomTensor(rng, x.Shape...)
		}
		if err := e.Backward(ctx, grad); err != nil {
			return fmt.Errorf("Backward: %w", err)
		}
		return nil
	})
	r.check("backward descends", false, func() error {
		// A fresh instance, so that the step is its first one.
		fresh, _, err := configured()
		if err != nil {
			return err
		}
		before, err := fresh.Forward(ctx, x, true)
		if err != nil {
			return fmt.Errorf("Forward: %w", err)
		}
		before = sdk.Forward{Z: before.Z.Clone(), XHat: before.XHat.Clone()}
		l0 := dot(grad.GradZ, before.Z) + dot(grad.GradXHat, before.XHat)
		step := grad
		step.LearningRate = 1e-4
		if err := fresh.Backward(ctx, step); err != nil {
			return fmt.Errorf("Backward: %w", err)
		}
		after, err := fresh.Forward(ctx, x, true)
		if err != nil {
			return fmt.Errorf("Forward after Backward: %w", err)
		}
		l1 := dot(grad.GradZ, after.Z) + dot(grad.GradXHat, after.XHat)
		unchanged := sameTensor("z", after.Z, before.Z) == nil && sameTensor("x_hat", after.XHat, before.XHat) == nil
		switch {
		case o.NoParameters && unchanged:
			return nil
		case o.NoParameters:
			return errors.New("an encoder declared without parameters changed its output in Backward")
		case unchanged:
			return errors.New("Backward changed nothing: Forward gives the same output after a step on non-zero gradients")
		case l1 >= l0:
			return fmt.Errorf("Backward ascends: a step on ∂L/∂z, ∂L/∂x̂ of L = Σ G⊙z + Σ H⊙x̂ took L from %.6g to %.6g", l0, l1)
		}
		return nil
	})
	var after sdk.Forward
	r.check("save and load", false, func() (err error) {
		if after, err = e.Forward(ctx, x, false); err != nil {
			return fmt.Errorf("Forward: %w", err)
		}
		after = sdk.Forward{Z: after.Z.Clone(), XHat: after.XHat.Clone()}
		state, err := e.Save(ctx)
		if err != nil {
			return fmt.Errorf("Save: %w", err)
		}
		loaded, _, err := configured()
		if err != nil {
			return err
		}
		if err := loaded.Load(ctx, state); err != nil {
			return fmt.Errorf("Load: %w", err)
		}
		restored, err := loaded.Forward(ctx, x, false)
		if err != nil {
			return fmt.Errorf("Forward after Load: %w", err)
		}
		if err := sameTensor("z after Save/Load", restored.Z, after.Z); err != nil {
			return err
		}
		return sameTensor("x_hat after Save/Load", restored.XHat, after.XHat)
	})
	r.check("deterministic for a seed", false, func() error {
		twin, _, err := configured()
		if err != nil {
			return err
		}
		again, err := twin.Forward(ctx, x, true)
		if err != nil {
			return fmt.Errorf("Forward: %w", err)
		}
		return sameTensor("z of two instances with one seed", again.Z, first.Z)
	})
	return r.results
}

func dot(a, b sdk.Tensor) float64 {
	if a.Empty() || b.Empty() {
		return 0
	}
	var s float64
	for i := range a.Data {
		s += float64(a.Data[i]) * float64(b.Data[i])
	}
	return s
}

// Clusterer runs the clusterer checks on instances newClu makes: a
// well-formed Describe; Configure; Fit labelling every row in range (soft
// assignments, when given, Rows × k; param selections, when given,
// consistent: sdk.CheckParamSelections); Loss with a finite value, ∂L_c/∂z
// shaped like z, centroids k × EmbeddingDim; ∂L_c/∂z matching central
// finite differences of Loss; Step accepting centroid gradients; Update and
// Assign labelling every row; Save/Load giving identical assignments; two
// instances with one seed fitting identically.
func Clusterer(ctx context.Context, newClu func() (sdk.Clusterer, error), o Options) []Result {
	dim, rows, batch := or(o.EmbeddingDim, 4), or(o.Rows, 64), or(o.Batch, 8)
	batch = min(batch, rows)
	rng := rand.New(rand.NewPCG(o.Seed, 0xc1))
	z := randomTensor(rng, rows, dim)
	var r runner
	var cfg sdk.Config
	configured := func() (sdk.Clusterer, error) {
		c, err := newClu()
		if err != nil {
			return nil, err
		}
		if err := c.Configure(ctx, sdk.Setup{Config: cfg, EmbeddingDim: dim, Seed: o.Seed}); err != nil {
			return nil, fmt.Errorf("Configure: %w", err)
		}
		return c, nil
	}
	checkAssignment := func(what string, a sdk.Assignment, err error) error {
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		if len(a.Labels) != rows {
			return fmt.Errorf("%s: %d labels for %d rows", what, len(a.Labels), rows)
		}
		if !a.Soft.Empty() {
			if err := tensorShaped(what+" soft", a.Soft, rows, -1); err != nil {
				return err
			}
		}
		for i, l := range a.Labels {
			if l < 0 || (!a.Soft.Empty() && int(l) >= a.Soft.Cols()) {
				return fmt.Errorf("%s: label %d of row %d out of range", what, l, i)
			}
		}
		if err := sdk.CheckParamSelections(a.Params); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		return finite(what+" objective", a.Objective)
	}
	var (
		c   sdk.Clusterer
		fit sdk.Assignment
		l   sdk.ClusterLoss
	)
	idx := make([]int64, batch)
	for i := range idx {
		idx[i] = int64(i)
	}
	zb := sdk.Tensor{Shape: []int{batch, dim}, Data: slices.Clone(z.Data[:batch*dim])}
	r.check("describe", true, func() error {
		p, err := newClu()
		if err != nil {
			return err
		}
		cfg, err = describe(p, sdk.KindClusterer, o.Config)
		return err
	})
	r.check("configure", true, func() (err error) {
		c, err = configured()
		return err
	})
	r.check("fit labels every row", true, func() (err error) {
		fit, err = c.Fit(ctx, z)
		fit.Labels = slices.Clone(fit.Labels)
		return checkAssignment("Fit", fit, err)
	})
	r.check("loss shapes", true, func() (err error) {
		if l, err = c.Loss(ctx, sdk.ClusterLossRequest{Z: zb, Indices: idx}); err != nil {
			return fmt.Errorf("Loss: %w", err)
		}
		l.GradZ, l.Centroids, l.Soft = l.GradZ.Clone(), l.Centroids.Clone(), l.Soft.Clone()
		if err := finite("Loss value", l.Value); err != nil {
			return err
		}
		if err := tensorShaped("Loss grad_z", l.GradZ, batch, dim); err != nil {
			return err
		}
		if !l.Centroids.Empty() {
			if err := tensorShaped("Loss centroids", l.Centroids, -1, dim); err != nil {
				return err
			}
		}
		if !l.Soft.Empty() {
			return tensorShaped("Loss soft", l.Soft, batch, -1)
		}
		return nil
	})
	r.check("loss grad_z matches finite differences", false, func() error {
		return FiniteDifferences(rng, "z", zb, l.GradZ, func(v sdk.Tensor) (float64, error) {
			out, err := c.Loss(ctx, sdk.ClusterLossRequest{Z: v, Indices: idx})
			if err != nil {
				return 0, fmt.Errorf("Loss: %w", err)
			}
			return out.Value, nil
		})
	})
	r.check("step accepts centroid gradients", false, func() error {
		tl, err := c.Loss(ctx, sdk.ClusterLossRequest{Z: zb, Indices: idx, Train: true})
		if err != nil {
			return fmt.Errorf("Loss: %w", err)
		}
		req := sdk.ClusterStepRequest{Weight: 1}
		if !tl.Centroids.Empty() {
			req.GradCentroids = randomTensor(rng, tl.Centroids.Shape...)
			for i := range req.GradCentroids.Data {
				req.GradCentroids.Data[i] *= 1e-3
			}
		}
		if err := c.Step(ctx, req); err != nil {
			return fmt.Errorf("Step: %w", err)
		}
		return nil
	})
	r.check("update labels every row", false, func() error {
		a, err := c.Update(ctx, z)
		return checkAssignment("Update", a, err)
	})
	var before sdk.Assignment
	r.check("assign labels every row", true, func() (err error) {
		before, err = c.Assign(ctx, z)
		before.Labels = slices.Clone(before.Labels)
		return checkAssignment("Assign", before, err)
	})
	r.check("save and load", false, func() error {
		state, err := c.Save(ctx)
		if err != nil {
			return fmt.Errorf("Save: %w", err)
		}
		loaded, err := configured()
		if err != nil {
			return err
		}
		if err := loaded.Load(ctx, state); err != nil {
			return fmt.Errorf("Load: %w", err)
		}
		after, err := loaded.Assign(ctx, z)
		if err != nil {
			return fmt.Errorf("Assign after Load: %w", err)
		}
		if !slices.Equal(after.Labels, before.Labels) || after.Objective != before.Objective {
			return errors.New("Assign after Save/Load differs")
		}
		return nil
	})
	r.check("deterministic for a seed", false, func() error {
		twin, err := configured()
		if err != nil {
			return err
		}
		again, err := twin.Fit(ctx, z)
		if err != nil {
			return fmt.Errorf("Fit: %w", err)
		}
		if !slices.Equal(again.Labels, fit.Labels) || again.Objective != fit.Objective {
			return errors.New("Fit of two instances with one seed differs")
		}
		return nil
	})
	return r.results
}

// Loss runs the auxiliary-loss checks on instances newLoss makes: a
// well-formed Describe; Configure; Eval with a finite value and gradients
// absent or shaped like their inputs; ∂L/∂z, ∂L/∂x̂ and ∂L/∂μ matching
// central finite differences (the input is neighbour pairs when
// Options.Pairs > 0); two instances giving identical results.
func Loss(ctx context.Context, newLoss func() (sdk.Loss, error), o Options) []Result {
	dim, n := or(o.EmbeddingDim, 4), or(o.Batch, 8)
	if o.Pairs > 0 {
		n = max(n, 2*o.Pairs)
	}
	rng := rand.New(rand.NewPCG(o.Seed, 0x1055))
	in := sdk.LossInput{Z: randomTensor(rng, n, dim), Pairs: o.Pairs}
	if len(o.InputShape) > 0 {
		shape := append([]int{n}, o.InputShape...)
		in.X, in.XHat = randomTensor(rng, shape...), randomTensor(rng, shape...)
	}
	if o.Clusters > 0 {
		in.Centroids = randomTensor(rng, o.Clusters, dim)
		in.Soft = sdk.NewTensor(n, o.Clusters)
		for i := range n {
			in.Soft.Data[i*o.Clusters+i%o.Clusters] = 1
		}
	}
	var r runner
	var (
		s   sdk.Setup
		l   sdk.Loss
		out sdk.LossOutput
	)
	eval := func(in sdk.LossInput) (sdk.LossOutput, error) {
		out, err := l.Eval(ctx, in)
		if err != nil {
			return out, fmt.Errorf("Eval: %w", err)
		}
		return out, finite("Eval value", out.Value)
	}
	r.check("describe", true, func() error {
		p, err := newLoss()
		if err != nil {
			return err
		}
		cfg, err := describe(p, sdk.KindLoss, o.Config)
		s = sdk.Setup{Config: cfg, InputShape: o.InputShape, EmbeddingDim: dim, Seed: o.Seed}
		return err
	})
	r.check("configure", true, func() (err error) {
		if l, err = newLoss(); err != nil {
			return err
		}
		if err := l.Configure(ctx, s); err != nil {
			return fmt.Errorf("Configure: %w", err)
		}
		return nil
	})
	r.check("eval shapes", true, func() (err error) {
		if out, err = eval(in); err != nil {
			return err
		}
		out.GradZ, out.GradXHat, out.GradCentroids = out.GradZ.Clone(), out.GradXHat.Clone(), out.GradCentroids.Clone()
		for _, g := range []struct {
			name     string
			grad, of sdk.Tensor
		}{{"grad_z", out.GradZ, in.Z}, {"grad_x_hat", out.GradXHat, in.XHat}, {"grad_centroids", out.GradCentroids, in.Centroids}} {
			if g.grad.Empty() {
				continue
			}
			if g.of.Empty() {
				return fmt.Errorf("Eval returned %s, but its input is absent", g.name)
			}
			if err := tensorShaped("Eval "+g.name, g.grad, g.of.Shape...); err != nil {
				return err
			}
		}
		return nil
	})
	for _, g := range []struct {
		name string
		of   func(*sdk.LossInput) *sdk.Tensor
		grad func() sdk.Tensor
	}{
		{"z", func(in *sdk.LossInput) *sdk.Tensor { return &in.Z }, func() sdk.Tensor { return out.GradZ }},
		{"x_hat", func(in *sdk.LossInput) *sdk.Tensor { return &in.XHat }, func() sdk.Tensor { return out.GradXHat }},
		{"centroids", func(in *sdk.LossInput) *sdk.Tensor { return &in.Centroids }, func() sdk.Tensor { return out.GradCentroids }},
	} {
		if g.of(&in).Empty() {
			continue
		}
		r.check("eval grad_"+g.name+" matches finite differences", false, func() error {
			return FiniteDifferences(rng, g.name, *g.of(&in), g.grad(), func(v sdk.Tensor) (float64, error) {
				c := in
				*g.of(&c) = v
				o, err := eval(c)
				return o.Value, err
			})
		})
	}
	r.check("deterministic for a seed", false, func() error {
		twin, err := newLoss()
		if err != nil {
			return err
		}
		if err := twin.Configure(ctx, s); err != nil {
			return fmt.Errorf("Configure: %w", err)
		}
		again, err := twin.Eval(ctx, in)
		if err != nil {
			return fmt.Errorf("Eval: %w", err)
		}
		if again.Value != out.Value {
			return fmt.Errorf("Eval of two instances: %v and %v", out.Value, again.Value)
		}
		return sameTensor("grad_z of two instances", again.GradZ, out.GradZ)
	})
	return r.results
}

// Run runs the checks of p's kind on instances newP makes.
func Run(ctx context.Context, kind sdk.Kind, newP func() (sdk.Describer, error), o Options) ([]Result, error) {
	switch kind {
	case sdk.KindEncoder:
		return Encoder(ctx, func() (sdk.Encoder, error) { return as[sdk.Encoder](newP) }, o), nil
	case sdk.KindClusterer:
		return Clusterer(ctx, func() (sdk.Clusterer, error) { return as[sdk.Clusterer](newP) }, o), nil
	case sdk.KindLoss:
		return Loss(ctx, func() (sdk.Loss, error) { return as[sdk.Loss](newP) }, o), nil
	}
	return nil, fmt.Errorf("unknown plugin kind %q (want encoder, clusterer or loss)", kind)
}

func as[T sdk.Describer](newP func() (sdk.Describer, error)) (T, error) {
	var zero T
	p, err := newP()
	if err != nil {
		return zero, err
	}
	t, ok := p.(T)
	if !ok {
		return zero, fmt.Errorf("%T is not a %T", p, zero)
	}
	return t, nil
}
