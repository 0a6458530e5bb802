package reports

import (
	"bytes"
	"math"
	"os"
	"strings"
	"testing"
)

// TestExtremePredictions renders reports whose predictions include values
// that are not ages (1e300, ±Inf, NaN, −1e308): the analysis rejects them
// and the charts leave them out too, instead of failing, panicking or
// stretching an axis to 1e300. The report's text names the rejected rows.
func TestExtremePredictions(t *testing.T) {
	inf := math.Inf(1)
	tests := []struct {
		name  string
		yPred []float64
		yTrue []float64
	}{
		{"huge", []float64{1e300, 1e300, 1e300}, nil},
		{"non-finite", []float64{inf, -inf, math.NaN(), -1e308}, []float64{inf, math.NaN()}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			preds := fixturePredictions()
			for i, v := range tc.yPred {
				preds[i*7].YPred = v
			}
			for i, v := range tc.yTrue {
				preds[i*7+3].YTrue = v
			}
			run := Run{Name: "extreme", Analysis: fixtureAnalysis(t, preds), Predictions: preds}
			if len(run.Analysis.Rejected) == 0 {
				t.Fatal("analysis rejected nothing")
			}
			files, err := Write(t.TempDir(), run, DefaultOptions())
			if err != nil {
				t.Fatal(err)
			}
			scatter := false
			for _, f := range files.Figures {
				b, err := os.ReadFile(f)
				if err != nil {
					t.Fatal(err)
				}
				scatter = scatter || strings.HasSuffix(f, "pred-vs-true.svg")
				for _, bad := range []string{"e+300", "e+308", "NaN", "Inf"} {
					if i := bytes.Index(b, []byte(bad)); i >= 0 {
						t.Errorf("%s contains %q: …%s…", f, bad, b[max(0, i-60):min(len(b), i+60)])
					}
				}
			}
			if !scatter {
				t.Error("no predicted-vs-true chart")
			}
			md, _ := os.ReadFile(files.Markdown)
			if !strings.Contains(string(md), "predictions rejected and left out of every number") {
				t.Error("report does not say that rows were rejected")
			}
		})
	}
}
