package reports

import (
	"fmt"
	"math"
	"strings"
	"time"

	"fairage/analysis"
)

// formatter turns numbers into the reports' text.
type formatter struct{ decimals int }

// num formats a value, "n/a" when undefined.
func (f formatter) num(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "n/a"
	}
	return fmt.Sprintf("%.*f", f.decimals, v)
}

// est formats "1.234 [1.100, 1.370]", without the bracket when there is no
// interval.
func (f formatter) est(e analysis.Estimate) string {
	if math.IsNaN(e.Value) {
		return "n/a"
	}
	if !e.HasInterval() {
		return f.num(e.Value)
	}
	return fmt.Sprintf("%s [%s, %s]", f.num(e.Value), f.num(e.Lower), f.num(e.Upper))
}

// p formats a p-value with enough digits to read small ones.
func (f formatter) p(v float64) string {
	if math.IsNaN(v) {
		return "n/a"
	}
	if v < 0.001 {
		return fmt.Sprintf("%.1e", v)
	}
	return fmt.Sprintf("%.3f", v)
}

// lr formats a learning rate ("" when not given).
func lr(v float64) string {
	if v == 0 {
		return "–"
	}
	return fmt.Sprintf("%g", v)
}

func duration(d time.Duration) string {
	if d < time.Second {
		return d.Round(time.Millisecond).String()
	}
	return d.Round(100 * time.Millisecond).String()
}

// seconds formats a stage's wall time: "4.2 s" under a minute, "12 min 3 s"
// under an hour, "2 h 5 min" beyond.
func seconds(s float64) string {
	if !finite(s) || s < 0 {
		return "n/a"
	}
	if r := math.Round(s*10) / 10; r < 60 {
		return fmt.Sprintf("%.1f s", r)
	}
	whole := int64(math.Round(s))
	if whole < 3600 {
		return fmt.Sprintf("%d min %d s", whole/60, whole%60)
	}
	m := (whole + 30) / 60
	return fmt.Sprintf("%d h %d min", m/60, m%60)
}

// mdEscape makes a data-derived string inert in Markdown: HTML special
// characters become entities (a Markdown renderer passes raw HTML through),
// and characters with Markdown meaning are backslash-escaped, so a group
// named "<script>" or "a|b" cannot add markup or break a table.
func mdEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '&':
			b.WriteString("&amp;")
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '"':
			b.WriteString("&quot;")
		case '\n', '\r':
			b.WriteByte(' ')
		case '\\', '`', '*', '_', '[', ']', '|', '#', '!', '{', '}', '(', ')':
			b.WriteByte('\\')
			b.WriteRune(r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}
