package reports

import (
	"bytes"
	"strings"
	"testing"

	"fairage/analysis"
)

// An inferred attribute says so in the headings of its sections (and its
// bias card), in both formats; an attribute without the flag is unchanged.
func TestInferredAttributeHeadings(t *testing.T) {
	run := fixtureRun(t)
	const note = "inferred by emotion, threshold 0.5"
	found := false
	for i := range run.Analysis.Attributes {
		if a := &run.Analysis.Attributes[i]; a.Key == "ethnicity" {
			a.Inferred, found = note, true
		}
	}
	if !found {
		t.Fatal("the fixture has no ethnicity attribute")
	}
	var md, html bytes.Buffer
	if err := RenderMarkdown(&md, run, DefaultOptions()); err != nil {
		t.Fatal(err)
	}
	if err := RenderHTML(&html, run, DefaultOptions()); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(md.String(), `### ethnicity \(inferred by emotion, threshold 0.5\)`+"\n") {
		t.Errorf("report.md lacks the inferred heading:\n%s", md.String())
	}
	if !strings.Contains(html.String(), "<h3>ethnicity ("+note+")</h3>") {
		t.Error("report.html lacks the inferred heading")
	}
	if !strings.Contains(md.String(), `### ethnicity \(inferred by emotion, threshold 0.5\): raw and age-adjusted MAE`) {
		t.Error("report.md lacks the inferred heading of the age-adjusted section")
	}
	if strings.Contains(md.String(), "### gender \\(inferred") {
		t.Error("gender is marked inferred")
	}
}

// A comparison marks an attribute that runs inferred: plainly when all
// that analysed it did so alike, else naming the runs.
func TestComparedInferred(t *testing.T) {
	runs := []ComparedRun{{Name: "a"}, {Name: "b"}}
	note := "inferred by emotion, threshold 0.5"
	cases := []struct {
		per  []*analysis.AttributeResult
		want string
	}{
		{[]*analysis.AttributeResult{{}, {}}, ""},
		{[]*analysis.AttributeResult{{Inferred: note}, {Inferred: note}}, " (" + note + ")"},
		{[]*analysis.AttributeResult{{Inferred: note}, nil}, " (" + note + ")"},
		{[]*analysis.AttributeResult{{}, {Inferred: note}}, " (b: " + note + ")"},
		{[]*analysis.AttributeResult{{Inferred: note}, {Inferred: "inferred by emotion, threshold 0.7"}},
			" (a: " + note + "; b: inferred by emotion, threshold 0.7)"},
	}
	for i, tc := range cases {
		if got := comparedInferred(runs, tc.per); got != tc.want {
			t.Errorf("case %d: %q, want %q", i, got, tc.want)
		}
	}
}
