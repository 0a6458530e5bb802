package analysis

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"fairage/dataset"
)

// RangeOptions bounds the values the analysis accepts (`analysis.range`),
// in years. A value beyond the reject bounds is not an age at all (1e300,
// −1e308 from a broken export or an exploded model): its row is left out
// and counted, so that no sum overflows and no chart or JSON sees it. A
// value beyond the flag bounds but within the reject bounds is an
// implausible age (a linear head's −25 or 180): the row is analysed, since
// dropping a model's bad outputs would flatter it, and counted in
// Result.Flagged and a warning.
type RangeOptions struct {
	// FlagMin and FlagMax are the plausible ages.
	FlagMin float64 `json:"flag_min" yaml:"flag_min" doc:"Lowest plausible age (years): smaller y_pred or y_true values are analysed but flagged."`
	FlagMax float64 `json:"flag_max" yaml:"flag_max" doc:"Highest plausible age (years): larger y_pred or y_true values are analysed but flagged."`
	// RejectMin and RejectMax bound the values analysed at all. y_true is
	// also rejected below 0: no face is younger than 0.
	RejectMin float64 `json:"reject_min" yaml:"reject_min" doc:"Rows whose y_pred is below this (years) are rejected: not an age. y_true is rejected below 0."`
	RejectMax float64 `json:"reject_max" yaml:"reject_max" doc:"Rows whose y_pred or y_true is above this (years) are rejected: not an age."`
}

// DefaultRange flags ages outside [−10, 130] and rejects values outside
// [−1000, 1000]: faces are 0–120 years old, a sound regressor strays a few
// years past that at most, and a thousand years is a bug, not a guess.
var DefaultRange = RangeOptions{FlagMin: -10, FlagMax: 130, RejectMin: -1000, RejectMax: 1000}

// maxBound keeps every bound small enough that sums of squares over 2³¹
// rows stay finite.
const maxBound = 1e12

func (r *RangeOptions) validate(bad func(string, ...any)) {
	for _, b := range []struct {
		key string
		v   float64
	}{{"flag_min", r.FlagMin}, {"flag_max", r.FlagMax}, {"reject_min", r.RejectMin}, {"reject_max", r.RejectMax}} {
		if !finite(b.v) || math.Abs(b.v) > maxBound {
			bad("analysis.range.%s: %v must be a finite number of years within ±%g", b.key, b.v, maxBound)
			return
		}
	}
	if !(r.RejectMin <= r.FlagMin && r.FlagMin < r.FlagMax && r.FlagMax <= r.RejectMax) {
		bad("analysis.range: need reject_min ≤ flag_min < flag_max ≤ reject_max, got %v ≤ %v < %v ≤ %v",
			r.RejectMin, r.FlagMin, r.FlagMax, r.RejectMax)
	}
	if r.RejectMax <= 0 {
		bad("analysis.range.reject_max: %v must be above 0 (true ages are rejected outside [0, reject_max])", r.RejectMax)
	}
}

// Reasons of rejected and flagged rows (Result.Rejected, Result.Flagged).
const (
	ReasonPredNotFinite   = "y_pred_not_finite"   // NaN or ±Inf: rejected
	ReasonTrueNotFinite   = "y_true_not_finite"   // NaN or ±Inf: rejected
	ReasonPredOutOfRange  = "y_pred_out_of_range" // beyond analysis.range.reject_*: rejected
	ReasonTrueOutOfRange  = "y_true_out_of_range" // below 0 or above reject_max: rejected
	ReasonPredImplausible = "y_pred_implausible"  // beyond analysis.range.flag_*: flagged
	ReasonTrueImplausible = "y_true_implausible"  // beyond analysis.range.flag_*: flagged
)

// maxExamples is how many rows each RowIssue lists.
const maxExamples = 5

// RowIssue counts the rows with one problem and names the first few.
type RowIssue struct {
	// Reason is one of the Reason* constants.
	Reason string `json:"reason"`
	// Count is the number of rows with this reason (each row is counted
	// under its first reason only).
	Count int `json:"count"`
	// Examples are the first rows with this reason, in table order.
	Examples []RowExample `json:"examples"`
}

// RowExample names one row. Values are text ("NaN", "+Inf", "1e+300")
// because JSON has no number for them.
type RowExample struct {
	Row   int    `json:"row"` // 0-based position in the predictions table
	ID    string `json:"id"`
	YTrue string `json:"y_true"`
	YPred string `json:"y_pred"`
}

// screening accumulates rejected and flagged rows by reason, each list in
// the order the reasons first occur.
type screening struct {
	rejected, flagged []RowIssue
}

func (s *screening) add(list *[]RowIssue, reason string, row int, p *dataset.Prediction) {
	for i := range *list {
		if it := &(*list)[i]; it.Reason == reason {
			it.Count++
			if len(it.Examples) < maxExamples {
				it.Examples = append(it.Examples, example(row, p))
			}
			return
		}
	}
	*list = append(*list, RowIssue{Reason: reason, Count: 1, Examples: []RowExample{example(row, p)}})
}

func example(row int, p *dataset.Prediction) RowExample {
	f := func(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
	return RowExample{Row: row, ID: p.ID, YTrue: f(p.YTrue), YPred: f(p.YPred)}
}

// check files row i under its first reason; it reports whether the row is
// analysed.
func (s *screening) check(i int, p *dataset.Prediction, r *RangeOptions) bool {
	if reason := RejectReason(p, r); reason != "" {
		s.add(&s.rejected, reason, i, p)
		return false
	}
	switch {
	case p.YPred < r.FlagMin || p.YPred > r.FlagMax:
		s.add(&s.flagged, ReasonPredImplausible, i, p)
	case p.YTrue < r.FlagMin || p.YTrue > r.FlagMax:
		s.add(&s.flagged, ReasonTrueImplausible, i, p)
	}
	return true
}

// RejectReason returns why the analysis leaves p out under r (a Reason*
// constant), or "" when p is analysed. Reports use it to draw only the
// rows the analysis used (see Result.Analysed).
func RejectReason(p *dataset.Prediction, r *RangeOptions) string {
	switch {
	case !finite(p.YPred):
		return ReasonPredNotFinite
	case !finite(p.YTrue):
		return ReasonTrueNotFinite
	case p.YPred < r.RejectMin || p.YPred > r.RejectMax:
		return ReasonPredOutOfRange
	case p.YTrue < 0 || p.YTrue > r.RejectMax:
		return ReasonTrueOutOfRange
	}
	return ""
}

// Analysed reports whether Analyze used p: it is of the analysed split and
// Rejects(p) is false.
func (r *Result) Analysed(p *dataset.Prediction) bool {
	return (r.Split == "" || p.Split == r.Split) && !r.Rejects(p)
}

// Rejects reports whether the analysis leaves p out because a value is
// not an age, under Settings.Range (whatever p's split). Reports use it to
// draw only what the analysis used. A Result built by hand (zero
// Settings.Range) rejects only non-finite values.
func (r *Result) Rejects(p *dataset.Prediction) bool {
	rg := r.Settings.Range
	if rg == (RangeOptions{}) {
		return !finite(p.YPred) || !finite(p.YTrue)
	}
	return RejectReason(p, &rg) != ""
}

// screeningWarnings says how many rows were left out or flagged.
func screeningWarnings(s *screening, total int, r *RangeOptions) []string {
	var out []string
	if n := issueCount(s.rejected); n > 0 {
		out = append(out, fmt.Sprintf("%d of %d predictions rejected and left out of every number (%s): "+
			"values that are not finite or lie outside [%g, %g] years are not ages",
			n, total, issueSummary(s.rejected), r.RejectMin, r.RejectMax))
	}
	if n := issueCount(s.flagged); n > 0 {
		out = append(out, fmt.Sprintf("%d analysed predictions have an implausible age outside [%g, %g] years (%s): "+
			"they are in the numbers; check the model's output range",
			n, r.FlagMin, r.FlagMax, issueSummary(s.flagged)))
	}
	return out
}

func issueCount(list []RowIssue) int {
	n := 0
	for _, it := range list {
		n += it.Count
	}
	return n
}

// issueSummary is "y_pred_not_finite: 3, e.g. row 7 (id "x") y_pred NaN; …".
func issueSummary(list []RowIssue) string {
	parts := make([]string, len(list))
	for i, it := range list {
		e := it.Examples[0]
		parts[i] = fmt.Sprintf("%s: %d, e.g. row %d (id %q) y_true %s, y_pred %s", it.Reason, it.Count, e.Row, e.ID, e.YTrue, e.YPred)
	}
	return strings.Join(parts, "; ")
}
