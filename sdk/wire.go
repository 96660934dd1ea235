package sdk

import (
	"encoding/json"
	"fmt"

	"github.com/deepclust/deepclust/sdk/pluginpb"
)

// Conversions between sdk types and their pluginpb messages, shared by the
// server adapters (serve.go) and the client adapters (client.go).

func descriptionToPB(d Description) (*pluginpb.Description, error) {
	out := &pluginpb.Description{Name: d.Name, Kind: string(d.Kind), Version: d.Version, Doc: d.Doc}
	for _, f := range d.Fields {
		def, err := json.Marshal(f.Default)
		if err != nil {
			return nil, fmt.Errorf("field %q: encoding default %v: %w", f.Name, f.Default, err)
		}
		out.Fields = append(out.Fields, &pluginpb.Field{Name: f.Name, Type: string(f.Type), DefaultJson: def, Doc: f.Doc, Enum: f.Enum})
	}
	return out, nil
}

func descriptionFromPB(pb *pluginpb.Description) (Description, error) {
	d := Description{Name: pb.GetName(), Kind: Kind(pb.GetKind()), Version: pb.GetVersion(), Doc: pb.GetDoc()}
	for _, f := range pb.GetFields() {
		var def any
		if err := json.Unmarshal(f.GetDefaultJson(), &def); err != nil {
			return Description{}, fmt.Errorf("field %q: decoding default %q: %w", f.GetName(), f.GetDefaultJson(), err)
		}
		d.Fields = append(d.Fields, Field{Name: f.GetName(), Type: FieldType(f.GetType()), Default: def, Doc: f.GetDoc(), Enum: f.GetEnum()})
	}
	return d, nil
}

func setupToPB(s Setup) (*pluginpb.ConfigureRequest, error) {
	cfg, err := json.Marshal(map[string]any(s.Config))
	if err != nil {
		return nil, fmt.Errorf("encoding config as JSON: %w", err)
	}
	shape := make([]int64, len(s.InputShape))
	for i, d := range s.InputShape {
		shape[i] = int64(d)
	}
	return &pluginpb.ConfigureRequest{ConfigJson: cfg, InputShape: shape, EmbeddingDim: int64(s.EmbeddingDim), Seed: s.Seed}, nil
}

// setupFromPB decodes a ConfigureRequest and resolves its config against d.
func setupFromPB(d Description, req *pluginpb.ConfigureRequest) (Setup, error) {
	raw := map[string]any{}
	if len(req.GetConfigJson()) > 0 {
		if err := json.Unmarshal(req.GetConfigJson(), &raw); err != nil {
			return Setup{}, fmt.Errorf("decoding config JSON: %w", err)
		}
	}
	cfg, err := ResolveConfig(d, raw)
	if err != nil {
		return Setup{}, err
	}
	shape := make([]int, len(req.GetInputShape()))
	for i, s := range req.GetInputShape() {
		shape[i] = int(s)
	}
	return Setup{Config: cfg, InputShape: shape, EmbeddingDim: int(req.GetEmbeddingDim()), Seed: req.GetSeed()}, nil
}

// tensorCodec encodes and decodes the tensor fields of one message,
// keeping the first error, which names the field.
type tensorCodec struct{ err error }

// encode returns t as Arrow IPC stream bytes for the field name.
func (c *tensorCodec) encode(name string, t Tensor) []byte {
	if c.err != nil {
		return nil
	}
	b, err := EncodeTensor(t)
	if err != nil {
		c.err = fmt.Errorf("%s: %w", name, err)
	}
	return b
}

// decode decodes and validates (shape and finiteness) the field name.
func (c *tensorCodec) decode(name string, b []byte) Tensor {
	if c.err != nil {
		return Tensor{}
	}
	t, err := DecodeTensor(b)
	if err == nil {
		err = t.Validate()
	}
	if err != nil {
		c.err = fmt.Errorf("%s: %w", name, err)
	}
	return t
}
