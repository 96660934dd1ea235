package plugins

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/deepclust/deepclust/sdk"
	"github.com/deepclust/deepclust/sdk/serve"
)

// CallError is the error of a plugin call. Its text is one line:
// "PLUGIN: METHOD: PROBLEM".
type CallError struct {
	// Plugin names the plugin: kind, name or path, and isolation.
	Plugin string
	// Method is the call that failed.
	Method string
	// Failed says the plugin itself broke (crash, hang, panic, malformed
	// reply): its process is gone and every later call fails.
	Failed bool
	// Err is the problem.
	Err error
	// Log is the file that holds the host's log of a failed process
	// plugin (its stderr, a stack trace), when the host writes one (see
	// Host.Logger); the message names it.
	Log string
}

// Error returns the one-line message.
func (e *CallError) Error() string {
	msg := oneLine(fmt.Sprintf("%s: %s: %v", e.Plugin, e.Method, e.Err))
	if e.Log != "" {
		msg += " (plugin log: " + e.Log + ")"
	}
	return msg
}

// Unwrap returns the problem.
func (e *CallError) Unwrap() error { return e.Err }

func oneLine(s string) string {
	return strings.Join(strings.FieldsFunc(s, func(r rune) bool { return r == '\n' || r == '\r' }), "; ")
}

// badReply marks a reply that breaks the protocol's shape rules.
type badReply struct{ err error }

func (e *badReply) Error() string { return e.err.Error() }

func replyErrorf(format string, args ...any) error { return &badReply{fmt.Errorf(format, args...)} }

// caller runs the calls into one plugin: one at a time, each under the
// Spec's timeout, panics recovered, errors classified and named.
type caller struct {
	label     string
	timeout   time.Duration
	inProcess bool
	// kill ends the plugin's process; nil in-process.
	kill func()
	// log writes the host's log file and returns its path ("" for none);
	// nil in-process.
	log func() string

	mu     sync.Mutex
	failed error
}

// result is what a call's goroutine hands back.
type result[T any] struct {
	v   T
	err error
}

// call runs fn under c's timeout and returns its value. An error that breaks
// the protocol (a badReply, a malformed reply, a transport failure, a
// panic), a timeout or a cancellation marks the plugin failed and kills its
// process. fn runs on its own goroutine so that an in-process plugin that
// ignores ctx cannot block the host; its value is only used if it returns
// in time.
func call[T any](ctx context.Context, c *caller, method string, fn func(ctx context.Context) (T, error)) (T, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var zero T
	if c.failed != nil {
		return zero, &CallError{Plugin: c.label, Method: method, Failed: true, Err: fmt.Errorf("plugin failed earlier: %w", c.failed), Log: c.logFile()}
	}
	cctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	done := make(chan result[T], 1)
	go func() {
		defer func() {
			if r := recover(); r != nil {
				done <- result[T]{err: &pluginPanic{fmt.Sprint(r)}}
			}
		}()
		v, err := fn(cctx)
		done <- result[T]{v, err}
	}()
	var r result[T]
	select {
	case r = <-done:
	case <-cctx.Done():
		r.err = cctx.Err()
	}
	if r.err == nil {
		return r.v, nil
	}
	problem, failed := c.classify(ctx, cctx, r.err)
	ce := &CallError{Plugin: c.label, Method: method, Failed: failed, Err: problem}
	if failed {
		c.failed = problem
		if c.kill != nil {
			c.kill()
		}
		// After kill: the plugin's last words have been logged.
		ce.Log = c.logFile()
	}
	return zero, ce
}

// logFile returns the host's log file, written now if need be; "" for
// none.
func (c *caller) logFile() string {
	if c.log == nil {
		return ""
	}
	return c.log()
}

// do is call for methods without a value.
func do(ctx context.Context, c *caller, method string, fn func(ctx context.Context) error) error {
	_, err := call(ctx, c, method, func(ctx context.Context) (struct{}, error) { return struct{}{}, fn(ctx) })
	return err
}

type pluginPanic struct{ value string }

func (p *pluginPanic) Error() string { return "plugin panicked: " + p.value }

// classify turns err into the problem to report and says whether the plugin
// has failed.
func (c *caller) classify(ctx, cctx context.Context, err error) (error, bool) {
	var bad *badReply
	var malformed *serve.MalformedReplyError
	var panicked *pluginPanic
	switch {
	case ctx.Err() != nil:
		return fmt.Errorf("call abandoned: %w", ctx.Err()), true
	case cctx.Err() != nil || pastDeadline(cctx):
		return fmt.Errorf("no reply within %v (timeout); plugin stopped", c.timeout), true
	case errors.As(err, &bad), errors.As(err, &malformed), errors.As(err, &panicked):
		return err, true
	case c.inProcess:
		return err, false
	}
	st, ok := status.FromError(err)
	if !ok {
		// Errors of the client adapter before sending: bad input.
		return err, false
	}
	switch st.Code() {
	case codes.Unavailable, codes.Canceled, codes.DeadlineExceeded:
		return fmt.Errorf("plugin process exited or lost its connection (%s)", st.Message()), true
	case codes.Internal, codes.Unimplemented, codes.ResourceExhausted, codes.DataLoss:
		return errors.New(st.Message()), true
	}
	return errors.New(st.Message()), false
}

// pastDeadline reports whether ctx's deadline has passed, even if its
// timer has not fired yet: a gRPC server enforces the deadline the client
// sends, and on a loaded machine its reset of the stream can arrive before
// the client's own timer runs.
func pastDeadline(ctx context.Context) bool {
	d, ok := ctx.Deadline()
	return ok && !time.Now().Before(d)
}

// checkInput checks a tensor the host is about to send.
func checkInput(name string, t sdk.Tensor) error {
	if err := t.Validate(); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

// checkReply checks that a reply tensor is well formed and finite.
func checkReply(name string, t sdk.Tensor) error {
	if err := t.Validate(); err != nil {
		return replyErrorf("returned %s: %w", name, err)
	}
	return nil
}

// checkLike checks that the reply got is absent (when optional) or shaped
// exactly like the tensor like.
func checkLike(name string, got sdk.Tensor, likeName string, like sdk.Tensor, optional bool) error {
	if err := checkReply(name, got); err != nil {
		return err
	}
	if got.Empty() && (optional || like.Empty()) {
		return nil
	}
	if !slices.Equal(got.Shape, like.Shape) {
		return replyErrorf("returned %s of shape %v for %s of shape %v", name, got.Shape, likeName, like.Shape)
	}
	return nil
}

// checkRows checks that the reply got is absent (when optional) or a matrix
// of rows rows and, when cols ≥ 0, cols columns.
func checkRows(name string, got sdk.Tensor, rows, cols int, optional bool) error {
	if err := checkReply(name, got); err != nil {
		return err
	}
	switch {
	case got.Empty() && optional:
		return nil
	case len(got.Shape) != 2:
		return replyErrorf("returned %s of shape %v, want a matrix of %d rows", name, got.Shape, rows)
	case got.Shape[0] != rows:
		return replyErrorf("returned %s with %d rows for %d inputs", name, got.Shape[0], rows)
	case cols >= 0 && got.Shape[1] != cols:
		return replyErrorf("returned %s with %d columns, want %d", name, got.Shape[1], cols)
	}
	return nil
}

func checkValue(name string, v float64) error {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return replyErrorf("returned %s %v", name, v)
	}
	return nil
}

// checkedEncoder is the host's view of an encoder.
type checkedEncoder struct {
	inner sdk.Encoder
	c     *caller
	desc  sdk.Description
	// Set by Configure.
	inputShape []int
	dim        int
	// Shapes of the last training Forward, for Backward.
	lastZ, lastXHat []int
}

func (e *checkedEncoder) Describe() sdk.Description { return e.desc }

func (e *checkedEncoder) Configure(ctx context.Context, s sdk.Setup) error {
	return do(ctx, e.c, "Configure", func(ctx context.Context) error {
		cfg, err := sdk.Resolved(e.desc, s.Config)
		if err != nil {
			return err
		}
		s.Config = cfg
		if err := e.inner.Configure(ctx, s); err != nil {
			return err
		}
		dim, err := e.inner.EmbeddingDim(ctx)
		if err != nil {
			return fmt.Errorf("EmbeddingDim after Configure: %w", err)
		}
		if dim <= 0 {
			return replyErrorf("reported embedding dim %d after Configure", dim)
		}
		e.inputShape, e.dim = slices.Clone(s.InputShape), dim
		return nil
	})
}

func (e *checkedEncoder) EmbeddingDim(ctx context.Context) (int, error) {
	return call(ctx, e.c, "EmbeddingDim", func(ctx context.Context) (int, error) {
		dim, err := e.inner.EmbeddingDim(ctx)
		if err == nil && e.dim > 0 && dim != e.dim {
			return 0, replyErrorf("reported embedding dim %d, %d after Configure", dim, e.dim)
		}
		return dim, err
	})
}

func (e *checkedEncoder) Forward(ctx context.Context, x sdk.Tensor, train bool) (sdk.Forward, error) {
	return call(ctx, e.c, "Forward", func(ctx context.Context) (sdk.Forward, error) {
		if err := checkInput("x", x); err != nil {
			return sdk.Forward{}, err
		}
		if e.dim == 0 {
			return sdk.Forward{}, errors.New("called before Configure")
		}
		if len(x.Shape) == 0 || !slices.Equal(x.Shape[1:], e.inputShape) {
			return sdk.Forward{}, fmt.Errorf("x of shape %v, want [N %s]", x.Shape, strings.Trim(fmt.Sprint(e.inputShape), "[]"))
		}
		f, err := e.inner.Forward(ctx, x, train)
		if err == nil {
			err = checkRows("z", f.Z, x.Rows(), e.dim, false)
		}
		if err == nil {
			err = checkLike("x_hat", f.XHat, "x", x, true)
		}
		if err != nil {
			return sdk.Forward{}, err
		}
		if train {
			e.lastZ, e.lastXHat = f.Z.Shape, f.XHat.Shape
		}
		return f, nil
	})
}

func (e *checkedEncoder) Backward(ctx context.Context, req sdk.BackwardRequest) error {
	return do(ctx, e.c, "Backward", func(ctx context.Context) error {
		for _, in := range []struct {
			name string
			t    sdk.Tensor
			like []int
		}{{"grad_z", req.GradZ, e.lastZ}, {"grad_x_hat", req.GradXHat, e.lastXHat}} {
			if err := checkInput(in.name, in.t); err != nil {
				return err
			}
			if !in.t.Empty() && !slices.Equal(in.t.Shape, in.like) {
				return fmt.Errorf("%s of shape %v, but the last training Forward returned %v", in.name, in.t.Shape, in.like)
			}
		}
		return e.inner.Backward(ctx, req)
	})
}

func (e *checkedEncoder) Save(ctx context.Context) ([]byte, error) {
	return call(ctx, e.c, "Save", e.inner.Save)
}

func (e *checkedEncoder) Load(ctx context.Context, state []byte) error {
	return do(ctx, e.c, "Load", func(ctx context.Context) error { return e.inner.Load(ctx, state) })
}

// checkedClusterer is the host's view of a clusterer.
type checkedClusterer struct {
	inner sdk.Clusterer
	c     *caller
	desc  sdk.Description
	dim   int // set by Configure
}

func (k *checkedClusterer) Describe() sdk.Description { return k.desc }

func (k *checkedClusterer) Configure(ctx context.Context, s sdk.Setup) error {
	return do(ctx, k.c, "Configure", func(ctx context.Context) error {
		cfg, err := sdk.Resolved(k.desc, s.Config)
		if err != nil {
			return err
		}
		if s.EmbeddingDim <= 0 {
			return fmt.Errorf("embedding dim %d, want > 0", s.EmbeddingDim)
		}
		s.Config = cfg
		if err := k.inner.Configure(ctx, s); err != nil {
			return err
		}
		k.dim = s.EmbeddingDim
		return nil
	})
}

// checkZ checks embeddings the host is about to send.
func (k *checkedClusterer) checkZ(z sdk.Tensor) error {
	if err := checkInput("z", z); err != nil {
		return err
	}
	if k.dim == 0 {
		return errors.New("called before Configure")
	}
	return z.CheckShape(-1, k.dim)
}

// assign runs Fit, Update or Assign with their checks.
func (k *checkedClusterer) assign(ctx context.Context, method string, z sdk.Tensor, fn func(context.Context, sdk.Tensor) (sdk.Assignment, error)) (sdk.Assignment, error) {
	return call(ctx, k.c, method, func(ctx context.Context) (sdk.Assignment, error) {
		if err := k.checkZ(z); err != nil {
			return sdk.Assignment{}, err
		}
		a, err := fn(ctx, z)
		if err == nil {
			err = checkAssignment(a, z.Rows())
		}
		return a, err
	})
}

func checkAssignment(a sdk.Assignment, rows int) error {
	if len(a.Labels) != rows {
		return replyErrorf("returned %d labels for %d rows", len(a.Labels), rows)
	}
	if err := checkRows("soft", a.Soft, rows, -1, true); err != nil {
		return err
	}
	k := int32(math.MaxInt32)
	if !a.Soft.Empty() {
		k = int32(a.Soft.Shape[1])
	}
	for i, l := range a.Labels {
		if l < 0 || l >= k {
			return replyErrorf("returned label %d for row %d", l, i)
		}
	}
	if err := sdk.CheckParamSelections(a.Params); err != nil {
		return replyErrorf("returned an inconsistent %w", err)
	}
	return checkValue("objective", a.Objective)
}

func (k *checkedClusterer) Fit(ctx context.Context, z sdk.Tensor) (sdk.Assignment, error) {
	return k.assign(ctx, "Fit", z, k.inner.Fit)
}

func (k *checkedClusterer) Update(ctx context.Context, z sdk.Tensor) (sdk.Assignment, error) {
	return k.assign(ctx, "Update", z, k.inner.Update)
}

func (k *checkedClusterer) Assign(ctx context.Context, z sdk.Tensor) (sdk.Assignment, error) {
	return k.assign(ctx, "Assign", z, k.inner.Assign)
}

func (k *checkedClusterer) Loss(ctx context.Context, req sdk.ClusterLossRequest) (sdk.ClusterLoss, error) {
	return call(ctx, k.c, "Loss", func(ctx context.Context) (sdk.ClusterLoss, error) {
		if err := k.checkZ(req.Z); err != nil {
			return sdk.ClusterLoss{}, err
		}
		if len(req.Indices) != req.Z.Rows() {
			return sdk.ClusterLoss{}, fmt.Errorf("%d indices for %d rows of z", len(req.Indices), req.Z.Rows())
		}
		l, err := k.inner.Loss(ctx, req)
		if err == nil {
			err = checkClusterLoss(l, req.Z)
		}
		return l, err
	})
}

func checkClusterLoss(l sdk.ClusterLoss, z sdk.Tensor) error {
	if err := checkValue("loss", l.Value); err != nil {
		return err
	}
	if err := checkLike("grad_z", l.GradZ, "z", z, false); err != nil {
		return err
	}
	if err := checkReply("centroids", l.Centroids); err != nil {
		return err
	}
	k := -1
	if !l.Centroids.Empty() {
		if err := l.Centroids.CheckShape(-1, z.Cols()); err != nil {
			return replyErrorf("returned centroids: %w", err)
		}
		k = l.Centroids.Rows()
	}
	return checkRows("soft", l.Soft, z.Rows(), k, true)
}

func (k *checkedClusterer) Step(ctx context.Context, req sdk.ClusterStepRequest) error {
	return do(ctx, k.c, "Step", func(ctx context.Context) error {
		if err := checkInput("grad_centroids", req.GradCentroids); err != nil {
			return err
		}
		return k.inner.Step(ctx, req)
	})
}

func (k *checkedClusterer) Save(ctx context.Context) ([]byte, error) {
	return call(ctx, k.c, "Save", k.inner.Save)
}

func (k *checkedClusterer) Load(ctx context.Context, state []byte) error {
	return do(ctx, k.c, "Load", func(ctx context.Context) error { return k.inner.Load(ctx, state) })
}

// checkedLoss is the host's view of an auxiliary loss.
type checkedLoss struct {
	inner sdk.Loss
	c     *caller
	desc  sdk.Description
}

func (l *checkedLoss) Describe() sdk.Description { return l.desc }

func (l *checkedLoss) Configure(ctx context.Context, s sdk.Setup) error {
	return do(ctx, l.c, "Configure", func(ctx context.Context) error {
		cfg, err := sdk.Resolved(l.desc, s.Config)
		if err != nil {
			return err
		}
		s.Config = cfg
		return l.inner.Configure(ctx, s)
	})
}

func (l *checkedLoss) Eval(ctx context.Context, in sdk.LossInput) (sdk.LossOutput, error) {
	return call(ctx, l.c, "Eval", func(ctx context.Context) (sdk.LossOutput, error) {
		for _, t := range []struct {
			name string
			t    sdk.Tensor
		}{{"x", in.X}, {"x_hat", in.XHat}, {"z", in.Z}, {"centroids", in.Centroids}, {"soft", in.Soft}} {
			if err := checkInput(t.name, t.t); err != nil {
				return sdk.LossOutput{}, err
			}
		}
		if in.Pairs < 0 || 2*in.Pairs > in.Z.Rows() {
			return sdk.LossOutput{}, fmt.Errorf("%d neighbour pairs in a batch of %d rows", in.Pairs, in.Z.Rows())
		}
		out, err := l.inner.Eval(ctx, in)
		if err == nil {
			err = checkLossOutput(out, in)
		}
		return out, err
	})
}

func checkLossOutput(out sdk.LossOutput, in sdk.LossInput) error {
	if err := checkValue("loss", out.Value); err != nil {
		return err
	}
	if err := checkLike("grad_z", out.GradZ, "z", in.Z, true); err != nil {
		return err
	}
	if err := checkLike("grad_x_hat", out.GradXHat, "x_hat", in.XHat, true); err != nil {
		return err
	}
	return checkLike("grad_centroids", out.GradCentroids, "centroids", in.Centroids, true)
}
