package serve

import (
	"context"
	"encoding/json"
	"fmt"

	"google.golang.org/grpc"

	"github.com/deepclust/deepclust/sdk"
	"github.com/deepclust/deepclust/sdk/pluginpb"
)

// MalformedReplyError reports a reply from a plugin that does not follow the
// protocol: tensor bytes that do not decode, or values that are not finite.
type MalformedReplyError struct{ Err error }

// Error returns "malformed reply: " and the cause.
func (e *MalformedReplyError) Error() string { return "malformed reply: " + e.Err.Error() }

// Unwrap returns the cause.
func (e *MalformedReplyError) Unwrap() error { return e.Err }

// NewClient returns the client side of the protocol for a plugin of the given
// kind served on conn: an sdk.Encoder, sdk.Clusterer or sdk.Loss whose calls are gRPC
// calls. It calls Describe once (the answer is cached, since
// sdk.Describer.Describe cannot fail) and checks the kind. Errors from the calls
// are gRPC status errors from the plugin or transport, or
// *MalformedReplyError. Package plugins adds shape checks, timeouts and
// process management on top.
func NewClient(ctx context.Context, conn grpc.ClientConnInterface, kind sdk.Kind) (sdk.Describer, error) {
	var (
		describe func(context.Context, *pluginpb.Empty, ...grpc.CallOption) (*pluginpb.Description, error)
		build    func(base clientBase) sdk.Describer
	)
	switch kind {
	case sdk.KindEncoder:
		rpc := pluginpb.NewEncoderClient(conn)
		describe = rpc.Describe
		build = func(b clientBase) sdk.Describer {
			b.configure = rpc.Configure
			return &encoderClient{clientBase: b, stateClient: stateClient{rpc.Save, rpc.Load}, rpc: rpc}
		}
	case sdk.KindClusterer:
		rpc := pluginpb.NewClustererClient(conn)
		describe = rpc.Describe
		build = func(b clientBase) sdk.Describer {
			b.configure = rpc.Configure
			return &clustererClient{clientBase: b, stateClient: stateClient{rpc.Save, rpc.Load}, rpc: rpc}
		}
	case sdk.KindLoss:
		rpc := pluginpb.NewLossClient(conn)
		describe = rpc.Describe
		build = func(b clientBase) sdk.Describer {
			b.configure = rpc.Configure
			return &lossClient{clientBase: b, rpc: rpc}
		}
	default:
		return nil, fmt.Errorf("unknown plugin kind %q (want encoder, clusterer or loss)", kind)
	}
	pb, err := describe(ctx, &pluginpb.Empty{})
	if err != nil {
		return nil, err
	}
	d, err := descriptionFromPB(pb)
	if err != nil {
		return nil, &MalformedReplyError{fmt.Errorf("Describe: %w", err)}
	}
	if d.Kind != kind {
		return nil, fmt.Errorf("plugin %q describes itself as a %s, not a %s", d.Name, d.Kind, kind)
	}
	return build(clientBase{desc: d}), nil
}

// malformed wraps a decoding error of a reply.
func malformed(err error) error {
	if err == nil {
		return nil
	}
	return &MalformedReplyError{err}
}

// clientBase is the client side of Describe and Configure.
type clientBase struct {
	desc      sdk.Description
	configure func(context.Context, *pluginpb.ConfigureRequest, ...grpc.CallOption) (*pluginpb.Empty, error)
}

func (c *clientBase) Describe() sdk.Description { return c.desc }

// Configure sends s with its config resolved (sdk.Resolved: a config the
// caller resolved already is sent as it is).
func (c *clientBase) Configure(ctx context.Context, s sdk.Setup) error {
	cfg, err := sdk.Resolved(c.desc, s.Config)
	if err != nil {
		return err
	}
	s.Config = cfg
	req, err := setupToPB(s)
	if err != nil {
		return err
	}
	_, err = c.configure(ctx, req)
	return err
}

// stateClient is the client side of Save and Load.
type stateClient struct {
	save func(context.Context, *pluginpb.Empty, ...grpc.CallOption) (*pluginpb.State, error)
	load func(context.Context, *pluginpb.State, ...grpc.CallOption) (*pluginpb.Empty, error)
}

func (c *stateClient) Save(ctx context.Context) ([]byte, error) {
	r, err := c.save(ctx, &pluginpb.Empty{})
	if err != nil {
		return nil, err
	}
	return r.GetState(), nil
}

func (c *stateClient) Load(ctx context.Context, state []byte) error {
	_, err := c.load(ctx, &pluginpb.State{State: state})
	return err
}

type encoderClient struct {
	clientBase
	stateClient
	rpc pluginpb.EncoderClient
}

func (c *encoderClient) EmbeddingDim(ctx context.Context) (int, error) {
	r, err := c.rpc.EmbeddingDim(ctx, &pluginpb.Empty{})
	if err != nil {
		return 0, err
	}
	return int(r.GetDim()), nil
}

func (c *encoderClient) Forward(ctx context.Context, x sdk.Tensor, train bool) (sdk.Forward, error) {
	var tc tensorCodec
	req := &pluginpb.ForwardRequest{X: tc.encode("x", x), Train: train}
	if tc.err != nil {
		return sdk.Forward{}, tc.err
	}
	r, err := c.rpc.Forward(ctx, req)
	if err != nil {
		return sdk.Forward{}, err
	}
	f := sdk.Forward{Z: tc.decode("z", r.GetZ()), XHat: tc.decode("x_hat", r.GetXHat())}
	return f, malformed(tc.err)
}

func (c *encoderClient) Backward(ctx context.Context, br sdk.BackwardRequest) error {
	var tc tensorCodec
	req := &pluginpb.BackwardRequest{GradZ: tc.encode("grad_z", br.GradZ), GradXHat: tc.encode("grad_x_hat", br.GradXHat), LearningRate: br.LearningRate}
	if tc.err != nil {
		return tc.err
	}
	_, err := c.rpc.Backward(ctx, req)
	return err
}

type clustererClient struct {
	clientBase
	stateClient
	rpc pluginpb.ClustererClient
}

type assignRPC func(context.Context, *pluginpb.Tensor, ...grpc.CallOption) (*pluginpb.Assignment, error)

func assign(ctx context.Context, rpc assignRPC, z sdk.Tensor) (sdk.Assignment, error) {
	var tc tensorCodec
	req := &pluginpb.Tensor{Data: tc.encode("z", z)}
	if tc.err != nil {
		return sdk.Assignment{}, tc.err
	}
	r, err := rpc(ctx, req)
	if err != nil {
		return sdk.Assignment{}, err
	}
	a := sdk.Assignment{Labels: r.GetLabels(), Soft: tc.decode("soft", r.GetSoft()), Objective: r.GetObjective()}
	if js := r.GetKSelectionJson(); len(js) > 0 {
		a.Selection = &sdk.KSelection{}
		if err := json.Unmarshal(js, a.Selection); err != nil {
			return sdk.Assignment{}, malformed(fmt.Errorf("decoding the k selection: %w", err))
		}
	}
	if js := r.GetParamSelectionsJson(); len(js) > 0 {
		if err := json.Unmarshal(js, &a.Params); err != nil {
			return sdk.Assignment{}, malformed(fmt.Errorf("decoding the param selections: %w", err))
		}
	}
	return a, malformed(tc.err)
}

func (c *clustererClient) Fit(ctx context.Context, z sdk.Tensor) (sdk.Assignment, error) {
	return assign(ctx, c.rpc.Fit, z)
}

func (c *clustererClient) Update(ctx context.Context, z sdk.Tensor) (sdk.Assignment, error) {
	return assign(ctx, c.rpc.Update, z)
}

func (c *clustererClient) Assign(ctx context.Context, z sdk.Tensor) (sdk.Assignment, error) {
	return assign(ctx, c.rpc.Assign, z)
}

func (c *clustererClient) Loss(ctx context.Context, lr sdk.ClusterLossRequest) (sdk.ClusterLoss, error) {
	var tc tensorCodec
	req := &pluginpb.ClusterLossRequest{Z: tc.encode("z", lr.Z), Indices: lr.Indices, Train: lr.Train}
	if tc.err != nil {
		return sdk.ClusterLoss{}, tc.err
	}
	r, err := c.rpc.Loss(ctx, req)
	if err != nil {
		return sdk.ClusterLoss{}, err
	}
	l := sdk.ClusterLoss{Value: r.GetValue(), GradZ: tc.decode("grad_z", r.GetGradZ()), Centroids: tc.decode("centroids", r.GetCentroids()), Soft: tc.decode("soft", r.GetSoft())}
	return l, malformed(tc.err)
}

func (c *clustererClient) Step(ctx context.Context, sr sdk.ClusterStepRequest) error {
	var tc tensorCodec
	req := &pluginpb.ClusterStepRequest{GradCentroids: tc.encode("grad_centroids", sr.GradCentroids), Weight: sr.Weight}
	if tc.err != nil {
		return tc.err
	}
	_, err := c.rpc.Step(ctx, req)
	return err
}

type lossClient struct {
	clientBase
	rpc pluginpb.LossClient
}

func (c *lossClient) Eval(ctx context.Context, in sdk.LossInput) (sdk.LossOutput, error) {
	var tc tensorCodec
	req := &pluginpb.LossInput{
		X:         tc.encode("x", in.X),
		XHat:      tc.encode("x_hat", in.XHat),
		Z:         tc.encode("z", in.Z),
		Centroids: tc.encode("centroids", in.Centroids),
		Soft:      tc.encode("soft", in.Soft),
		Pairs:     int64(in.Pairs),
	}
	if tc.err != nil {
		return sdk.LossOutput{}, tc.err
	}
	r, err := c.rpc.Eval(ctx, req)
	if err != nil {
		return sdk.LossOutput{}, err
	}
	o := sdk.LossOutput{Value: r.GetValue(), GradZ: tc.decode("grad_z", r.GetGradZ()), GradXHat: tc.decode("grad_x_hat", r.GetGradXHat()), GradCentroids: tc.decode("grad_centroids", r.GetGradCentroids())}
	return o, malformed(tc.err)
}
