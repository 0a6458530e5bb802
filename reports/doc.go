// Package reports renders a run's analysis as report.md and one
// self-contained report.html (CSS inline, charts drawn with gonum/plot and
// inlined as SVG data: URIs, so the page loads nothing from anywhere), and
// renders a comparison of several runs.
//
// It owns the layout of the reports and their charts. It knows nothing of
// the runner or the config loader: the report stage fills Run (and the
// compare command Comparison) from a run's artifacts and calls Write or
// WriteComparison. Every value that comes from data is escaped: HTML by
// html/template, Markdown by mdEscape.
package reports
