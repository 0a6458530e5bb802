package onnxmodel

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"fairage/dataset"
	"fairage/internal/testdata"
	"fairage/preprocess"
)

// needPreset skips a test when make setup-onnx has not installed the
// preset's files (or the runtime).
func needPreset(t *testing.T) Resolved {
	t.Helper()
	needRuntime(t)
	r, err := ResolvePreset("dlib-age")
	if err != nil {
		t.Skipf("dlib-age preset not installed (%v)", err)
	}
	return r
}

// utkCrops returns n UTKFace crops, every stride-th row of metadata.csv
// from the first, with their labelled ages.
func utkCrops(t *testing.T, n, stride int) (paths []string, ages []float64) {
	t.Helper()
	rows := testdata.UTKFaceRows(t)
	for i := 0; i < len(rows) && len(paths) < n; i += stride {
		paths = append(paths, rows[i].Path)
		ages = append(ages, rows[i].Age)
	}
	if len(paths) < n {
		t.Fatalf("only %d crops at stride %d", len(paths), stride)
	}
	return paths, ages
}

// The preset's declaration is read from the wheel's manifest.
func TestDlibAgeResolve(t *testing.T) {
	r := needPreset(t)
	p := r.Preprocess
	if p.Height != 64 || p.Width != 64 || p.Layout != preprocess.NCHW || p.Color != preprocess.RGB || p.DType != preprocess.Float32 ||
		!slices.Equal(p.Mean, []float64{122.781998, 117.000999, 104.297997}) || p.Std != nil || p.Scale != 1.0/256 {
		t.Errorf("preprocessing %+v", p)
	}
	o := r.Output
	if o.Decode != preprocess.Classes || o.Reduce != preprocess.Expected || o.Softmax || len(o.ClassAges) != 81 ||
		o.ClassAges[0] != 0.25 || o.ClassAges[1] != 1 || o.ClassAges[80] != 80 {
		t.Errorf("output %+v", o)
	}
	if r.Input != "images" || r.OutputName != "probabilities" || r.Optimize != OptimizeNone {
		t.Errorf("runtime settings %+v", r)
	}
	if _, err := ResolvePreset("dlib"); err == nil || !strings.Contains(err.Error(), `"dlib" is not a preset; the presets are dlib-age`) {
		t.Errorf("unknown preset: %v", err)
	}
}

// Missing or altered preset files are refused with the way to fix them.
func TestDlibAgeFiles(t *testing.T) {
	r := needPreset(t)
	src := filepath.Dir(r.Path)
	dir := t.TempDir()
	for _, name := range []string{dlibAgeModel, dlibAgeManifest} {
		data, err := os.ReadFile(filepath.Join(src, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := resolveDlibAge(dir); err != nil {
		t.Fatalf("intact copy: %v", err)
	}
	manifest := filepath.Join(dir, dlibAgeManifest)
	data, _ := os.ReadFile(manifest)
	altered := strings.Replace(string(data), "122.781998", "122.781999", 1)
	if err := os.WriteFile(manifest, []byte(altered), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := resolveDlibAge(dir); err == nil || !strings.Contains(err.Error(), manifest+" has sha256") || !strings.Contains(err.Error(), "SETUP_ONNX_FORCE=1 make setup-onnx") {
		t.Errorf("altered manifest: %v", err)
	}
	os.Remove(filepath.Join(dir, dlibAgeModel))
	if err := os.WriteFile(manifest, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := resolveDlibAge(dir); err == nil || !strings.Contains(err.Error(), "age-v1.onnx is missing: run make setup-onnx") {
		t.Errorf("missing model: %v", err)
	}
}

// The real model on real faces: ages well below a predict-the-median
// baseline, the same from files and from a pack made at 64×64, and the
// same whatever the batch size.
func TestDlibAgePlausible(t *testing.T) {
	needPreset(t)
	paths, ages := utkCrops(t, 200, 95)
	opts := DefaultOptions()
	opts.IntraOpThreads, opts.InterOpThreads = 2, 1
	m, err := OpenPreset("dlib-age", opts)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	res, fileErrs, err := m.PredictFiles(context.Background(), paths, 2, nil)
	if err != nil {
		t.Fatal(err)
	}
	pred := make([]float64, len(res))
	for i, r := range res {
		if fileErrs[i] != nil || r.Err != nil {
			t.Fatalf("%s: %v %v", paths[i], fileErrs[i], r.Err)
		}
		pred[i] = r.Age
	}
	median := slices.Clone(ages)
	slices.Sort(median)
	med := (median[len(median)/2-1] + median[len(median)/2]) / 2
	var mae, base float64
	for i := range ages {
		mae += math.Abs(pred[i]-ages[i]) / float64(len(ages))
		base += math.Abs(med-ages[i]) / float64(len(ages))
	}
	t.Logf("dlib-age on %d UTKFace crops: MAE %.2f years; predicting the median (%g): %.2f", len(ages), mae, med, base)
	if !(mae < 0.6*base) || mae > 10 {
		t.Errorf("MAE %.2f is not well below the median baseline %.2f", mae, base)
	}

	// The same faces through a pack at the model's size, in batches of 7.
	pack := filepath.Join(t.TempDir(), "faces.pack")
	w, err := dataset.CreatePacked(pack, 64, 64)
	if err != nil {
		t.Fatal(err)
	}
	rz, err := dataset.NewResizer(64, 64, dataset.FitCrop, dataset.ResampleBiLinear)
	if err != nil {
		t.Fatal(err)
	}
	rgb := make([]byte, 64*64*3)
	for i, p := range paths {
		img, err := preprocess.ReadImage(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := rz.RGB(img, rgb); err != nil {
			t.Fatal(err)
		}
		if err := w.Append(strconv.Itoa(i), rgb); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	pk, err := dataset.OpenPacked(pack)
	if err != nil {
		t.Fatal(err)
	}
	defer pk.Close()
	opts.BatchSize = 7
	m7, err := OpenPreset("dlib-age", opts)
	if err != nil {
		t.Fatal(err)
	}
	defer m7.Close()
	index := make([]int, len(paths))
	for i := range index {
		index[i] = i
	}
	packed, err := m7.PredictPacked(context.Background(), pk, index, nil)
	if err != nil {
		t.Fatal(err)
	}
	worst := 0.0
	for i, r := range packed {
		worst = max(worst, math.Abs(r.Age-pred[i]))
	}
	// Rows are independent, so only the kernels' blocking can differ.
	if worst > 1e-4 {
		t.Errorf("pack + batch 7 differs from files + batch 32 by up to %g years", worst)
	}
}
