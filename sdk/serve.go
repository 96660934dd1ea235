package sdk

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime/debug"
	"sync"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/deepclust/deepclust/sdk/pluginpb"
)

// Handshake is the go-plugin handshake shared by the host and every plugin:
// a plugin binary started without the magic cookie in its environment
// refuses to run, and the protocol version must match.
var Handshake = plugin.HandshakeConfig{
	ProtocolVersion:  1,
	MagicCookieKey:   "DEEPCLUST_PLUGIN",
	MagicCookieValue: "f4c1c3e2-deepclust-plugin-v1",
}

// MaxMessageSize is the largest gRPC message (in bytes) either side of the
// protocol sends or accepts, well above gRPC's 4 MiB default so that a whole
// data set's embeddings fit in one call.
const MaxMessageSize = 512 << 20

// ServeOption adjusts how Serve serves a plugin.
type ServeOption func(*serveOptions)

type serveOptions struct {
	grpcOptions []grpc.ServerOption
	logger      hclog.Logger
}

// WithGRPCServerOptions adds options (interceptors, for example) to the
// plugin's gRPC server.
func WithGRPCServerOptions(opts ...grpc.ServerOption) ServeOption {
	return func(o *serveOptions) { o.grpcOptions = append(o.grpcOptions, opts...) }
}

// WithLogger sets the logger that go-plugin and the server adapters use. The
// default writes JSON lines to stderr, which the host parses and re-logs.
func WithLogger(l hclog.Logger) ServeOption {
	return func(o *serveOptions) { o.logger = l }
}

// Serve serves p over go-plugin's gRPC transport until the host closes it.
// It is the one call a plugin's main function makes. It also makes the
// plugin's logger hclog's default (hclog.L()), so that a plugin's log lines
// reach the host's log with their levels. p must implement the
// interface of its described kind (Encoder, Clusterer or Loss). A plugin that
// cannot be served, or a binary started by hand rather than by a deepclust
// host, prints why to stderr and exits with status 1.
func Serve(p Describer, opts ...ServeOption) {
	cfg, err := serveConfig(p, opts...)
	if err != nil {
		fmt.Fprintf(os.Stderr, "deepclust plugin: %v\n", err)
		os.Exit(1)
	}
	hclog.SetDefault(cfg.Logger)
	plugin.Serve(cfg)
}

func serveConfig(p Describer, opts ...ServeOption) (*plugin.ServeConfig, error) {
	o := serveOptions{logger: hclog.New(&hclog.LoggerOptions{Output: os.Stderr, JSONFormat: true, Level: hclog.Debug})}
	for _, opt := range opts {
		opt(&o)
	}
	if err := CheckPlugin(p); err != nil {
		return nil, err
	}
	d := p.Describe()
	register := func(s *grpc.Server) error { return registerServer(s, p, o.logger) }
	return &plugin.ServeConfig{
		HandshakeConfig: Handshake,
		Plugins:         plugin.PluginSet{string(d.Kind): &servedPlugin{register: register}},
		GRPCServer: func(base []grpc.ServerOption) *grpc.Server {
			all := append(base, grpc.MaxRecvMsgSize(MaxMessageSize), grpc.MaxSendMsgSize(MaxMessageSize))
			return grpc.NewServer(append(all, o.grpcOptions...)...)
		},
		Logger: o.logger,
	}, nil
}

// CheckPlugin checks that p describes itself well (a name, a known kind,
// config defaults that resolve) and implements the interface of its kind.
func CheckPlugin(p Describer) error {
	d := p.Describe()
	if d.Name == "" {
		return fmt.Errorf("%s plugin describes itself without a name", d.Kind)
	}
	if _, err := ResolveConfig(d, nil); err != nil {
		return fmt.Errorf("%s %q: defaults do not resolve: %w", d.Kind, d.Name, err)
	}
	var ok bool
	switch d.Kind {
	case KindEncoder:
		_, ok = p.(Encoder)
	case KindClusterer:
		_, ok = p.(Clusterer)
	case KindLoss:
		_, ok = p.(Loss)
	default:
		return fmt.Errorf("plugin %q has unknown kind %q (want encoder, clusterer or loss)", d.Name, d.Kind)
	}
	if !ok {
		return fmt.Errorf("plugin %q describes itself as a %s but %T does not implement sdk.%s", d.Name, d.Kind, p, kindInterface(d.Kind))
	}
	return nil
}

func kindInterface(k Kind) string {
	switch k {
	case KindEncoder:
		return "Encoder"
	case KindClusterer:
		return "Clusterer"
	}
	return "Loss"
}

// RegisterServer registers on s the gRPC service of p's kind, backed by p.
// Serve does this for a plugin binary; RegisterServer is for serving a
// plugin on a gRPC server of one's own (tests, embedding). Panics in p are
// logged with hclog's default logger and returned as INTERNAL errors.
func RegisterServer(s grpc.ServiceRegistrar, p Describer) error {
	if err := CheckPlugin(p); err != nil {
		return err
	}
	return registerServer(s, p, hclog.L())
}

func registerServer(s grpc.ServiceRegistrar, p Describer, log hclog.Logger) error {
	g := &guard{log: log}
	switch impl := p.(type) {
	case Encoder:
		pluginpb.RegisterEncoderServer(s, &encoderServer{commonServer: commonServer{impl, g}, stateServer: stateServer{impl, g}, impl: impl, g: g})
	case Clusterer:
		pluginpb.RegisterClustererServer(s, &clustererServer{commonServer: commonServer{impl, g}, stateServer: stateServer{impl, g}, impl: impl, g: g})
	case Loss:
		pluginpb.RegisterLossServer(s, &lossServer{commonServer: commonServer{impl, g}, impl: impl, g: g})
	default:
		return fmt.Errorf("%T implements none of sdk.Encoder, sdk.Clusterer, sdk.Loss", p)
	}
	return nil
}

// servedPlugin is the go-plugin entry of a served plugin: server side only.
type servedPlugin struct {
	plugin.NetRPCUnsupportedPlugin
	register func(*grpc.Server) error
}

// GRPCServer registers the plugin's service.
func (p *servedPlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error { return p.register(s) }

// GRPCClient is not used: the host side lives in package plugins.
func (p *servedPlugin) GRPCClient(context.Context, *plugin.GRPCBroker, *grpc.ClientConn) (any, error) {
	return nil, errors.New("sdk serves plugins; use package plugins to host them")
}

// guard serialises the calls into a plugin and turns its panics into
// INTERNAL errors and its errors into UNKNOWN ones.
type guard struct {
	mu  sync.Mutex
	log hclog.Logger
}

// badRequest marks err as a malformed request.
func badRequest(err error) error { return status.Error(codes.InvalidArgument, err.Error()) }

func (g *guard) run(method string, fn func() error) (err error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	defer func() {
		if r := recover(); r != nil {
			g.log.Error("plugin panicked", "method", method, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			err = status.Errorf(codes.Internal, "plugin panicked: %v", r)
		}
	}()
	err = fn()
	if _, isStatus := status.FromError(err); err != nil && !isStatus {
		err = status.Error(codes.Unknown, err.Error())
	}
	return err
}

// commonServer serves the calls every kind shares: Describe and Configure,
// and Save and Load for the kinds that have state. Generated Unimplemented
// servers are embedded one level deeper so that these methods win.
type commonServer struct {
	impl interface {
		Describer
		Configure(context.Context, Setup) error
	}
	g *guard
}

func (s *commonServer) Describe(context.Context, *pluginpb.Empty) (out *pluginpb.Description, err error) {
	err = s.g.run("Describe", func() error {
		out, err = descriptionToPB(s.impl.Describe())
		return err
	})
	return out, err
}

func (s *commonServer) Configure(ctx context.Context, req *pluginpb.ConfigureRequest) (*pluginpb.Empty, error) {
	return &pluginpb.Empty{}, s.g.run("Configure", func() error {
		setup, err := setupFromPB(s.impl.Describe(), req)
		if err != nil {
			return badRequest(err)
		}
		return s.impl.Configure(ctx, setup)
	})
}

// stateful is the Save and Load pair of encoders and clusterers.
type stateful interface {
	Save(ctx context.Context) ([]byte, error)
	Load(ctx context.Context, state []byte) error
}

type stateServer struct {
	impl stateful
	g    *guard
}

func (s *stateServer) Save(ctx context.Context, _ *pluginpb.Empty) (out *pluginpb.State, err error) {
	err = s.g.run("Save", func() error {
		b, err := s.impl.Save(ctx)
		out = &pluginpb.State{State: b}
		return err
	})
	return out, err
}

func (s *stateServer) Load(ctx context.Context, req *pluginpb.State) (*pluginpb.Empty, error) {
	return &pluginpb.Empty{}, s.g.run("Load", func() error { return s.impl.Load(ctx, req.GetState()) })
}

type unimplementedEncoder struct {
	pluginpb.UnimplementedEncoderServer
}
type unimplementedClusterer struct {
	pluginpb.UnimplementedClustererServer
}
type unimplementedLoss struct {
	pluginpb.UnimplementedLossServer
}

type encoderServer struct {
	commonServer
	stateServer
	unimplementedEncoder
	impl Encoder
	g    *guard
}

func (s *encoderServer) EmbeddingDim(ctx context.Context, _ *pluginpb.Empty) (out *pluginpb.EmbeddingDimResponse, err error) {
	err = s.g.run("EmbeddingDim", func() error {
		d, err := s.impl.EmbeddingDim(ctx)
		out = &pluginpb.EmbeddingDimResponse{Dim: int64(d)}
		return err
	})
	return out, err
}

func (s *encoderServer) Forward(ctx context.Context, req *pluginpb.ForwardRequest) (out *pluginpb.ForwardResponse, err error) {
	err = s.g.run("Forward", func() error {
		var c tensorCodec
		x := c.decode("x", req.GetX())
		if c.err != nil {
			return badRequest(c.err)
		}
		f, err := s.impl.Forward(ctx, x, req.GetTrain())
		if err != nil {
			return err
		}
		out = &pluginpb.ForwardResponse{Z: c.encode("z", f.Z), XHat: c.encode("x_hat", f.XHat)}
		return c.err
	})
	return out, err
}

func (s *encoderServer) Backward(ctx context.Context, req *pluginpb.BackwardRequest) (*pluginpb.Empty, error) {
	return &pluginpb.Empty{}, s.g.run("Backward", func() error {
		var c tensorCodec
		br := BackwardRequest{GradZ: c.decode("grad_z", req.GetGradZ()), GradXHat: c.decode("grad_x_hat", req.GetGradXHat()), LearningRate: req.GetLearningRate()}
		if c.err != nil {
			return badRequest(c.err)
		}
		return s.impl.Backward(ctx, br)
	})
}

type clustererServer struct {
	commonServer
	stateServer
	unimplementedClusterer
	impl Clusterer
	g    *guard
}

// assign runs one of Fit, Update and Assign.
func (s *clustererServer) assign(method string, req *pluginpb.Tensor, fn func(Tensor) (Assignment, error)) (out *pluginpb.Assignment, err error) {
	err = s.g.run(method, func() error {
		var c tensorCodec
		z := c.decode("z", req.GetData())
		if c.err != nil {
			return badRequest(c.err)
		}
		a, err := fn(z)
		if err != nil {
			return err
		}
		out = &pluginpb.Assignment{Labels: a.Labels, Soft: c.encode("soft", a.Soft), Objective: a.Objective}
		return c.err
	})
	return out, err
}

func (s *clustererServer) Fit(ctx context.Context, req *pluginpb.Tensor) (*pluginpb.Assignment, error) {
	return s.assign("Fit", req, func(z Tensor) (Assignment, error) { return s.impl.Fit(ctx, z) })
}

func (s *clustererServer) Update(ctx context.Context, req *pluginpb.Tensor) (*pluginpb.Assignment, error) {
	return s.assign("Update", req, func(z Tensor) (Assignment, error) { return s.impl.Update(ctx, z) })
}

func (s *clustererServer) Assign(ctx context.Context, req *pluginpb.Tensor) (*pluginpb.Assignment, error) {
	return s.assign("Assign", req, func(z Tensor) (Assignment, error) { return s.impl.Assign(ctx, z) })
}

func (s *clustererServer) Loss(ctx context.Context, req *pluginpb.ClusterLossRequest) (out *pluginpb.ClusterLossResponse, err error) {
	err = s.g.run("Loss", func() error {
		var c tensorCodec
		z := c.decode("z", req.GetZ())
		if c.err != nil {
			return badRequest(c.err)
		}
		l, err := s.impl.Loss(ctx, ClusterLossRequest{Z: z, Indices: req.GetIndices(), Train: req.GetTrain()})
		if err != nil {
			return err
		}
		out = &pluginpb.ClusterLossResponse{Value: l.Value, GradZ: c.encode("grad_z", l.GradZ), Centroids: c.encode("centroids", l.Centroids), Soft: c.encode("soft", l.Soft)}
		return c.err
	})
	return out, err
}

func (s *clustererServer) Step(ctx context.Context, req *pluginpb.ClusterStepRequest) (*pluginpb.Empty, error) {
	return &pluginpb.Empty{}, s.g.run("Step", func() error {
		var c tensorCodec
		g := c.decode("grad_centroids", req.GetGradCentroids())
		if c.err != nil {
			return badRequest(c.err)
		}
		return s.impl.Step(ctx, ClusterStepRequest{GradCentroids: g, Weight: req.GetWeight()})
	})
}

type lossServer struct {
	commonServer
	unimplementedLoss
	impl Loss
	g    *guard
}

func (s *lossServer) Eval(ctx context.Context, req *pluginpb.LossInput) (out *pluginpb.LossOutput, err error) {
	err = s.g.run("Eval", func() error {
		var c tensorCodec
		in := LossInput{
			X:         c.decode("x", req.GetX()),
			XHat:      c.decode("x_hat", req.GetXHat()),
			Z:         c.decode("z", req.GetZ()),
			Centroids: c.decode("centroids", req.GetCentroids()),
			Soft:      c.decode("soft", req.GetSoft()),
			Pairs:     int(req.GetPairs()),
		}
		if c.err != nil {
			return badRequest(c.err)
		}
		if in.Pairs < 0 || 2*in.Pairs > in.Z.Rows() {
			return badRequest(fmt.Errorf("%d neighbour pairs in a batch of %d rows", in.Pairs, in.Z.Rows()))
		}
		o, err := s.impl.Eval(ctx, in)
		if err != nil {
			return err
		}
		out = &pluginpb.LossOutput{Value: o.Value, GradZ: c.encode("grad_z", o.GradZ), GradXHat: c.encode("grad_x_hat", o.GradXHat), GradCentroids: c.encode("grad_centroids", o.GradCentroids)}
		return c.err
	})
	return out, err
}
