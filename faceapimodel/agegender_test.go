package faceapimodel

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"fairage/internal/modelsdir"
	"fairage/internal/testdata"
	"fairage/preprocess"
	"fairage/weights"
)

// needWeights returns the installed AgeGenderNet manifest or skips.
func needWeights(t *testing.T) string {
	t.Helper()
	p, err := modelsdir.Path(AgeGenderManifest)
	if err != nil {
		t.Skipf("face-api weights not installed (%v); skipping", err)
	}
	return p
}

// utkFaces returns n UTKFace crops spread over the metadata, resized to
// 112×112 RGB bytes by the project's resize, with their ages.
func utkFaces(t *testing.T, n int) ([]byte, []float64) {
	t.Helper()
	rows := testdata.UTKFaceRows(t)
	paths := make([]string, n)
	ages := make([]float64, n)
	for i := range n {
		r := rows[i*len(rows)/n]
		paths[i], ages[i] = r.Path, r.Age
	}
	spec := AgeGenderSpec()
	spec.DType, spec.Mean, spec.Std = preprocess.Uint8, nil, nil
	u8, errs, err := preprocess.LoadFiles(context.Background(), spec, paths, 2)
	if err != nil {
		t.Fatal(err)
	}
	for i, e := range errs {
		if e != nil {
			t.Fatalf("%s: %v", paths[i], e)
		}
	}
	return u8.U8, ages
}

// TestAgeGenderMatchesFaceAPI is the conformance check of the rebuild: on
// 20 real UTKFace crops the ages of the Go graph equal those of face-api's
// own AgeGenderNet.predictAgeAndGender in Node (TensorFlow.js pure-JS CPU
// backend, weights read by tfjs's loader) within 1e-4 years. Both sides
// get the same 112×112 bytes. Skips without node or the Node environment.
func TestAgeGenderMatchesFaceAPI(t *testing.T) {
	if testing.Short() {
		t.Skip("runs face-api in Node; skipped with -short")
	}
	manifest := needWeights(t)
	root, nodeDir := testdata.NodeEnv(t)
	const n = 20
	pix, truth := utkFaces(t, n)
	tmp := t.TempDir()
	imagesPath, outPath := filepath.Join(tmp, "images.u8"), filepath.Join(tmp, "ages.json")
	if err := os.WriteFile(imagesPath, pix, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("node", filepath.Join(root, "scripts", "conformance", "age_gender.mjs"),
		nodeDir, filepath.Dir(manifest), imagesPath, fmt.Sprint(n), outPath)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("node age_gender.mjs: %v\n%s", err, out)
	}
	var ref struct {
		Backend string
		Ages    []float64
	}
	b, err := os.ReadFile(outPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &ref); err != nil {
		t.Fatal(err)
	}
	if ref.Backend != "cpu" || len(ref.Ages) != n {
		t.Fatalf("reference: backend %q, %d ages", ref.Backend, len(ref.Ages))
	}

	m, err := OpenAgeGender(manifest, Options{BatchSize: 8, IntraOp: 2, InterOp: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	p, err := preprocess.New(AgeGenderSpec())
	if err != nil {
		t.Fatal(err)
	}
	in := AgeGenderSpec().NewTensor(n)
	per := AgeGenderInput * AgeGenderInput * 3
	for i := range n {
		if err := p.PutRGB(in, i, pix[i*per:(i+1)*per], AgeGenderInput, AgeGenderInput); err != nil {
			t.Fatal(err)
		}
	}
	got, err := m.Predict(context.Background(), in, nil)
	if err != nil {
		t.Fatal(err)
	}
	worst, mae := 0.0, 0.0
	for i := range n {
		worst = max(worst, math.Abs(got[i]-ref.Ages[i]))
		mae += math.Abs(got[i]-truth[i]) / n
	}
	t.Logf("max |Go − face-api| = %.3g years over %d UTKFace crops; MAE against the labels %.2f (face-api trained on UTKFace: not held out)", worst, n, mae)
	if worst > 1e-4 {
		t.Errorf("Go ages differ from face-api's by up to %.3g years, want ≤ 1e-4 (first: Go %.5f vs %.5f)", worst, got[0], ref.Ages[0])
	}
	if mae > 12 {
		t.Errorf("MAE %.1f against the labels: the rebuilt net does not estimate age", mae)
	}
}

// Weights of another network are refused with the tensor named, and the
// weights' own extra tensors are never silently ignored.
func TestAgeGenderRejectsOtherWeights(t *testing.T) {
	manifest := needWeights(t)
	other := filepath.Join(filepath.Dir(manifest), "face_recognition_model-weights_manifest.json")
	w, err := weights.ReadManifest(other)
	if err != nil {
		t.Skipf("face recognition weights: %v", err)
	}
	_, err = BuildAgeGender(w)
	if err == nil || !strings.Contains(err.Error(), `"entry_flow/conv_in/filters" is missing`) {
		t.Errorf("error %v, want the first missing tensor named", err)
	}
}
