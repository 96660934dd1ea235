package sdk

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// FieldType is the type of one plugin config field.
type FieldType string

// The config field types a plugin may declare. Resolved values have the Go
// types int, float64, string, bool, []int, []float64 and []string
// respectively; a TypeIntOrAuto value is an int or the string Auto.
const (
	TypeInt     FieldType = "int"
	TypeFloat   FieldType = "float"
	TypeString  FieldType = "string"
	TypeBool    FieldType = "bool"
	TypeInts    FieldType = "ints"
	TypeFloats  FieldType = "floats"
	TypeStrings FieldType = "strings"
	// TypeIntOrAuto is an int field that also takes the string "auto"
	// (Auto): the plugin then chooses the value itself, e.g. a clusterer's
	// number of clusters k. Bounds apply to the int values only.
	TypeIntOrAuto FieldType = "int_or_auto"
)

// Auto is the value of a TypeIntOrAuto field that leaves the choice to the
// plugin.
const Auto = "auto"

// Field describes one config field of a plugin.
type Field struct {
	Name string    `json:"name"`
	Type FieldType `json:"type"`
	// Default is the value used when the config does not set the field;
	// ignored (and best left nil) for a Required field.
	Default any    `json:"default"`
	Doc     string `json:"doc"`
	// Enum, when non-empty, lists the allowed values of a string field
	// (of every item, for strings).
	Enum []string `json:"enum,omitempty"`
	// Min and Max, when set, bound a numeric field (int, float, and every
	// item of ints and floats), inclusive. Bound makes the pointer.
	Min *float64 `json:"min,omitempty"`
	Max *float64 `json:"max,omitempty"`
	// Required fields have no default: a config must set them.
	Required bool `json:"required,omitempty"`
}

// Bound returns a pointer to v, for Field.Min and Field.Max:
//
//	{Name: "k", Type: sdk.TypeInt, Default: 10, Min: sdk.Bound(1)}
func Bound(v float64) *float64 { return &v }

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

// IntOrAuto returns the TypeIntOrAuto field name: its int value, or auto
// true when it is Auto.
func (c Config) IntOrAuto(name string) (v int, auto bool) {
	if s, ok := c[name].(string); ok && s == Auto {
		return 0, true
	}
	return c[name].(int), false
}

// ResolveConfig checks raw against the fields of d and returns a Config that
// holds every field, typed: values from raw where given, defaults otherwise.
// Keys that d does not declare, values of the wrong type, strings outside a
// field's Enum, numbers outside [Min, Max] and Required fields that raw does
// not set are errors that name the key. Strings are accepted for every type
// ("3", "0.5", "true", "500,500,2000") so that environment variables and
// command-line flags can set any field, and a single value where a list is
// declared is a list of one item.
//
// The host resolves a plugin's config once, before Configure, and hands
// the plugin the result in Setup.Config: a plugin need not call it.
func ResolveConfig(d Description, raw map[string]any) (Config, error) {
	if err := unknownKeys(d, raw); err != nil {
		return nil, err
	}
	out := make(Config, len(d.Fields))
	for _, f := range d.Fields {
		v, ok := raw[f.Name]
		if !ok {
			if f.Required {
				return nil, fmt.Errorf("%s %q: config key %q is required (%s)", d.Kind, d.Name, f.Name, f.Doc)
			}
			v = f.Default
		}
		tv, err := ParseValue(f.Type, v)
		if err == nil {
			err = f.check(tv)
		}
		if err != nil {
			return nil, fmt.Errorf("%s %q: config key %q: %w", d.Kind, d.Name, f.Name, err)
		}
		out[f.Name] = tv
	}
	return out, nil
}

// CheckConfig reports whether c is already a resolved config of d (what
// ResolveConfig returns): exactly the declared fields, each of its Go type,
// within its Enum and bounds. It resolves nothing, so a host can tell a
// resolved config from a raw one without resolving twice.
func CheckConfig(d Description, c map[string]any) error {
	if err := unknownKeys(d, c); err != nil {
		return err
	}
	for _, f := range d.Fields {
		v, ok := c[f.Name]
		if !ok {
			return fmt.Errorf("%s %q: config key %q is missing", d.Kind, d.Name, f.Name)
		}
		var typed bool
		switch f.Type {
		case TypeInt:
			_, typed = v.(int)
		case TypeFloat:
			_, typed = v.(float64)
		case TypeString:
			_, typed = v.(string)
		case TypeBool:
			_, typed = v.(bool)
		case TypeInts:
			_, typed = v.([]int)
		case TypeFloats:
			_, typed = v.([]float64)
		case TypeStrings:
			_, typed = v.([]string)
		case TypeIntOrAuto:
			_, typed = v.(int)
			typed = typed || v == Auto
		}
		if !typed {
			return fmt.Errorf("%s %q: config key %q: %T is not a resolved %s", d.Kind, d.Name, f.Name, v, f.Type)
		}
		if err := f.check(v); err != nil {
			return fmt.Errorf("%s %q: config key %q: %w", d.Kind, d.Name, f.Name, err)
		}
	}
	return nil
}

// Resolved returns cfg itself when it is already a resolved config of d (see
// CheckConfig) and ResolveConfig(d, cfg) otherwise: what a host calls before
// Configure so that a config is resolved exactly once, whoever resolved it.
func Resolved(d Description, cfg map[string]any) (Config, error) {
	if CheckConfig(d, cfg) == nil {
		return cfg, nil
	}
	return ResolveConfig(d, cfg)
}

// CheckDescription checks that d is well formed: a name, a known kind,
// fields with names, known types and docs, bounds only on numeric fields
// with Min ≤ Max, and defaults of every field that is not Required that
// resolve (within their own bounds and enums).
func CheckDescription(d Description) error {
	if d.Name == "" {
		return fmt.Errorf("%s plugin describes itself without a name", d.Kind)
	}
	switch d.Kind {
	case KindEncoder, KindClusterer, KindLoss:
	default:
		return fmt.Errorf("plugin %q has unknown kind %q (want encoder, clusterer or loss)", d.Name, d.Kind)
	}
	seen := map[string]bool{}
	for _, f := range d.Fields {
		switch {
		case f.Name == "":
			return fmt.Errorf("%s %q: a config field has no name", d.Kind, d.Name)
		case seen[f.Name]:
			return fmt.Errorf("%s %q: config field %q is declared twice", d.Kind, d.Name, f.Name)
		case (f.Min != nil || f.Max != nil) && !f.numeric():
			return fmt.Errorf("%s %q: config field %q of type %s has bounds; only numeric fields may", d.Kind, d.Name, f.Name, f.Type)
		case f.Min != nil && f.Max != nil && *f.Min > *f.Max:
			return fmt.Errorf("%s %q: config field %q has min %v > max %v", d.Kind, d.Name, f.Name, *f.Min, *f.Max)
		}
		seen[f.Name] = true
		if _, err := ParseValue(f.Type, zeroOf(f.Type)); err != nil {
			return fmt.Errorf("%s %q: config field %q: %w", d.Kind, d.Name, f.Name, err)
		}
	}
	if _, err := ResolveConfig(d, requiredPlaceholders(d)); err != nil {
		return fmt.Errorf("%s %q: defaults do not resolve: %w", d.Kind, d.Name, err)
	}
	return nil
}

// requiredPlaceholders returns values for the Required fields of d that
// satisfy their bounds, so that CheckDescription can resolve the defaults of
// the others.
func requiredPlaceholders(d Description) map[string]any {
	raw := map[string]any{}
	for _, f := range d.Fields {
		if !f.Required {
			continue
		}
		v := zeroOf(f.Type)
		if f.Type == TypeInt || f.Type == TypeFloat || f.Type == TypeIntOrAuto {
			x := 0.0
			if f.Min != nil {
				x = math.Ceil(*f.Min)
			} else if f.Max != nil {
				x = math.Floor(*f.Max)
			}
			v = x
		}
		if f.Type == TypeString && len(f.Enum) > 0 {
			v = f.Enum[0]
		}
		raw[f.Name] = v
	}
	return raw
}

func zeroOf(t FieldType) any {
	switch t {
	case TypeInt, TypeFloat, TypeIntOrAuto:
		return 0.0
	case TypeString:
		return ""
	case TypeBool:
		return false
	}
	return []any{}
}

func (f Field) numeric() bool {
	return f.Type == TypeInt || f.Type == TypeFloat || f.Type == TypeInts || f.Type == TypeFloats || f.Type == TypeIntOrAuto
}

// check checks a typed value against the field's enum and bounds.
func (f Field) check(v any) error {
	inRange := func(x float64) error {
		if f.Min != nil && x < *f.Min {
			return fmt.Errorf("%v is below the minimum %v", x, *f.Min)
		}
		if f.Max != nil && x > *f.Max {
			return fmt.Errorf("%v is above the maximum %v", x, *f.Max)
		}
		return nil
	}
	inEnum := func(s string) error {
		if len(f.Enum) > 0 && !slices.Contains(f.Enum, s) {
			return fmt.Errorf("%q is not one of %s", s, strings.Join(f.Enum, ", "))
		}
		return nil
	}
	var err error
	switch x := v.(type) {
	case int:
		err = inRange(float64(x))
	case float64:
		err = inRange(x)
	case string:
		err = inEnum(x)
	case []int:
		for i, e := range x {
			if err = inRange(float64(e)); err != nil {
				err = fmt.Errorf("item %d: %w", i, err)
				break
			}
		}
	case []float64:
		for i, e := range x {
			if err = inRange(e); err != nil {
				err = fmt.Errorf("item %d: %w", i, err)
				break
			}
		}
	case []string:
		for i, e := range x {
			if err = inEnum(e); err != nil {
				err = fmt.Errorf("item %d: %w", i, err)
				break
			}
		}
	}
	return err
}

func unknownKeys[V any](d Description, raw map[string]V) error {
	keys := make([]string, 0, len(raw))
	for k := range raw {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if _, ok := d.Field(k); !ok {
			return fmt.Errorf("%s %q: unknown config key %q (known: %s)", d.Kind, d.Name, k, strings.Join(fieldNames(d), ", "))
		}
	}
	return nil
}

func fieldNames(d Description) []string {
	names := make([]string, len(d.Fields))
	for i, f := range d.Fields {
		names[i] = f.Name
	}
	return names
}

// ParseValue converts v to the Go type of a field of type t, accepting the
// loosely typed values that YAML, JSON, environment variables and flags
// produce. The error says what was wanted and what was given.
func ParseValue(t FieldType, v any) (any, error) {
	switch t {
	case TypeInt:
		return toInt(v)
	case TypeIntOrAuto:
		if s, ok := v.(string); ok && strings.EqualFold(strings.TrimSpace(s), Auto) {
			return Auto, nil
		}
		i, err := toInt(v)
		if err != nil {
			return nil, fmt.Errorf("%w or %q", err, Auto)
		}
		return i, nil
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
	case int, int32, int64, uint64, float32, float64:
		// One number where a list is declared is a list of one, as one
		// string already is below (gamma: 1.3 as gamma: [1.3]).
		return []any{x}, nil
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
