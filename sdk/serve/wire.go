package serve

import (
	"encoding/json"
	"fmt"

	"github.com/deepclust/deepclust/sdk"
	"github.com/deepclust/deepclust/sdk/pluginpb"
)

// Conversions between sdk types and their pluginpb messages, shared by the
// server adapters (serve.go) and the client adapters (client.go).

func descriptionToPB(d sdk.Description) (*pluginpb.Description, error) {
	out := &pluginpb.Description{Name: d.Name, Kind: string(d.Kind), Version: d.Version, Doc: d.Doc}
	for _, f := range d.Fields {
		def, err := json.Marshal(f.Default)
		if err != nil {
			return nil, fmt.Errorf("field %q: encoding default %v: %w", f.Name, f.Default, err)
		}
		out.Fields = append(out.Fields, &pluginpb.Field{Name: f.Name, Type: string(f.Type), DefaultJson: def, Doc: f.Doc, Enum: f.Enum, Min: f.Min, Max: f.Max, Required: f.Required})
	}
	return out, nil
}

func descriptionFromPB(pb *pluginpb.Description) (sdk.Description, error) {
	d := sdk.Description{Name: pb.GetName(), Kind: sdk.Kind(pb.GetKind()), Version: pb.GetVersion(), Doc: pb.GetDoc()}
	for _, f := range pb.GetFields() {
		var def any
		if len(f.GetDefaultJson()) > 0 || !f.GetRequired() {
			if err := json.Unmarshal(f.GetDefaultJson(), &def); err != nil {
				return sdk.Description{}, fmt.Errorf("field %q: decoding default %q: %w", f.GetName(), f.GetDefaultJson(), err)
			}
		}
		d.Fields = append(d.Fields, sdk.Field{Name: f.GetName(), Type: sdk.FieldType(f.GetType()), Default: def, Doc: f.GetDoc(), Enum: f.GetEnum(),
			Min: f.Min, Max: f.Max, Required: f.GetRequired()})
	}
	return d, nil
}

func setupToPB(s sdk.Setup) (*pluginpb.ConfigureRequest, error) {
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

// setupFromPB decodes a ConfigureRequest. Its config was resolved by the
// host, so every field must be there; decoding only gives the JSON values
// their Go types (numbers to int or float64, arrays to slices).
func setupFromPB(d sdk.Description, req *pluginpb.ConfigureRequest) (sdk.Setup, error) {
	raw := map[string]any{}
	if len(req.GetConfigJson()) > 0 {
		if err := json.Unmarshal(req.GetConfigJson(), &raw); err != nil {
			return sdk.Setup{}, fmt.Errorf("decoding config JSON: %w", err)
		}
	}
	for _, f := range d.Fields {
		if _, ok := raw[f.Name]; !ok {
			return sdk.Setup{}, fmt.Errorf("config_json lacks field %q: the host must send the config resolved (deepclust plugin protocol %d)", f.Name, ProtocolVersion)
		}
	}
	cfg, err := sdk.ResolveConfig(d, raw)
	if err != nil {
		return sdk.Setup{}, err
	}
	shape := make([]int, len(req.GetInputShape()))
	for i, s := range req.GetInputShape() {
		shape[i] = int(s)
	}
	return sdk.Setup{Config: cfg, InputShape: shape, EmbeddingDim: int(req.GetEmbeddingDim()), Seed: req.GetSeed()}, nil
}

// tensorCodec encodes and decodes the tensor fields of one message,
// keeping the first error, which names the field.
type tensorCodec struct{ err error }

// encode returns t as Arrow IPC stream bytes for the field name.
func (c *tensorCodec) encode(name string, t sdk.Tensor) []byte {
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
func (c *tensorCodec) decode(name string, b []byte) sdk.Tensor {
	if c.err != nil {
		return sdk.Tensor{}
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
