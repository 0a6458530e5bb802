package analysis

import (
	"context"
	"math"
	"testing"
)

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-12*math.Max(1, math.Abs(b)) }

func TestScores(t *testing.T) {
	nan := math.NaN()
	tests := []struct {
		name             string
		maes             []float64
		bias, gap, ratio float64
	}{
		// Two groups: the mean over the single pair equals max−min.
		{"two groups", []float64{3, 1}, 2, 2, 1.0 / 3},
		// |5/3−4| = 7/3, |5/3−1| = 2/3, |4−1| = 3: mean 6/3 = 2, gap 3.
		{"three groups differ from gap", []float64{5.0 / 3, 4, 1}, 2, 3, 0.25},
		// Four groups 1.5, 1.5, 2.5, 2.5: pairs 0,1,1,1,1,0 → 4/6; gap 1.
		{"four groups", []float64{1.5, 1.5, 2.5, 2.5}, 4.0 / 6, 1, 0.6},
		{"all zero", []float64{0, 0}, 0, 0, 1},
		{"one group", []float64{3}, nan, nan, nan},
		{"none", nil, nan, nan, nan},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			bias, gap, ratio := scores(tc.maes)
			for _, c := range []struct {
				what      string
				got, want float64
			}{{"bias", bias, tc.bias}, {"gap", gap, tc.gap}, {"ratio", ratio, tc.ratio}} {
				if math.IsNaN(c.want) != math.IsNaN(c.got) || (!math.IsNaN(c.want) && !near(c.got, c.want)) {
					t.Errorf("%s = %v, want %v", c.what, c.got, c.want)
				}
			}
		})
	}
}

func TestAnalyzeHandFixture(t *testing.T) {
	res, err := Analyze(context.Background(), handFixture(), handOptions())
	if err != nil {
		t.Fatal(err)
	}
	// Overall |e| = 2,2,4,4,1,1,1,1: MAE 16/8 = 2; RMSE √(44/8); mean
	// error (2−2+4−4+1−1+1−1)/8 = 0; median of 1,1,1,1,2,2,4,4 = 1.5.
	checkMetrics(t, "overall", res.Overall, 8, 2, math.Sqrt(5.5), 0, 1.5)

	g := res.Attribute("gender")
	// female |e| 2,2,4,4 → MAE 3, RMSE √10, mean 0, median 3;
	// male |e| 1,1,1,1 → MAE 1, RMSE 1, mean (1−1+1−1)/4 = 0, median 1.
	checkMetrics(t, "female", g.Groups[0].Metrics, 4, 3, math.Sqrt(10), 0, 3)
	checkMetrics(t, "male", g.Groups[1].Metrics, 4, 1, 1, 0, 1)
	checkScores(t, g, 2, 2, 1.0/3)

	e := res.Attribute("ethnicity")
	// asian |e| 2,2,1 → 5/3; black 4,4 → 4; white 1,1 → 1; row 8 unknown.
	// bias = (7/3 + 2/3 + 3)/3 = 2, while max−min = 3.
	if e.Unknown != 1 || len(e.Groups) != 3 {
		t.Fatalf("ethnicity: unknown %d, groups %d; want 1 unknown, 3 groups", e.Unknown, len(e.Groups))
	}
	checkScores(t, e, 2, 3, 0.25)

	a := res.Attribute("age_group")
	// 0-19: 2,1 → 1.5; 20-39: 2,1 → 1.5; 40-59: 4,1 → 2.5;
	// 60+: 4,1 → 2.5; pairs 0,1,1,1,1,0 → 4/6.
	wantBins := []string{"0-19", "20-39", "40-59", "60+"}
	for i, gr := range a.Groups {
		if gr.Name != wantBins[i] || gr.N != 2 {
			t.Errorf("age group %d = %s (n=%d), want %s (n=2)", i, gr.Name, gr.N, wantBins[i])
		}
	}
	checkScores(t, a, 4.0/6, 1, 0.6)

	x := res.Attribute("expression")
	if x.Available || x.Groups != nil || x.Unknown != 8 || x.Note == "" || !math.IsNaN(x.Bias.Value) {
		t.Errorf("expression should be unavailable with 8 unknown rows and a note, got %+v", x)
	}

	i := res.Attribute("gender_x_ethnicity")
	// female_x_asian 2, female_x_black 4, male_x_asian 1 (n=1, small), male_x_white 1:
	// pairs 2,1,1,3,3,0 → 10/6; gap 3; ratio 1/4.
	if i.Key != "gender_x_ethnicity" || i.Unknown != 1 {
		t.Errorf("intersection key %q unknown %d", i.Key, i.Unknown)
	}
	if !i.Groups[2].Small || !i.Groups[2].InScore {
		t.Errorf("male_x_asian (n=1) should be flagged small and, by default, scored: %+v", i.Groups[2])
	}
	checkScores(t, i, 10.0/6, 3, 0.25)
}

func TestSmallGroupsExcluded(t *testing.T) {
	o := handOptions()
	o.SmallGroups = SmallGroupsExclude
	res, err := Analyze(context.Background(), handFixture(), o)
	if err != nil {
		t.Fatal(err)
	}
	i := res.Attribute("gender_x_ethnicity")
	// Without male_x_asian: 2, 4, 1 → pairs 2,1,3 → 2.
	if i.Groups[2].InScore || i.ScoredGroups != 3 {
		t.Errorf("male_x_asian should be left out of the score: %+v", i.Groups[2])
	}
	checkScores(t, i, 2, 3, 0.25)
}

func TestConfiguredGroups(t *testing.T) {
	o := handOptions()
	o.Groups = map[string][]string{"ethnicity": {"white", "black", "indian"}}
	res, err := Analyze(context.Background(), handFixture(), o)
	if err != nil {
		t.Fatal(err)
	}
	e := res.Attribute("ethnicity")
	// asian is not listed: its 3 rows join the 1 unknown and are named.
	if e.Unknown != 4 || e.Unlisted["asian"] != 3 {
		t.Errorf("unknown %d unlisted %v, want 4 and asian:3", e.Unknown, e.Unlisted)
	}
	if got := []string{e.Groups[0].Name, e.Groups[1].Name, e.Groups[2].Name}; got[0] != "white" || got[2] != "indian" {
		t.Errorf("groups %v should keep the configured order", got)
	}
	if !e.Groups[2].Empty || e.Groups[2].InScore {
		t.Errorf("indian has no rows: should be empty and unscored: %+v", e.Groups[2])
	}
	checkScores(t, e, 3, 3, 0.25) // white 1, black 4
}

func checkMetrics(t *testing.T, name string, m Metrics, n int, mae, rmse, me, med float64) {
	t.Helper()
	if m.N != n || !near(m.MAE.Value, mae) || !near(m.RMSE.Value, rmse) || !near(m.MeanError.Value, me) || !near(m.MedianAE.Value, med) {
		t.Errorf("%s: n=%d mae=%v rmse=%v me=%v med=%v; want n=%d mae=%v rmse=%v me=%v med=%v",
			name, m.N, m.MAE.Value, m.RMSE.Value, m.MeanError.Value, m.MedianAE.Value, n, mae, rmse, me, med)
	}
}

func checkScores(t *testing.T, a *AttributeResult, bias, gap, ratio float64) {
	t.Helper()
	if !near(a.Bias.Value, bias) || !near(a.Gap.Value, gap) || !near(a.Ratio.Value, ratio) {
		t.Errorf("%s: bias=%v gap=%v ratio=%v; want %v %v %v", a.Name, a.Bias.Value, a.Gap.Value, a.Ratio.Value, bias, gap, ratio)
	}
}

func TestGroupLabeler(t *testing.T) {
	p := handFixture()[2] // female, black, y_true 45
	tests := []struct {
		members []string
		want    string
	}{
		{[]string{"gender"}, "female"},
		{[]string{"age_group"}, "40-59"},
		{[]string{"gender", "ethnicity"}, "female_x_black"},
		{[]string{"ethnicity", "expression"}, ""},
	}
	for _, tc := range tests {
		if got := GroupLabeler(tc.members, DefaultAgeEdges, nil)(&p); got != tc.want {
			t.Errorf("%v: %q, want %q", tc.members, got, tc.want)
		}
	}
}
