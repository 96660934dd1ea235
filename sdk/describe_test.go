package sdk

import (
	"math"
	"reflect"
	"strings"
	"testing"
)

var testDesc = Description{
	Name: "t", Kind: KindEncoder, Version: "0",
	Fields: []Field{
		{Name: "n", Type: TypeInt, Default: 3},
		{Name: "lr", Type: TypeFloat, Default: 0.5},
		{Name: "act", Type: TypeString, Default: "relu", Enum: []string{"relu", "tanh"}},
		{Name: "on", Type: TypeBool, Default: false},
		{Name: "hidden", Type: TypeInts, Default: []int{4, 5}},
		{Name: "w", Type: TypeFloats, Default: []float64{1}},
		{Name: "cols", Type: TypeStrings, Default: []string{}},
	},
}

func TestResolveConfigDefaultsAndOverrides(t *testing.T) {
	got, err := ResolveConfig(testDesc, map[string]any{
		"n": float64(7), "lr": "0.25", "act": "tanh", "on": "true",
		"hidden": []any{float64(1), "2"}, "w": "1.5, 2", "cols": []any{"a", "b"},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := Config{"n": 7, "lr": 0.25, "act": "tanh", "on": true, "hidden": []int{1, 2}, "w": []float64{1.5, 2}, "cols": []string{"a", "b"}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %#v\nwant %#v", got, want)
	}
	// One value where a list is declared is a list of one item.
	one, err := ResolveConfig(testDesc, map[string]any{"hidden": 7, "w": 1.5, "cols": "a"})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(one.Ints("hidden"), []int{7}) || !reflect.DeepEqual(one.Floats("w"), []float64{1.5}) || !reflect.DeepEqual(one.Strings("cols"), []string{"a"}) {
		t.Fatalf("single values not made lists of one: %#v", one)
	}
	def, err := ResolveConfig(testDesc, nil)
	if err != nil {
		t.Fatal(err)
	}
	if def.Int("n") != 3 || def.String("act") != "relu" || !reflect.DeepEqual(def.Ints("hidden"), []int{4, 5}) {
		t.Fatalf("defaults not applied: %#v", def)
	}
}

func TestResolveConfigErrorsNameTheKey(t *testing.T) {
	for _, tc := range []struct {
		raw  map[string]any
		want string
	}{
		{map[string]any{"bogus": 1}, `unknown config key "bogus"`},
		{map[string]any{"n": 1.5}, `config key "n": want an integer`},
		{map[string]any{"n": "x"}, `config key "n": want an integer`},
		{map[string]any{"lr": true}, `config key "lr": want a number`},
		{map[string]any{"act": "gelu"}, `config key "act": "gelu" is not one of relu, tanh`},
		{map[string]any{"on": "maybe"}, `config key "on": want a bool`},
		{map[string]any{"hidden": []any{1, "z"}}, `config key "hidden": item 1: want an integer`},
		{map[string]any{"cols": []any{1}}, `config key "cols": item 0: want a string`},
		{map[string]any{"cols": 1}, `config key "cols": item 0: want a string`},
		{map[string]any{"w": true}, `config key "w": want a list`},
	} {
		_, err := ResolveConfig(testDesc, tc.raw)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: got error %v, want it to contain %q", tc.raw, err, tc.want)
		}
	}
}

func TestTensorValidate(t *testing.T) {
	ok := NewTensor(2, 3)
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	if err := (Tensor{}).Validate(); err != nil {
		t.Fatalf("empty tensor: %v", err)
	}
	bad := Tensor{Shape: []int{2, 3}, Data: make([]float32, 5)}
	if err := bad.Validate(); err == nil || !strings.Contains(err.Error(), "needs 6 values, has 5") {
		t.Fatalf("short data: %v", err)
	}
	nan := NewTensor(2, 2)
	nan.Data[3] = float32(zero() / zero())
	if err := nan.Validate(); err == nil || !strings.Contains(err.Error(), "row 1") {
		t.Fatalf("NaN: %v", err)
	}
	for _, v := range []float64{math.Inf(1), math.Inf(-1)} {
		inf := NewTensor(2, 2)
		inf.Data[2] = float32(v)
		if err := inf.Validate(); err == nil || !strings.Contains(err.Error(), "Inf") {
			t.Fatalf("%v: %v", v, err)
		}
	}
	// The largest finite, the smallest subnormal and −0 are valid values.
	edge := Tensor{Shape: []int{1, 4}, Data: []float32{math.MaxFloat32, -math.MaxFloat32, math.SmallestNonzeroFloat32, float32(math.Copysign(0, -1))}}
	if err := edge.Validate(); err != nil {
		t.Fatalf("finite extremes: %v", err)
	}
	if err := ok.CheckShape(-1, 3); err != nil {
		t.Fatal(err)
	}
	if err := ok.CheckShape(2, 4); err == nil {
		t.Fatal("CheckShape accepted a wrong width")
	}
}

func zero() float64 { return 0 }

func TestBoundsAndRequired(t *testing.T) {
	d := Description{Name: "b", Kind: KindLoss, Version: "1", Fields: []Field{
		{Name: "k", Type: TypeInt, Default: 3, Min: Bound(1), Max: Bound(10), Doc: "k"},
		{Name: "w", Type: TypeFloats, Default: []float64{0.5}, Min: Bound(0), Doc: "w"},
		{Name: "path", Type: TypeString, Required: true, Doc: "a file"},
	}}
	if err := CheckDescription(d); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		raw  map[string]any
		want string
	}{
		{map[string]any{}, `config key "path" is required`},
		{map[string]any{"path": "x", "k": 0}, `config key "k": 0 is below the minimum 1`},
		{map[string]any{"path": "x", "k": "11"}, `config key "k": 11 is above the maximum 10`},
		{map[string]any{"path": "x", "w": "1,-2"}, `config key "w": item 1: -2 is below the minimum 0`},
	} {
		if _, err := ResolveConfig(d, tc.raw); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: got %v, want %q", tc.raw, err, tc.want)
		}
	}
	cfg, err := ResolveConfig(d, map[string]any{"path": "x"})
	if err != nil {
		t.Fatal(err)
	}
	if err := CheckConfig(d, cfg); err != nil {
		t.Fatalf("a resolved config fails CheckConfig: %v", err)
	}
	if err := CheckConfig(d, map[string]any{"path": "x", "k": "3", "w": []float64{1}}); err == nil {
		t.Fatal("CheckConfig accepted a string for an int")
	}
	cfg["k"] = 12
	if err := CheckConfig(d, cfg); err == nil {
		t.Fatal("CheckConfig accepted a value out of bounds")
	}
	bad := d
	bad.Fields = []Field{{Name: "s", Type: TypeString, Default: "", Min: Bound(0), Doc: "s"}}
	if err := CheckDescription(bad); err == nil || !strings.Contains(err.Error(), "only numeric fields") {
		t.Fatalf("bounds on a string: %v", err)
	}
	bad.Fields = []Field{{Name: "k", Type: TypeInt, Default: 0, Min: Bound(1), Doc: "k"}}
	if err := CheckDescription(bad); err == nil || !strings.Contains(err.Error(), "defaults do not resolve") {
		t.Fatalf("default below min: %v", err)
	}
}
