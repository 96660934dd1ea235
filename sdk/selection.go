package sdk

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Validate checks that s is a consistent record: a named parameter and
// criterion, Best "max" or "min", at least one candidate, distinct finite
// candidates with one finite value each, and Chosen one of the candidates
// whose value is the best of Values (on ties, any of the tied ones).
func (s ParamSelection) Validate() error {
	if s.Param == "" {
		return fmt.Errorf("param selection without a param name")
	}
	fail := func(format string, a ...any) error {
		return fmt.Errorf("param selection %q: %s", s.Param, fmt.Sprintf(format, a...))
	}
	switch {
	case s.Criterion == "":
		return fail("no criterion")
	case s.Best != "max" && s.Best != "min":
		return fail("best %q, want \"max\" or \"min\"", s.Best)
	case len(s.Candidates) == 0:
		return fail("no candidates")
	case len(s.Values) != len(s.Candidates):
		return fail("%d values for %d candidates", len(s.Values), len(s.Candidates))
	}
	chosen, best := -1, -1
	for i, c := range s.Candidates {
		if math.IsNaN(c) || math.IsInf(c, 0) {
			return fail("candidate %d is %v, want a finite number", i, c)
		}
		for _, d := range s.Candidates[:i] {
			if d == c {
				return fail("candidate %v is listed twice", c)
			}
		}
		v := s.Values[i]
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fail("the %s of candidate %v is %v, want a finite number", s.Criterion, c, v)
		}
		if c == s.Chosen {
			chosen = i
		}
		if best < 0 || s.Best == "max" && v > s.Values[best] || s.Best == "min" && v < s.Values[best] {
			best = i
		}
	}
	if chosen < 0 {
		return fail("chosen %v is not one of the candidates %v", s.Chosen, s.Candidates)
	}
	if s.Values[chosen] != s.Values[best] {
		return fail("chosen %v has %s %v, but candidate %v has %v and the %s wins",
			s.Chosen, s.Criterion, s.Values[chosen], s.Candidates[best], s.Values[best], bestWord(s.Best))
	}
	return nil
}

// CheckParamSelections validates every selection of ps and that no
// parameter is selected twice.
func CheckParamSelections(ps []ParamSelection) error {
	for i, s := range ps {
		if err := s.Validate(); err != nil {
			return err
		}
		for _, t := range ps[:i] {
			if t.Param == s.Param {
				return fmt.Errorf("param selection %q: given twice", s.Param)
			}
		}
	}
	return nil
}

// String says in one line what was chosen and why, e.g.
//
//	gamma 1.3 chosen from [1.3 1.5 2 3 5] by the largest modularity of its own affinity (0.8831 0.8724 0.8651 0.8532 0.8391)
//
// followed by "; " and the note when there is one.
func (s ParamSelection) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s chosen from [", s.Param, formatCandidate(s.Chosen))
	for i, c := range s.Candidates {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(formatCandidate(c))
	}
	fmt.Fprintf(&b, "] by the %s %s (", bestWord(s.Best), s.Criterion)
	for i, v := range s.Values {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(formatValue(v))
	}
	b.WriteByte(')')
	if s.Note != "" {
		b.WriteString("; " + s.Note)
	}
	return b.String()
}

// Param returns the k selection as the ParamSelection of the parameter
// "k", for code that shows every selection alike.
func (s KSelection) Param() ParamSelection {
	p := ParamSelection{Param: "k", Criterion: s.Criterion, Best: s.Best, Chosen: float64(s.K),
		Candidates: make([]float64, len(s.Ks)), Values: s.Values, Note: s.Note}
	for i, k := range s.Ks {
		p.Candidates[i] = float64(k)
	}
	return p
}

// bestWord is "largest" for "max", "smallest" for "min", else best.
func bestWord(best string) string {
	switch best {
	case "max":
		return "largest"
	case "min":
		return "smallest"
	}
	return best
}

// formatCandidate writes a candidate in the fewest digits that give it
// back exactly (1.3, 2, 1e-05).
func formatCandidate(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

// formatValue writes a criterion value with four significant digits, or
// as a whole number from 100,000 up (a BIC of 152345.6 reads 152346).
func formatValue(v float64) string {
	if a := math.Abs(v); a >= 1e5 && a < 1e15 {
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	return strconv.FormatFloat(v, 'g', 4, 64)
}
