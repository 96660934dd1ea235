package model

import (
	"context"
	"fmt"

	"github.com/deepclust/deepclust/config"
	"github.com/deepclust/deepclust/dataset"
	"github.com/deepclust/deepclust/internal/lake"
	"github.com/deepclust/deepclust/pipeline"
	"github.com/deepclust/deepclust/sdk"
)

// OpenData opens the training input a data section describes: loaded into
// memory, or with d.Stream a Parquet/Arrow input read again on every pass
// (bounded memory). It also returns a description of the input for
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
	case d.Scale != dataset.ScaleNone:
		return nil, "", fmt.Errorf("data.stream reads the input in passes and cannot scale it: set data.scale to none")
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
// label, sample shape, scaling and row limit.
func LoadData(d config.DataSpec, path, format string) (*dataset.Dataset, error) {
	ds, err := dataset.Load(path, dataset.Options{
		Format: format, FeatureColumns: d.Features, LabelColumn: d.Label, SampleShape: d.Shape, Scale: d.Scale,
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
