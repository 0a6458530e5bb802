package reports

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"fairage/analysis"
)

// page is what both templates render: every value is already formatted,
// so Markdown and HTML show the same numbers.
type page struct {
	Title      string
	RunName    string
	Headline   headlineView
	TOC        []tocEntry
	Adjusted   adjustedView
	Subjects   subjectView
	Summary    summaryView
	Study      []studyRow
	Attributes []attrView
	Charts     []chartSection
	Contact    contactSheet
	Meta       metaView
}

// summaryView is the report's first section.
type summaryView struct {
	Warnings   []string // the analysis's warnings, shown first
	Notes      []string // the run's notes, after the warnings
	Rows       int
	Split      string
	Confidence string // "95%", "" without intervals
	Resamples  int
	MAE        string
	Biases     []scoreView
	Gates      []gateView
	GatesOK    bool
}

type scoreView struct {
	Name  string // "Gender bias"
	Value string
	Note  string // why unavailable
}

type gateView struct {
	Metric, Bound, Value, Message string
	Passed                        bool
}

// studyRow is one row of the original study's results table.
type studyRow struct {
	Run, Model, LR, Strategy           string
	Gender, Expression, Ethnicity, Age string
	MAE                                string
	Warned                             bool // the run's analysis has warnings
}

type attrView struct {
	Name      string
	Anchor    string // HTML id: "attr-" + key, from fixed attribute names
	Available bool
	Note      string
	Unknown   int
	Unlisted  string // "x: 3, y: 1"
	Groups    []groupView
	Bias      string
	Gap       string
	Ratio     string
	Test      string // "p = 0.012, Holm 0.036 (significant)"
}

type groupView struct {
	Name                 string
	N                    int
	MAE, RMSE, ME, MedAE string
	Flags                string
}

type metaView struct {
	Started    string
	Host       string
	ConfigText string
	Stages     []stageView
	Versions   []Version
}

type stageView struct {
	Name, Fingerprint, Duration, Status, Reason string
}

// studyBiasKeys are the study's four scores, in its column order.
var studyBiasKeys = []struct{ key, label string }{
	{"gender_bias", "Gender bias"},
	{"expression_bias", "Expression bias"},
	{"ethnicity_bias", "Ethnicity bias"},
	{"age_group_bias", "Age bias"},
}

// buildPage formats a run's results (charts are added by the caller).
func buildPage(run *Run, opts Options) page {
	f := formatter{opts.Decimals}
	r := run.Analysis
	title := opts.Title
	if title == "" {
		title = "fairage report: " + run.Name
	}
	pg := page{
		Title:    title,
		RunName:  run.Name,
		Summary:  buildSummary(r, run.Notes, f),
		Headline: buildHeadline(r, f),
		Adjusted: buildAdjusted(r, f),
		Subjects: buildSubjects(r, f),
		Study:    []studyRow{buildStudyRow(run.Name, run.Model, r, f)},
		Meta:     buildMeta(&run.Meta),
	}
	for i := range r.Attributes {
		pg.Attributes = append(pg.Attributes, buildAttr(&r.Attributes[i], f))
	}
	return pg
}

func buildSummary(r *analysis.Result, notes []string, f formatter) summaryView {
	s := summaryView{
		Warnings:  r.Warnings,
		Notes:     notes,
		Rows:      r.Settings.Rows,
		Split:     r.Split,
		Resamples: r.Settings.BootstrapResamples,
		MAE:       f.est(r.Overall.MAE),
		GatesOK:   r.GateError() == nil,
	}
	if s.Resamples > 0 {
		s.Confidence = strconv.FormatFloat(r.Settings.Confidence*100, 'g', -1, 64) + "%"
	}
	// The study's four scores, or, for an audit by other attributes, the
	// score of each attribute analysed.
	study := false
	for _, k := range studyBiasKeys {
		if _, _, ok := r.Metric(k.key); ok {
			study = true
		}
	}
	if study {
		for _, k := range studyBiasKeys {
			e, note, ok := r.Metric(k.key)
			v := scoreView{Name: k.label, Value: f.est(e), Note: note}
			if !ok {
				v.Value, v.Note = "–", "not analysed"
			}
			if a := attributeByKey(r, strings.TrimSuffix(k.key, "_bias")); a != nil && a.Inferred != "" {
				v.Name += " (" + a.Inferred + ")"
			}
			s.Biases = append(s.Biases, v)
		}
	} else {
		for i := range r.Attributes {
			if a := &r.Attributes[i]; len(a.Members) == 1 {
				s.Biases = append(s.Biases, scoreView{Name: inferredName(a) + " bias", Value: f.est(a.Bias), Note: a.Note})
			}
		}
	}
	for _, g := range r.Gates {
		s.Gates = append(s.Gates, gateView{
			Metric: g.Metric, Bound: gateBound(g), Value: f.est(g.Value), Message: g.Message, Passed: g.Passed,
		})
	}
	return s
}

func gateBound(g analysis.GateResult) string {
	var parts []string
	if g.Min != nil {
		parts = append(parts, "≥ "+strconv.FormatFloat(*g.Min, 'g', -1, 64))
	}
	if g.Max != nil {
		parts = append(parts, "≤ "+strconv.FormatFloat(*g.Max, 'g', -1, 64))
	}
	s := strings.Join(parts, ", ")
	if g.On == analysis.GateOnInterval {
		s += " (whole interval)"
	}
	return s
}

func buildStudyRow(run string, m ModelInfo, r *analysis.Result, f formatter) studyRow {
	get := func(key string) string {
		e, _, ok := r.Metric(key)
		if !ok {
			return "–"
		}
		return f.est(e)
	}
	return studyRow{
		Run: run, Model: m.Name, LR: lr(m.LearningRate), Strategy: m.Strategy,
		Gender: get("gender_bias"), Expression: get("expression_bias"),
		Ethnicity: get("ethnicity_bias"), Age: get("age_group_bias"),
		MAE: f.est(r.Overall.MAE), Warned: len(r.Warnings) > 0,
	}
}

// inferredName is an attribute's display name, with how it was inferred
// when it was: its groups are then a classifier's predictions, not ground
// truth, and every heading says so.
func inferredName(a *analysis.AttributeResult) string {
	if a.Inferred == "" {
		return display(a.Name)
	}
	return display(a.Name) + " (" + a.Inferred + ")"
}

// attributeByKey is the result of the attribute with that key, nil when
// it was not analysed.
func attributeByKey(r *analysis.Result, key string) *analysis.AttributeResult {
	for i := range r.Attributes {
		if r.Attributes[i].Key == key {
			return &r.Attributes[i]
		}
	}
	return nil
}

func buildAttr(a *analysis.AttributeResult, f formatter) attrView {
	v := attrView{
		Name: inferredName(a), Anchor: "attr-" + safeID(a.Key), Available: a.Available, Note: a.Note,
		Unknown: a.Unknown, Bias: f.est(a.Bias), Gap: f.est(a.Gap), Ratio: f.est(a.Ratio),
	}
	if len(a.Unlisted) > 0 {
		keys := make([]string, 0, len(a.Unlisted))
		for k := range a.Unlisted {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for i, k := range keys {
			keys[i] = fmt.Sprintf("%s: %d", k, a.Unlisted[k])
		}
		v.Unlisted = strings.Join(keys, ", ")
	}
	for _, g := range a.Groups {
		var flags []string
		if g.Small {
			flags = append(flags, "small")
		}
		if g.Empty {
			flags = append(flags, "empty")
		}
		if !g.InScore {
			flags = append(flags, "not in score")
		}
		v.Groups = append(v.Groups, groupView{
			Name: display(g.Name), N: g.N, MAE: f.est(g.MAE), RMSE: f.est(g.RMSE),
			ME: f.est(g.MeanError), MedAE: f.est(g.MedianAE), Flags: strings.Join(flags, ", "),
		})
	}
	if t := a.Test; t != nil {
		sig := "not significant"
		if t.Significant {
			sig = "significant"
		}
		v.Test = fmt.Sprintf("p = %s, Holm-adjusted %s (%s; %d permutations)", f.p(t.P), f.p(t.PHolm), sig, t.Permutations)
	}
	return v
}

func buildMeta(m *Metadata) metaView {
	v := metaView{Host: m.Host, ConfigText: m.ConfigText, Versions: m.Versions}
	if !m.Started.IsZero() {
		v.Started = m.Started.UTC().Format("2006-01-02 15:04:05 UTC")
	}
	for _, s := range m.Stages {
		v.Stages = append(v.Stages, stageView{
			Name: s.Name, Fingerprint: shortFingerprint(s.Fingerprint), Duration: duration(s.Duration),
			Status: strings.ReplaceAll(s.Status, "_", " "), Reason: s.Reason,
		})
	}
	return v
}

// shortFingerprint keeps the first 12 characters, enough to tell runs apart.
func shortFingerprint(s string) string {
	if len(s) > 12 {
		return s[:12]
	}
	return s
}

// finite reports whether v is neither NaN nor infinite.
func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
