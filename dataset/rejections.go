package dataset

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// String formats a rejection as one sentence naming file, row and column,
// e.g. `metadata.csv row 17: column age: "-3" is outside [0, 120]`, or
// the image file and the problem when the record is not row-based.
func (r Rejection) String() string {
	if r.Row > 0 {
		return fmt.Sprintf("%s row %d: %s", r.Source, r.Row, r.Detail)
	}
	return fmt.Sprintf("%s: %s", r.Source, r.Detail)
}

// ReasonCount is how many rows were rejected for one reason.
type ReasonCount struct {
	Reason string
	Count  int
}

// CountByReason tallies rejections by reason, most frequent first (ties by
// reason name), for the stage to print.
func CountByReason(rejected []Rejection) []ReasonCount {
	m := map[string]int{}
	for _, r := range rejected {
		m[r.Reason]++
	}
	out := make([]ReasonCount, 0, len(m))
	for reason, n := range m {
		out = append(out, ReasonCount{reason, n})
	}
	slices.SortFunc(out, func(a, b ReasonCount) int {
		return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(a.Reason, b.Reason))
	})
	return out
}

// FormatReasonCounts renders counts as "missing_file 3, duplicate_id 1".
func FormatReasonCounts(counts []ReasonCount) string {
	parts := make([]string, len(counts))
	for i, c := range counts {
		parts[i] = fmt.Sprintf("%s %d", c.Reason, c.Count)
	}
	return strings.Join(parts, ", ")
}

// TooManyRejectionsError is returned by Ingest when the rejected fraction
// of rows exceeds IngestOptions.MaxRejectFraction, or when every row was
// rejected (an empty training set is never what the user meant).
type TooManyRejectionsError struct {
	Source   string
	Rows     int // rows in
	Rejected int
	Max      float64 // the MaxRejectFraction in force
	ByReason []ReasonCount
	Examples []Rejection // the first few rejections, to show what went wrong
}

func (e *TooManyRejectionsError) Error() string {
	var b strings.Builder
	if e.Rejected == e.Rows {
		fmt.Fprintf(&b, "%s: all %d rows were rejected: %s", e.Source, e.Rows, FormatReasonCounts(e.ByReason))
	} else {
		fmt.Fprintf(&b, "%s: %d of %d rows rejected (%.1f%%), above the allowed %.1f%% (max_reject_fraction %g): %s",
			e.Source, e.Rejected, e.Rows, 100*float64(e.Rejected)/float64(max(e.Rows, 1)), 100*e.Max, e.Max,
			FormatReasonCounts(e.ByReason))
	}
	for _, r := range e.Examples {
		b.WriteString("\n  ")
		b.WriteString(r.String())
	}
	return b.String()
}
