package reports

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
)

// comparePage is what the comparison templates render.
type comparePage struct {
	Title    string
	RunNames []string // column heads of the per-run tables
	Study    []studyRow
	Warnings []runWarning // every run's analysis warnings, in run order
	Notes    []runWarning // every run's notes, in run order
	Paired   []pairedView
	Groups   groupsView
	Curves   curvesView
	Times    timesView
	Runs     []compareRunView
	Diffs    []ConfigDifference
}

// runWarning is one of a compared run's analysis warnings or notes.
type runWarning struct {
	Run, Text string
}

type compareRunView struct {
	Name    string
	Commit  string // short commit, "unknown" when the manifest has none
	Rows    int
	Split   string
	GatesOK bool
	Gates   int
}

type pairedView struct {
	A, B                  string
	Matched, OnlyA, OnlyB int
	Permutations          int
	Alpha                 string
	Tests                 []pairedTestView
}

type pairedTestView struct {
	Metric, A, B, Diff, P, PHolm string
	Significant                  bool
}

// Comparison section ids, in page order.
var compareSectionIDs = []string{
	"compare-table", "compare-config", "compare-tests", "compare-groups", "compare-curves", "compare-times", "compare-runs",
}

func buildComparePage(c *Comparison, opts Options) (comparePage, error) {
	if err := opts.Validate(); err != nil {
		return comparePage{}, fmt.Errorf("report options: %w", err)
	}
	if len(c.Runs) == 0 {
		return comparePage{}, errors.New("comparison report: no runs")
	}
	f := formatter{opts.Decimals}
	pg := comparePage{Title: c.Title}
	if pg.Title == "" {
		pg.Title = "fairage comparison"
	}
	for _, r := range c.Runs {
		if r.Analysis == nil {
			return comparePage{}, fmt.Errorf("comparison report: run %q has no analysis result", r.Name)
		}
		pg.RunNames = append(pg.RunNames, r.Name)
		pg.Study = append(pg.Study, buildStudyRow(r.Name, r.Model, r.Analysis, f))
		for _, n := range r.Notes {
			pg.Notes = append(pg.Notes, runWarning{Run: r.Name, Text: n})
		}
		for _, w := range r.Analysis.Warnings {
			pg.Warnings = append(pg.Warnings, runWarning{Run: r.Name, Text: w})
		}
		commit := "unknown"
		if r.Commit != "" {
			commit = shortCommit(r.Commit)
		}
		pg.Runs = append(pg.Runs, compareRunView{
			Name: r.Name, Commit: commit, Rows: r.Analysis.Settings.Rows, Split: r.Analysis.Split,
			GatesOK: r.Analysis.GateError() == nil, Gates: len(r.Analysis.Gates),
		})
	}
	for _, p := range c.Paired {
		v := pairedView{
			A: p.A, B: p.B, Matched: p.Matched, OnlyA: p.OnlyA, OnlyB: p.OnlyB,
			Permutations: p.Permutations, Alpha: strconv.FormatFloat(p.Alpha, 'g', -1, 64),
		}
		for _, t := range p.Tests {
			v.Tests = append(v.Tests, pairedTestView{
				Metric: t.Metric, A: f.num(t.A), B: f.num(t.B), Diff: signed(f, t.Diff),
				P: f.p(t.P), PHolm: f.p(t.PHolm), Significant: t.Significant,
			})
		}
		pg.Paired = append(pg.Paired, v)
	}
	pg.Diffs = c.Differences
	pg.Groups = buildGroups(c.Runs, f)
	curves, err := buildCurves(c.Runs, f)
	if err != nil {
		return comparePage{}, fmt.Errorf("comparison report: %w", err)
	}
	pg.Curves = curves
	pg.Times = buildTimes(c.Runs)
	return pg, nil
}

// shortCommit keeps 12 hex digits of a commit and its "+dirty" mark.
func shortCommit(c string) string {
	hash, dirty := c, ""
	if i := len(c) - len("+dirty"); i > 0 && c[i:] == "+dirty" {
		hash, dirty = c[:i], " (dirty)"
	}
	if len(hash) > 12 {
		hash = hash[:12]
	}
	return hash + dirty
}

// signed formats a difference with its sign, "+0.120" or "−0.310".
func signed(f formatter, v float64) string {
	s := f.num(v)
	if finite(v) && v >= 0 {
		return "+" + s
	}
	return s
}

// WriteComparison renders a comparison of runs into dir: compare.md and a
// self-contained compare.html, each written atomically.
func WriteComparison(dir string, c Comparison, opts Options) (Files, error) {
	pg, err := buildComparePage(&c, opts)
	if err != nil {
		return Files{}, err
	}
	files := Files{Markdown: filepath.Join(dir, "compare.md"), HTML: filepath.Join(dir, "compare.html")}
	if err := writePages(files, "compare", pg); err != nil {
		return Files{}, err
	}
	return files, nil
}

// RenderComparisonMarkdown writes compare.md to w.
func RenderComparisonMarkdown(w io.Writer, c Comparison, opts Options) error {
	pg, err := buildComparePage(&c, opts)
	if err != nil {
		return err
	}
	return renderMarkdown(w, "compare.md.tmpl", pg)
}

// RenderComparisonHTML writes compare.html to w.
func RenderComparisonHTML(w io.Writer, c Comparison, opts Options) error {
	pg, err := buildComparePage(&c, opts)
	if err != nil {
		return err
	}
	return renderHTML(w, "compare.html.tmpl", pg)
}
