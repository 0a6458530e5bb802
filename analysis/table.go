package analysis

import (
	"math"
	"strings"

	"github.com/apache/arrow/go/v17/arrow"

	"fairage/internal/arrowtab"
)

// Flags in the metrics table's flags column (comma-separated).
const (
	FlagSmall       = "small"       // group below analysis.min_group_size
	FlagEmpty       = "empty"       // configured group with no rows
	FlagExcluded    = "excluded"    // group left out of the scores
	FlagUnavailable = "unavailable" // attribute or score without a value
)

// OverallAttribute is the attribute column of the overall metrics' rows.
const OverallAttribute = "overall"

// MetricRow is one row of the metrics table.
type MetricRow struct {
	Attribute string  // attribute or intersection key (AttributeResult.Key: "age_group", "gender_x_ethnicity"), or "overall"
	Group     string  // group name; "" for attribute-level rows (scores, tests, unknown)
	Metric    string  // mae, rmse, mean_error, median_ae; bias, gap, ratio, diff, p, p_holm, unknown; see FORMAT.md for the rest
	Estimate  float64 // NaN (null) when undefined; never ±Inf in the table
	Lower     float64 // NaN (null) without an interval
	Upper     float64
	N         int64  // rows behind the value
	Flags     string // comma-separated Flag* values
}

// metricsTable declares the metrics table: one row per
// attribute/group/metric. Non-finite values are stored as null.
var metricsTable = arrowtab.New("metrics",
	arrowtab.String("attribute", false, func(r *MetricRow) *string { return &r.Attribute }),
	arrowtab.String("group", true, func(r *MetricRow) *string { return &r.Group }),
	arrowtab.String("metric", false, func(r *MetricRow) *string { return &r.Metric }),
	arrowtab.NullFloat64("estimate", true, func(r *MetricRow) *float64 { return &r.Estimate }),
	arrowtab.NullFloat64("lower", true, func(r *MetricRow) *float64 { return &r.Lower }),
	arrowtab.NullFloat64("upper", true, func(r *MetricRow) *float64 { return &r.Upper }),
	arrowtab.Int64("n", func(r *MetricRow) *int64 { return &r.N }),
	arrowtab.String("flags", false, func(r *MetricRow) *string { return &r.Flags }),
)

// MetricsSchema is the Arrow schema of the metrics table.
var MetricsSchema = metricsTable.Schema()

// MetricRows flattens a result into metrics-table rows: overall metrics,
// then per attribute its unknown count, its groups' metrics, its scores
// and its test.
func MetricRows(r *Result) []MetricRow {
	var rows []MetricRow
	addMetrics := func(attr, group string, m *Metrics, flags string) {
		for _, name := range groupMetrics {
			e, _ := m.Get(name)
			rows = append(rows, MetricRow{attr, group, name, e.Value, e.Lower, e.Upper, int64(m.N), flags})
		}
	}
	addMetrics(OverallAttribute, "", &r.Overall, "")
	rows = append(rows, screeningRows(r)...)
	for i := range r.Attributes {
		a := &r.Attributes[i]
		rows = append(rows, MetricRow{a.Key, "", "unknown", float64(a.Unknown), math.NaN(), math.NaN(), int64(a.Unknown), ""})
		scored := int64(0)
		for g := range a.Groups {
			gr := &a.Groups[g]
			addMetrics(a.Key, gr.Name, &gr.Metrics, groupFlags(gr))
			if gr.InScore {
				scored += int64(gr.N)
			}
		}
		flags := ""
		if math.IsNaN(a.Bias.Value) {
			flags = FlagUnavailable
		}
		for _, m := range scoreMetrics {
			e, _ := a.Score(m)
			rows = append(rows, MetricRow{a.Key, "", m, e.Value, e.Lower, e.Upper, scored, flags})
		}
		rows = append(rows, MetricRow{a.Key, pairLabel(a.Worst, a.Best), MetricDiff, a.Diff.Value, a.Diff.Lower, a.Diff.Upper, scored, flags})
		if a.Test != nil {
			rows = append(rows,
				MetricRow{a.Key, "", "p", a.Test.P, math.NaN(), math.NaN(), scored, ""},
				MetricRow{a.Key, "", "p_holm", a.Test.PHolm, math.NaN(), math.NaN(), scored, ""})
		}
		rows = append(rows, adjustedRows(a)...)
	}
	return append(rows, subjectRows(r)...)
}

func groupFlags(g *GroupResult) string {
	var f []string
	if g.Small {
		f = append(f, FlagSmall)
	}
	if g.Empty {
		f = append(f, FlagEmpty)
	}
	if !g.InScore {
		f = append(f, FlagExcluded)
	}
	return strings.Join(f, ",")
}

// MetricsRecord builds the metrics table; the caller releases it.
func MetricsRecord(r *Result) arrow.Record { return metricsTable.Record(MetricRows(r)) }

// WriteMetrics writes the metrics table to path as Arrow IPC, atomically.
func WriteMetrics(path string, r *Result) error {
	return metricsTable.WriteFile(path, MetricRows(r))
}

// ReadMetrics reads a metrics table by column name; null values read as
// NaN.
func ReadMetrics(path string) ([]MetricRow, error) { return metricsTable.ReadFile(path) }
