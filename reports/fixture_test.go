package reports

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"fairage/analysis"
	"fairage/dataset"
)

// evilGroup is a group name that would run script if a report did not
// escape it.
const evilGroup = "<script>alert(1)</script>"

// fixturePredictions are 400 deterministic predictions over two genders
// and four ethnicities, one of them named evilGroup, with a few unknowns.
func fixturePredictions() []dataset.Prediction {
	r := rand.New(rand.NewPCG(1, 2))
	eths := []string{"asian", "black", "white", evilGroup}
	out := make([]dataset.Prediction, 400)
	for i := range out {
		y := 5 + r.Float64()*70
		eth := eths[i%len(eths)]
		if i%37 == 0 {
			eth = ""
		}
		sd := 4 + float64(i%len(eths))
		out[i] = dataset.Prediction{
			ID: fmt.Sprintf("img%03d", i), Split: dataset.SplitTest, YTrue: y,
			YPred:  math.Round((y+r.NormFloat64()*sd)*100) / 100,
			Gender: []string{"female", "male"}[(i/4)%2], Ethnicity: eth,
		}
	}
	return out
}

func fixtureAnalysis(t *testing.T, preds []dataset.Prediction) *analysis.Result {
	t.Helper()
	o := analysis.DefaultOptions()
	o.Intersections = []analysis.Intersection{{dataset.AttrGender, dataset.AttrEthnicity}}
	o.Bootstrap.Resamples = 200
	o.Permutation.Resamples = 199
	o.MinGroupSize = 90
	one, eight := 1.0, 8.0
	o.Gates = map[string]analysis.Gate{"ethnicity_bias": {Max: &one}, "mae": {Max: &eight}}
	res, err := analysis.Analyze(context.Background(), preds, o)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// fixturePNG writes a small contact-sheet PNG and returns its path.
func fixturePNG(t *testing.T) string {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 64, 32))
	for x := 0; x < 64; x++ {
		for y := 0; y < 32; y++ {
			img.Set(x, y, color.RGBA{uint8(x * 4), uint8(y * 8), 120, 255})
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "contact.png")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// fixtureHistory is a training history of the given number of epochs,
// head only for the first three: the losses fall as 1/epoch, and the
// validation ones level off at valFloor.
func fixtureHistory(epochs int32, valFloor float64) []dataset.EpochRecord {
	var hist []dataset.EpochRecord
	for e := int32(1); e <= epochs; e++ {
		phase := "head"
		if e > 3 {
			phase = "all"
		}
		f := float64(e)
		hist = append(hist, dataset.EpochRecord{Phase: phase, Epoch: e, Loss: 14 / f, MAE: 14 / f, ValLoss: 15/f + valFloor, ValMAE: 15/f + valFloor, LR: 1e-4, Seconds: 3, ImagesPerSec: 100})
	}
	return hist
}

// withSubjects gives the predictions two images per subject, one neutral
// and one smiling, for the within-subject section.
func withSubjects(preds []dataset.Prediction) []dataset.Prediction {
	for i := range preds {
		preds[i].Subject, preds[i].Expression = fmt.Sprintf("s%03d", i/2), []string{"neutral", "happy"}[i%2]
	}
	return preds
}

// fixtureRun is a complete run: every section has content.
func fixtureRun(t *testing.T) Run {
	t.Helper()
	preds := withSubjects(fixturePredictions())
	hist := fixtureHistory(8, 1)
	dist := []dataset.GroupCount{
		{Stage: "before", Attribute: "ethnicity", Group: "asian", Count: 120, Weight: 120},
		{Stage: "before", Attribute: "ethnicity", Group: evilGroup, Count: 40, Weight: 40},
		{Stage: "after", Attribute: "ethnicity", Group: "asian", Count: 120, Weight: 120},
		{Stage: "after", Attribute: "ethnicity", Group: evilGroup, Count: 120, Weight: 120},
	}
	return Run{
		Name:         "baseline-<b>run</b>",
		Model:        ModelInfo{Name: "resnet18 (all layers)", LearningRate: 1e-4, Strategy: "oversample ethnicity"},
		Analysis:     fixtureAnalysis(t, preds),
		History:      hist,
		Distribution: dist,
		ContactSheet: fixturePNG(t),
		Predictions:  preds,
		Meta: Metadata{
			Started:    time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC),
			Host:       "ci-runner",
			ConfigText: "name: baseline\nanalysis:\n  gates:\n    mae: {max: 8}\n# ``` not a fence end\n",
			Stages: []StageInfo{
				{Name: "ingest", Fingerprint: "0123456789abcdef0123", Duration: 1500 * time.Millisecond, Status: "skipped", Reason: "fresh"},
				{Name: "analyze", Fingerprint: "fedcba9876543210", Duration: 2 * time.Second, Status: "ran", Reason: "config changed"},
			},
			Versions: []Version{{"go", "go1.26"}, {"fairage", "v0.1.0"}},
		},
	}
}

// bareRun has only an analysis: every optional section must say so.
func bareRun(t *testing.T) Run {
	return Run{Name: "bare", Analysis: fixtureAnalysis(t, fixturePredictions())}
}

// stuckPredictions are fixturePredictions from a model whose output
// saturated: it predicts 0 years for every face.
func stuckPredictions() []dataset.Prediction {
	preds := fixturePredictions()
	for i := range preds {
		preds[i].YPred = 0
	}
	return preds
}

// warnedRun is a bare run of a degenerate model: its analysis warns that
// the predictions barely vary.
func warnedRun(t *testing.T) Run {
	return Run{Name: "stuck-<b>run</b>", Analysis: fixtureAnalysis(t, stuckPredictions()),
		Notes: []string{"Head-only training on a <i>random</i> backbone measures little."}}
}
