package autok

import (
	"fmt"
	"strconv"

	"github.com/deepclust/deepclust/sdk"
	"github.com/deepclust/deepclust/validity"
)

// DefaultRange is the default k_range: k from 2 to 20.
var DefaultRange = []int{2, 20}

// Fields returns the config fields k (default k, described by what) and
// k_range, with how auto chooses k in criterion.
func Fields(what, criterion string) []sdk.Field {
	return []sdk.Field{
		{Name: "k", Type: sdk.TypeIntOrAuto, Default: 10,
			Doc: what + ", or auto: chosen in k_range by " + criterion},
		{Name: "k_range", Type: sdk.TypeInts, Default: DefaultRange, Min: sdk.Bound(1),
			Doc: "with k auto: the smallest and largest k tried, [min, max]"},
	}
}

// Spec is a resolved k: a number, or auto with the range to scan.
type Spec struct {
	K      int
	Auto   bool
	Lo, Hi int
}

// Read reads k and k_range from a resolved config; plugin names the plugin
// in errors. A config without k_range (built by hand) scans DefaultRange.
func Read(plugin string, cfg sdk.Config) (Spec, error) {
	var k int
	auto := cfg["k"] == sdk.Auto
	if !auto {
		var ok bool
		if k, ok = cfg["k"].(int); !ok {
			return Spec{}, fmt.Errorf("%s: config key \"k\" is %v, want an integer or %q", plugin, cfg["k"], sdk.Auto)
		}
	}
	r, ok := cfg["k_range"].([]int)
	if !ok {
		r = DefaultRange
	}
	switch {
	case !auto && k < 1:
		return Spec{}, fmt.Errorf("%s: config key \"k\" is %d, want at least 1 or auto", plugin, k)
	case len(r) != 2 || r[0] < 1 || r[1] < r[0]:
		return Spec{}, fmt.Errorf("%s: config key \"k_range\" is %v, want [min, max] with 1 ≤ min ≤ max", plugin, r)
	}
	return Spec{K: k, Auto: auto, Lo: r[0], Hi: r[1]}, nil
}

// String shows the spec: the number k, or "auto in [lo, hi]".
func (s Spec) String() string {
	if s.Auto {
		return fmt.Sprintf("auto in [%d, %d]", s.Lo, s.Hi)
	}
	return strconv.Itoa(s.K)
}

// Range returns the k to try on n rows: Lo … min(Hi, n−1), and an error
// when that is empty.
func (s Spec) Range(plugin string, n int) ([]int, error) {
	hi := min(s.Hi, n-1)
	if hi < s.Lo {
		return nil, fmt.Errorf("%s: k auto: %d rows are too few for k_range [%d, %d]", plugin, n, s.Lo, s.Hi)
	}
	ks := make([]int, 0, hi-s.Lo+1)
	for k := s.Lo; k <= hi; k++ {
		ks = append(ks, k)
	}
	return ks, nil
}

// Choose fills sel.K with the k of the best of sel.Values (sel.Best).
func Choose(plugin string, sel *sdk.KSelection) error {
	i, err := validity.Best(sel.Values, sel.Best)
	if err != nil {
		return fmt.Errorf("%s: k auto by %s: %w", plugin, sel.Criterion, err)
	}
	sel.K = sel.Ks[i]
	return nil
}
