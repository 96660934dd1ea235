package sdktest

import (
	"context"
	"testing"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/deepclust/deepclust/sdk"
	"github.com/deepclust/deepclust/sdk/conformance"
	"github.com/deepclust/deepclust/sdk/serve"
)

// EncoderOptions set up the encoder checks.
type EncoderOptions struct {
	// InputShape is the shape of one sample, e.g. [784]; required.
	InputShape []int
	// Config is the raw config to resolve; nil for the defaults.
	Config map[string]any
	// Batch is the number of rows per Forward; 8 when 0.
	Batch int
	// NoParameters says the encoder has no trainable parameters, so that
	// Backward is not expected to change its output.
	NoParameters bool
	// Seed is passed in Setup.
	Seed uint64
}

// ClustererOptions set up the clusterer checks.
type ClustererOptions struct {
	// EmbeddingDim is the width of z; 4 when 0.
	EmbeddingDim int
	// Rows is the number of embeddings to Fit; 64 when 0.
	Rows int
	// Batch is the number of rows of a Loss; 8 when 0.
	Batch int
	// Config is the raw config to resolve; nil for the defaults.
	Config map[string]any
	// Seed is passed in Setup.
	Seed uint64
}

// LossOptions set up the loss checks.
type LossOptions struct {
	// EmbeddingDim is the width of z; 4 when 0.
	EmbeddingDim int
	// InputShape, when set, adds x and x̂ of that sample shape to the input.
	InputShape []int
	// Clusters, when > 0, adds centroids (Clusters × EmbeddingDim) and soft
	// assignments (Batch × Clusters) to the input.
	Clusters int
	// Pairs, when > 0, makes the batch neighbour pairs (rows [0, Pairs) are
	// anchors, row Pairs+i a neighbour of anchor i), for losses that need
	// them.
	Pairs int
	// Batch is the number of rows; 8 when 0.
	Batch int
	// Config is the raw config to resolve; nil for the defaults.
	Config map[string]any
	// Seed is passed in Setup.
	Seed uint64
}

// report turns results into subtests: a failed check fails its subtest
// with the reason, a skipped one is skipped.
func report(t *testing.T, rs []conformance.Result) {
	t.Helper()
	for _, r := range rs {
		t.Run(r.Name, func(t *testing.T) {
			switch {
			case r.Skipped:
				t.Skip("not run: an earlier check it needs failed")
			case r.Err != nil:
				t.Error(r.Err)
			}
		})
	}
}

// both runs check on instances made directly and on instances served
// through the protocol (gRPC and Arrow bytes).
func both[T sdk.Describer](t *testing.T, kind sdk.Kind, newT func() T, check func(t *testing.T, newP func() (T, error))) {
	t.Helper()
	t.Run("direct", func(t *testing.T) { check(t, func() (T, error) { return newT(), nil }) })
	t.Run("protocol", func(t *testing.T) {
		check(t, func() (T, error) {
			var zero T
			p := newT()
			var regErr error
			conn, srv := plugin.TestGRPCConn(t, func(s *grpc.Server) { regErr = serve.RegisterServer(s, p) })
			t.Cleanup(func() { _ = conn.Close(); srv.Stop() })
			if regErr != nil {
				return zero, regErr
			}
			c, err := serve.NewClient(context.Background(), conn, kind)
			if err != nil {
				return zero, err
			}
			return c.(T), nil
		})
	})
}

// Encoder checks an encoder, directly and through the protocol, with
// conformance.Encoder: a well-formed Describe whose defaults resolve,
// Configure, EmbeddingDim > 0, Forward shapes and finiteness, Backward
// accepting gradients and descending (it must change the output unless
// NoParameters), Save/Load giving identical Forward output, and identical
// output from two instances with the same seed. Each check is a subtest.
func Encoder(t *testing.T, newEnc func() sdk.Encoder, opts EncoderOptions) {
	t.Helper()
	if len(opts.InputShape) == 0 {
		t.Fatal("sdktest.Encoder: EncoderOptions.InputShape is required")
	}
	o := conformance.Options{InputShape: opts.InputShape, Batch: opts.Batch, NoParameters: opts.NoParameters, Config: opts.Config, Seed: opts.Seed}
	both(t, sdk.KindEncoder, newEnc, func(t *testing.T, newP func() (sdk.Encoder, error)) {
		report(t, conformance.Encoder(context.Background(), newP, o))
	})
}

// Clusterer checks a clusterer, directly and through the protocol, with
// conformance.Clusterer: a well-formed Describe, Configure, Fit, Update and
// Assign labelling every row in range, Loss with a finite value and ∂L_c/∂z
// shaped like z and matching finite differences, Step with centroid
// gradients, Save/Load giving identical assignments, and identical results
// from two instances with the same seed. Each check is a subtest.
func Clusterer(t *testing.T, newClu func() sdk.Clusterer, opts ClustererOptions) {
	t.Helper()
	o := conformance.Options{EmbeddingDim: opts.EmbeddingDim, Rows: opts.Rows, Batch: opts.Batch, Config: opts.Config, Seed: opts.Seed}
	both(t, sdk.KindClusterer, newClu, func(t *testing.T, newP func() (sdk.Clusterer, error)) {
		report(t, conformance.Clusterer(context.Background(), newP, o))
	})
}

// Loss checks an auxiliary loss, directly and through the protocol, with
// conformance.Loss: a well-formed Describe, Configure, Eval returning a
// finite value and gradients that are absent or shaped like their inputs,
// ∂L/∂z, ∂L/∂x̂ and ∂L/∂μ that match central finite differences, and
// identical results from two instances. Each check is a subtest.
func Loss(t *testing.T, newLoss func() sdk.Loss, opts LossOptions) {
	t.Helper()
	o := conformance.Options{EmbeddingDim: opts.EmbeddingDim, InputShape: opts.InputShape, Clusters: opts.Clusters, Pairs: opts.Pairs, Batch: opts.Batch, Config: opts.Config, Seed: opts.Seed}
	both(t, sdk.KindLoss, newLoss, func(t *testing.T, newP func() (sdk.Loss, error)) {
		report(t, conformance.Loss(context.Background(), newP, o))
	})
}
