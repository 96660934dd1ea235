package config

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/deepclust/deepclust/sdk"
)

// Entry is one key of an emitted config: dotted name, value and comment.
type Entry struct {
	Key   string
	Value any
	Doc   string
}

// Emit writes entries as YAML, nesting dotted keys into sections and
// putting each Doc in a comment above its key. Entries of one section must
// be adjacent. Values use YAML's flow style, which JSON-like readers accept.
func Emit(w io.Writer, entries []Entry) error {
	var open []string
	for _, e := range entries {
		parts := strings.Split(e.Key, ".")
		common := 0
		for common < len(open) && common < len(parts)-1 && open[common] == parts[common] {
			common++
		}
		open = open[:common]
		for _, p := range parts[common : len(parts)-1] {
			if _, err := fmt.Fprintf(w, "%s%s:\n", indent(len(open)), p); err != nil {
				return err
			}
			open = append(open, p)
		}
		if e.Doc != "" {
			if _, err := fmt.Fprintf(w, "%s# %s\n", indent(len(open)), e.Doc); err != nil {
				return err
			}
		}
		if _, err := fmt.Fprintf(w, "%s%s: %s\n", indent(len(open)), parts[len(parts)-1], yamlValue(e.Value)); err != nil {
			return err
		}
	}
	return nil
}

func indent(depth int) string { return strings.Repeat("  ", depth) }

func yamlValue(v any) string {
	switch x := v.(type) {
	case string:
		return strconv.Quote(x)
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	case []int:
		s := make([]string, len(x))
		for i, e := range x {
			s[i] = strconv.Itoa(e)
		}
		return "[" + strings.Join(s, ", ") + "]"
	case []float64:
		s := make([]string, len(x))
		for i, e := range x {
			s[i] = strconv.FormatFloat(e, 'g', -1, 64)
		}
		return "[" + strings.Join(s, ", ") + "]"
	case []string:
		s := make([]string, len(x))
		for i, e := range x {
			s[i] = strconv.Quote(e)
		}
		return "[" + strings.Join(s, ", ") + "]"
	}
	return fmt.Sprint(v)
}

// writeLoss writes one item of the losses list.
func writeLoss(w io.Writer, l LossSpec, d *sdk.Description, withDocs bool) error {
	entries := []Entry{
		{Key: "plugin", Value: l.Plugin}, {Key: "path", Value: l.Path}, {Key: "sha256", Value: l.SHA256}, {Key: "args", Value: l.Args},
		{Key: "isolation", Value: l.Isolation}, {Key: "timeout", Value: l.Timeout.String()},
		{Key: "weight", Value: l.Weight}, {Key: "stages", Value: l.Stages},
	}
	if withDocs {
		for i := range entries {
			k, _ := lossKey(entries[i].Key)
			entries[i].Doc = k.Doc
		}
	}
	entries = append(entries, pluginEntries("config", l.Config, d, withDocs)...)
	var b strings.Builder
	if err := Emit(&b, entries); err != nil {
		return err
	}
	lines := strings.Split(strings.TrimRight(b.String(), "\n"), "\n")
	first := true
	for _, line := range lines {
		prefix := "    "
		if first && !strings.HasPrefix(strings.TrimSpace(line), "#") {
			prefix, first = "  - ", false
		}
		if _, err := fmt.Fprintf(w, "%s%s\n", prefix, line); err != nil {
			return err
		}
	}
	return nil
}

func pluginEntries(prefix string, cfg sdk.Config, d *sdk.Description, withDocs bool) []Entry {
	if d == nil {
		return nil
	}
	var out []Entry
	for _, f := range d.Fields {
		e := Entry{Key: prefix + "." + f.Name, Value: cfg[f.Name]}
		if withDocs {
			e.Doc = f.Doc
			if len(f.Enum) > 0 {
				e.Doc += " (" + strings.Join(f.Enum, ", ") + ")"
			}
		}
		out = append(out, e)
	}
	return out
}

// Descriptions holds the plugin Descriptions of a config's sections, as
// ResolvePlugins saw them, for writing the config back out.
type Descriptions struct {
	Encoder, Clusterer sdk.Description
	Losses             []sdk.Description
}

// Add records the description of the next plugin ResolvePlugins resolves
// (they come in the order encoder, clusterer, losses).
func (d *Descriptions) Add(kind sdk.Kind, desc sdk.Description) {
	switch kind {
	case sdk.KindEncoder:
		d.Encoder = desc
	case sdk.KindClusterer:
		d.Clusterer = desc
	default:
		d.Losses = append(d.Losses, desc)
	}
}

// Write emits the resolved configuration c as YAML that Load reads back to
// the same Config; with withDocs every key carries its comment.
func Write(w io.Writer, c *Config, d Descriptions, withDocs bool) error {
	entries := make([]Entry, 0, len(CoreKeys))
	vals := c.values()
	for _, k := range CoreKeys {
		e := Entry{Key: k.Name, Value: vals[k.Name]}
		if withDocs {
			e.Doc = k.Doc
			if len(k.Enum) > 0 && !strings.Contains(k.Doc, k.Enum[0]) {
				e.Doc += " (" + strings.Join(k.Enum, ", ") + ")"
			}
		}
		entries = append(entries, e)
		if k.Name == "encoder.timeout" {
			entries = append(entries, pluginEntries("encoder.config", c.Encoder.Config, &d.Encoder, withDocs)...)
		}
	}
	entries = append(entries, pluginEntries("clusterer.config", c.Clusterer.Config, &d.Clusterer, withDocs)...)
	if err := Emit(w, entries); err != nil {
		return err
	}
	if withDocs {
		if _, err := fmt.Fprintln(w, "# Auxiliary losses L_k, each weighted by α_k (weight)."); err != nil {
			return err
		}
	}
	if _, err := fmt.Fprintln(w, "losses:"); err != nil {
		return err
	}
	for i, l := range c.Losses {
		var ld *sdk.Description
		if i < len(d.Losses) {
			ld = &d.Losses[i]
		}
		if err := writeLoss(w, l, ld, withDocs); err != nil {
			return err
		}
	}
	return nil
}

// values maps every core key to its value in c.
func (c *Config) values() map[string]any {
	v := map[string]any{
		"seed": int(c.Seed), "out": c.Out, "progress": c.Progress,
		"data.path": c.Data.Path, "data.format": c.Data.Format, "data.features": c.Data.Features,
		"data.label": c.Data.Label, "data.shape": c.Data.Shape, "data.scale": c.Data.Scale, "data.limit": c.Data.Limit,
		"data.stream": c.Data.Stream, "data.shuffle_rows": c.Data.ShuffleRows, "data.nulls": c.Data.Nulls,
		"train.batch_size": c.Train.BatchSize, "train.pretrain_epochs": c.Train.PretrainEpochs, "train.pretrained": c.Pretrained,
		"train.pretrain_lr": c.Train.PretrainLR, "train.pretrain_sampler": c.Train.PretrainSampler, "train.neighbors": c.Train.Neighbors, "train.pretrain_decay": c.Train.PretrainDecay, "train.epochs": c.Train.Epochs, "train.lr": c.Train.LR,
		"train.beta": c.Train.Beta, "train.tol": c.Train.Tol, "train.update_interval": c.Train.UpdateInterval, "train.sampler": c.Train.Sampler,
	}
	for _, s := range []struct {
		name string
		p    PluginSpec
	}{{"encoder", c.Encoder}, {"clusterer", c.Clusterer}} {
		v[s.name+".plugin"], v[s.name+".path"], v[s.name+".sha256"], v[s.name+".args"] = s.p.Plugin, s.p.Path, s.p.SHA256, s.p.Args
		v[s.name+".isolation"], v[s.name+".timeout"] = s.p.Isolation, s.p.Timeout.String()
	}
	return v
}
