package analysis

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"fairage/dataset"
)

// TestExtremePredictions feeds values that are not ages, end to end
// (Analyze → WriteSummary → ReadSummary, and the metrics table): they are
// rejected with a reason, implausible ones are flagged, the numbers equal
// those of the clean rows alone, and no JSON sees a non-finite number.
func TestExtremePredictions(t *testing.T) {
	inf := math.Inf(1)
	extra := func(id string, y, yhat float64) dataset.Prediction {
		return dataset.Prediction{ID: id, Split: dataset.SplitTest, YTrue: y, YPred: yhat, Gender: "female", Ethnicity: "asian"}
	}
	tests := []struct {
		name     string
		rows     []dataset.Prediction
		rejected map[string]int
		flagged  map[string]int
	}{
		{"non-finite", []dataset.Prediction{extra("nan", 30, math.NaN()), extra("inf", 30, inf), extra("-inf", 30, -inf), extra("tnan", math.NaN(), 30)},
			map[string]int{ReasonPredNotFinite: 3, ReasonTrueNotFinite: 1}, nil},
		{"absurd", []dataset.Prediction{extra("big", 30, 1e300), extra("small", 30, -1e308), extra("kilo", 30, 1001), extra("neg-age", -1, 20), extra("old", 5000, 20)},
			map[string]int{ReasonPredOutOfRange: 3, ReasonTrueOutOfRange: 2}, nil},
		{"implausible only", []dataset.Prediction{extra("hi", 30, 400), extra("lo", 30, -20), extra("t", 140, 120)},
			nil, map[string]int{ReasonPredImplausible: 2, ReasonTrueImplausible: 1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := handOptions()
			o.Bootstrap.Resamples = 20
			o.Permutation.Resamples = 20
			preds := append(handFixture(), tc.rows...)
			res, err := Analyze(context.Background(), preds, o)
			if err != nil {
				t.Fatal(err)
			}
			checkIssues(t, "rejected", res.Rejected, tc.rejected)
			checkIssues(t, "flagged", res.Flagged, tc.flagged)
			wantRows := len(preds) - issueCount(res.Rejected)
			if res.Settings.Rows != wantRows || res.Overall.N != wantRows {
				t.Errorf("rows %d, overall n %d, want %d", res.Settings.Rows, res.Overall.N, wantRows)
			}
			if tc.rejected != nil {
				clean, err := Analyze(context.Background(), handFixture(), o)
				if err != nil {
					t.Fatal(err)
				}
				if res.Overall != clean.Overall || res.Attribute("gender").Bias != clean.Attribute("gender").Bias {
					t.Errorf("rejected rows changed the numbers: %+v vs %+v", res.Overall, clean.Overall)
				}
				if len(res.Warnings) == 0 || !strings.Contains(res.Warnings[len(res.Warnings)-1], "rejected") {
					t.Errorf("warnings %q do not mention the rejected rows", res.Warnings)
				}
			}
			if e := res.Rejected; len(e) > 0 && e[0].Examples[0].ID == "" {
				t.Errorf("example without id: %+v", e[0])
			}
			path := filepath.Join(t.TempDir(), "summary.json")
			if err := WriteSummary(path, res); err != nil {
				t.Fatal(err)
			}
			raw, _ := os.ReadFile(path)
			// A bare NaN or Inf is not JSON; as text (an example's value) it is.
			if !json.Valid(raw) {
				t.Fatalf("summary is not valid JSON:\n%s", raw)
			}
			back, err := ReadSummary(path)
			if err != nil {
				t.Fatal(err)
			}
			again, _ := MarshalSummary(back)
			if !bytes.Equal(again, raw) {
				t.Error("summary changes on a read/write round trip")
			}
			if err := WriteMetrics(filepath.Join(t.TempDir(), "metrics.arrow"), res); err != nil {
				t.Fatal(err)
			}
			for _, r := range MetricRows(res) {
				for _, v := range []float64{r.Estimate, r.Lower, r.Upper} {
					if math.IsInf(v, 0) {
						t.Errorf("metrics row %+v is infinite", r)
					}
				}
			}
		})
	}
}

func checkIssues(t *testing.T, what string, got []RowIssue, want map[string]int) {
	t.Helper()
	if got == nil {
		t.Errorf("%s is nil, want an empty list", what)
	}
	if len(got) != len(want) {
		t.Errorf("%s: %+v, want %v", what, got, want)
	}
	for _, it := range got {
		if want[it.Reason] != it.Count || len(it.Examples) != min(it.Count, maxExamples) {
			t.Errorf("%s %s: %d rows (%d examples), want %d", what, it.Reason, it.Count, len(it.Examples), want[it.Reason])
		}
	}
}

// TestAllRejected: with no ages left there is nothing to analyse, and the
// error says why.
func TestAllRejected(t *testing.T) {
	for _, v := range []float64{1e300, math.Inf(-1), -1e308} {
		preds := handFixture()
		for i := range preds {
			preds[i].YPred = v
		}
		_, err := Analyze(context.Background(), preds, handOptions())
		if err == nil || !strings.Contains(err.Error(), "all 8 rejected") {
			t.Errorf("y_pred %v: error %v", v, err)
		}
	}
}

func TestRangeValidation(t *testing.T) {
	tests := []struct {
		name string
		r    RangeOptions
		want string
	}{
		{"default", DefaultRange, ""},
		{"inverted", RangeOptions{FlagMin: 10, FlagMax: 5, RejectMin: -100, RejectMax: 100}, "analysis.range: need"},
		{"inf", RangeOptions{FlagMin: 0, FlagMax: 120, RejectMin: math.Inf(-1), RejectMax: 100}, "analysis.range.reject_min"},
		{"huge", RangeOptions{FlagMin: 0, FlagMax: 120, RejectMin: -1, RejectMax: 1e300}, "analysis.range.reject_max"},
		{"zero", RangeOptions{}, "analysis.range: need"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := DefaultOptions()
			o.Range = tc.r
			err := o.Validate()
			if (tc.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.want)) {
				t.Errorf("error %v, want %q", err, tc.want)
			}
		})
	}
}

// TestCompareRejected: a run's rejected rows are left out of the paired
// comparison and counted.
func TestCompareRejected(t *testing.T) {
	a, b := handFixture(), handFixture()
	b[2].YPred = math.NaN()
	b[5].YPred = 1e300
	o := handOptions()
	o.Permutation.Resamples = 20
	res, err := Compare(context.Background(), "a", a, "b", b, o)
	if err != nil {
		t.Fatal(err)
	}
	if res.RejectedA != 0 || res.RejectedB != 2 || res.Matched != 6 || res.OnlyA != 2 {
		t.Errorf("rejected %d/%d, matched %d, only in a %d", res.RejectedA, res.RejectedB, res.Matched, res.OnlyA)
	}
}
