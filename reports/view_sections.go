package reports

import (
	"fmt"
	"math"
	"strings"

	"fairage/analysis"
)

// headlineView is the paragraph at the top of a report: per attribute,
// its worst and best group, the gap raw and age-adjusted, and whether the
// bias is significant.
type headlineView struct {
	Lead  string // "1,997 rows, overall MAE 5.03 years."
	Items []headlineItem
	Tail  string // how to read it
}

type headlineItem struct {
	Attribute string
	Text      string // the sentence after the attribute's name
	Badge     string // "significant", "not significant", "not tested", "undefined"
	BadgeKind string // CSS class: sig, ns, na
}

func buildHeadline(r *analysis.Result, f formatter) headlineView {
	h := headlineView{Lead: fmt.Sprintf("%d rows analysed, overall MAE %s years.", r.Settings.Rows, f.est(r.Overall.MAE))}
	for i := range r.Attributes {
		a := &r.Attributes[i]
		if len(a.Members) != 1 {
			continue // intersections have their own heatmap and tables
		}
		it := headlineItem{Attribute: inferredName(a)}
		switch {
		case !a.Available || a.ScoredGroups < 2 || a.Worst == "":
			it.Text = "bias undefined: " + strings.TrimPrefix(a.Note, a.Name+" ")
			if a.Note == "" {
				it.Text = "bias undefined: fewer than two groups"
			}
			it.Badge, it.BadgeKind = "undefined", "na"
			h.Items = append(h.Items, it)
			continue
		}
		worst, best := groupOf(a, a.Worst), groupOf(a, a.Best)
		var b strings.Builder
		fmt.Fprintf(&b, "worst %s (MAE %s), best %s (MAE %s): gap %s years raw",
			display(a.Worst), f.num(worst.MAE.Value), display(a.Best), f.num(best.MAE.Value), f.est(a.Diff))
		if adj := a.AgeAdjusted; adj != nil {
			switch {
			case adj.Available && adj.Worst != "":
				fmt.Fprintf(&b, ", %s age-adjusted", f.est(adj.Diff))
				if adj.Worst != a.Worst || adj.Best != a.Best {
					fmt.Fprintf(&b, " (%s vs %s after adjustment)", display(adj.Worst), display(adj.Best))
				}
			case a.Members[0] != "age_group":
				b.WriteString("; age-adjusted: n/a")
			}
		}
		if t := a.Test; t != nil {
			fmt.Fprintf(&b, "; bias %s, Holm p = %s", f.est(a.Bias), f.p(t.PHolm))
			it.Badge, it.BadgeKind = "not significant", "ns"
			if t.Significant {
				it.Badge, it.BadgeKind = "significant", "sig"
			}
			if adj := a.AgeAdjusted; adj != nil && adj.Test != nil {
				fmt.Fprintf(&b, " (age-adjusted %s)", f.p(adj.Test.PHolm))
			}
		} else {
			fmt.Fprintf(&b, "; bias %s", f.est(a.Bias))
			it.Badge, it.BadgeKind = "not tested", "na"
		}
		it.Text = b.String()
		h.Items = append(h.Items, it)
	}
	alpha := fmt.Sprintf("%g", r.Settings.Alpha)
	h.Tail = fmt.Sprintf("Gap: MAE of the worst group minus the best, with its interval; significant: the permutation test of the bias score, Holm-corrected over every test of the report, below α = %s.", alpha)
	if r.Settings.PermutationResamples == 0 {
		h.Tail = "Gap: MAE of the worst group minus the best, with its interval; tests are off (analysis.permutation.resamples: 0)."
	}
	return h
}

func groupOf(a *analysis.AttributeResult, name string) *analysis.GroupResult {
	for i := range a.Groups {
		if a.Groups[i].Name == name {
			return &a.Groups[i]
		}
	}
	return &analysis.GroupResult{Metrics: analysis.Metrics{MAE: analysis.Estimate{Value: math.NaN()}}}
}

// adjustedView is the age-adjusted section.
type adjustedView struct {
	Enabled   bool
	Reference string // "pooled", "uniform"
	Bins      string // "0-19, 20-39, 40-59, 60+"
	Summary   []adjustedRow
	Details   []adjustedAttr
}

type adjustedRow struct {
	Attribute                    string
	RawBias, AdjBias, Share      string
	RawGap, AdjGap               string
	RawP, AdjP                   string
	RawSig, AdjSig, NotAvailable bool
	Note                         string
}

type adjustedAttr struct {
	Name, Anchor string
	Bins         []string
	Groups       []adjustedGroupView
	Note         string
}

type adjustedGroupView struct {
	Name, N, Raw, Adjusted string
	Cells                  []string // "4.12 (n 35)" per bin, "–" empty
}

func buildAdjusted(r *analysis.Result, f formatter) adjustedView {
	v := adjustedView{Enabled: r.Settings.AgeAdjust, Reference: r.Settings.AgeAdjustReference}
	if !v.Enabled {
		return v
	}
	v.Bins = strings.Join(analysis.AgeLabels(r.Settings.AgeAdjustEdges), ", ")
	for i := range r.Attributes {
		a := &r.Attributes[i]
		adj := a.AgeAdjusted
		if adj == nil {
			continue
		}
		row := adjustedRow{Attribute: inferredName(a), RawBias: f.est(a.Bias), AdjBias: f.est(adj.Bias),
			Share: f.share(adj.AgeMixShareBias), RawGap: f.est(a.Diff), AdjGap: f.est(adj.Diff), RawP: "–", AdjP: "–"}
		if a.Test != nil {
			row.RawP, row.RawSig = f.p(a.Test.PHolm), a.Test.Significant
		}
		if adj.Test != nil {
			row.AdjP, row.AdjSig = f.p(adj.Test.PHolm), adj.Test.Significant
		}
		if !adj.Available {
			row.NotAvailable, row.Note = true, adj.Note
		}
		v.Summary = append(v.Summary, row)
		if !adj.Available || len(adj.Groups) == 0 {
			continue
		}
		d := adjustedAttr{Name: inferredName(a), Anchor: "adj-" + safeID(a.Key), Bins: adj.Bins, Note: adj.Note}
		for _, g := range adj.Groups {
			gv := adjustedGroupView{Name: display(g.Name), N: fmt.Sprint(g.N), Raw: f.est(groupOf(a, g.Name).MAE), Adjusted: f.est(g.MAE)}
			for _, c := range g.Cells {
				if c.MAE == nil {
					gv.Cells = append(gv.Cells, "–")
				} else {
					gv.Cells = append(gv.Cells, fmt.Sprintf("%s (n %d)", f.num(*c.MAE), c.N))
				}
			}
			d.Groups = append(d.Groups, gv)
		}
		v.Details = append(v.Details, d)
	}
	return v
}

// share formats a fraction as a percentage with its interval.
func (f formatter) share(e analysis.Estimate) string {
	if !finite(e.Value) {
		return "n/a"
	}
	pct := func(v float64) string { return fmt.Sprintf("%.0f%%", 100*v) }
	if !e.HasInterval() {
		return pct(e.Value)
	}
	return fmt.Sprintf("%s [%s, %s]", pct(e.Value), pct(e.Lower), pct(e.Upper))
}

// subjectView is the within-subject section.
type subjectView struct {
	Present  bool
	Subjects int
	Rows     int
	Note     string
	Pairs    []subjectPairView
	Notes    []string // per attribute: why it has no comparison
}

type subjectPairView struct {
	Attribute, A, B, Subjects, MAEA, MAEB, Diff, P string
	Significant, Tested                            bool
}

func buildSubjects(r *analysis.Result, f formatter) subjectView {
	ws := r.WithinSubject
	if ws == nil {
		return subjectView{Note: "No analysed row has a subject id, so nothing compares the same person under two conditions. " +
			"Give the predictions a subject column (pipeline audit --subject COL, or a dataset with subject ids) to compare, for example, one person's neutral and smiling faces."}
	}
	v := subjectView{Present: true, Subjects: ws.Subjects, Rows: ws.Rows, Note: ws.Note}
	for _, a := range ws.Attributes {
		if a.Note != "" {
			v.Notes = append(v.Notes, display(a.Name)+": "+a.Note)
		}
		for _, p := range a.Pairs {
			pv := subjectPairView{Attribute: display(a.Name), A: display(p.A), B: display(p.B), Subjects: fmt.Sprint(p.Subjects),
				MAEA: f.num(p.MAEA), MAEB: f.num(p.MAEB), Diff: f.est(p.Diff), P: "–"}
			if p.Test != nil {
				pv.P, pv.Significant, pv.Tested = f.p(p.Test.PHolm), p.Test.Significant, true
			}
			v.Pairs = append(v.Pairs, pv)
		}
	}
	return v
}

// tocEntry is one line of the table of contents.
type tocEntry struct{ ID, Title string }

func buildTOC(pg *page) []tocEntry {
	toc := []tocEntry{{"summary", "Summary"}, {"study-table", "Results"}, {"gates", "Gates"}, {"attributes", "Attributes"},
		{"age-adjusted", "Age-adjusted disparity"}, {"within-subject", "Within-subject comparison"}}
	for _, s := range pg.Charts {
		toc = append(toc, tocEntry{s.ID, s.Title})
	}
	return append(toc, tocEntry{"contact-sheet", "Contact sheet"}, tocEntry{"metadata", "Run metadata"})
}
