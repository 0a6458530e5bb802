package reports

import (
	"bytes"
	"context"
	"encoding/base64"
	"fairage/internal/golden"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"testing"

	"golang.org/x/net/html"

	"fairage/analysis"
	"fairage/dataset"
)

// fixtureComparison compares the fixture run with a "balanced" run whose
// errors on the evilGroup faces are halved, and with an "external" run, an
// audit of predictions with no training (no history) whose "black" faces
// are labelled "indian" instead. Balancing and training stopped early in
// the balanced run, which reused ingest and split from the cache.
func fixtureComparison(t *testing.T) Comparison {
	t.Helper()
	base := fixturePredictions()
	balanced := slices.Clone(base)
	external := slices.Clone(base)
	for i := range balanced {
		if balanced[i].Ethnicity == evilGroup {
			balanced[i].YPred = balanced[i].YTrue + (balanced[i].YPred-balanced[i].YTrue)/2
		}
		if external[i].Ethnicity == "black" {
			external[i].Ethnicity = "indian"
		}
	}
	o := analysis.DefaultOptions()
	o.Attributes = []string{dataset.AttrGender, dataset.AttrEthnicity, dataset.AttrAgeGroup}
	o.Permutation.Resamples = 199
	ab, err := analysis.Compare(context.Background(), "baseline", base, "balanced <i>", balanced, o)
	if err != nil {
		t.Fatal(err)
	}
	analysis.AdjustFamily(ab)
	// Validation MAE is best at epoch 3, then rises until early stopping.
	stopped := fixtureHistory(5, 0.5)
	stopped[3].ValMAE, stopped[4].ValMAE = 6, 6.5
	return Comparison{
		Title: "Balancing study",
		Runs: []ComparedRun{
			{Name: "baseline", Model: ModelInfo{"resnet18", 1e-4, "none"}, Analysis: fixtureAnalysis(t, base),
				History: fixtureHistory(8, 1),
				Stages: []StageTime{
					{Name: "ingest", Seconds: 12.3}, {Name: "split", Seconds: 0.8}, {Name: "balance", Seconds: 1.2},
					{Name: "augment", Seconds: 45}, {Name: "train", Seconds: 723.4}, {Name: "evaluate", Seconds: 20.1},
					{Name: "analyze", Seconds: 3}, {Name: "report", Seconds: 2.6},
				}},
			{Name: "balanced <i>", Model: ModelInfo{"resnet18", 1e-4, "oversample " + evilGroup}, Analysis: fixtureAnalysis(t, balanced),
				History: stopped,
				// A cached stage's seconds must not count, so they are odd here.
				Stages: []StageTime{
					{Name: "ingest", Seconds: 999, Cached: true}, {Name: "split", Cached: true}, {Name: "balance", Seconds: 1.4},
					{Name: "augment", Seconds: 51.2}, {Name: "train", Seconds: 480.2}, {Name: "evaluate", Seconds: 19.7},
					{Name: "analyze", Seconds: 3.1}, {Name: "report", Seconds: 2.5},
				}},
			{Name: "external", Model: ModelInfo{Name: "vendor API", Strategy: "none"}, Analysis: fixtureAnalysis(t, external),
				Stages: []StageTime{
					{Name: "ingest", Cached: true}, {Name: "split", Cached: true}, {Name: "evaluate", Seconds: 0.4},
					{Name: "analyze", Seconds: 2.9}, {Name: "report", Seconds: 2.2},
				}},
		},
		Paired: []*analysis.PairedResult{ab},
	}
}

func TestComparisonMarkdownGolden(t *testing.T) {
	var buf bytes.Buffer
	if err := RenderComparisonMarkdown(&buf, fixtureComparison(t), DefaultOptions()); err != nil {
		t.Fatal(err)
	}
	golden.Check(t, "compare.md", buf.Bytes())
	if strings.Contains(buf.String(), evilGroup) || strings.Contains(buf.String(), "<i>") {
		t.Error("compare.md contains raw markup from data")
	}
}

func TestComparisonHTML(t *testing.T) {
	dir := t.TempDir()
	files, err := WriteComparison(dir, fixtureComparison(t), DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	doc := parseHTML(t, files.HTML)
	ids := map[string]bool{}
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			if n.Data == "script" || n.Data == "i" {
				t.Errorf("compare.html has a <%s> element from data", n.Data)
			}
			for _, a := range n.Attr {
				if a.Key == "id" {
					ids[a.Val] = true
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	for _, id := range compareSectionIDs {
		if !ids[id] {
			t.Errorf("compare.html lacks section #%s", id)
		}
	}
}

func TestComparisonErrors(t *testing.T) {
	var buf bytes.Buffer
	if err := RenderComparisonMarkdown(&buf, Comparison{}, DefaultOptions()); err == nil {
		t.Error("a comparison without runs should fail")
	}
	if err := RenderComparisonMarkdown(&buf, Comparison{Runs: []ComparedRun{{Name: "x"}}}, DefaultOptions()); err == nil || !strings.Contains(err.Error(), `run "x" has no analysis`) {
		t.Errorf("error %v", err)
	}
	o := DefaultOptions()
	o.MaxScatterPoints = 0
	if err := RenderMarkdown(&buf, fixtureRun(t), o); err == nil || !strings.Contains(err.Error(), "report.max_scatter_points: 0 is outside [10, ∞)") {
		t.Errorf("error %v", err)
	}
}

// sectionRows are the rows of the tables in the HTML section with the given
// id, by their first cell's text: the other cells' texts.
func sectionRows(t *testing.T, doc *html.Node, id string) map[string][]string {
	t.Helper()
	var section *html.Node
	var find func(n *html.Node)
	find = func(n *html.Node) {
		for _, a := range n.Attr {
			if a.Key == "id" && a.Val == id {
				section = n
			}
		}
		for c := n.FirstChild; c != nil && section == nil; c = c.NextSibling {
			find(c)
		}
	}
	find(doc)
	if section == nil {
		t.Fatalf("no section #%s", id)
	}
	rows := map[string][]string{}
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode && n.Data == "tr" {
			var cells []string
			for c := n.FirstChild; c != nil; c = c.NextSibling {
				if c.Type == html.ElementNode {
					cells = append(cells, nodeText(c))
				}
			}
			if len(cells) > 0 {
				rows[cells[0]] = cells[1:]
			}
			return
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(section)
	return rows
}

func nodeText(n *html.Node) string {
	if n.Type == html.TextNode {
		return n.Data
	}
	var b strings.Builder
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		b.WriteString(nodeText(c))
	}
	return b.String()
}

// findImages returns the src of every <img> under n.
func findImages(n *html.Node) []string {
	var out []string
	if n.Type == html.ElementNode && n.Data == "img" {
		for _, a := range n.Attr {
			if a.Key == "src" {
				out = append(out, a.Val)
			}
		}
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		out = append(out, findImages(c)...)
	}
	return out
}

// TestComparisonSections checks the MAE-by-group, learning-curve and
// wall-time tables cell by cell in the HTML, and the curve chart.
func TestComparisonSections(t *testing.T) {
	var buf bytes.Buffer
	if err := RenderComparisonHTML(&buf, fixtureComparison(t), DefaultOptions()); err != nil {
		t.Fatal(err)
	}
	page := buf.String()
	doc, err := html.Parse(strings.NewReader(page))
	if err != nil {
		t.Fatal(err)
	}
	check := func(section, row string, want ...string) {
		t.Helper()
		got, ok := sectionRows(t, doc, section)[row]
		if !ok {
			t.Errorf("#%s has no row %q", section, row)
			return
		}
		if !slices.Equal(got, want) {
			t.Errorf("#%s row %q = %q, want %q", section, row, got, want)
		}
	}
	check("compare-groups", "Group", "baseline", "balanced <i>", "external")
	check("compare-groups", "black", "4.523 [3.895, 5.082] (97)", "4.523 [3.895, 5.082] (97)", "–")
	check("compare-groups", "indian", "–", "–", "4.523 [3.895, 5.082] (97)")
	check("compare-groups", evilGroup, "5.813 [5.118, 6.608] (98)", "2.907 [2.559, 3.304] (98)", "5.813 [5.118, 6.608] (98)")
	check("compare-groups", "male × indian", "–", "–", "4.510 [3.827, 5.347] (48)")
	if n := strings.Count(page, "not available in any run"); n != 1 {
		t.Errorf("expression should be said unavailable once, found %d times", n)
	}
	if strings.Contains(page, "<h3>expression</h3>") {
		t.Error("an attribute no run has should get no table")
	}

	check("compare-curves", "5", "4.000", "6.500", "–")
	check("compare-curves", "6", "3.500", "–", "–")
	check("compare-curves", "Best", "2.875 (epoch 8)", "5.500 (epoch 3)", "–")
	imgs := findImages(doc)
	if len(imgs) != 1 || !strings.HasPrefix(imgs[0], "data:image/svg+xml;base64,") {
		t.Fatalf("want one inline SVG chart, got %.80q", imgs)
	}
	svg, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(imgs[0], "data:image/svg+xml;base64,"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(svg), "Validation MAE per epoch") || !strings.Contains(string(svg), ">baseline<") ||
		!strings.Contains(string(svg), ">balanced &lt;i&gt;<") {
		t.Error("the curve chart should have a title and a legend entry per trained run, escaped")
	}
	if strings.Contains(string(svg), "external") {
		t.Error("a run without history should not be in the curve chart")
	}
	if !strings.Contains(page, "No training history, so no curve, for external") {
		t.Error("the run without history should be named in a note")
	}

	// A cached stage shows how long it took when computed, but only stages
	// that ran count in the total (the 999 s ingest below is not in it).
	check("compare-times", "ingest", "12.3 s", "cached (16 min 39 s)", "cached")
	check("compare-times", "balance", "1.2 s", "1.4 s", "–")
	check("compare-times", "train", "12 min 3 s", "8 min 0 s", "–")
	// Sums of the stages that ran; the cached ingest's 999 s counts only in
	// the bracketed from-scratch total.
	check("compare-times", "Total", "13 min 28 s", "9 min 18 s (25 min 57 s with the cached stages)", "5.5 s")
}

// TestComparisonGroupsAvailability: an attribute some runs lack gets a
// note per run, one no run has a line, and a huge one no table.
func TestComparisonGroupsAvailability(t *testing.T) {
	group := func(name string, n int) analysis.GroupResult {
		mae := analysis.Estimate{Value: float64(n), Lower: math.NaN(), Upper: math.NaN()}
		return analysis.GroupResult{Name: name, Metrics: analysis.Metrics{N: n, MAE: mae}}
	}
	var many []analysis.GroupResult
	for i := range maxCompareGroups + 1 {
		many = append(many, group(fmt.Sprint("g", i), 1))
	}
	a := &analysis.Result{Attributes: []analysis.AttributeResult{
		{Name: "gender", Key: "gender", Available: true, Groups: []analysis.GroupResult{group("female", 3)}},
		{Name: "expression", Key: "expression", Note: "no expression labels"},
		{Name: "wide", Key: "wide", Available: true, Groups: many},
	}}
	b := &analysis.Result{Attributes: []analysis.AttributeResult{
		{Name: "expression", Key: "expression", Note: "no expression labels"},
		{Name: "gender", Key: "gender", Note: "all unknown"},
		{Name: "ethnicity", Key: "ethnicity", Available: true, Groups: []analysis.GroupResult{group("asian", 2)}},
	}}
	v := buildGroups([]ComparedRun{{Name: "a", Analysis: a}, {Name: "b", Analysis: b}}, formatter{1})
	var got []string
	for _, tb := range v.Tables {
		got = append(got, fmt.Sprintf("%s %v %q", tb.Name, tb.Rows, tb.Notes))
	}
	want := []string{
		`gender [{female [3.0 (3) –]}] ["Not available in b: all unknown."]`,
		`wide [] ["41 groups: too many to compare here; each run's report lists them." "Not analysed in b."]`,
		`ethnicity [{asian [– 2.0 (2)]}] ["Not analysed in a."]`,
	}
	if !slices.Equal(got, want) {
		t.Errorf("tables:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if len(v.Unavailable) != 1 || v.Unavailable[0] != (unavailableView{"expression", "no expression labels"}) {
		t.Errorf("unavailable %v", v.Unavailable)
	}
}

func TestMergeOrder(t *testing.T) {
	got := mergeOrder([][]string{
		{"ingest", "split", "evaluate", "analyze"},
		{"ingest", "split", "train", "evaluate", "analyze", "report"},
		{"prepare", "ingest"},
	})
	want := []string{"prepare", "ingest", "split", "train", "evaluate", "analyze", "report"}
	if !slices.Equal(got, want) {
		t.Errorf("mergeOrder = %v, want %v", got, want)
	}
}

// TestComparisonWithoutHistoryOrStages: runs with neither say so instead
// of drawing empty tables.
func TestComparisonWithoutHistoryOrStages(t *testing.T) {
	c := fixtureComparison(t)
	for i := range c.Runs {
		c.Runs[i].History, c.Runs[i].Stages = nil, nil
	}
	var buf bytes.Buffer
	if err := RenderComparisonMarkdown(&buf, c, DefaultOptions()); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"No run has a training history", "No run recorded its stages."} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("compare.md lacks %q", want)
		}
	}
	if strings.Contains(buf.String(), "| Epoch |") || strings.Contains(buf.String(), "| Stage |") {
		t.Error("empty learning-curve or wall-time table")
	}
}

// TestComparisonWarnings: a degenerate run's warning and its notes are
// listed under the results table, naming the run, and its row is flagged;
// the sound run's row is not.
func TestComparisonWarnings(t *testing.T) {
	c := Comparison{
		Title: "Frozen backbone",
		Runs: []ComparedRun{
			{Name: "baseline", Model: ModelInfo{"resnet18", 1e-4, "none"}, Analysis: fixtureAnalysis(t, fixturePredictions())},
			{Name: "frozen <i>", Model: ModelInfo{"resnet18 (head only)", 1e-3, "none"}, Analysis: fixtureAnalysis(t, stuckPredictions()),
				Notes: []string{"Head-only training on a random backbone."}},
		},
	}
	var buf bytes.Buffer
	if err := RenderComparisonMarkdown(&buf, c, DefaultOptions()); err != nil {
		t.Fatal(err)
	}
	golden.Check(t, "compare_warning.md", buf.Bytes())

	buf.Reset()
	if err := RenderComparisonHTML(&buf, c, DefaultOptions()); err != nil {
		t.Fatal(err)
	}
	doc, err := html.Parse(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(buf.String(), "<i>") {
		t.Error("compare.html contains the raw <i> of a run name")
	}
	table := findByAttr(doc, "id", "compare-table")
	box := findByAttr(table, "class", "warning")
	if box == nil {
		t.Fatal("#compare-table has no warning box")
	}
	if got := nodeText(box); !strings.HasPrefix(strings.TrimSpace(got), "Warning, frozen <i>: predictions barely vary: 400 of 400") {
		t.Errorf("warning box says %q", got)
	}
	if notes := findByAttr(table, "class", "notes"); notes == nil ||
		strings.TrimSpace(nodeText(notes)) != "Note, frozen <i>: Head-only training on a random backbone." {
		t.Errorf("#compare-table notes: %v", notes)
	}
	rows := sectionRows(t, doc, "compare-table")
	if rows["frozen <i> warning"] == nil || rows["baseline"] == nil {
		t.Errorf("only the frozen run's row should be flagged: rows %q", slices.Collect(maps.Keys(rows)))
	}
}
