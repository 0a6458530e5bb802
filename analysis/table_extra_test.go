package analysis

import (
	"context"
	"math"
	"testing"

	"fairage/dataset"
)

// TestMetricRowsVersion2 checks the rows added in summary version 2:
// rejected counts, diffs, age-adjusted values and within-subject pairs.
func TestMetricRowsVersion2(t *testing.T) {
	preds := append(subjectPredictions(1, 200, 1, false), dataset.Prediction{ID: "bad", Split: dataset.SplitTest, YTrue: 30, YPred: math.Inf(1)})
	o := DefaultOptions()
	o.Attributes = []string{dataset.AttrGender, dataset.AttrExpression, dataset.AttrAgeGroup}
	o.Bootstrap.Resamples, o.Permutation.Resamples = 50, 50
	res, err := Analyze(context.Background(), preds, o)
	if err != nil {
		t.Fatal(err)
	}
	byKey := map[string]MetricRow{}
	for _, r := range MetricRows(res) {
		byKey[r.Attribute+"/"+r.Group+"/"+r.Metric] = r
	}
	g := res.Attribute("gender")
	adj := g.AgeAdjusted
	tests := []struct {
		key   string
		value float64
		n     int64
		flags string
	}{
		{"overall/y_pred_not_finite/rejected", 1, 1, ""},
		{"gender/" + g.Worst + " vs " + g.Best + "/diff", g.Diff.Value, 400, ""},
		{"gender//bias_age_adjusted", adj.Bias.Value, 400, ""},
		{"gender/female/mae_age_adjusted", adj.Groups[0].MAE.Value, int64(adj.Groups[0].N), ""},
		{"gender/" + adj.Worst + " vs " + adj.Best + "/diff_age_adjusted", adj.Diff.Value, 400, ""},
		{"gender//age_mix_share_bias", adj.AgeMixShareBias.Value, 400, ""},
		{"gender//p_holm_age_adjusted", adj.Test.PHolm, 400, ""},
		{"age_group//bias_age_adjusted", math.NaN(), 0, FlagUnavailable},
		{"expression/happy vs neutral/within_subject_diff", res.WithinSubject.Attributes[1].Pairs[0].Diff.Value, 200, ""},
		{"expression/happy vs neutral/within_subject_p_holm", res.WithinSubject.Attributes[1].Pairs[0].Test.PHolm, 200, ""},
	}
	for _, tc := range tests {
		r, ok := byKey[tc.key]
		if !ok {
			t.Errorf("no row %s", tc.key)
			continue
		}
		same := r.Estimate == tc.value || (math.IsNaN(r.Estimate) && math.IsNaN(tc.value))
		if !same || r.N != tc.n || r.Flags != tc.flags {
			t.Errorf("%s: %+v, want estimate %v, n %d, flags %q", tc.key, r, tc.value, tc.n, tc.flags)
		}
	}
}
