package reports

import (
	"bytes"
	"fairage/internal/golden"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/net/html"

	"fairage/dataset"
)

func TestMarkdownGolden(t *testing.T) {
	for _, tc := range []struct {
		name string
		run  func(*testing.T) Run
	}{{"report.md", fixtureRun}, {"report_bare.md", bareRun}, {"report_warning.md", warnedRun}} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := RenderMarkdown(&buf, tc.run(t), DefaultOptions()); err != nil {
				t.Fatal(err)
			}
			golden.Check(t, tc.name, buf.Bytes())
			if strings.Contains(buf.String(), evilGroup) {
				t.Error("report.md contains the raw <script> group name")
			}
		})
	}
}

func TestWrite(t *testing.T) {
	dir := t.TempDir()
	files, err := Write(dir, fixtureRun(t), DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	md, _ := os.ReadFile(files.Markdown)
	for _, f := range files.Figures {
		rel, _ := filepath.Rel(dir, f)
		if !strings.Contains(string(md), "]("+filepath.ToSlash(rel)+")") {
			t.Errorf("report.md does not link %s", rel)
		}
		if st, err := os.Stat(f); err != nil || st.Size() == 0 {
			t.Errorf("figure %s missing or empty", f)
		}
	}
	if len(files.Figures) < 10 {
		t.Errorf("%d figures, want every chart kind", len(files.Figures))
	}
	doc := parseHTML(t, files.HTML)
	checkHTML(t, doc)
}

func TestHTMLBare(t *testing.T) {
	var buf bytes.Buffer
	if err := RenderHTML(&buf, bareRun(t), DefaultOptions()); err != nil {
		t.Fatal(err)
	}
	doc, err := html.Parse(&buf)
	if err != nil {
		t.Fatal(err)
	}
	checkHTML(t, doc)
}

// TestHTMLWarning: a degenerate model's warning is in a warning box at the
// top of the summary, escaped, and its study-table row is flagged.
func TestHTMLWarning(t *testing.T) {
	run := warnedRun(t)
	if len(run.Analysis.Warnings) != 1 {
		t.Fatalf("fixture warnings %q, want one", run.Analysis.Warnings)
	}
	var buf bytes.Buffer
	if err := RenderHTML(&buf, run, DefaultOptions()); err != nil {
		t.Fatal(err)
	}
	doc, err := html.Parse(&buf)
	if err != nil {
		t.Fatal(err)
	}
	checkHTML(t, doc)
	summary := findByAttr(doc, "id", "summary")
	if summary == nil {
		t.Fatal("no #summary")
	}
	box := findByAttr(summary, "class", "warning")
	if box == nil {
		t.Fatal("#summary has no warning box")
	}
	if got := nodeText(box); !strings.Contains(got, "Warning: predictions barely vary: 400 of 400 within 1 year of 0.0") ||
		!strings.Contains(got, "the groups' age distributions") {
		t.Errorf("warning box says %q", got)
	}
	if first := elementChild(summary, 1); first != box {
		t.Error("the warning box should come first in the summary, right under its heading")
	}
	notes := findByAttr(summary, "class", "notes")
	if notes == nil || elementChild(summary, 2) != notes {
		t.Fatal("the run's notes should follow the warning box")
	}
	if got := strings.TrimSpace(nodeText(notes)); got != "Note: Head-only training on a <i>random</i> backbone measures little." {
		t.Errorf("notes box says %q (the note must be shown as text, escaped)", got)
	}
	if rows := sectionRows(t, doc, "study-table"); rows["stuck-<b>run</b> warning"] == nil {
		t.Errorf("the study table should flag the run: rows %q", rows)
	}

	buf.Reset()
	if err := RenderHTML(&buf, bareRun(t), DefaultOptions()); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(buf.String(), `class="warning"`) || strings.Contains(buf.String(), `class="flag warn"`) {
		t.Error("a sound model's report should have no warning")
	}
}

// findByAttr returns the first element under n (or n) whose attribute key
// has the value val (a class among several counts), or nil.
func findByAttr(n *html.Node, key, val string) *html.Node {
	if n.Type == html.ElementNode {
		for _, a := range n.Attr {
			if a.Key == key && (a.Val == val || key == "class" && slices.Contains(strings.Fields(a.Val), val)) {
				return n
			}
		}
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		if f := findByAttr(c, key, val); f != nil {
			return f
		}
	}
	return nil
}

// elementChild returns n's element child at index i (0 = first), or
// nil.
func elementChild(n *html.Node, i int) *html.Node {
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		if c.Type != html.ElementNode {
			continue
		}
		if i == 0 {
			return c
		}
		i--
	}
	return nil
}

func parseHTML(t *testing.T, path string) *html.Node {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := html.Parse(f)
	if err != nil {
		t.Fatalf("report.html does not parse: %v", err)
	}
	return doc
}

// checkHTML asserts the page is inert and self-contained and has every
// section: no script elements or event handlers, every src a data: URI,
// no http(s) reference anywhere, and the evil group shown as text.
func checkHTML(t *testing.T, doc *html.Node) {
	t.Helper()
	ids := map[string]bool{}
	var text strings.Builder
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.TextNode {
			text.WriteString(n.Data)
		}
		if n.Type == html.ElementNode {
			if n.Data == "script" || n.Data == "iframe" || n.Data == "object" || n.Data == "embed" || n.Data == "link" {
				t.Errorf("report.html has a <%s> element", n.Data)
			}
			for _, a := range n.Attr {
				key, val := strings.ToLower(a.Key), strings.ToLower(strings.TrimSpace(a.Val))
				switch {
				case key == "id":
					ids[a.Val] = true
				case strings.HasPrefix(key, "on"):
					t.Errorf("<%s> has an event handler %s=%q", n.Data, a.Key, a.Val)
				case key == "src" && !strings.HasPrefix(val, "data:image/"):
					t.Errorf("<%s src=%.60q>: not an inline image", n.Data, a.Val)
				case (key == "href" || key == "src") && (strings.HasPrefix(val, "http:") || strings.HasPrefix(val, "https:") || strings.HasPrefix(val, "//")):
					t.Errorf("<%s %s=%q> references the network", n.Data, a.Key, a.Val)
				}
			}
			if n.Data == "style" && n.FirstChild != nil && strings.Contains(n.FirstChild.Data, "url(") {
				t.Error("inline CSS loads a url()")
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	for _, id := range sectionIDs {
		if !ids[id] {
			t.Errorf("report.html lacks section #%s", id)
		}
	}
	if !strings.Contains(text.String(), evilGroup) {
		t.Error("the <script> group name should appear as text")
	}
}

// TestOtherSplitPredictions: predictions of another split than the one
// analysed leave the distribution charts empty and say why, not fail.
func TestOtherSplitPredictions(t *testing.T) {
	run := fixtureRun(t)
	run.Analysis.Split = "valid"
	var buf bytes.Buffer
	if err := RenderMarkdown(&buf, run, DefaultOptions()); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), `is of split "valid"`) {
		t.Error("the scatter section should say no prediction is of the analysed split")
	}
}

// TestDegenerateInputs: odd but possible inputs render without error.
func TestDegenerateInputs(t *testing.T) {
	nan := math.NaN()
	run := fixtureRun(t)
	run.History = []dataset.EpochRecord{{Epoch: 1, Loss: nan, MAE: nan, ValLoss: nan, ValMAE: nan}}
	run.Distribution = []dataset.GroupCount{{Stage: "after", Attribute: "gender", Group: "female", Count: 0}}
	run.Predictions = run.Predictions[:1]
	run.ContactSheet = ""
	var buf bytes.Buffer
	if err := RenderHTML(&buf, run, DefaultOptions()); err != nil {
		t.Fatal(err)
	}
	run.ContactSheet = filepath.Join(t.TempDir(), "missing.png")
	if err := RenderHTML(&buf, run, DefaultOptions()); err == nil || !strings.Contains(err.Error(), "contact sheet") {
		t.Errorf("a missing contact sheet should be an error naming it, got %v", err)
	}
}

func TestEpochTicksAreWholeEpochs(t *testing.T) {
	for _, tc := range []struct {
		lo, hi float64
		want   string
	}{{1, 2.3, "1 2"}, {1, 8.3, "1 2 3 4 5 6 7 8"}, {1, 40.3, "1 5 9 13 17 21 25 29 33 37"}} {
		var got []string
		for _, tk := range (epochTicks{}).Ticks(tc.lo, tc.hi) {
			got = append(got, tk.Label)
		}
		if strings.Join(got, " ") != tc.want {
			t.Errorf("ticks(%v, %v) = %v, want %s", tc.lo, tc.hi, got, tc.want)
		}
	}
}
