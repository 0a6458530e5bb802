package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"fairage/dataset"
	"fairage/internal/testdata"
)

// execute runs the CLI in-process and returns its output, error and the
// exit code main would use.
func execute(t *testing.T, args ...string) (string, error, int) {
	t.Helper()
	root := newRootCmd()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(args)
	ctx := context.Background()
	err := root.ExecuteContext(ctx)
	code := 0
	if err != nil {
		code = exitCode(ctx, err)
	}
	return out.String(), err, code
}

func defaultConfig(t *testing.T) string {
	root, ok := testdata.RepoRoot()
	if !ok {
		t.Fatal("no repository root")
	}
	return filepath.Join(root, "pipeline.yaml")
}

func TestValidateReportsBadConfigWithExitCode2(t *testing.T) {
	out, err, code := execute(t, "validate", defaultConfig(t))
	if err != nil || !strings.Contains(out, "is valid") {
		t.Fatalf("default config: %v %s", err, out)
	}
	_, err, code = execute(t, "validate", defaultConfig(t), "--set", "train.epochs=0", "--set", "model.arch=vgg")
	if code != exitConfig || err == nil || !strings.Contains(err.Error(), "train.epochs") || !strings.Contains(err.Error(), "model.arch") {
		t.Fatalf("exit %d, error %v", code, err)
	}
	_, _, code = execute(t, "run", filepath.Join(t.TempDir(), "missing.yaml"))
	if code != exitFailure && code != exitConfig {
		t.Fatalf("missing config: exit %d", code)
	}
}

// An external model's predictions are audited without training; a gate
// that fails ends the run with exit code 3 and a message naming the gate,
// the value and its interval, while the report is still written.
func TestAnalyzePredictionsAndGateFailure(t *testing.T) {
	runs := t.TempDir()
	cfg := defaultConfig(t)
	small := []string{"--runs", runs, "--set", "data.synthetic.count=300", "--set", "data.image_size=24",
		"--set", "analysis.bootstrap.resamples=100", "--set", "analysis.permutation.resamples=100"}
	if _, err, _ := execute(t, append([]string{"run", cfg, "--until", "split"}, small...)...); err != nil {
		t.Fatal(err)
	}
	samples, err := dataset.ReadSamples(filepath.Join(runs, "default", "split", "samples.arrow"))
	if err != nil {
		t.Fatal(err)
	}
	// A fake "model" that overestimates group_c by 10 years.
	preds := filepath.Join(t.TempDir(), "preds.csv")
	f, _ := os.Create(preds)
	w := csv.NewWriter(f)
	w.Write([]string{"sample", "age_hat"})
	for i, s := range samples {
		yhat := s.Age + float64(i%5-2)
		if s.Ethnicity == "group_c" {
			yhat += 10
		}
		w.Write([]string{s.ID, fmt.Sprint(yhat)})
	}
	w.Write([]string{"not-a-sample", "30"})
	w.Flush()
	f.Close()

	args := append([]string{"analyze", cfg, "--predictions", preds, "--id-column", "sample", "--column", "age_hat",
		"--set", "analysis.gates={ethnicity_bias: {max: 1.0}}"}, small...)
	out, err, code := execute(t, args...)
	if code != exitGate || err == nil {
		t.Fatalf("want exit %d for a failed gate, got %d: %v\n%s", exitGate, code, err, out)
	}
	for _, want := range []string{"ethnicity_bias", "above max 1", "CI"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("gate error %q lacks %q", err, want)
		}
	}
	run := filepath.Join(runs, "default-predictions")
	if _, err := os.Stat(filepath.Join(run, "report", "report.html")); err != nil {
		t.Errorf("report not written despite the gate failure: %v", err)
	}
	rej, err := dataset.ReadRejections(filepath.Join(run, "evaluate", "predictions_rejected.arrow"))
	if err != nil || len(rej) != 1 || rej[0].ID != "not-a-sample" {
		t.Errorf("unknown prediction id not reported: %v %v", rej, err)
	}
	// Every sample of every split was audited.
	got, err := dataset.ReadPredictions(filepath.Join(run, "evaluate", "predictions.arrow"))
	if err != nil || len(got) != len(samples) {
		t.Errorf("audited %d of %d samples (%v)", len(got), len(samples), err)
	}
	// Ingest and split were shared with the first run, not recomputed.
	out, _, _ = execute(t, "status", cfg, "--runs", runs)
	if !strings.Contains(out, "ingest") {
		t.Errorf("status output: %s", out)
	}
}

func TestCompareNeedsTwoFinishedRuns(t *testing.T) {
	_, err, code := execute(t, "compare", t.TempDir(), t.TempDir())
	if code != exitFailure || err == nil || !strings.Contains(err.Error(), "not a run folder") {
		t.Fatalf("exit %d, %v", code, err)
	}
}
