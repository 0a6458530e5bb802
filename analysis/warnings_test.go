package analysis

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"fairage/dataset"
)

// predsOf makes test predictions of the given true and predicted ages.
func predsOf(yTrue, yPred []float64) []dataset.Prediction {
	out := make([]dataset.Prediction, len(yTrue))
	for i := range yTrue {
		out[i] = dataset.Prediction{ID: fmt.Sprint(i), Split: dataset.SplitTest, YTrue: yTrue[i], YPred: yPred[i], Gender: "female"}
	}
	return out
}

// tens are the true ages 10, 20, ..., 100: sd 28.7.
var tens = []float64{10, 20, 30, 40, 50, 60, 70, 80, 90, 100}

func repeat(v float64, n int) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = v
	}
	return out
}

func TestPredictionWarnings(t *testing.T) {
	hand := handFixture()
	handTrue, handPred := make([]float64, len(hand)), make([]float64, len(hand))
	for i, p := range hand {
		handTrue[i], handPred[i] = p.YTrue, p.YPred
	}
	tests := []struct {
		name        string
		yTrue       []float64
		yPred       []float64
		want        string // the whole warning; "" for none
		wantPrefix  string // or its start
		wantContain []string
	}{
		{name: "constant", yTrue: tens, yPred: repeat(0, 10),
			want: "predictions barely vary: 10 of 10 within 1 year of 0.0 (sd 0.00 years, true ages sd 28.7): " +
				"the model did not learn age; its group MAEs and bias scores describe a near-constant guess, i.e. the groups' age distributions"},
		// sd 1.10 < 10% of 28.7; the two 33s are more than a year away
		// from the median, 30.3.
		{name: "near constant", yTrue: tens, yPred: []float64{30, 30.1, 30.2, 30.3, 30.3, 30.3, 30.5, 30.6, 33, 33},
			wantPrefix: "predictions barely vary: 8 of 10 within 1 year of 30.3 (sd 1.10 years, true ages sd 28.7)"},
		{name: "decent model", yTrue: handTrue, yPred: handPred},
		{name: "one row", yTrue: []float64{40}, yPred: []float64{0}},
		{name: "equal true ages, constant guess", yTrue: repeat(30, 10), yPred: repeat(0, 10)},
		{name: "equal true ages, varied guesses", yTrue: repeat(30, 10), yPred: tens},
		{name: "stuck at the lowest", yTrue: tens, yPred: []float64{0, 0, 0, 0, 0, 0, 70, 80, 90, 100},
			want: "predictions stuck at one value: 6 of 10 (60%) are exactly 0.0, the lowest prediction, for faces of true ages 10 to 60 (sd 17.1): " +
				"the output looks saturated (e.g. a sigmoid at its bound); the group MAEs and bias scores partly describe how far each group's ages lie from that value"},
		{name: "stuck at the highest", yTrue: tens, yPred: []float64{10, 20, 30, 40, 116, 116, 116, 116, 116, 116},
			wantPrefix: "predictions stuck at one value: 6 of 10 (60%) are exactly 116.0, the highest prediction, for faces of true ages 50 to 100"},
		// Whole-year predictions tie, but not half of them at a bound.
		{name: "whole years", yTrue: tens, yPred: []float64{12, 12, 12, 30, 30, 30, 30, 75, 88, 101}},
		// Half the faces are one-year-olds predicted 1, the lowest value:
		// right, not stuck.
		{name: "right at the bound", yTrue: []float64{1, 1, 1, 1, 1, 20, 30, 40, 50, 60}, yPred: []float64{1, 1, 1, 1, 1, 22, 27, 44, 49, 63}},
		// Half the predictions tie in the middle: not a bound.
		{name: "tie inside the range", yTrue: tens, yPred: []float64{5, 50, 50, 50, 50, 50, 60, 70, 80, 99}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			preds := predsOf(tc.yTrue, tc.yPred)
			rows := make([]*dataset.Prediction, len(preds))
			for i := range preds {
				rows[i] = &preds[i]
			}
			got := predictionWarnings(rows)
			switch {
			case tc.want == "" && tc.wantPrefix == "":
				if got != nil {
					t.Errorf("warnings %q, want none", got)
				}
			case len(got) != 1:
				t.Errorf("warnings %q, want one", got)
			case tc.want != "" && got[0] != tc.want:
				t.Errorf("warning\n%s\nwant\n%s", got[0], tc.want)
			case tc.wantPrefix != "" && !strings.HasPrefix(got[0], tc.wantPrefix):
				t.Errorf("warning\n%s\nwant it to start with\n%s", got[0], tc.wantPrefix)
			}
		})
	}
}

// TestAnalyzeWarns: the warning reaches the result and the JSON summary,
// from the analysed split's rows only; a sound model's summary has no
// warnings field at all.
func TestAnalyzeWarns(t *testing.T) {
	preds := predsOf(tens, repeat(0, 10))
	preds = append(preds, predsOf([]float64{20, 40}, []float64{21, 38})...)
	for i := 10; i < len(preds); i++ {
		preds[i].ID, preds[i].Split = fmt.Sprint("v", i), dataset.SplitValid
	}
	o := handOptions()
	o.Split = dataset.SplitTest
	res, err := Analyze(context.Background(), preds, o)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Warnings) != 1 || !strings.HasPrefix(res.Warnings[0], "predictions barely vary: 10 of 10 within 1 year of 0.0") {
		t.Errorf("warnings %q", res.Warnings)
	}
	b, err := MarshalSummary(res)
	if err != nil {
		t.Fatal(err)
	}
	var back struct {
		Warnings []string `json:"warnings"`
	}
	if err := json.Unmarshal(b, &back); err != nil || len(back.Warnings) != 1 {
		t.Errorf("summary warnings %q (%v)", back.Warnings, err)
	}

	b, err = MarshalSummary(handResult(t))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), `"warnings"`) {
		t.Error("a sound model's summary should have no warnings field")
	}
}
