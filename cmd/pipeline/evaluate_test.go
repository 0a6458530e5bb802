package main

import (
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"fairage/analysis"
	"fairage/dataset"
	"fairage/internal/testdata"
)

// A model trained by one run is audited on another population without
// retraining: a slice of the real UTKFace faces laid out as a separate csv
// dataset, with a label the model never saw (ethnicity "latino"), an
// expression column the training data lacked, a corrupted image and a
// malformed row. The bad rows are rejected with reasons, everything else is
// predicted and analysed as it comes.
func TestEvaluateTrainedModelOnAnotherPopulation(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a small model; skipped with -short")
	}
	utk := testdata.UTKFace(t)
	runs := t.TempDir()
	cfg := defaultConfig(t)
	train := []string{"run", cfg, "--runs", runs, "--until", "train", "--set", "data.synthetic.count=300", "--set", "data.image_size=32",
		"--set", "model.width_multiplier=0.125", "--set", "model.head=[32]", "--set", "train.epochs=2"}
	if _, err, _ := execute(t, train...); err != nil {
		t.Fatal(err)
	}

	// The new population: 40 real faces, relabelled in part.
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "images"), 0o755)
	meta, err := os.ReadFile(filepath.Join(utk, "metadata.csv"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(meta)), "\n")[1:41]
	f, _ := os.Create(filepath.Join(dir, "metadata.csv"))
	w := csv.NewWriter(f)
	w.Write([]string{"file", "age", "gender", "ethnicity", "expression"})
	for i, line := range lines {
		cols := strings.Split(line, ",")
		b, err := os.ReadFile(filepath.Join(utk, "images", cols[0]))
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(dir, "images", cols[0]), b, 0o644)
		eth := cols[3]
		if i%4 == 0 {
			eth = "latino"
		}
		w.Write([]string{"images/" + cols[0], cols[1], cols[2], eth, []string{"happy", "neutral"}[i%2]})
	}
	b, _ := os.ReadFile(filepath.Join(utk, "images", strings.Split(lines[0], ",")[0]))
	os.WriteFile(filepath.Join(dir, "images", "corrupt.jpg"), b[:len(b)/3], 0o644)
	w.Write([]string{"images/corrupt.jpg", "30", "female", "white", "happy"})
	w.Write([]string{"images/missing-fields.jpg", "30"})
	w.Flush()
	f.Close()
	newCfg := filepath.Join(dir, "population.yaml")
	os.WriteFile(newCfg, []byte(fmt.Sprintf(`extends: %s
run: {name: population}
data:
  adapter: csv
  csv: {path: metadata.csv}
  root: .
  image_size: 32
  max_reject_fraction: 0.1
analysis: {bootstrap: {resamples: 200}, permutation: {resamples: 200}}
`, cfg)), 0o644)

	out, err, code := execute(t, "evaluate", newCfg, "--model", filepath.Join(runs, "default"), "--runs", runs)
	if err != nil {
		t.Fatalf("exit %d: %v\n%s", code, err, out)
	}
	run := filepath.Join(runs, "population-eval-default") // <run.name>-eval-<model run>
	rej, err := dataset.ReadRejections(filepath.Join(run, "ingest", "rejected.arrow"))
	if err != nil {
		t.Fatal(err)
	}
	reasons := map[string]int{}
	for _, r := range rej {
		reasons[r.Reason]++
	}
	if len(rej) != 2 || reasons[dataset.ReasonUndecodable] != 1 || reasons[dataset.ReasonMalformedRow] != 1 {
		t.Errorf("rejections %v, want one undecodable image and one malformed row", rej)
	}
	preds, err := dataset.ReadPredictions(filepath.Join(run, "evaluate", "predictions.arrow"))
	if err != nil || len(preds) != 40 {
		t.Fatalf("%d predictions (%v), want all 40 good rows", len(preds), err)
	}
	res, err := analysis.ReadSummary(filepath.Join(run, "analyze", "summary.json"))
	if err != nil {
		t.Fatal(err)
	}
	groups := map[string][]string{}
	for _, a := range res.Attributes {
		for _, g := range a.Groups {
			groups[a.Name] = append(groups[a.Name], g.Name)
		}
	}
	if !strings.Contains(strings.Join(groups["ethnicity"], ","), "latino") {
		t.Errorf("ethnicity groups %v lack the new label", groups["ethnicity"])
	}
	if strings.Join(groups["expression"], ",") != "happy,neutral" {
		t.Errorf("expression groups %v, want happy,neutral", groups["expression"])
	}
	if _, err := os.Stat(filepath.Join(run, "report", "report.html")); err != nil {
		t.Errorf("no report for the new population: %v", err)
	}
}
