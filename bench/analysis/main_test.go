package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestGenAnalyze runs the harness end to end on a small table.
func TestGenAnalyze(t *testing.T) {
	dir := t.TempDir()
	if err := gen([]string{"-n", "2000", "-out", dir}); err != nil {
		t.Fatal(err)
	}
	csv, err := os.ReadFile(filepath.Join(dir, "predictions.csv"))
	if err != nil || strings.Count(string(csv), "\n") != 2001 {
		t.Fatalf("predictions.csv: %v, %d lines", err, strings.Count(string(csv), "\n"))
	}
	if err := analyze([]string{"-in", filepath.Join(dir, "predictions.arrow"), "-resamples", "20"}); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"summary.json", "metrics.csv"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Error(err)
		}
	}
}
