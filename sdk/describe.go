package sdk

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// FieldType is the type of one plugin config field.
type FieldType string

// The config field types a plugin may declare. Resolved values have the Go
// types int, float64, string, bool, []int, []float64 and []string respectively.
const (
	TypeInt     FieldType = "int"
	TypeFloat   FieldType = "float"
	TypeString  FieldType = "string"
	TypeBool    FieldType = "bool"
	TypeInts    FieldType = "ints"
	TypeFloats  FieldType = "floats"
	TypeStrings FieldType = "strings"
)

// Field describes one config field of a plugin.
type Field struct {
	Name    string    `json:"name"`
	Type    FieldType `json:"type"`
	Default any       `json:"default"`
	Doc     string    `json:"doc"`
	// Enum, when non-empty, lists the allowed values of a string field.
	Enum []string `json:"enum,omitempty"`
}

// Description is a plugin's account of itself.
type Description struct {
	Name    string  `json:"name"`
	Kind    Kind    `json:"kind"`
	Version string  `json:"version"`
	Doc     string  `json:"doc"`
	Fields  []Field `json:"fields"`
}

// Field returns the field with the given name.
func (d Description) Field(name string) (Field, bool) {
	for _, f := range d.Fields {
		if f.Name == name {
			return f, true
		}
	}
	return Field{}, false
}

// Config holds a plugin's resolved config values, keyed by field name.
type Config map[string]any

// Int returns the int field name; it panics if ResolveConfig did not put an
// int there, which is a programming error in the plugin.
func (c Config) Int(name string) int { return c[name].(int) }

// Float returns the float field name.
func (c Config) Float(name string) float64 { return c[name].(float64) }

// String returns the string field name.
func (c Config) String(name string) string { return c[name].(string) }

// Bool returns the bool field name.
func (c Config) Bool(name string) bool { return c[name].(bool) }

// Ints returns the ints field name.
func (c Config) Ints(name string) []int { return c[name].([]int) }

// Floats returns the floats field name.
func (c Config) Floats(name string) []float64 { return c[name].([]float64) }

// Strings returns the strings field name.
func (c Config) Strings(name string) []string { return c[name].([]string) }

// ResolveConfig checks raw against the fields of d and returns a Config that
// holds every field, typed: values from raw where given, defaults otherwise.
// Keys that d does not declare, values of the wrong type and strings outside
// a field's Enum are errors that name the key. Strings are accepted for every
// type ("3", "0.5", "true", "500,500,2000") so that environment variables and
// command-line flags can set any field.
func ResolveConfig(d Description, raw map[string]any) (Config, error) {
	keys := make([]string, 0, len(raw))
	for k := range raw {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if _, ok := d.Field(k); !ok {
			return nil, fmt.Errorf("%s %q: unknown config key %q (known: %s)", d.Kind, d.Name, k, strings.Join(fieldNames(d), ", "))
		}
	}
	out := make(Config, len(d.Fields))
	for _, f := range d.Fields {
		v, ok := raw[f.Name]
		if !ok {
			v = f.Default
		}
		tv, err := ParseValue(f.Type, v)
		if err != nil {
			return nil, fmt.Errorf("%s %q: config key %q: %w", d.Kind, d.Name, f.Name, err)
		}
		if s, isStr := tv.(string); isStr && len(f.Enum) > 0 && !contains(f.Enum, s) {
			return nil, fmt.Errorf("%s %q: config key %q: %q is not one of %s", d.Kind, d.Name, f.Name, s, strings.Join(f.Enum, ", "))
		}
		out[f.Name] = tv
	}
	return out, nil
}

func fieldNames(d Description) []string {
	names := make([]string, len(d.Fields))
	for i, f := range d.Fields {
		names[i] = f.Name
	}
	return names
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// ParseValue converts v to the Go type of a field of type t, accepting the
// loosely typed values that YAML, JSON, environment variables and flags
// produce. The error says what was wanted and what was given.
func ParseValue(t FieldType, v any) (any, error) {
	switch t {
	case TypeInt:
		return toInt(v)
	case TypeFloat:
		return toFloat(v)
	case TypeString:
		s, ok := v.(string)
		if !ok {
			return nil, fmt.Errorf("want a string, got %T %v", v, v)
		}
		return s, nil
	case TypeBool:
		switch b := v.(type) {
		case bool:
			return b, nil
		case string:
			p, err := strconv.ParseBool(strings.TrimSpace(b))
			if err != nil {
				return nil, fmt.Errorf("want a bool, got %q", b)
			}
			return p, nil
		}
		return nil, fmt.Errorf("want a bool, got %T %v", v, v)
	case TypeInts:
		items, err := toList(v)
		if err != nil {
			return nil, err
		}
		out := make([]int, len(items))
		for i, it := range items {
			if out[i], err = toInt(it); err != nil {
				return nil, fmt.Errorf("item %d: %w", i, err)
			}
		}
		return out, nil
	case TypeFloats:
		items, err := toList(v)
		if err != nil {
			return nil, err
		}
		out := make([]float64, len(items))
		for i, it := range items {
			if out[i], err = toFloat(it); err != nil {
				return nil, fmt.Errorf("item %d: %w", i, err)
			}
		}
		return out, nil
	case TypeStrings:
		items, err := toList(v)
		if err != nil {
			return nil, err
		}
		out := make([]string, len(items))
		for i, it := range items {
			s, ok := it.(string)
			if !ok {
				return nil, fmt.Errorf("item %d: want a string, got %T %v", i, it, it)
			}
			out[i] = s
		}
		return out, nil
	}
	return nil, fmt.Errorf("unknown field type %q", t)
}

func toInt(v any) (int, error) {
	switch x := v.(type) {
	case int:
		return x, nil
	case int32:
		return int(x), nil
	case int64:
		return int(x), nil
	case uint64:
		return int(x), nil
	case float64:
		if x != float64(int(x)) {
			return 0, fmt.Errorf("want an integer, got %v", x)
		}
		return int(x), nil
	case string:
		i, err := strconv.Atoi(strings.TrimSpace(x))
		if err != nil {
			return 0, fmt.Errorf("want an integer, got %q", x)
		}
		return i, nil
	}
	return 0, fmt.Errorf("want an integer, got %T %v", v, v)
}

func toFloat(v any) (float64, error) {
	switch x := v.(type) {
	case float64:
		return x, nil
	case float32:
		return float64(x), nil
	case int:
		return float64(x), nil
	case int64:
		return float64(x), nil
	case string:
		f, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
		if err != nil {
			return 0, fmt.Errorf("want a number, got %q", x)
		}
		return f, nil
	}
	return 0, fmt.Errorf("want a number, got %T %v", v, v)
}

func toList(v any) ([]any, error) {
	switch x := v.(type) {
	case []any:
		return x, nil
	case []int:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = e
		}
		return out, nil
	case []float64:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = e
		}
		return out, nil
	case []string:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = e
		}
		return out, nil
	case string:
		s := strings.Trim(strings.TrimSpace(x), "[]")
		if s == "" {
			return []any{}, nil
		}
		parts := strings.Split(s, ",")
		out := make([]any, len(parts))
		for i, p := range parts {
			out[i] = strings.TrimSpace(p)
		}
		return out, nil
	}
	return nil, fmt.Errorf("want a list, got %T %v", v, v)
}
