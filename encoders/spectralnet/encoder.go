package spectralnet

import (
	"context"
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"

	"github.com/deepclust/deepclust/encoders/mlp"
	"github.com/deepclust/deepclust/internal/kernels"
	"github.com/deepclust/deepclust/sdk"
)

// Encoder is the SpectralNet map. It is not safe for concurrent use.
type Encoder struct {
	k    int
	tanh bool
	full bool // gradient also through M's dependence on the batch
	// net holds the layers d → hidden → k and their optimiser; its
	// decoder half is never trained (Backward sends no ∂L/∂x̂).
	net *mlp.Encoder
	// ortho is the orthonormalisation matrix M = √m·L⁻ᵀ (k×k, row-major)
	// of the last training batch, the identity before the first one;
	// ortho32 is its float32 copy used in products.
	ortho   []float64
	ortho32 []float32
	train   trainCache
}

// trainCache keeps what Backward needs from the last training Forward;
// buffers grow to the largest batch seen and are reused.
type trainCache struct {
	rows   int       // rows of the pending batch; 0 when none is pending
	act    []float32 // Ỹ, the k-wide layer after its activation, m×k
	y      []float32 // Y = Ỹ·M, m×k
	grad   []float32 // ∂L/∂(pre-activation of Ỹ), m×k
	adj    []float32 // full: Ȳ − (1/m)·Y·sym(ȲᵀY), m×k
	yty    []float32 // full: sym(ȲᵀY), k×k
	yShape []int
	// epsilon is added to the diagonal of ỸᵀỸ before the factorisation.
	epsilon float64
	gram    *mat.SymDense
	chol    mat.Cholesky
	lower   mat.TriDense
}

// New returns an unconfigured SpectralNet encoder.
func New() *Encoder { return &Encoder{} }

// Describe returns the plugin's name, kind, version and config fields.
func (e *Encoder) Describe() sdk.Description { return description }

// Configure validates the config, builds the network for samples of
// s.InputShape and initialises its weights from s.Seed.
func (e *Encoder) Configure(ctx context.Context, s sdk.Setup) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c, err := parseConfig(s.Config)
	if err != nil {
		return err
	}
	net := mlp.New()
	if err := net.Configure(ctx, sdk.Setup{Config: netConfig(c), InputShape: s.InputShape, Seed: s.Seed}); err != nil {
		return fmt.Errorf("encoder \"spectralnet\": %w", err)
	}
	k := c.Int("k")
	*e = Encoder{k: k, tanh: c.String("output") == OutputTanh, full: c.String("ortho_grad") == GradFull, net: net}
	e.train.epsilon = c.Float("ortho_epsilon")
	e.setOrtho(identity(k))
	return nil
}

func identity(k int) []float64 {
	m := make([]float64, k*k)
	for i := range k {
		m[i*k+i] = 1
	}
	return m
}

// setOrtho stores the orthonormalisation matrix m (k×k).
func (e *Encoder) setOrtho(m []float64) {
	e.ortho = m
	e.ortho32 = make([]float32, len(m))
	for i, v := range m {
		e.ortho32[i] = float32(v)
	}
}

// EmbeddingDim returns k, the width of Y.
func (e *Encoder) EmbeddingDim(ctx context.Context) (int, error) {
	if e.net == nil {
		return 0, fmt.Errorf("encoder \"spectralnet\": EmbeddingDim before Configure")
	}
	return e.k, ctx.Err()
}

// Forward maps x to Y. With train set it computes the orthonormalisation
// matrix of this batch, M = √m·L⁻ᵀ with LLᵀ = ỸᵀỸ (so YᵀY = m·I), keeps it
// for later evaluation Forwards and for Backward, and returns a Y owned by
// the encoder, valid until the next training Forward. Otherwise Y = Ỹ·M
// with the M of the last training batch (the identity before any), in a
// fresh tensor. The batch must have at least k rows in training.
func (e *Encoder) Forward(ctx context.Context, x sdk.Tensor, train bool) (sdk.Forward, error) {
	if e.net == nil {
		return sdk.Forward{}, fmt.Errorf("encoder \"spectralnet\": Forward before Configure")
	}
	if train {
		return e.forwardTrain(ctx, x)
	}
	f, err := e.net.Forward(ctx, x, false)
	if err != nil {
		return sdk.Forward{}, fmt.Errorf("encoder \"spectralnet\": %w", err)
	}
	n := f.Z.Rows()
	e.activate(f.Z.Data, f.Z.Data)
	y := sdk.NewTensor(n, e.k)
	kernels.Gemm(false, false, n, e.k, e.k, 1, f.Z.Data, e.k, e.ortho32, e.k, 0, y.Data, e.k)
	return sdk.Forward{Z: y}, nil
}

// activate writes the output activation of z into dst (which may alias z).
func (e *Encoder) activate(dst, z []float32) {
	if !e.tanh {
		copy(dst, z)
		return
	}
	for i, v := range z {
		dst[i] = float32(math.Tanh(float64(v)))
	}
}

func (e *Encoder) forwardTrain(ctx context.Context, x sdk.Tensor) (sdk.Forward, error) {
	if n := x.Rows(); n < e.k {
		return sdk.Forward{}, fmt.Errorf("encoder \"spectralnet\": training batch of %d rows, want at least k = %d for the orthonormalisation", n, e.k)
	}
	f, err := e.net.Forward(ctx, x, true)
	if err != nil {
		return sdk.Forward{}, fmt.Errorf("encoder \"spectralnet\": %w", err)
	}
	t, m, k := &e.train, f.Z.Rows(), e.k
	if cap(t.act) < m*k {
		t.act, t.y, t.grad, t.adj = make([]float32, m*k), make([]float32, m*k), make([]float32, m*k), make([]float32, m*k)
	}
	act, y := t.act[:m*k], t.y[:m*k]
	e.activate(act, f.Z.Data)
	ortho, err := t.orthonormaliser(act, m, k)
	if err != nil {
		return sdk.Forward{}, err
	}
	e.setOrtho(ortho)
	kernels.Gemm(false, false, m, k, k, 1, act, k, e.ortho32, k, 0, y, k)
	t.rows = m
	t.yShape = append(t.yShape[:0], m, k)
	return sdk.Forward{Z: sdk.Tensor{Shape: t.yShape, Data: y}}, nil
}

// orthonormaliser returns M = √m·L⁻ᵀ (k×k, row-major) for the m×k batch
// a, where L is the Cholesky factor of aᵀa + εI, accumulated in float64.
func (t *trainCache) orthonormaliser(a []float32, m, k int) ([]float64, error) {
	if t.gram == nil || t.gram.SymmetricDim() != k {
		t.gram = mat.NewSymDense(k, nil)
		t.lower = mat.TriDense{}
	}
	for i := range k {
		for j := i; j < k; j++ {
			var s float64
			for r := range m {
				s += float64(a[r*k+i]) * float64(a[r*k+j])
			}
			if i == j {
				s += t.epsilon
			}
			t.gram.SetSym(i, j, s)
		}
	}
	if !t.chol.Factorize(t.gram) {
		return nil, fmt.Errorf("encoder \"spectralnet\": the batch output ỸᵀỸ (%d rows, k = %d) is not positive definite: its columns are linearly dependent (ortho_epsilon %g)", m, k, t.epsilon)
	}
	t.chol.LTo(&t.lower)
	var inv mat.TriDense
	if err := inv.InverseTri(&t.lower); err != nil {
		return nil, fmt.Errorf("encoder \"spectralnet\": inverting the Cholesky factor of ỸᵀỸ: %w", err)
	}
	scale := math.Sqrt(float64(m))
	out := make([]float64, k*k)
	for i := range k {
		for j := range k {
			out[i*k+j] = scale * inv.At(j, i) // (L⁻¹)ᵀ
		}
	}
	return out, nil
}

// Backward backpropagates Ȳ = ∂L/∂Y of the last training Forward through
// the orthonormalisation, the output activation and the network, and takes
// one optimiser step. With ortho_grad fixed, M is held fixed as a linear
// layer's weights: ∂L/∂Ỹ = Ȳ·Mᵀ. With full, M = M(Ỹ) is differentiated
// too (the QR backward rule, Y/√m = Ỹ·R⁻¹ being the QR factorisation of Ỹ
// with R = Lᵀ): ∂L/∂Ỹ = (Ȳ − (1/m)·Y·sym(ȲᵀY))·Mᵀ, where sym(A) copies the
// lower triangle of A onto the upper one. A request without GradZ changes nothing; GradXHat is an
// error, since the encoder does not reconstruct.
func (e *Encoder) Backward(ctx context.Context, req sdk.BackwardRequest) error {
	if e.net == nil {
		return fmt.Errorf("encoder \"spectralnet\": Backward before Configure")
	}
	t := &e.train
	m, k := t.rows, e.k
	switch {
	case m == 0:
		return fmt.Errorf("encoder \"spectralnet\": Backward without a pending training Forward")
	case !req.GradXHat.Empty():
		return fmt.Errorf("encoder \"spectralnet\": GradXHat given, but the encoder does not reconstruct")
	case !req.GradZ.Empty() && (len(req.GradZ.Shape) != 2 || req.GradZ.Shape[0] != m || req.GradZ.Shape[1] != k || len(req.GradZ.Data) != m*k):
		return fmt.Errorf("encoder \"spectralnet\": GradZ shape %v with %d values, want [%d %d]", req.GradZ.Shape, len(req.GradZ.Data), m, k)
	}
	t.rows = 0
	inner := sdk.BackwardRequest{LearningRate: req.LearningRate}
	if !req.GradZ.Empty() {
		g, gy := t.grad[:m*k], req.GradZ.Data
		if e.full {
			gy = t.fullAdjoint(gy, m, k)
		}
		kernels.Gemm(false, true, m, k, k, 1, gy, k, e.ortho32, k, 0, g, k)
		if e.tanh {
			for i, a := range t.act[:m*k] {
				g[i] *= 1 - a*a
			}
		}
		inner.GradZ = sdk.Tensor{Shape: t.yShape, Data: g}
	}
	if err := e.net.Backward(ctx, inner); err != nil {
		return fmt.Errorf("encoder \"spectralnet\": %w", err)
	}
	return nil
}

// fullAdjoint returns Ȳ − (1/m)·Y·sym(ȲᵀY) for the pending batch's Y and
// the m×k gradient gy, where sym(A) = tril(A) + tril(A, −1)ᵀ.
func (t *trainCache) fullAdjoint(gy []float32, m, k int) []float32 {
	if len(t.yty) != k*k {
		t.yty = make([]float32, k*k)
	}
	y := t.y[:m*k]
	kernels.Gemm(true, false, k, k, m, 1, gy, k, y, k, 0, t.yty, k)
	for i := range k {
		for j := i + 1; j < k; j++ {
			t.yty[i*k+j] = t.yty[j*k+i]
		}
	}
	adj := t.adj[:m*k]
	copy(adj, gy)
	kernels.Gemm(false, false, m, k, k, -1/float32(m), y, k, t.yty, k, 1, adj, k)
	return adj
}
