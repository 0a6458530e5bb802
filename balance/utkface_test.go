package balance

import (
	"math"
	"testing"

	"fairage/dataset"
	"fairage/internal/testdata"
)

// utkfaceSamples reads the shared UTKFace metadata.csv directly (no ingest)
// as training samples.
func utkfaceSamples(t *testing.T) []dataset.Sample {
	t.Helper()
	rows := testdata.UTKFaceRows(t)
	out := make([]dataset.Sample, 0, len(rows))
	for _, r := range rows {
		out = append(out, dataset.Sample{ID: r.File, Split: dataset.SplitTrain, Age: r.Age,
			Gender: r.Gender, Ethnicity: r.Ethnicity, Expression: r.Expression})
	}
	return out
}

// readmeTable is the gender×ethnicity table of the UTKFace README.
var readmeTable = map[string]int64{
	"female×asian": 1501, "female×black": 1809, "female×indian": 1388, "female×others": 758, "female×white": 3676,
	"male×asian": 1262, "male×black": 1877, "male×indian": 1764, "male×others": 580, "male×white": 4385,
}

func TestUTKFaceGenderEthnicity(t *testing.T) {
	samples := utkfaceSamples(t)
	if len(samples) != 19000 {
		t.Fatalf("%d rows in metadata.csv, the README says 19,000", len(samples))
	}
	const joint = "gender×ethnicity"
	tests := []struct {
		name      string
		strategy  Strategy
		mode      Mode
		wantCount func(cell string) int64
		wantRows  int
	}{
		{"oversample to max", StrategyOversample, ModeJoint, func(string) int64 { return 4385 }, 43850},
		{"undersample to min", StrategyUndersample, ModeJoint, func(string) int64 { return 580 }, 5800},
		{"reweight", StrategyReweight, ModeJoint, func(c string) int64 { return readmeTable[c] }, 19000},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := options(tc.strategy, tc.mode)
			o.MinCount = 20
			r := mustPlan(t, samples, o)
			before := stageCounts(r.Counts, StageBefore, joint)
			after := stageCounts(r.Counts, StageAfter, joint)
			if len(before) != len(readmeTable) || len(after) != len(readmeTable) {
				t.Fatalf("%d cells before, %d after; the README has %d", len(before), len(after), len(readmeTable))
			}
			for cell, n := range readmeTable {
				if before[cell].Count != n {
					t.Errorf("before: %s has %d, README says %d", cell, before[cell].Count, n)
				}
				if want := tc.wantCount(cell); after[cell].Count != want {
					t.Errorf("after: %s has %d, want %d", cell, after[cell].Count, want)
				}
			}
			if len(r.Rows) != tc.wantRows {
				t.Errorf("%d plan rows, want %d", len(r.Rows), tc.wantRows)
			}
			if tc.strategy == StrategyReweight {
				for cell, c := range after {
					if math.Abs(c.Weight-1900) > 1e-6 {
						t.Errorf("%s: weighted total %v, want 19000/10 = 1900", cell, c.Weight)
					}
				}
			}
			gender := stageCounts(r.Counts, StageBefore, dataset.AttrGender)
			if gender["female"].Count != 9132 || gender["male"].Count != 9868 {
				t.Errorf("gender counts %v, README says female 9,132, male 9,868", gender)
			}
		})
	}
	t.Run("oversample marginals", func(t *testing.T) {
		o := options(StrategyOversample, ModeMarginal)
		r := mustPlan(t, samples, o)
		// White is the largest group of the attribute with most groups:
		// 5 × 8,061 = 40,305 examples, so each gender gets 20,152.5.
		want := map[string]map[string]float64{
			dataset.AttrGender:    {"female": 20152.5, "male": 20152.5},
			dataset.AttrEthnicity: {"asian": 8061, "black": 8061, "indian": 8061, "others": 8061, "white": 8061},
		}
		for a, groups := range want {
			after := stageCounts(r.Counts, StageAfter, a)
			for g, w := range groups {
				if d := math.Abs(float64(after[g].Count)-w) / w; d > 0.01 {
					t.Errorf("%s=%s: %d examples, want %.1f within 1%% (%.2f%% off)", a, g, after[g].Count, w, 100*d)
				}
			}
		}
	})
	t.Run("unknown expression fails when asked to", func(t *testing.T) {
		o := options(StrategyOversample, ModeJoint)
		o.By = []string{dataset.AttrGender, dataset.AttrExpression}
		o.Unknown = PolicyFail
		_, err := Plan(t.Context(), samples, o)
		want := "balance.unknown: 19000 training samples have an unknown expression"
		if err == nil || len(err.Error()) < len(want) || err.Error()[:len(want)] != want {
			t.Fatalf("error %v, want prefix %q", err, want)
		}
	})
}
