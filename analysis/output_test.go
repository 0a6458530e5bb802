package analysis

import (
	"bytes"
	"context"
	"encoding/json"
	"fairage/internal/golden"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v17/arrow/array"

	"fairage/dataset"
)

func handResult(t *testing.T) *Result {
	t.Helper()
	o := handOptions()
	o.Bootstrap.Resamples = 50
	o.Permutation.Resamples = 50
	o.Gates = map[string]Gate{"ethnicity_bias": {Max: ptr(1)}}
	res, err := Analyze(context.Background(), handFixture(), o)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// TestSummaryGolden pins the JSON summary's field names and layout.
func TestSummaryGolden(t *testing.T) {
	got, err := MarshalSummary(handResult(t))
	if err != nil {
		t.Fatal(err)
	}
	golden.Check(t, "hand_summary.json", got)
}

func TestSummaryRoundTrip(t *testing.T) {
	res := handResult(t)
	path := filepath.Join(t.TempDir(), "summary.json")
	if err := WriteSummary(path, res); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(path)
	if bytes.Contains(raw, []byte("NaN")) || !json.Valid(raw) {
		t.Fatal("summary is not valid JSON or contains NaN")
	}
	back, err := ReadSummary(path)
	if err != nil {
		t.Fatal(err)
	}
	x := back.Attribute("expression")
	if x == nil || x.Available || !math.IsNaN(x.Bias.Value) {
		t.Errorf("expression after round trip: %+v", x)
	}
	again, _ := MarshalSummary(back)
	if !bytes.Equal(again, raw) {
		t.Error("summary changes on a read/write round trip")
	}
}

func TestMetricsTable(t *testing.T) {
	res := handResult(t)
	path := filepath.Join(t.TempDir(), "metrics.arrow")
	if err := WriteMetrics(path, res); err != nil {
		t.Fatal(err)
	}
	rec, err := dataset.ReadIPC(path)
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Release()
	if !rec.Schema().Equal(MetricsSchema) {
		t.Fatalf("schema %s", rec.Schema())
	}
	if int(rec.NumRows()) != len(MetricRows(res)) {
		t.Errorf("%d rows, want %d", rec.NumRows(), len(MetricRows(res)))
	}
	attr := rec.Column(0).(*array.String)
	group := rec.Column(1).(*array.String)
	metric := rec.Column(2).(*array.String)
	est := rec.Column(3).(*array.Float64)
	flags := rec.Column(7).(*array.String)
	found := map[string]bool{}
	for i := 0; i < int(rec.NumRows()); i++ {
		key := attr.Value(i) + "/" + group.Value(i) + "/" + metric.Value(i)
		switch key {
		case "ethnicity//bias":
			found[key] = near(est.Value(i), 2) && !rec.Column(4).IsNull(i)
		case "gender_x_ethnicity/male_x_asian/mae":
			found[key] = strings.Contains(flags.Value(i), FlagSmall)
		case "expression//bias":
			found[key] = est.IsNull(i) && flags.Value(i) == FlagUnavailable
		case "ethnicity//unknown":
			found[key] = est.Value(i) == 1
		}
	}
	for _, k := range []string{"ethnicity//bias", "gender_x_ethnicity/male_x_asian/mae", "expression//bias", "ethnicity//unknown"} {
		if !found[k] {
			t.Errorf("row %s missing or wrong", k)
		}
	}
}

func TestAnalyzeRejectsBadInput(t *testing.T) {
	bad := handFixture()
	for i := range bad {
		bad[i].YPred = math.NaN()
	}
	tests := []struct {
		name  string
		preds []dataset.Prediction
		split string
		want  string
	}{
		{"all rejected", bad, "", `no predictions to analyse: all 8 rejected (y_pred_not_finite: 8, e.g. row 0 (id "1")`},
		{"empty", nil, "", "no predictions"},
		{"split", handFixture(), "valid", `no predictions of split "valid"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := handOptions()
			o.Split = SplitChoice(tc.split)
			_, err := Analyze(context.Background(), tc.preds, o)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want %q", err, tc.want)
			}
		})
	}
}
