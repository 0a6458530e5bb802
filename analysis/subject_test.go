package analysis

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"fairage/dataset"
)

// TestWithinSubjectHand checks the paired statistic by hand. Subject s1
// has two happy images (|e| 2 and 4: MAE 3) and one neutral (|e| 1);
// s2 one of each (|e| 5 and 2); s3 only neutral (not paired). d = 3−1 = 2
// and 5−2 = 3: Diff = 2.5, MAE happy (3+5)/2 = 4, neutral (1+2)/2 = 1.5.
func TestWithinSubjectHand(t *testing.T) {
	row := func(id, subj, expr string, e float64) dataset.Prediction {
		return dataset.Prediction{ID: id, Split: dataset.SplitTest, YTrue: 30, YPred: 30 + e, Gender: "female", Expression: expr, Subject: subj}
	}
	preds := []dataset.Prediction{
		row("1", "s1", "happy", 2), row("2", "s1", "happy", -4), row("3", "s1", "neutral", 1),
		row("4", "s2", "happy", 5), row("5", "s2", "neutral", -2),
		row("6", "s3", "neutral", 3),
		row("7", "", "happy", 9),
	}
	o := handOptions()
	o.Attributes = []string{dataset.AttrGender, dataset.AttrExpression}
	o.Intersections = nil
	o.Permutation.Resamples = 200
	res, err := Analyze(context.Background(), preds, o)
	if err != nil {
		t.Fatal(err)
	}
	ws := res.WithinSubject
	if ws == nil || ws.Subjects != 3 || ws.Rows != 6 || ws.Note != "" || len(ws.Attributes) != 2 {
		t.Fatalf("within subject: %+v", ws)
	}
	g := ws.Attributes[0]
	if g.Name != "gender" || len(g.Pairs) != 0 || !strings.Contains(g.Note, "one group") {
		t.Errorf("gender: %+v", g)
	}
	x := ws.Attributes[1]
	if x.Varying != 2 || len(x.Pairs) != 1 {
		t.Fatalf("expression: %+v", x)
	}
	p := x.Pairs[0]
	if p.A != "happy" || p.B != "neutral" || p.Subjects != 2 || !near(p.Diff.Value, 2.5) || !near(p.MAEA, 4) || !near(p.MAEB, 1.5) {
		t.Errorf("pair %+v", p)
	}
	// Two subjects: the four sign patterns give |T*| = 2.5 or 0.5, so
	// half reach the observed value.
	if p.Test == nil || p.Test.Name != "expression_within_happy_vs_neutral" || math.Abs(p.Test.P-0.5) > 0.1 {
		t.Errorf("test %+v", p.Test)
	}
}

// subjectPredictions gives each of n subjects one image per expression.
// A subject's error scale varies widely between subjects (so an unpaired
// comparison is noisy), and the happy image's |e| is `planted` years above
// the subject's neutral one; "other" (when three) equals neutral.
func subjectPredictions(seed uint64, n int, planted float64, three bool) []dataset.Prediction {
	r := rand.New(rand.NewPCG(seed, 11))
	exprs := []string{"happy", "neutral"}
	if three {
		exprs = append(exprs, "other")
	}
	var out []dataset.Prediction
	for s := range n {
		age := 5 + r.Float64()*70
		scale := 1 + 6*r.Float64()
		for _, x := range exprs {
			e := scale * math.Abs(r.NormFloat64())
			if x == "happy" {
				e += planted
			}
			if r.IntN(2) == 0 {
				e = -e
			}
			out = append(out, dataset.Prediction{
				ID: fmt.Sprintf("s%d-%s", s, x), Split: dataset.SplitTest, YTrue: age, YPred: age + e,
				Gender: []string{"female", "male"}[s%2], Expression: x, Subject: fmt.Sprintf("s%d", s),
			})
		}
	}
	return out
}

// TestWithinSubjectProperties: no planted effect gives an interval
// covering 0 and no significant test; a planted paired effect is found
// with the right sign and size. 99% intervals, alpha 0.01, three seeds.
func TestWithinSubjectProperties(t *testing.T) {
	tests := []struct {
		name    string
		planted float64
		three   bool
	}{
		{"null", 0, false},
		{"planted", 1, false},
		{"planted, three values", 1, true},
	}
	for _, tc := range tests {
		for seed := uint64(1); seed <= 3; seed++ {
			t.Run(fmt.Sprintf("%s/seed%d", tc.name, seed), func(t *testing.T) {
				o := DefaultOptions()
				o.Attributes = []string{dataset.AttrGender, dataset.AttrExpression}
				o.Bootstrap = BootstrapOptions{Resamples: 300, Confidence: 0.99, Seed: seed}
				// Enough permutations that the p-value floor, 1/1001, times
				// the family of six tests is below alpha.
				o.Permutation = PermutationOptions{Resamples: 1000, Seed: seed}
				o.Alpha = 0.01
				res, err := Analyze(context.Background(), subjectPredictions(seed, 600, tc.planted, tc.three), o)
				if err != nil {
					t.Fatal(err)
				}
				ws := res.WithinSubject
				if g := ws.Attributes[0]; g.Varying != 0 || !strings.Contains(g.Note, "does not vary within any subject") {
					t.Errorf("gender: %+v", g)
				}
				x := ws.Attributes[1]
				wantPairs := 1
				if tc.three {
					wantPairs = 3
				}
				if x.Varying != 600 || len(x.Pairs) != wantPairs {
					t.Fatalf("expression: varying %d, %d pairs", x.Varying, len(x.Pairs))
				}
				for _, p := range x.Pairs {
					covers := p.Diff.Lower <= 0 && 0 <= p.Diff.Upper
					effect := 0.0
					switch {
					case p.A == "happy":
						effect = tc.planted
					case p.B == "happy":
						effect = -tc.planted
					}
					if effect == 0 {
						if !covers || p.Test.Significant {
							t.Errorf("%s vs %s: %s (p_holm %.3f), want no effect", p.A, p.B, p.Diff, p.Test.PHolm)
						}
						continue
					}
					if covers || !p.Test.Significant || math.Abs(p.Diff.Value-effect) > 0.4 {
						t.Errorf("%s vs %s: %s (p_holm %.3f), want about %v, significant", p.A, p.B, p.Diff, p.Test.PHolm, effect)
					}
				}
			})
		}
	}
}

// TestWithinSubjectMessages covers tables where nothing can be paired.
func TestWithinSubjectMessages(t *testing.T) {
	withSubjects := func(f func(i int) string) []dataset.Prediction {
		preds := handFixture()
		for i := range preds {
			preds[i].Subject = f(i)
		}
		return preds
	}
	tests := []struct {
		name  string
		preds []dataset.Prediction
		note  string // "" with WithinSubject nil
	}{
		{"no subject ids", handFixture(), ""},
		{"one row per subject", withSubjects(func(i int) string { return fmt.Sprint("s", i) }),
			"no analysed attribute varies within a subject"},
		// Rows 0–1 are female asian, 2–3 female black, 5–6 male white.
		{"constant attributes", withSubjects(func(i int) string { return []string{"a", "a", "b", "b", "c", "d", "d", "e"}[i] }),
			"no analysed attribute varies within a subject (gender, ethnicity"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := handOptions()
			o.Attributes = []string{dataset.AttrGender, dataset.AttrEthnicity, dataset.AttrExpression}
			res, err := Analyze(context.Background(), tc.preds, o)
			if err != nil {
				t.Fatal(err)
			}
			ws := res.WithinSubject
			if tc.note == "" {
				if ws != nil {
					t.Errorf("within subject without subject ids: %+v", ws)
				}
				return
			}
			if ws == nil || !strings.Contains(ws.Note, tc.note) {
				t.Errorf("within subject %+v, want note %q", ws, tc.note)
			}
			if x := ws.Attributes[2]; x.Name != "expression" || !strings.Contains(x.Note, "no known values") {
				t.Errorf("expression: %+v", x)
			}
		})
	}
}
