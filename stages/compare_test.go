package stages

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"fairage/analysis"
	"fairage/dataset"
	"fairage/pipeline"
)

// fakeRun writes a run folder as a finished run leaves it, without
// running any stage: manifest, predictions, analysis summary and, when
// history is given, the train stage's history.
func fakeRun(t *testing.T, dir, name string, stages []pipeline.StageRecord, history []dataset.EpochRecord) string {
	t.Helper()
	run := filepath.Join(dir, name)
	for _, st := range []string{stageTrain, stageEvaluate, stageAnalyze} {
		if err := os.MkdirAll(filepath.Join(run, st), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	config := map[string]any{"analysis": map[string]any{
		"permutation": map[string]any{"resamples": 19}, "bootstrap": map[string]any{"resamples": 20},
	}}
	b, err := json.Marshal(pipeline.Manifest{Name: name, Config: config, Status: pipeline.RunCompleted, Stages: stages})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(run, pipeline.ManifestFile), b, 0o644); err != nil {
		t.Fatal(err)
	}
	var preds []dataset.Prediction
	for i := range 60 {
		y := float64(10 + i)
		preds = append(preds, dataset.Prediction{
			ID: fmt.Sprintf("img%02d", i), Split: dataset.SplitTest, YTrue: y, YPred: y + float64(i%7) - 3,
			Gender: []string{"female", "male"}[i%2],
		})
	}
	if err := dataset.WritePredictions(filepath.Join(run, stageEvaluate, predictionsFile), preds); err != nil {
		t.Fatal(err)
	}
	o := analysis.DefaultOptions()
	o.Bootstrap.Resamples, o.Permutation.Resamples = 20, 19
	res, err := analysis.Analyze(context.Background(), preds, o)
	if err != nil {
		t.Fatal(err)
	}
	if err := analysis.WriteSummary(filepath.Join(run, stageAnalyze, summaryFile), res); err != nil {
		t.Fatal(err)
	}
	if history != nil {
		if err := dataset.WriteHistory(filepath.Join(run, stageTrain, historyFile), history); err != nil {
			t.Fatal(err)
		}
	}
	return run
}

// TestCompareReadsHistoryAndStageTimes: the comparison shows the trained
// run's learning curve and every run's stage times; a run whose manifest
// has no train stage shows no history even if its folder has one left over.
func TestCompareReadsHistoryAndStageTimes(t *testing.T) {
	dir := t.TempDir()
	hist := []dataset.EpochRecord{{Epoch: 1, ValMAE: 9}, {Epoch: 2, ValMAE: 7.25}}
	trained := fakeRun(t, dir, "trained", []pipeline.StageRecord{
		{Name: stageIngest, Status: "ran", DurationS: 2}, {Name: stageTrain, Status: "ran", DurationS: 90},
		{Name: stageEvaluate, Status: "ran", DurationS: 1}, {Name: stageAnalyze, Status: "ran", DurationS: 1},
		{Name: stageReport, Status: "ran", DurationS: 1},
	}, hist)
	audit := fakeRun(t, dir, "audit", []pipeline.StageRecord{
		{Name: stageIngest, Status: "skipped", DurationS: 2}, {Name: stageEvaluate, Status: "ran", DurationS: 0.5},
		{Name: stageAnalyze, Status: "ran", DurationS: 1}, {Name: stageReport, Status: "failed", DurationS: 3},
	}, []dataset.EpochRecord{{Epoch: 1, ValMAE: 1}, {Epoch: 2, ValMAE: 1}, {Epoch: 3, ValMAE: 1}})
	files, err := Compare(context.Background(), []string{trained, audit}, filepath.Join(dir, "cmp"), "")
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(files.Markdown)
	if err != nil {
		t.Fatal(err)
	}
	md := string(b)
	for _, want := range []string{
		"| 2 | 7.250 | – |",
		"| **Best** | 7.250 (epoch 2) | – |",
		"| 3 |", // must not appear: the audit's leftover history
		"no curve, for audit",
		"| ingest | 2.0 s | cached |",
		"| train | 1 min 30 s | – |",
		"| report | 1.0 s | – |", // a failed stage is not timed
		"| **Total** | 1 min 35 s | 1.5 s |",
	} {
		if got := strings.Contains(md, want); got != (want != "| 3 |") {
			t.Errorf("compare.md: contains %q = %v\n%s", want, got, md)
		}
	}
}

// The comparison lists every resolved config key that differs between
// the runs (defaults filled in, run.name aside), each run's commit, and
// writes the same numbers as JSON and CSV.
func TestCompareShowsWhatDiffersAndCommits(t *testing.T) {
	dir := t.TempDir()
	a := fakeRun(t, dir, "a", nil, nil)
	b := fakeRun(t, dir, "b", nil, nil)
	m, err := pipeline.ReadManifest(b)
	if err != nil {
		t.Fatal(err)
	}
	m.Config["balance"] = map[string]any{"strategy": "undersample"}
	m.Versions = map[string]string{revisionKey: "0123456789abcdef0123456789abcdef01234567+dirty"}
	raw, _ := json.Marshal(m)
	if err := os.WriteFile(filepath.Join(b, pipeline.ManifestFile), raw, 0o644); err != nil {
		t.Fatal(err)
	}
	files, err := CompareRuns(context.Background(), []string{a, b}, CompareOptions{Out: filepath.Join(dir, "cmp"), JSON: true, CSV: true})
	if err != nil {
		t.Fatal(err)
	}
	md, _ := os.ReadFile(files.Markdown)
	for _, want := range []string{"| balance.strategy | none | undersample |", "| a | unknown |", "| b | 0123456789ab \\(dirty\\) |"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("compare.md lacks %q", want)
		}
	}
	if strings.Contains(string(md), "| run.name |") {
		t.Error("run.name always differs and is not listed")
	}
	if len(files.Data) != 2 {
		t.Fatalf("data files %v", files.Data)
	}
	var doc struct {
		Runs []struct {
			Name, Commit string
			Scores       map[string]*struct{ Value float64 }
		}
		Differences []struct {
			Key    string
			Values []string
		} `json:"config_differences"`
		Paired []struct{ Tests []struct{ Metric string } }
	}
	j, _ := os.ReadFile(files.Data[0])
	if err := json.Unmarshal(j, &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Runs) != 2 || doc.Runs[1].Commit == "" || doc.Runs[0].Scores["mae"] == nil || len(doc.Paired) != 1 ||
		len(doc.Differences) != 1 || doc.Differences[0].Key != "balance.strategy" {
		t.Errorf("compare.json: %s", j)
	}
	c, _ := os.ReadFile(files.Data[1])
	if !strings.HasPrefix(string(c), "run,kind,metric,estimate,lower,upper,vs,p,p_holm,significant\na,score,mae,") ||
		!strings.Contains(string(c), "b,paired,mae,") {
		t.Errorf("compare.csv:\n%s", c)
	}
}
