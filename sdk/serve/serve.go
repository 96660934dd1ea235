package serve

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/deepclust/deepclust/sdk"
	"github.com/deepclust/deepclust/sdk/pluginpb"
)

// ProtocolVersion is the version of the deepclust plugin protocol this
// package speaks: go-plugin's application protocol version in the handshake.
// A host and a plugin of different versions refuse each other (see
// docs/protocol.md for the compatibility policy). Version 1 was the protocol
// before Field bounds and host-resolved configs.
const ProtocolVersion = 2

// Handshake is the go-plugin handshake shared by the host and every plugin:
// a plugin binary started without the magic cookie in its environment
// refuses to run, and the protocol versions must match.
var Handshake = plugin.HandshakeConfig{
	ProtocolVersion:  ProtocolVersion,
	MagicCookieKey:   "DEEPCLUST_PLUGIN",
	MagicCookieValue: "f4c1c3e2-deepclust-plugin-v1",
}

// MaxMessageSize is the largest gRPC message (in bytes) either side of the
// protocol sends or accepts, well above gRPC's 4 MiB default so that a whole
// data set's embeddings fit in one call.
const MaxMessageSize = 512 << 20

// Option adjusts how a plugin is served.
type Option func(*options)

type options struct {
	grpcOptions []grpc.ServerOption
	logger      hclog.Logger
	version     int
}

// WithGRPCServerOptions adds options (interceptors, for example) to the
// plugin's gRPC server.
func WithGRPCServerOptions(opts ...grpc.ServerOption) Option {
	return func(o *options) { o.grpcOptions = append(o.grpcOptions, opts...) }
}

// WithLogger sets the logger that go-plugin and the server adapters use. The
// default writes JSON lines to stderr, which the host parses and re-logs.
func WithLogger(l hclog.Logger) Option {
	return func(o *options) { o.logger = l }
}

// WithProtocolVersion makes the plugin claim another protocol version than
// ProtocolVersion. It exists to test that hosts refuse a mismatch.
func WithProtocolVersion(v int) Option {
	return func(o *options) { o.version = v }
}

// Encoder serves e over go-plugin's gRPC transport until the host closes
// it: the one call an encoder plugin's main function makes. See Loss.
func Encoder(e sdk.Encoder, opts ...Option) { run(e, sdk.KindEncoder, opts) }

// Clusterer serves c until the host closes it: the one call a clusterer
// plugin's main function makes. See Loss.
func Clusterer(c sdk.Clusterer, opts ...Option) { run(c, sdk.KindClusterer, opts) }

// Loss serves l over go-plugin's gRPC transport until the host closes it:
// the one call a loss plugin's main function makes,
//
//	func main() { serve.Loss(&center{}) }
//
// It makes the plugin's logger hclog's default (hclog.L()), so that the
// plugin's log lines reach the host's log with their levels. A plugin that
// describes itself badly or as another kind, a binary started by hand
// rather than by a deepclust host, or one started by a host of another
// protocol version prints why to stderr in one line and exits with status 1.
// A plugin whose host dies (its parent process changes) removes its socket
// directory and exits with status 1.
func Loss(l sdk.Loss, opts ...Option) { run(l, sdk.KindLoss, opts) }

// Plugin serves p, whose kind its Describe says, like Encoder, Clusterer or
// Loss: for hosts that serve plugins out of a registry of values.
func Plugin(p sdk.Describer, opts ...Option) { run(p, p.Describe().Kind, opts) }

func run(p sdk.Describer, kind sdk.Kind, opts []Option) {
	cfg, err := serveConfig(p, kind, opts...)
	if err == nil {
		err = checkHostVersion(os.Getenv("PLUGIN_PROTOCOL_VERSIONS"), int(cfg.ProtocolVersion))
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "deepclust plugin: %s\n", strings.Join(strings.Fields(err.Error()), " "))
		os.Exit(1)
	}
	hclog.SetDefault(cfg.Logger)
	stop := make(chan struct{})
	defer close(stop)
	go watchParent(os.Getppid(), os.Getppid, parentPoll, stop, hostGone)
	plugin.Serve(cfg)
}

// checkHostVersion refuses to serve a host that offers protocol versions
// (go-plugin's PLUGIN_PROTOCOL_VERSIONS, comma-separated) without ours. An
// empty list is a host that did not say, which go-plugin then checks.
func checkHostVersion(offered string, ours int) error {
	if offered == "" {
		return nil
	}
	var vs []int
	for _, f := range strings.Split(offered, ",") {
		v, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil {
			return fmt.Errorf("the host offers protocol versions %q, which do not parse", offered)
		}
		vs = append(vs, v)
	}
	if slices.Contains(vs, ours) {
		return nil
	}
	return fmt.Errorf("the host speaks deepclust plugin protocol %s, this plugin speaks %d; rebuild the plugin against the host's sdk", offered, ours)
}

func serveConfig(p sdk.Describer, kind sdk.Kind, opts ...Option) (*plugin.ServeConfig, error) {
	o := options{logger: hclog.New(&hclog.LoggerOptions{Output: os.Stderr, JSONFormat: true, Level: hclog.Debug}), version: ProtocolVersion}
	for _, opt := range opts {
		opt(&o)
	}
	if err := sdk.CheckPlugin(p); err != nil {
		return nil, err
	}
	d := p.Describe()
	if d.Kind != kind {
		return nil, fmt.Errorf("plugin %q describes itself as a %s, but is served as a %s", d.Name, d.Kind, kind)
	}
	register := func(s *grpc.Server) error { return registerServer(s, p, o.logger) }
	hs := Handshake
	hs.ProtocolVersion = uint(o.version)
	return &plugin.ServeConfig{
		HandshakeConfig: hs,
		Plugins:         plugin.PluginSet{string(d.Kind): &servedPlugin{register: register}},
		GRPCServer: func(base []grpc.ServerOption) *grpc.Server {
			all := append(base, grpc.MaxRecvMsgSize(MaxMessageSize), grpc.MaxSendMsgSize(MaxMessageSize))
			return grpc.NewServer(append(all, o.grpcOptions...)...)
		},
		Logger: o.logger,
	}, nil
}

// RegisterServer registers on s the gRPC service of p's kind, backed by p.
// Serve does this for a plugin binary; RegisterServer is for serving a
// plugin on a gRPC server of one's own (tests, embedding). Panics in p are
// logged with hclog's default logger and returned as INTERNAL errors.
func RegisterServer(s grpc.ServiceRegistrar, p sdk.Describer) error {
	if err := sdk.CheckPlugin(p); err != nil {
		return err
	}
	return registerServer(s, p, hclog.L())
}

func registerServer(s grpc.ServiceRegistrar, p sdk.Describer, log hclog.Logger) error {
	g := &guard{log: log}
	switch impl := p.(type) {
	case sdk.Encoder:
		pluginpb.RegisterEncoderServer(s, &encoderServer{commonServer: commonServer{impl, g}, stateServer: stateServer{impl, g}, impl: impl, g: g})
	case sdk.Clusterer:
		pluginpb.RegisterClustererServer(s, &clustererServer{commonServer: commonServer{impl, g}, stateServer: stateServer{impl, g}, impl: impl, g: g})
	case sdk.Loss:
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
		sdk.Describer
		Configure(context.Context, sdk.Setup) error
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
	impl sdk.Encoder
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
	err = s.g.run("sdk.Forward", func() error {
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
		br := sdk.BackwardRequest{GradZ: c.decode("grad_z", req.GetGradZ()), GradXHat: c.decode("grad_x_hat", req.GetGradXHat()), LearningRate: req.GetLearningRate()}
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
	impl sdk.Clusterer
	g    *guard
}

// assign runs one of Fit, Update and Assign.
func (s *clustererServer) assign(method string, req *pluginpb.Tensor, fn func(sdk.Tensor) (sdk.Assignment, error)) (out *pluginpb.Assignment, err error) {
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
		if a.Selection != nil {
			if out.KSelectionJson, err = json.Marshal(a.Selection); err != nil {
				return fmt.Errorf("encoding the k selection: %w", err)
			}
		}
		if len(a.Params) > 0 {
			if out.ParamSelectionsJson, err = json.Marshal(a.Params); err != nil {
				return fmt.Errorf("encoding the param selections: %w", err)
			}
		}
		return c.err
	})
	return out, err
}

func (s *clustererServer) Fit(ctx context.Context, req *pluginpb.Tensor) (*pluginpb.Assignment, error) {
	return s.assign("Fit", req, func(z sdk.Tensor) (sdk.Assignment, error) { return s.impl.Fit(ctx, z) })
}

func (s *clustererServer) Update(ctx context.Context, req *pluginpb.Tensor) (*pluginpb.Assignment, error) {
	return s.assign("Update", req, func(z sdk.Tensor) (sdk.Assignment, error) { return s.impl.Update(ctx, z) })
}

func (s *clustererServer) Assign(ctx context.Context, req *pluginpb.Tensor) (*pluginpb.Assignment, error) {
	return s.assign("Assign", req, func(z sdk.Tensor) (sdk.Assignment, error) { return s.impl.Assign(ctx, z) })
}

func (s *clustererServer) Loss(ctx context.Context, req *pluginpb.ClusterLossRequest) (out *pluginpb.ClusterLossResponse, err error) {
	err = s.g.run("sdk.Loss", func() error {
		var c tensorCodec
		z := c.decode("z", req.GetZ())
		if c.err != nil {
			return badRequest(c.err)
		}
		l, err := s.impl.Loss(ctx, sdk.ClusterLossRequest{Z: z, Indices: req.GetIndices(), Train: req.GetTrain()})
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
		return s.impl.Step(ctx, sdk.ClusterStepRequest{GradCentroids: g, Weight: req.GetWeight()})
	})
}

type lossServer struct {
	commonServer
	unimplementedLoss
	impl sdk.Loss
	g    *guard
}

func (s *lossServer) Eval(ctx context.Context, req *pluginpb.LossInput) (out *pluginpb.LossOutput, err error) {
	err = s.g.run("Eval", func() error {
		var c tensorCodec
		in := sdk.LossInput{
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
