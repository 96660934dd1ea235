package statefile

import (
	"bytes"
	"strings"
	"testing"
)

type cfg struct {
	K    int     `json:"k"`
	Tol  float64 `json:"tol"`
	Name string  `json:"name"`
}

// TestHeaderRoundTripAndRejects checks that ReadHeader gives back what
// AppendHeader wrote, leaves the body in the reader, and refuses a wrong
// magic, a wrong version and every truncation.
func TestHeaderRoundTripAndRejects(t *testing.T) {
	in := cfg{K: 7, Tol: 1e-4, Name: "x"}
	buf, err := AppendHeader(nil, "t: save", "DCTESTST", 3, in)
	if err != nil {
		t.Fatal(err)
	}
	state := append(buf, 1, 2, 3)
	r := bytes.NewReader(state)
	var out cfg
	if err := ReadHeader(r, "t: load", "DCTESTST", 3, len(state), &out); err != nil {
		t.Fatal(err)
	}
	if out != in || r.Len() != 3 {
		t.Fatalf("got %+v with %d body bytes left", out, r.Len())
	}
	for _, tc := range []struct {
		magic   string
		version uint32
		state   []byte
		want    string
	}{
		{"DCOTHERS", 3, state, "does not start with"},
		{"DCTESTST", 4, state, "state version 3, this build reads 4"},
	} {
		var c cfg
		err := ReadHeader(bytes.NewReader(tc.state), "t: load", tc.magic, tc.version, len(tc.state), &c)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("got %v, want %q", err, tc.want)
		}
	}
	for n := range len(buf) {
		var c cfg
		if err := ReadHeader(bytes.NewReader(buf[:n]), "t: load", "DCTESTST", 3, n, &c); err == nil {
			t.Errorf("a state cut to %d bytes was read", n)
		}
	}
	if _, err := AppendHeader(nil, "t: save", "SHORT", 1, in); err == nil {
		t.Error("a magic that is not 8 bytes was accepted")
	}
}
