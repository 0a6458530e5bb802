package stages

import (
	"errors"
	"math"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"fairage/analysis"
	"fairage/config"
	"fairage/dataset"
	"fairage/internal/testdata"
	"fairage/tfjsmodel"
)

// Bad infer settings are config errors naming the key; a disabled
// section's classifier and mapping are not checked.
func TestInferConfigValidation(t *testing.T) {
	on := "infer.expression.enabled=true"
	cases := []struct {
		sets []string
		want string
	}{
		{[]string{on}, ""},
		{[]string{"infer.expression.classifier=nope"}, ""}, // disabled: not checked
		{[]string{on, "infer.expression.classifier=nope"}, `infer.expression.classifier: "nope" is not a classifier preset (presets: emotion)`},
		{[]string{on, "infer.expression.threshold=1.5"}, "infer.expression.threshold: 1.5 is outside [0, 1]"},
		{[]string{"infer.expression.threshold=-0.1"}, "infer.expression.threshold: -0.1 is outside [0, 1]"},
		{[]string{on, "infer.expression.mapping={joy: happy}"}, `infer.expression.mapping: "joy" is not a class of the classifier`},
		{[]string{on, "infer.expression.other="}, "infer.expression.mapping: the classifier has 7 classes but the mapping covers 2"},
		// data.allowed.expression is the vocabulary: values outside it are refused.
		{[]string{on, "data.allowed={expression: [happy, neutral]}"}, `infer.expression.mapping: "other" is not an allowed value (allowed: happy, neutral)`},
		{[]string{on, "data.allowed={expression: [happy, neutral, other]}", "infer.expression.mapping={happy: happy, sad: sad}"}, `"sad" is not an allowed value`},
		{[]string{on, "infer.expression.batch_size=0"}, "infer.expression.batch_size: 0 is outside [1, 4096]"},
	}
	for _, tc := range cases {
		t.Run(strings.Join(tc.sets, " "), func(t *testing.T) {
			_, err := loadWith(t, tc.sets...)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("rejected: %v", err)
				}
				return
			}
			var cerr *config.Error
			if !errors.As(err, &cerr) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want a config error containing %q", err, tc.want)
			}
		})
	}
}

// The infer stage is in the graph only when enabled, and split then
// reads its samples; disabled, the graph is as before.
func TestInferStageInTheGraphOnlyWhenEnabled(t *testing.T) {
	for _, tc := range []struct {
		sets      []string
		want      string
		splitFrom string
	}{
		{nil, "ingest split balance augment train evaluate analyze report", stageIngest},
		{[]string{"infer.expression.enabled=true"}, "ingest infer split balance augment train evaluate analyze report", stageInfer},
		{append(auditSets(t), "infer.expression.enabled=true"), "load analyze report", ""},
	} {
		cfg, err := loadWith(t, tc.sets...)
		if err != nil {
			t.Fatal(err)
		}
		g := Graph(cfg.Config)
		if got := strings.Join(g.Names(), " "); got != tc.want {
			t.Errorf("%v: graph %s, want %s", tc.sets, got, tc.want)
		}
		for _, st := range g.Stages() {
			if s, ok := st.(splitStage); ok && s.from != tc.splitFrom {
				t.Errorf("%v: split reads %s, want %s", tc.sets, s.from, tc.splitFrom)
			}
			if s, ok := st.(analyzeStage); ok && (s.inferNote != "") != (tc.splitFrom == stageInfer) {
				t.Errorf("%v: analyze marks inferred %q", tc.sets, s.inferNote)
			}
		}
	}
}

// The emotion classifier on real UTKFace crops: labelled rows keep their
// label (source label), the others are inferred exactly when the mapped
// confidence reaches the threshold and stay unknown below it, and the
// samples table carries the source and confidence through a write.
func TestInferExpressionsOnUTKFace(t *testing.T) {
	rows := testdata.UTKFaceRows(t)
	p := tfjsmodel.Classifiers["emotion"]
	if _, err := (tfjsmodel.Preset{Name: p.Name, File: p.File, SHA256: p.SHA256}).Path(); err != nil {
		t.Skipf("emotion classifier not installed (make setup-models): %v", err)
	}
	root := filepath.Dir(filepath.Dir(rows[0].Path))
	const n = 24
	fresh := func() []dataset.Sample {
		s := make([]dataset.Sample, n)
		for i := range s {
			r := rows[i*97%len(rows)]
			s[i] = dataset.Sample{ID: r.File, Path: "images/" + r.File, Age: r.Age, Gender: r.Gender, Ethnicity: r.Ethnicity}
			if i%4 == 0 {
				s[i].Expression = "neutral" // a label the classifier must not touch
			}
		}
		return s
	}
	cfg := DefaultInferConfig().Expression
	cfg.Enabled, cfg.BatchSize, cfg.Threads.IntraOp, cfg.Threads.InterOp = true, 8, 1, 1
	cfg.Threshold = 0
	all := fresh()
	rep, err := inferExpressions(t.Context(), all, cfg, root, nil)
	if err != nil {
		t.Fatal(err)
	}
	var confs []float64
	for i, s := range all {
		if i%4 == 0 {
			continue
		}
		if s.ExpressionSource != dataset.ExpressionInferred || !slices.Contains([]string{"happy", "neutral", "other"}, s.Expression) {
			t.Fatalf("threshold 0: sample %s: %q from %q", s.ID, s.Expression, s.ExpressionSource)
		}
		confs = append(confs, s.ExpressionConfidence)
	}
	if rep.Labelled != n/4 || rep.Classified != n-n/4 || rep.Unknown != 0 {
		t.Fatalf("threshold 0: %+v", rep)
	}
	sort.Float64s(confs)
	// At the median confidence about half stay unknown.
	cfg.Threshold = confs[len(confs)/2]
	got := fresh()
	rep, err = inferExpressions(t.Context(), got, cfg, root, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s", rep.summary())
	unknown := 0
	for i, s := range got {
		if i%4 == 0 {
			if s.Expression != "neutral" || s.ExpressionSource != dataset.ExpressionLabel || !math.IsNaN(s.ExpressionConfidence) {
				t.Errorf("labelled sample %s: %q from %q, confidence %v", s.ID, s.Expression, s.ExpressionSource, s.ExpressionConfidence)
			}
			continue
		}
		if math.Abs(s.ExpressionConfidence-all[i].ExpressionConfidence) > 1e-9 {
			t.Errorf("sample %s: confidence %v, then %v", s.ID, all[i].ExpressionConfidence, s.ExpressionConfidence)
		}
		switch {
		case s.ExpressionConfidence >= cfg.Threshold:
			if s.ExpressionSource != dataset.ExpressionInferred || s.Expression != all[i].Expression {
				t.Errorf("sample %s above the threshold: %q from %q", s.ID, s.Expression, s.ExpressionSource)
			}
		default:
			unknown++
			if s.Expression != "" || s.ExpressionSource != "" {
				t.Errorf("sample %s below the threshold: %q from %q", s.ID, s.Expression, s.ExpressionSource)
			}
		}
	}
	if unknown == 0 || unknown != rep.Unknown {
		t.Errorf("%d stay unknown, report says %d", unknown, rep.Unknown)
	}
	byGender := 0
	for _, outcomes := range rep.By[dataset.AttrGender] {
		for _, n := range outcomes {
			byGender += n
		}
	}
	if byGender != rep.Classified || rep.By[dataset.AttrGender][got[1].Gender]["unknown"]+rep.By[dataset.AttrGender][got[1].Gender][got[1].Expression] == 0 {
		t.Errorf("counts by gender %v for %d classified", rep.By[dataset.AttrGender], rep.Classified)
	}
	path := filepath.Join(t.TempDir(), samplesFile)
	if err := dataset.WriteSamples(path, got); err != nil {
		t.Fatal(err)
	}
	back, err := dataset.ReadSamples(path)
	if err != nil {
		t.Fatal(err)
	}
	for i := range back {
		b, g := back[i], got[i]
		if b.ExpressionSource != g.ExpressionSource || b.Expression != g.Expression ||
			(b.ExpressionConfidence != g.ExpressionConfidence && !(math.IsNaN(b.ExpressionConfidence) && math.IsNaN(g.ExpressionConfidence))) {
			t.Errorf("row %d: wrote %+v, read %+v", i, g, b)
		}
	}
}

// A missing image is an error naming the sample and file, never a
// silently unknown row.
func TestInferExpressionsMissingFile(t *testing.T) {
	p := tfjsmodel.Classifiers["emotion"]
	if _, err := (tfjsmodel.Preset{Name: p.Name, File: p.File, SHA256: p.SHA256}).Path(); err != nil {
		t.Skipf("emotion classifier not installed (make setup-models): %v", err)
	}
	cfg := DefaultInferConfig().Expression
	cfg.Threads.IntraOp, cfg.Threads.InterOp = 1, 1
	s := []dataset.Sample{{ID: "a", Path: "images/missing.jpg"}}
	_, err := inferExpressions(t.Context(), s, cfg, t.TempDir(), nil)
	if err == nil || !strings.Contains(err.Error(), "sample a") || !strings.Contains(err.Error(), "missing.jpg") {
		t.Fatalf("got %v", err)
	}
}

// markInferred notes an inferred attribute on its own result and on each
// intersection it is a member of, and nothing else.
func TestMarkInferred(t *testing.T) {
	res := &analysis.Result{Attributes: []analysis.AttributeResult{
		{Name: "gender", Key: "gender", Members: []string{"gender"}},
		{Name: "expression", Key: "expression", Members: []string{"expression"}},
		{Name: "gender_x_expression", Key: "gender_x_expression", Members: []string{"gender", "expression"}},
	}}
	markInferred(res, map[string]string{"expression": "inferred by emotion, threshold 0.5"})
	want := []string{"", "inferred by emotion, threshold 0.5", "expression inferred by emotion, threshold 0.5"}
	for i, a := range res.Attributes {
		if a.Inferred != want[i] {
			t.Errorf("%s: %q, want %q", a.Name, a.Inferred, want[i])
		}
	}
	if h := headline(res); !strings.Contains(h, "expression (inferred by emotion, threshold 0.5) bias") {
		t.Errorf("headline %q", h)
	}
}

// The mark says what the infer stage did: nothing when it inferred no
// value, "partly" with counts when labels and inferred values mix.
func TestInferredNote(t *testing.T) {
	note := "inferred by emotion, threshold 0.5"
	cases := []struct {
		rep  inferReport
		want string
	}{
		{inferReport{Labelled: 10}, ""},
		{inferReport{Inferred: map[string]int{"happy": 3, "other": 1}, Unknown: 2}, note},
		{inferReport{Labelled: 6, Inferred: map[string]int{"happy": 4}}, "partly " + note + ": 4 of 10 known values"},
	}
	for i, tc := range cases {
		p := filepath.Join(t.TempDir(), inferFile)
		if err := writeJSON(p, tc.rep); err != nil {
			t.Fatal(err)
		}
		got, err := inferredNote(p, note)
		if err != nil || got != tc.want {
			t.Errorf("case %d: %q, %v; want %q", i, got, err, tc.want)
		}
	}
}
