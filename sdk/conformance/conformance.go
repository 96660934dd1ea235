// Package conformance is deepclust's plugin conformance kit as a library:
// the checks that sdk/sdktest runs from go test and that "deepclust plugin
// check" runs against any plugin binary, in any language. Each check yields
// one Result, passed or failed with the reason; a check that later ones
// need (describe, configure, forward, fit, eval) stops the run when it
// fails, and the checks after it are reported as skipped.
//
// It depends on package sdk only: the plugin under test is whatever the
// caller's factory returns (a Go value, a gRPC client, a host's checked
// plugin).
package conformance

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/deepclust/deepclust/sdk"
)

// Options set up the checks. Zero values take the defaults given.
type Options struct {
	// InputShape is the shape of one sample x: required for an encoder
	// ([6] when empty); for a loss, it adds x and x̂ of that shape.
	InputShape []int
	// EmbeddingDim is the width of z for a clusterer or loss; 4 when 0.
	EmbeddingDim int
	// Rows is the number of embeddings a clusterer is fitted on; 64 when 0.
	Rows int
	// Batch is the number of rows of a Forward, Loss or Eval; 8 when 0.
	Batch int
	// Clusters, when > 0, adds centroids (Clusters × EmbeddingDim) and
	// soft assignments (Batch × Clusters) to a loss's input.
	Clusters int
	// Pairs, when > 0, makes a loss's batch neighbour pairs: rows
	// [0, Pairs) are anchors, row Pairs+i a neighbour of anchor i.
	Pairs int
	// NoParameters says an encoder has no trainable parameters, so that
	// Backward is not expected to change its output.
	NoParameters bool
	// Config is the plugin's raw config; nil for its defaults.
	Config map[string]any
	// Seed is passed in Setup.
	Seed uint64
}

// Result is the outcome of one check.
type Result struct {
	// Name names the check, e.g. "eval grad_z matches finite differences".
	Name string
	// Err is why the check failed; nil when it passed or was skipped.
	Err error
	// Skipped says the check did not run because an earlier one it needs
	// failed.
	Skipped bool
}

// Failed reports whether any result failed.
func Failed(rs []Result) bool {
	return slices.ContainsFunc(rs, func(r Result) bool { return r.Err != nil })
}

// runner records results in order; after a failed prerequisite, later
// checks are skipped.
type runner struct {
	results []Result
	stopped string
}

// check runs fn as the check name; with must, a failure stops the run.
func (r *runner) check(name string, must bool, fn func() error) bool {
	if r.stopped != "" {
		r.results = append(r.results, Result{Name: name, Skipped: true, Err: nil})
		return false
	}
	err := safely(fn)
	r.results = append(r.results, Result{Name: name, Err: err})
	if err != nil && must {
		r.stopped = name
	}
	return err == nil
}

// safely runs fn, turning a panic (of an in-process plugin) into an error.
func safely(fn func() error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panicked: %v", p)
		}
	}()
	return fn()
}

func or(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}

func randomTensor(rng *rand.Rand, shape ...int) sdk.Tensor {
	x := sdk.NewTensor(shape...)
	for i := range x.Data {
		x.Data[i] = float32(rng.NormFloat64())
	}
	return x
}

// tensorShaped checks that got is finite and has the shape want (-1: any).
func tensorShaped(what string, got sdk.Tensor, want ...int) error {
	if err := got.Validate(); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if err := got.CheckShape(want...); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

func sameTensor(what string, got, want sdk.Tensor) error {
	if !slices.Equal(got.Shape, want.Shape) {
		return fmt.Errorf("%s: shapes %v and %v", what, got.Shape, want.Shape)
	}
	for i := range got.Data {
		if math.Float32bits(got.Data[i]) != math.Float32bits(want.Data[i]) {
			return fmt.Errorf("%s: value %d is %v, then %v", what, i, want.Data[i], got.Data[i])
		}
	}
	return nil
}

func finite(what string, v float64) error {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return fmt.Errorf("%s is %v", what, v)
	}
	return nil
}

// describe checks p's description and kind, and resolves cfg.
func describe(p sdk.Describer, kind sdk.Kind, cfg map[string]any) (sdk.Config, error) {
	if err := sdk.CheckPlugin(p); err != nil {
		return nil, err
	}
	d := p.Describe()
	if d.Kind != kind {
		return nil, fmt.Errorf("kind %q, want %q", d.Kind, kind)
	}
	if d.Version == "" {
		return nil, errors.New("no version")
	}
	for _, f := range d.Fields {
		if f.Doc == "" {
			return nil, fmt.Errorf("field %q has no doc", f.Name)
		}
	}
	resolved, err := sdk.ResolveConfig(d, cfg)
	if err != nil {
		return nil, fmt.Errorf("resolving config: %w", err)
	}
	return resolved, nil
}

// FiniteDifferences compares grad (∂L/∂v; empty means zero) with central
// differences of f at up to 6 entries of v picked by rng, and returns an
// error naming the first entry that disagrees: relative error over 2e-2
// plus an absolute slack of 1e-3.
func FiniteDifferences(rng *rand.Rand, name string, v, grad sdk.Tensor, f func(sdk.Tensor) (float64, error)) error {
	if len(v.Data) == 0 {
		return nil
	}
	if !grad.Empty() && len(grad.Data) != len(v.Data) {
		return fmt.Errorf("∂L/∂%s has %d values for %d", name, len(grad.Data), len(v.Data))
	}
	for range 6 {
		i := rng.IntN(len(v.Data))
		h := float32(1e-2 * max(1, math.Abs(float64(v.Data[i]))))
		plus, minus := v.Clone(), v.Clone()
		plus.Data[i] += h
		minus.Data[i] -= h
		fp, err := f(plus)
		if err != nil {
			return err
		}
		fm, err := f(minus)
		if err != nil {
			return err
		}
		fd := (fp - fm) / float64(plus.Data[i]-minus.Data[i])
		var g float64
		if !grad.Empty() {
			g = float64(grad.Data[i])
		}
		if math.Abs(fd-g) > 2e-2*max(math.Abs(fd), math.Abs(g))+1e-3 {
			return fmt.Errorf("∂L/∂%s[%d]: returned %.6g, finite difference %.6g", name, i, g, fd)
		}
	}
	return nil
}
