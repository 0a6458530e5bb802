package reports

import (
	"bytes"
	"context"
	"fairage/internal/golden"
	"slices"
	"strings"
	"testing"

	"golang.org/x/net/html"

	"fairage/analysis"
	"fairage/dataset"
)

// fixtureComparison compares the fixture run with a "balanced" run whose
// errors on the evilGroup faces are halved, and with a third run.
func fixtureComparison(t *testing.T) Comparison {
	t.Helper()
	base := fixturePredictions()
	balanced := slices.Clone(base)
	for i := range balanced {
		if balanced[i].Ethnicity == evilGroup {
			balanced[i].YPred = balanced[i].YTrue + (balanced[i].YPred-balanced[i].YTrue)/2
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
	return Comparison{
		Title: "Balancing study",
		Runs: []ComparedRun{
			{Name: "baseline", Model: ModelInfo{"resnet18", 1e-4, "none"}, Analysis: fixtureAnalysis(t, base)},
			{Name: "balanced <i>", Model: ModelInfo{"resnet18", 1e-4, "oversample " + evilGroup}, Analysis: fixtureAnalysis(t, balanced)},
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
	if err := RenderMarkdown(&buf, fixtureRun(t), o); err == nil || !strings.Contains(err.Error(), "report.max_scatter_points: 0 must be ≥ 1") {
		t.Errorf("error %v", err)
	}
}
