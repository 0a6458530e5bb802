package main

import (
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"fairage/dataset"
	"fairage/savedmodel"
)

// A trained run exported as a SavedModel and evaluated with
// evaluate --model DIR (kind savedmodel, input size and preprocessing from
// the export's metadata) gives the run's own predictions within 1e-4.
func TestExportThenEvaluateRoundTrip(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a small model; skipped with -short")
	}
	runs := t.TempDir()
	cfg := defaultConfig(t)
	common := []string{"--runs", runs, "--set", "data.synthetic.count=200", "--set", "data.image_size=32"}
	train := append([]string{"run", cfg, "--until", "evaluate", "--set", "model.width_multiplier=0.125",
		"--set", "model.head=[32]", "--set", "train.epochs=2", "--set", "train.strategy=all_layers"}, common...)
	if out, err, _ := execute(t, train...); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	saved := filepath.Join(t.TempDir(), "exported")
	out, err, code := execute(t, "export", filepath.Join(runs, "default"), "--format", "savedmodel", "--out", saved)
	if err != nil {
		t.Fatalf("export: exit %d: %v\n%s", code, err, out)
	}
	if !strings.Contains(out, "images uint8 [N 32 32 3]") {
		t.Errorf("export says %q", out)
	}
	meta, ok, err := savedmodel.ReadMetadata(saved)
	if err != nil || !ok || meta.Preprocess.Resample != dataset.ResampleBiLinear || meta.Preprocess.Height != 32 {
		t.Fatalf("metadata %+v %v %v", meta, ok, err)
	}
	// Without data.image_size: the images are packed at the export's own
	// size, from its metadata.
	if out, err, code := execute(t, "evaluate", cfg, "--model", saved, "--runs", runs, "--set", "data.synthetic.count=200"); err != nil {
		t.Fatalf("evaluate: exit %d: %v\n%s", code, err, out)
	}
	want, err := dataset.ReadPredictions(filepath.Join(runs, "default", "evaluate", "predictions.arrow"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := dataset.ReadPredictions(filepath.Join(runs, "default-eval-exported", "evaluate", "predictions.arrow"))
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]float64{}
	for _, p := range got {
		byID[p.ID] = p.YPred
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, p := range want {
		g, ok := byID[p.ID]
		if !ok {
			t.Fatalf("the SavedModel gave no prediction for %s", p.ID)
		}
		if d := math.Abs(g - p.YPred); d > 1e-4 {
			t.Errorf("%s: SavedModel %.6f, run %.6f", p.ID, g, p.YPred)
		}
		lo, hi = min(lo, p.YPred), max(hi, p.YPred)
	}
	// The report says which model ran and how it read its input.
	md, err := os.ReadFile(filepath.Join(runs, "default-eval-exported", "report", "report.md"))
	if err != nil || !strings.Contains(string(md), "Model: kind savedmodel") || !strings.Contains(string(md), "32x32 bilinear crop, rgb nhwc uint8") {
		t.Errorf("the report does not describe the model (%v)", err)
	}
	if len(want) == 0 || hi-lo < 1e-3 {
		t.Errorf("%d predictions spread over %.3g years; the comparison proves little", len(want), hi-lo)
	}

	// Export refuses what it cannot do, naming the flag or folder.
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"export", filepath.Join(runs, "default"), "--format", "onnx", "--out", saved}, `--format: "onnx" is not one of [savedmodel]`},
		{[]string{"export", filepath.Join(runs, "default")}, "--out"},
		{[]string{"export", saved, "--out", saved + "2"}, "holds no trained model"},
	} {
		if _, err, _ := execute(t, tc.args...); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v, want %q", tc.args, err, tc.want)
		}
	}
}

// evaluate --model tells a run folder, a model folder, a SavedModel, an
// .onnx file and a preset apart, and says what it expected otherwise.
func TestEvaluateModelDetection(t *testing.T) {
	dir := t.TempDir()
	run := filepath.Join(dir, "run")
	os.MkdirAll(filepath.Join(run, "train", "model"), 0o755)
	os.WriteFile(filepath.Join(run, "train", "model", "model.json"), []byte("{}"), 0o644)
	modelDir := filepath.Join(run, "train", "model")
	sm := filepath.Join(dir, "sm")
	os.MkdirAll(sm, 0o755)
	os.WriteFile(filepath.Join(sm, savedmodel.ProtoFile), nil, 0o644)
	onnx := filepath.Join(dir, "age.onnx")
	os.WriteFile(onnx, nil, 0o644)
	manifest := filepath.Join(dir, "age_gender_model-weights_manifest.json")
	os.WriteFile(manifest, nil, 0o644)
	other := filepath.Join(dir, "notes.txt")
	os.WriteFile(other, nil, 0o644)
	empty := filepath.Join(dir, "empty")
	os.MkdirAll(empty, 0o755)
	for _, tc := range []struct {
		model string
		want  []string // overrides
		err   string
	}{
		{run, []string{"model.kind=resnet", "model.from=" + run, "model.preset="}, ""},
		{modelDir, []string{"model.kind=resnet", "model.from=" + modelDir, "model.preset="}, ""},
		{sm, []string{"model.kind=savedmodel", "model.from=" + sm, "model.preset="}, ""},
		{onnx, []string{"model.kind=onnx", "model.from=" + onnx, "model.preset="}, ""},
		{manifest, []string{"model.kind=face-api", "model.from=" + manifest, "model.preset="}, ""},
		{"dlib-age", []string{"model.preset=dlib-age", "model.from="}, ""},
		{"face-api-age", []string{"model.preset=face-api-age", "model.from="}, ""},
		{other, nil, "not an .onnx model"},
		{empty, nil, "neither a trained run or model folder"},
		{"no-such-preset", nil, "not a preset (presets: dlib-age"},
	} {
		got, err := modelOverrides(tc.model)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: %v, want %q", tc.model, err, tc.err)
			}
			continue
		}
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("%s: %v %v, want %v", tc.model, got, err, tc.want)
		}
	}
}
