package analysis

import "math"

// MetricDiff is the metrics-table name of an attribute's signed worst −
// best MAE difference (AttributeResult.Diff); its group column names the
// pair ("white vs asian").
const MetricDiff = "diff"

// Metrics-table names of the rows added in summary version 2.
const (
	MetricRejected         = "rejected"            // overall rows, group = reason, estimate = rows
	MetricFlagged          = "flagged"             // overall rows, group = reason, estimate = rows
	MetricAgeMixShareBias  = "age_mix_share_bias"  // 1 − adjusted bias / raw bias
	MetricAgeMixShareGap   = "age_mix_share_gap"   // 1 − adjusted gap / raw gap
	MetricPAgeAdjusted     = "p_age_adjusted"      // within-age-bin permutation p of bias_age_adjusted
	MetricPHolmAgeAdjusted = "p_holm_age_adjusted" // the same after Holm
	MetricWithinSubject    = "within_subject_diff" // mean over subjects of MAE_A − MAE_B; group "A vs B"
	MetricWithinSubjectP   = "within_subject_p"    // sign-flip permutation p
	MetricWithinSubjectPH  = "within_subject_p_holm"
)

// pairLabel names a contrast of two groups in the group column.
func pairLabel(a, b string) string {
	if a == "" {
		return ""
	}
	return a + " vs " + b
}

// screeningRows are the counts of rejected and flagged rows by reason.
func screeningRows(r *Result) []MetricRow {
	var rows []MetricRow
	for _, list := range []struct {
		metric string
		issues []RowIssue
	}{{MetricRejected, r.Rejected}, {MetricFlagged, r.Flagged}} {
		for _, it := range list.issues {
			rows = append(rows, MetricRow{OverallAttribute, it.Reason, list.metric, float64(it.Count), math.NaN(), math.NaN(), int64(it.Count), ""})
		}
	}
	return rows
}

// adjustedRows are an attribute's age-adjusted rows: each scored group's
// adjusted MAE, then the adjusted scores, diff, age-mix shares and test.
func adjustedRows(a *AttributeResult) []MetricRow {
	adj := a.AgeAdjusted
	if adj == nil {
		return nil
	}
	var rows []MetricRow
	n := int64(0)
	for _, g := range adj.Groups {
		rows = append(rows, MetricRow{a.Key, g.Name, MetricMAE + AgeAdjustedSuffix, g.MAE.Value, g.MAE.Lower, g.MAE.Upper, int64(g.N), ""})
		n += int64(g.N)
	}
	flags := ""
	if !adj.Available {
		flags = FlagUnavailable
	}
	add := func(group, metric string, e Estimate) {
		rows = append(rows, MetricRow{a.Key, group, metric, e.Value, e.Lower, e.Upper, n, flags})
	}
	for _, m := range scoreMetrics {
		e, _ := adj.Score(m)
		add("", m+AgeAdjustedSuffix, e)
	}
	add(pairLabel(adj.Worst, adj.Best), MetricDiff+AgeAdjustedSuffix, adj.Diff)
	add("", MetricAgeMixShareBias, adj.AgeMixShareBias)
	add("", MetricAgeMixShareGap, adj.AgeMixShareGap)
	if t := adj.Test; t != nil {
		add("", MetricPAgeAdjusted, pointEstimate(t.P))
		add("", MetricPHolmAgeAdjusted, pointEstimate(t.PHolm))
	}
	return rows
}

// subjectRows are the within-subject differences and their tests.
func subjectRows(r *Result) []MetricRow {
	if r.WithinSubject == nil {
		return nil
	}
	var rows []MetricRow
	for _, a := range r.WithinSubject.Attributes {
		for _, p := range a.Pairs {
			g, n := pairLabel(p.A, p.B), int64(p.Subjects)
			rows = append(rows, MetricRow{a.Key, g, MetricWithinSubject, p.Diff.Value, p.Diff.Lower, p.Diff.Upper, n, ""})
			if p.Test != nil {
				rows = append(rows,
					MetricRow{a.Key, g, MetricWithinSubjectP, p.Test.P, math.NaN(), math.NaN(), n, ""},
					MetricRow{a.Key, g, MetricWithinSubjectPH, p.Test.PHolm, math.NaN(), math.NaN(), n, ""})
			}
		}
	}
	return rows
}
