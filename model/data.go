package model

import (
	"context"
	"fmt"
	"math/rand/v2"

	"github.com/deepclust/deepclust/config"
	"github.com/deepclust/deepclust/dataset"
	"github.com/deepclust/deepclust/internal/lake"
	"github.com/deepclust/deepclust/pipeline"
	"github.com/deepclust/deepclust/sdk"
)

// ScaleKind is the scaling a model trained on the data d applies to its
// input: d.Scale, with auto resolved to standard for csv, arrow and
// parquet tables and to none for idx images (and the built-in MNIST),
// whose pixels are already in [0, 1].
func ScaleKind(d config.DataSpec) (string, error) {
	if d.Scale != "auto" {
		return d.Scale, nil
	}
	format, err := dataset.DetectFormat(d.Path, d.Format)
	if err != nil {
		return "", err
	}
	if format == dataset.FormatIDX {
		return dataset.ScaleNone, nil
	}
	return dataset.ScaleStandard, nil
}

// fitScaler fits a scaler of the given kind on every sample of src (one
// pass in row order); none gives nil.
func fitScaler(ctx context.Context, kind string, src pipeline.Source) (*dataset.Scaler, error) {
	if kind == dataset.ScaleNone {
		return nil, nil
	}
	f, err := dataset.NewScalerFit(kind)
	if err != nil {
		return nil, err
	}
	if err := src.InOrder(ctx, 4096, func(_ int, x sdk.Tensor) error { return f.Add(x) }); err != nil {
		return nil, fmt.Errorf("fitting the %s scaling: %w", kind, err)
	}
	return f.Scaler()
}

// scaled returns src with s applied to every sample: a scaled copy for
// samples in memory, a source that scales each batch for a stream.
func scaled(src pipeline.Source, s *dataset.Scaler) (pipeline.Source, error) {
	if s == nil {
		return src, nil
	}
	if d, ok := src.(pipeline.Data); ok {
		x := sdk.Tensor{Shape: d.X.Shape, Data: append([]float32(nil), d.X.Data...)}
		if err := s.Apply(x); err != nil {
			return nil, err
		}
		return pipeline.Data{X: x, Labels: d.Labels}, nil
	}
	return &scaledSource{Source: src, s: s}, nil
}

// scaledSource scales the batches of a streamed source.
type scaledSource struct {
	pipeline.Source
	s   *dataset.Scaler
	buf []float32
}

func (s *scaledSource) scale(x sdk.Tensor) (sdk.Tensor, error) {
	s.buf = append(s.buf[:0], x.Data...)
	y := sdk.Tensor{Shape: x.Shape, Data: s.buf}
	return y, s.s.Apply(y)
}

// Shuffled implements pipeline.Source.
func (s *scaledSource) Shuffled(ctx context.Context, size int, rng *rand.Rand, fn func(x sdk.Tensor, idx []int64) error) error {
	return s.Source.Shuffled(ctx, size, rng, func(x sdk.Tensor, idx []int64) error {
		y, err := s.scale(x)
		if err != nil {
			return err
		}
		return fn(y, idx)
	})
}

// InOrder implements pipeline.Source.
func (s *scaledSource) InOrder(ctx context.Context, size int, fn func(lo int, x sdk.Tensor) error) error {
	return s.Source.InOrder(ctx, size, func(lo int, x sdk.Tensor) error {
		y, err := s.scale(x)
		if err != nil {
			return err
		}
		return fn(lo, y)
	})
}

// OpenData opens the training input a data section describes: loaded into
// memory, or with d.Stream a Parquet/Arrow input read again on every pass
// (bounded memory). Its samples are not scaled: Fit scales them. It also returns a description of the input for
// messages and metrics.
func OpenData(ctx context.Context, d config.DataSpec) (pipeline.Source, string, error) {
	if !d.Stream {
		if d.Nulls != lake.NullsError {
			return nil, "", fmt.Errorf("data.nulls %q needs data.stream: a loaded input treats nulls as errors", d.Nulls)
		}
		data, err := LoadData(d, d.Path, d.Format)
		if err != nil {
			return nil, "", err
		}
		return pipeline.Data{X: data.X, Labels: data.Labels}, data.Source, nil
	}
	switch {
	case d.Path == "" || d.Path == lake.Stdin || !lake.Streams(d.Path, d.Format):
		return nil, "", fmt.Errorf("data.stream needs a Parquet or Arrow file or directory in data.path, got %q", d.Path)
	case d.Limit != 0:
		return nil, "", fmt.Errorf("data.stream reads the whole input: set data.limit to 0")
	}
	s, err := lake.OpenStream(ctx, d.Path, lake.Options{
		Format: d.Format, Features: d.Features, Label: d.Label, SampleShape: d.Shape, Nulls: d.Nulls,
	}, d.ShuffleRows)
	if err != nil {
		return nil, "", err
	}
	return s, d.Path + " (streamed)", nil
}

// LoadData loads, whole, the input at path (in the given format, "auto"
// for the extension's) as the data section d describes it: its features,
// label, sample shape and row limit. It does not scale the samples: a
// Model scales its input itself (see ScaleKind).
func LoadData(d config.DataSpec, path, format string) (*dataset.Dataset, error) {
	ds, err := dataset.Load(path, dataset.Options{
		Format: format, FeatureColumns: d.Features, LabelColumn: d.Label, SampleShape: d.Shape,
	})
	if err != nil {
		return nil, err
	}
	if d.Limit > 0 && d.Limit < ds.X.Rows() {
		ds.X = sdk.Tensor{Shape: append([]int{d.Limit}, ds.X.Shape[1:]...), Data: ds.X.Data[:d.Limit*ds.X.Cols()]}
		if ds.Labels != nil {
			ds.Labels = ds.Labels[:d.Limit]
		}
	}
	return ds, nil
}
