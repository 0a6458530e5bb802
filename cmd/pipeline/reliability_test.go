package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"fairage/analysis"
	"fairage/dataset"
)

// executeWithin runs the CLI in-process under a deadline: a command that
// blocks fails the test instead of hanging it.
func executeWithin(t *testing.T, d time.Duration, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	root := newRootCmd()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(args)
	done := make(chan error, 1)
	go func() { done <- root.ExecuteContext(ctx) }()
	select {
	case err := <-done:
		return out.String(), err
	case <-time.After(d + 5*time.Second):
		t.Fatalf("%v blocked (it ignored its context)", args)
		return "", nil
	}
}

// Predictions that are not ages (1e300, ±Inf, −1e308, NaN) through the
// whole audit (model.kind predictions → evaluate → analyze → report):
// they are rejected rows with a reason, the report is written, and no
// JSON or table holds a non-finite number. Once every prediction 1e300
// made the report panic and ±Inf made the analysis fail on NaN in JSON.
func TestExtremePredictionsThroughThePipeline(t *testing.T) {
	runs := t.TempDir()
	cfg := defaultConfig(t)
	small := []string{"--runs", runs, "--set", "data.synthetic.count=300", "--set", "data.image_size=24",
		"--set", "analysis.bootstrap.resamples=50", "--set", "analysis.permutation.resamples=50"}
	if _, err, _ := execute(t, append([]string{"run", cfg, "--until", "split"}, small...)...); err != nil {
		t.Fatal(err)
	}
	samples, err := dataset.ReadSamples(filepath.Join(runs, "default", "split", "samples.arrow"))
	if err != nil {
		t.Fatal(err)
	}
	writePreds := func(value func(i int, s dataset.Sample) string) string {
		path := filepath.Join(t.TempDir(), "preds.csv")
		var b bytes.Buffer
		w := csv.NewWriter(&b)
		w.Write([]string{"id", "prediction"})
		for i, s := range samples {
			w.Write([]string{s.ID, value(i, s)})
		}
		w.Flush()
		os.WriteFile(path, b.Bytes(), 0o644)
		return path
	}
	bad := []string{"1e300", "Inf", "-Inf", "-1e308", "NaN", "400"}
	mixed := writePreds(func(i int, s dataset.Sample) string {
		if i < len(bad) {
			return bad[i]
		}
		return fmt.Sprint(s.Age + float64(i%7-3))
	})
	out, err, code := execute(t, append([]string{"analyze", cfg, "--predictions", mixed, "--name", "mixed"}, small...)...)
	if err != nil {
		t.Fatalf("exit %d: %v\n%s", code, err, out)
	}
	run := filepath.Join(runs, "mixed")
	if _, err := os.Stat(filepath.Join(run, "report", "report.html")); err != nil {
		t.Fatalf("no report: %v", err)
	}
	raw, err := os.ReadFile(filepath.Join(run, "analyze", "summary.json"))
	if err != nil || !json.Valid(raw) {
		t.Fatalf("summary.json: %v (valid JSON %v)", err, json.Valid(raw))
	}
	rows, err := analysis.ReadMetrics(filepath.Join(run, "analyze", "metrics.arrow"))
	if err != nil {
		t.Fatal(err)
	}
	rejected, flagged := 0.0, 0.0
	for _, r := range rows {
		for _, v := range []float64{r.Estimate, r.Lower, r.Upper} {
			if math.IsInf(v, 0) {
				t.Errorf("metrics row %+v is infinite", r)
			}
		}
		switch r.Metric {
		case analysis.MetricRejected:
			rejected += r.Estimate
		case analysis.MetricFlagged:
			flagged += r.Estimate
		}
	}
	// Inf, -Inf and NaN never reach the analysis: the predictions reader
	// rejects them; 1e300 and -1e308 are rejected by the analysis, 400 is
	// flagged as implausible.
	predRej, err := dataset.ReadRejections(filepath.Join(run, "evaluate", "predictions_rejected.arrow"))
	if err != nil {
		t.Fatal(err)
	}
	invalid := 0
	for _, r := range predRej {
		if r.Reason == dataset.ReasonInvalidPrediction && strings.Contains(r.Detail, "not a finite number") {
			invalid++
		}
	}
	if invalid != 3 || rejected != 2 || flagged != 1 {
		t.Errorf("rejected by the reader %d (want 3), by the analysis %g (want 2), flagged %g (want 1): %+v", invalid, rejected, flagged, predRej)
	}
	// Every prediction 1e300: nothing to analyse, said as an error, no panic.
	all := writePreds(func(int, dataset.Sample) string { return "1e300" })
	_, err, code = execute(t, append([]string{"analyze", cfg, "--predictions", all, "--name", "absurd"}, small...)...)
	if err == nil || code != exitFailure || strings.Contains(err.Error(), "panic") || strings.Contains(err.Error(), "goroutine") {
		t.Fatalf("all predictions 1e300: exit %d, %v", code, err)
	}
	t.Log(err)
}

func writePNG(t *testing.T, path string, c color.RGBA) {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 32, 32))
	for i := 0; i < len(img.Pix); i += 4 {
		img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = c.R, c.G, c.B, 255
	}
	var b bytes.Buffer
	png.Encode(&b, img)
	os.MkdirAll(filepath.Dir(path), 0o755)
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// FIFOs in the image folder, listed or not, never block status or run: an
// unlisted one is not opened, a listed one is a rejected row with a reason.
// (Once a FIFO made both hang, ignoring Ctrl-C.)
func TestFIFOInTheDatasetNeverBlocks(t *testing.T) {
	root := t.TempDir()
	var meta bytes.Buffer
	meta.WriteString("file,age,gender,ethnicity\n")
	for i := range 30 {
		writePNG(t, filepath.Join(root, "images", fmt.Sprintf("f%02d.png", i)), color.RGBA{uint8(8 * i), 90, uint8(255 - 8*i), 255})
		fmt.Fprintf(&meta, "f%02d.png,%d,%s,white\n", i, 20+i, []string{"male", "female"}[i%2])
	}
	meta.WriteString("listed.png,30,male,white\n")
	os.WriteFile(filepath.Join(root, "metadata.csv"), meta.Bytes(), 0o644)
	for _, f := range []string{"images/listed.png", "images/unlisted.png", "pipe"} {
		if err := syscall.Mkfifo(filepath.Join(root, f), 0o644); err != nil {
			t.Skipf("cannot make a FIFO here: %v", err)
		}
	}
	cfg := filepath.Join(t.TempDir(), "fifo.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf("extends: %s\nrun: {name: fifo}\ndata: {adapter: utkface, root: %s, max_reject_fraction: 0.1}\n", defaultConfig(t), root)), 0o644)
	runs := t.TempDir()
	out, err := executeWithin(t, 30*time.Second, "status", cfg, "--runs", runs)
	if err != nil || !strings.Contains(out, "ingest") {
		t.Fatalf("status: %v\n%s", err, out)
	}
	out, err = executeWithin(t, 60*time.Second, "run", cfg, "--runs", runs, "--until", "ingest")
	if err != nil {
		t.Fatalf("run: %v\n%s", err, out)
	}
	rej, err := dataset.ReadRejections(filepath.Join(runs, "fifo", "ingest", "rejected.arrow"))
	if err != nil || len(rej) != 1 || rej[0].Reason != dataset.ReasonUnreadable || !strings.Contains(rej[0].Detail, "not a regular file") {
		t.Fatalf("rejections %+v, %v", rej, err)
	}
}
