package model

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/deepclust/deepclust/pipeline"
	"github.com/deepclust/deepclust/sdk"
)

// Prediction is what Predict gives for a batch of samples.
type Prediction struct {
	// Labels is the cluster of every sample.
	Labels []int32
	// Z holds the last stage's embeddings, N × EmbeddingDim.
	Z sdk.Tensor
	// Soft holds the clusterer's soft assignments (N × k) when it gives
	// them (dec, gmm), else it is empty.
	Soft sdk.Tensor
}

// Predict runs the samples x (N × InputShape) through every stage's
// encoder and assigns them with the last stage's clusterer, changing
// nothing in the model.
func (m *Model) Predict(ctx context.Context, x sdk.Tensor) (*Prediction, error) {
	if !m.fitted {
		return nil, errors.New("model: Predict before Fit or Load")
	}
	if shape := x.Shape[1:]; !slices.Equal(shape, m.InputShape()) {
		return nil, fmt.Errorf("samples of shape %v, but the model was trained on shape %v", shape, m.InputShape())
	}
	z := x
	if m.scaler != nil {
		z = sdk.Tensor{Shape: x.Shape, Data: append([]float32(nil), x.Data...)}
		if err := m.scaler.Apply(z); err != nil {
			return nil, err
		}
	}
	for _, s := range m.stages {
		var err error
		if z, err = pipeline.Embed(ctx, s.model.Encoder, z, 1024); err != nil {
			return nil, fmt.Errorf("stage %s: %w", s.spec.Name, err)
		}
	}
	last := m.stages[len(m.stages)-1]
	a, err := last.model.Clusterer.Assign(ctx, z)
	if err != nil {
		return nil, fmt.Errorf("clusterer Assign: %w", err)
	}
	if len(a.Labels) != z.Rows() {
		return nil, fmt.Errorf("clusterer Assign: %d labels for %d rows", len(a.Labels), z.Rows())
	}
	return &Prediction{Labels: a.Labels, Z: z, Soft: a.Soft}, nil
}

// Centroids returns the last stage's cluster centres (k × EmbeddingDim),
// asked of the clusterer through the loss of an empty batch, which changes
// nothing; a clusterer without centres gives an error.
func (m *Model) Centroids(ctx context.Context) (sdk.Tensor, error) {
	if !m.fitted {
		return sdk.Tensor{}, errors.New("model: Centroids before Fit or Load")
	}
	last := m.stages[len(m.stages)-1]
	name := last.spec.Clusterer.Label()
	l, err := last.model.Clusterer.Loss(ctx, sdk.ClusterLossRequest{Z: sdk.NewTensor(0, last.dim), Indices: []int64{}})
	if err != nil {
		return sdk.Tensor{}, fmt.Errorf("asking clusterer %q for its centroids: %w", name, err)
	}
	if l.Centroids.Empty() || l.Centroids.Cols() != last.dim {
		return sdk.Tensor{}, fmt.Errorf("clusterer %q has no centroids of width %d (got shape %v)", name, last.dim, l.Centroids.Shape)
	}
	return l.Centroids, nil
}
