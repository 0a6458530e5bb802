package savedmodel_test

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"fairage/dataset"
	"fairage/internal/testdata"
	"fairage/preprocess"
	"fairage/regressor"
	"fairage/savedmodel"
	"fairage/tfmodel"
)

// peerPython returns the benchmark venv's python with TensorFlow (bash
// scripts/venv.sh builds it), or skips.
func peerPython(t *testing.T) (py, root string) {
	t.Helper()
	if testing.Short() {
		t.Skip("conformance against TensorFlow in Python: not in -short")
	}
	root, ok := testdata.RepoRoot()
	if !ok {
		t.Skip("no repository root")
	}
	py = filepath.Join(root, "build", "venv", "bin", "python")
	if out, err := exec.Command(py, "-c", "import tensorflow, pyarrow").CombinedOutput(); err != nil {
		t.Skipf("the TensorFlow peer is not installed (%s: %v %s); run bash scripts/venv.sh", py, err, lastLine(out))
	}
	return py, root
}

func lastLine(b []byte) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return lines[len(lines)-1]
}

// utkPack packs n UTKFace crops (every stride-th row of metadata.csv),
// resized from the original files to size×size by the pipeline's own
// resize, and returns them with their ages.
func utkPack(t *testing.T, n, stride, size int) (regressor.Data, string) {
	t.Helper()
	dir := testdata.UTKFace(t)
	f, err := os.Open(filepath.Join(dir, "metadata.csv"))
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(f).ReadAll()
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	fileCol, ageCol := slices.Index(rows[0], "file"), slices.Index(rows[0], "age")
	var paths, ids []string
	var ages []float64
	for i := 1; i < len(rows) && len(paths) < n; i += stride {
		age, err := strconv.ParseFloat(rows[i][ageCol], 64)
		if err != nil {
			t.Fatalf("metadata.csv row %d: %v", i+1, err)
		}
		paths = append(paths, filepath.Join(dir, "images", rows[i][fileCol]))
		ids = append(ids, strings.TrimSuffix(rows[i][fileCol], ".jpg"))
		ages = append(ages, age)
	}
	spec := preprocess.Spec{Height: size, Width: size, Resample: dataset.ResampleBiLinear, Fit: dataset.FitCrop,
		Color: preprocess.RGB, Layout: preprocess.NHWC, DType: preprocess.Uint8, Scale: 1}
	tn, errs, err := preprocess.LoadFiles(context.Background(), spec, paths, 2)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "utk.pack")
	w, err := dataset.CreatePacked(path, size, size)
	if err != nil {
		t.Fatal(err)
	}
	var ex []regressor.Example
	per := spec.PerImage()
	for i := range paths {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if err := w.Append(ids[i], tn.U8[i*per:(i+1)*per]); err != nil {
			t.Fatal(err)
		}
		ex = append(ex, regressor.Example{Index: i, ID: ids[i], Target: ages[i], Weight: 1})
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	pk, err := dataset.OpenPacked(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pk.Close() })
	return regressor.Data{Images: pk, Examples: ex}, path
}

// checkSummary is what savedmodel_check.py prints.
type checkSummary struct {
	N          int      `json:"n"`
	Inputs     []string `json:"inputs"`
	MaxAbsDiff float64  `json:"max_abs_diff"`
	Spread     float64  `json:"spread"`
}

// TestPythonLoadsExport: a SavedModel from ExportSavedModel, loaded by
// tf.saved_model.load in Python (TensorFlow 2.18 from PyPI), gives through
// its serving_default signature the network's own ages on 50 UTKFace
// crops within 1e-4.
func TestPythonLoadsExport(t *testing.T) {
	py, root := peerPython(t)
	for _, tc := range []struct {
		arch string
		size int
	}{{"resnet18", 64}, {tfmodel.ArchFaceResNet, 150}} {
		t.Run(tc.arch, func(t *testing.T) {
			model, saved := exported(t, tc.arch, tc.size)
			data, packPath := utkPack(t, 50, 370, tc.size)
			r, err := tfmodel.Load(model, tfmodel.WithThreads(1, 1), tfmodel.WithProgress(nil))
			if err != nil {
				t.Fatal(err)
			}
			ages, err := r.Predict(context.Background(), data)
			r.Close()
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]float64{}
			for i, ex := range data.Examples {
				want[ex.ID] = ages[i]
			}
			expect := filepath.Join(t.TempDir(), "ages.json")
			b, _ := json.Marshal(want)
			if err := os.WriteFile(expect, b, 0o644); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(py, filepath.Join(root, "scripts", "conformance", "savedmodel_check.py"),
				"--saved", saved, "--pack", packPath, "--expect", expect, "--tol", "1e-4")
			out, err := cmd.Output()
			var sum checkSummary
			if jerr := json.Unmarshal([]byte(lastLine(out)), &sum); jerr != nil {
				t.Fatalf("%s: %v %v\n%s", cmd, err, jerr, out)
			}
			t.Logf("Python vs Go on %d UTKFace crops: max |diff| %.3g years (ages spread over %.3g)", sum.N, sum.MaxAbsDiff, sum.Spread)
			if err != nil || sum.N != 50 || sum.MaxAbsDiff > 1e-4 {
				t.Fatalf("%s: %v; summary %+v", cmd, err, sum)
			}
			if sum.Spread < 1e-3 {
				t.Errorf("the ages spread over %.3g years only; the comparison proves little", sum.Spread)
			}
		})
	}
}

// TestKerasRoundTrip: a small Keras model, briefly trained in Python on
// UTKFace crops and exported with model.export(), audited here with kind
// savedmodel and its declared preprocessing (float32 RGB NHWC, × 1/255),
// predicts what Keras' own predict does on the same images within 1e-4.
// This is the test that a user's own TensorFlow model plugs in.
func TestKerasRoundTrip(t *testing.T) {
	py, root := peerPython(t)
	const size = 64
	data, packPath := utkPack(t, 120, 150, size)
	dir := t.TempDir()
	saved, kerasAges, trainAges := filepath.Join(dir, "keras_export"), filepath.Join(dir, "keras.json"), filepath.Join(dir, "ages.json")
	truth := map[string]float64{}
	for _, ex := range data.Examples {
		truth[ex.ID] = ex.Target
	}
	tb, _ := json.Marshal(truth)
	if err := os.WriteFile(trainAges, tb, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(py, filepath.Join(root, "scripts", "conformance", "keras_roundtrip.py"),
		"--pack", packPath, "--ages", trainAges, "--out", saved, "--predictions", kerasAges, "--epochs", "2", "--seed", "1")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", cmd, err, out)
	}
	var want map[string]float64
	b, err := os.ReadFile(kerasAges)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatal(err)
	}
	s := savedmodel.DefaultSettings()
	s.Preprocess = preprocess.Spec{Height: size, Width: size, Resample: dataset.ResampleBiLinear, Fit: dataset.FitCrop,
		Color: preprocess.RGB, Layout: preprocess.NHWC, DType: preprocess.Float32, Scale: 1.0 / 255}
	s.Decoding = preprocess.Output{Decode: preprocess.Years, Reduce: preprocess.Expected}
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	kind, _ := regressor.Lookup("savedmodel")
	m, err := kind.Open(context.Background(), regressor.Env{From: saved, Settings: s, BatchSize: 32, Threads: regressor.Threads{IntraOp: 1, InterOp: 1}})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	t.Logf("Keras export: %s", m.Describe().Preprocessing)
	out, err := m.Predict(context.Background(), data)
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Rejected) != 0 {
		t.Fatalf("rejected %v", out.Rejected)
	}
	worst, lo, hi := 0.0, math.Inf(1), math.Inf(-1)
	for i, ex := range data.Examples {
		k, ok := want[ex.ID]
		if !ok {
			t.Fatalf("Keras gave no age for %s", ex.ID)
		}
		worst = max(worst, math.Abs(out.Ages[i]-k))
		lo, hi = min(lo, k), max(hi, k)
	}
	t.Logf("fairage vs Keras predict on %d UTKFace crops: max |diff| %.3g years (Keras ages %.1f-%.1f)", len(data.Examples), worst, lo, hi)
	if worst > 1e-4 {
		t.Errorf("max |diff| %.3g years, want ≤ 1e-4", worst)
	}
	if hi-lo < 0.1 {
		t.Errorf("Keras ages span %.3g years; the model learnt nothing to compare", hi-lo)
	}
}
