package config

import (
	"cmp"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/deepclust/deepclust/internal/knn"
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

// writeItem writes body as an item of a YAML list indented by indent
// spaces: comment lines before the item's first key stay above its dash.
func writeItem(w io.Writer, body string, indent int) error {
	pad := strings.Repeat(" ", indent)
	first := true
	for _, line := range strings.Split(strings.TrimRight(body, "\n"), "\n") {
		prefix := pad + "  "
		if first && !strings.HasPrefix(strings.TrimSpace(line), "#") {
			prefix, first = pad+"- ", false
		}
		if _, err := fmt.Fprintf(w, "%s%s\n", prefix, line); err != nil {
			return err
		}
	}
	return nil
}

// docs fills in the Doc of entries from keys when withDocs is set; each
// entry's key is looked up as prefix + its Key.
func docs(entries []Entry, keys []Key, prefix string, withDocs bool) []Entry {
	if !withDocs {
		return entries
	}
	for i := range entries {
		if k, ok := findKey(keys, prefix+entries[i].Key); ok {
			entries[i].Doc = keyDoc(k)
		}
	}
	return entries
}

func keyDoc(k Key) string {
	if len(k.Enum) > 0 && !strings.Contains(k.Doc, k.Enum[0]) {
		return k.Doc + " (" + strings.Join(k.Enum, ", ") + ")"
	}
	return k.Doc
}

// sectionEntries are the entries of a plugin section named section
// ("encoder", or "" for an item of losses).
func sectionEntries(section string, p PluginSpec, d *sdk.Description, keys []Key, withDocs bool) []Entry {
	dot, keyPrefix := section+".", ""
	if section == "" {
		dot, keyPrefix = "", "."
	}
	entries := docs([]Entry{
		{Key: dot + "plugin", Value: p.Plugin}, {Key: dot + "path", Value: p.Path}, {Key: dot + "sha256", Value: p.SHA256},
		{Key: dot + "args", Value: p.Args}, {Key: dot + "env", Value: p.Env}, {Key: dot + "isolation", Value: p.Isolation},
		{Key: dot + "timeout", Value: p.Timeout.String()},
	}, keys, keyPrefix, withDocs)
	return append(entries, pluginEntries(dot+"config", p.Config, d, withDocs)...)
}

// writeLoss writes one item of a losses list at the given indent.
func writeLoss(w io.Writer, l LossSpec, d *sdk.Description, indent int, withDocs bool) error {
	entries := sectionEntries("", l.PluginSpec, nil, LossKeys, withDocs)
	n := len(entries)
	entries = append(entries[:n:n], docs([]Entry{{Key: "weight", Value: l.Weight}, {Key: "stages", Value: l.Stages}}, LossKeys, ".", withDocs)...)
	entries = append(entries, pluginEntries("config", l.Config, d, withDocs)...)
	var b strings.Builder
	if err := Emit(&b, entries); err != nil {
		return err
	}
	return writeItem(w, b.String(), indent)
}

// writeStage writes one stage, as an item of the stages list.
func writeStage(w io.Writer, s Stage, d StageDescriptions, withDocs bool) error {
	entries := docs([]Entry{{Key: "name", Value: s.Name}}, []Key{StageNameKey}, "", withDocs)
	vals := scheduleValues(s)
	for _, k := range TrainKeys {
		entries = append(entries, docs([]Entry{{Key: k.Name, Value: vals[k.Name]}}, TrainKeys, "", withDocs)...)
	}
	entries = append(entries, sectionEntries("encoder", s.Encoder, &d.Encoder, encoderKeys, withDocs)...)
	if s.Clusterer != nil {
		entries = append(entries, sectionEntries("clusterer", *s.Clusterer, d.Clusterer, clustererKeys, withDocs)...)
	}
	var b strings.Builder
	if err := Emit(&b, entries); err != nil {
		return err
	}
	if withDocs {
		b.WriteString("# Auxiliary losses L_k, each weighted by α_k (weight).\n")
	}
	b.WriteString("losses:\n")
	for i, l := range s.Losses {
		var ld *sdk.Description
		if i < len(d.Losses) {
			ld = &d.Losses[i]
		}
		if err := writeLoss(&b, l, ld, 2, withDocs); err != nil {
			return err
		}
	}
	return writeItem(w, b.String(), 2)
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

// Write emits the resolved configuration c as YAML that Load reads back to
// the same Config, always as a stages list; with withDocs every key
// carries its comment. d holds the Descriptions ResolvePlugins returned.
func Write(w io.Writer, c *Config, d Descriptions, withDocs bool) error {
	vals := c.values()
	entries := make([]Entry, 0, len(CoreKeys))
	for _, k := range CoreKeys {
		entries = append(entries, docs([]Entry{{Key: k.Name, Value: vals[k.Name]}}, CoreKeys, "", withDocs)...)
	}
	if err := Emit(w, entries); err != nil {
		return err
	}
	if withDocs {
		if _, err := fmt.Fprintln(w, "# The pipeline's stages, in order: stage i+1 trains on the embeddings of stage i; the last stage's clusterer gives the assignments."); err != nil {
			return err
		}
	}
	if _, err := fmt.Fprintln(w, "stages:"); err != nil {
		return err
	}
	for i, s := range c.Stages {
		var sd StageDescriptions
		if i < len(d.Stages) {
			sd = d.Stages[i]
		}
		if err := writeStage(w, s, sd, withDocs); err != nil {
			return err
		}
	}
	return nil
}

// values maps every core key to its value in c.
func (c *Config) values() map[string]any {
	return map[string]any{
		"seed": int(c.Seed), "out": c.Out, "progress": c.Progress,
		"data.path": c.Data.Path, "data.format": c.Data.Format, "data.features": c.Data.Features,
		"data.label": c.Data.Label, "data.shape": c.Data.Shape, "data.scale": c.Data.Scale, "data.limit": c.Data.Limit,
		"data.stream": c.Data.Stream, "data.shuffle_rows": c.Data.ShuffleRows, "data.nulls": c.Data.Nulls,
		"cache.enabled": c.Cache.Enabled, "cache.dir": c.Cache.Dir,
		"checkpoint.enabled": c.Checkpoint.Enabled, "checkpoint.interval": c.Checkpoint.Interval.String(),
	}
}

// scheduleValues maps every train key to its value in s.
func scheduleValues(s Stage) map[string]any {
	t := s.Train
	return map[string]any{
		"train.batch_size": t.BatchSize, "train.pretrain_epochs": t.PretrainEpochs, "train.pretrained": s.Pretrained,
		"train.pretrain_lr": t.PretrainLR, "train.pretrain_sampler": t.PretrainSampler, "train.neighbors": t.Neighbors,
		"train.knn_search": cmp.Or(t.KNNSearch, knn.MethodAuto), "train.pretrain_decay": t.PretrainDecay, "train.epochs": t.Epochs, "train.lr": t.LR,
		"train.beta": t.Beta, "train.tol": t.Tol, "train.update_interval": t.UpdateInterval, "train.sampler": t.Sampler,
	}
}
