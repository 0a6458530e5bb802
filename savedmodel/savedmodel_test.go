package savedmodel_test

import (
	"bytes"
	"context"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	tf "github.com/tensorflow/tensorflow/tensorflow/go"
	"github.com/tensorflow/tensorflow/tensorflow/go/op"

	"fairage/dataset"
	"fairage/internal/modelsdir"
	"fairage/preprocess"
	"fairage/regressor"
	"fairage/savedmodel"
	"fairage/tfmodel"
)

// pack writes n noise images of size×size to a pack and returns them as
// examples.
func pack(t *testing.T, n, size int, seed uint64) regressor.Data {
	t.Helper()
	path := filepath.Join(t.TempDir(), "images.pack")
	w, err := dataset.CreatePacked(path, size, size)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(seed, 3))
	pix := make([]byte, size*size*3)
	var ex []regressor.Example
	for i := range n {
		base := rng.IntN(200)
		for j := range pix {
			pix[j] = byte(base + rng.IntN(56))
		}
		id := "img" + string(rune('a'+i%26)) + string(rune('a'+i/26))
		if err := w.Append(id, pix); err != nil {
			t.Fatal(err)
		}
		ex = append(ex, regressor.Example{Index: i, ID: id, Weight: 1})
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	p, err := dataset.OpenPacked(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return regressor.Data{Images: p, Examples: ex}
}

// exported saves a small freshly initialised network of the given
// architecture and exports it; it returns the model folder and the
// SavedModel folder.
func exported(t *testing.T, arch string, size int) (string, string) {
	t.Helper()
	cfg := tfmodel.DefaultModelConfig()
	cfg.Arch, cfg.InputSize, cfg.Head = tfmodel.Arch(arch), size, []int{16}
	if arch != tfmodel.ArchFaceResNet {
		cfg.WidthMultiplier = 0.125
	} else if dir, err := modelsdir.Dir(); err == nil {
		// The face-api backbone where make setup-models installed it: a
		// random face_resnet gives nearly one age for every face, which
		// would make the comparison weak.
		if _, err := os.Stat(filepath.Join(dir, "face-api")); err == nil {
			cfg.Pretrained = "face-api"
		}
	}
	r, err := tfmodel.New(cfg, tfmodel.WithThreads(1, 1), tfmodel.WithProgress(nil))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	dir := t.TempDir()
	model, out := filepath.Join(dir, "model"), filepath.Join(dir, "saved")
	if err := r.Save(model); err != nil {
		t.Fatal(err)
	}
	if err := tfmodel.ExportSavedModel(model, out, tfmodel.ExportOptions{Resample: dataset.ResampleBiLinear, Fit: dataset.FitCrop, Source: "test"},
		tfmodel.WithThreads(1, 1), tfmodel.WithProgress(nil)); err != nil {
		t.Fatal(err)
	}
	return model, out
}

// An exported network, run through kind savedmodel, predicts what the
// network itself predicts (the Go half of the round trip; the Python half
// is scripts/conformance/savedmodel_export.py).
func TestExportRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		arch string
		size int
	}{{"resnet18", 32}, {tfmodel.ArchFaceResNet, 150}} {
		t.Run(tc.arch, func(t *testing.T) {
			if tc.arch == tfmodel.ArchFaceResNet && testing.Short() {
				t.Skip("face_resnet at 150×150; skipped with -short")
			}
			model, saved := exported(t, tc.arch, tc.size)
			data := pack(t, 21, tc.size, 1)
			r, err := tfmodel.Load(model, tfmodel.WithThreads(1, 1), tfmodel.WithProgress(nil), tfmodel.WithBatchSize(8))
			if err != nil {
				t.Fatal(err)
			}
			want, err := r.Predict(context.Background(), data)
			r.Close()
			if err != nil {
				t.Fatal(err)
			}
			kind, err := regressor.Lookup("savedmodel")
			if err != nil {
				t.Fatal(err)
			}
			m, err := kind.Open(context.Background(), regressor.Env{From: saved, Settings: savedmodel.DefaultSettings(), BatchSize: 5,
				Threads: regressor.Threads{IntraOp: 1, InterOp: 1}})
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			got, err := m.Predict(context.Background(), data)
			if err != nil {
				t.Fatal(err)
			}
			if len(got.Rejected) != 0 || len(got.Ages) != len(want) {
				t.Fatalf("%d ages, %d rejected; want %d ages", len(got.Ages), len(got.Rejected), len(want))
			}
			spread := 0.0
			for i := range want {
				if d := math.Abs(got.Ages[i] - want[i]); d > 1e-4 {
					t.Errorf("image %d: SavedModel %.6f, network %.6f (diff %.2g)", i, got.Ages[i], want[i], d)
				}
				spread = max(spread, math.Abs(want[i]-want[0]))
			}
			if spread < 1e-3 {
				t.Errorf("the network's ages spread over %.3g years only; the comparison proves little", spread)
			}
			d := m.Describe()
			if d.Kind != "savedmodel" || d.InputSize != tc.size || !strings.Contains(d.Preprocessing, "uint8") || d.Digest == "" {
				t.Errorf("description %+v", d)
			}
			meta, ok, err := savedmodel.ReadMetadata(saved)
			if err != nil || !ok || meta.Input != tfmodel.ExportInputKey || meta.Preprocess.Height != tc.size {
				t.Errorf("metadata %+v, %v, %v", meta, ok, err)
			}
		})
	}
}

// tinyGraph writes a SavedModel without variables whose serving signature
// maps uint8 images [N,4,4,3] to log(mean byte − 100): non-finite for dark
// images. out is the output shape's second dimension (0: [N]).
func tinyGraph(t *testing.T, width int64) string {
	t.Helper()
	g := tf.NewGraph()
	s := op.NewScopeWithGraph(g)
	in := op.Placeholder(s.SubScope("images"), tf.Uint8, op.PlaceholderShape(tf.MakeShape(-1, 4, 4, 3)))
	mean := op.Mean(s, op.Cast(s, in, tf.Float), op.Const(s.SubScope("axes"), []int32{1, 2, 3}))
	y := op.Log(s, op.Sub(s, mean, op.Const(s.SubScope("offset"), float32(100))))
	shape := tf.MakeShape(-1)
	if width > 0 {
		y = op.Tile(s, op.Reshape(s, y, op.Const(s.SubScope("col"), []int32{-1, 1})), op.Const(s.SubScope("mult"), []int32{1, int32(width)}))
		shape = tf.MakeShape(-1, width)
	}
	y = op.Identity(s.SubScope("age"), y)
	if err := s.Err(); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := g.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	dims, _ := shape.ToSlice()
	sig := savedmodel.Signature{
		Input:  savedmodel.Tensor{Key: "images", Name: in.Op.Name() + ":0", DType: tf.Uint8, Shape: []int64{-1, 4, 4, 3}},
		Output: savedmodel.Tensor{Key: "age", Name: y.Op.Name() + ":0", DType: tf.Float, Shape: dims},
	}
	meta := savedmodel.Metadata{Preprocess: spec4(), Decoding: preprocess.Output{Decode: preprocess.Years}}
	if err := savedmodel.Write(dir, buf.Bytes(), sig, savedmodel.SaverOps{}, meta); err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(dir, savedmodel.AssetsDir, savedmodel.MetadataFile)) // a foreign model declares nothing
	return dir
}

func spec4() preprocess.Spec {
	return preprocess.Spec{Height: 4, Width: 4, Resample: dataset.ResampleBiLinear, Fit: dataset.FitCrop, Color: preprocess.RGB,
		Layout: preprocess.NHWC, DType: preprocess.Uint8, Scale: 1}
}

// A dark image makes the graph output NaN: that row is rejected with its
// reason, the others are predicted.
func TestNonFiniteOutputsAreRejectedRows(t *testing.T) {
	dir := tinyGraph(t, 0)
	data := pack(t, 12, 4, 2)
	s := savedmodel.DefaultSettings()
	s.Preprocess, s.Decoding = spec4(), preprocess.Output{Decode: preprocess.Years}
	kind, _ := regressor.Lookup("savedmodel")
	m, err := kind.Open(context.Background(), regressor.Env{From: dir, Settings: s, BatchSize: 5})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	out, err := m.Predict(context.Background(), data)
	if err != nil {
		t.Fatal(err)
	}
	dark := 0
	for i := range data.Examples {
		px := data.Images.Image(i)
		sum := 0
		for _, b := range px {
			sum += int(b)
		}
		mean := float64(sum) / float64(len(px))
		if mean <= 100 {
			dark++
			if !math.IsNaN(out.Ages[i]) && !math.IsInf(out.Ages[i], 0) {
				// log(0) is -Inf, log(<0) NaN: either way no age
				t.Errorf("image %d (mean %.1f): age %v, want none", i, mean, out.Ages[i])
			}
			continue
		}
		if want := math.Log(mean - 100); math.Abs(out.Ages[i]-want) > 1e-4 {
			t.Errorf("image %d: %v, want %v", i, out.Ages[i], want)
		}
	}
	if dark == 0 || dark == len(data.Examples) {
		t.Fatalf("%d of %d images dark; the test needs both kinds", dark, len(data.Examples))
	}
	if len(out.Rejected) != dark {
		t.Fatalf("%d rejected, want %d", len(out.Rejected), dark)
	}
	for _, r := range out.Rejected {
		if r.Reason != preprocess.ReasonNonFinite || r.ID != data.Examples[r.Index].ID || r.Source != dir {
			t.Errorf("rejection %+v", r)
		}
	}
}

// Every bad input is an error naming the file, key or tensor and what
// exists, before TensorFlow loads anything where it can be.
func TestBadInput(t *testing.T) {
	good := tinyGraph(t, 0)
	wide := tinyGraph(t, 3)
	notModel := t.TempDir()
	os.WriteFile(filepath.Join(notModel, "model.onnx"), []byte("x"), 0o644)
	garbage := t.TempDir()
	os.WriteFile(filepath.Join(garbage, savedmodel.ProtoFile), []byte("not a proto \xff\xff"), 0o644)
	file := filepath.Join(notModel, "model.onnx")
	years := preprocess.Output{Decode: preprocess.Years}
	big := spec4()
	big.Height, big.Width = 8, 8
	float := spec4()
	float.DType = preprocess.Float32
	nchw := spec4()
	nchw.Layout = preprocess.NCHW
	classes := preprocess.Output{Decode: preprocess.Classes, ClassAges: []float64{10, 20}, Reduce: preprocess.Expected}
	for _, tc := range []struct {
		name string
		dir  string
		pre  preprocess.Spec
		out  preprocess.Output
		opts savedmodel.Options
		want []string
	}{
		{"no saved_model.pb", notModel, spec4(), years, savedmodel.Options{}, []string{notModel, "not a SavedModel folder", "saved_model.pb"}},
		{"a file", file, spec4(), years, savedmodel.Options{}, []string{file, "not a SavedModel folder"}},
		{"garbage proto", garbage, spec4(), years, savedmodel.Options{}, []string{garbage, "not a SavedModel protocol buffer"}},
		{"missing folder", filepath.Join(notModel, "nope"), spec4(), years, savedmodel.Options{}, []string{"nope", "no such file"}},
		{"unknown tags", good, spec4(), years, savedmodel.Options{Tags: []string{"train"}}, []string{"no MetaGraph tagged [train]", "[serve]"}},
		{"unknown signature", good, spec4(), years, savedmodel.Options{Signature: "predict"}, []string{`no signature "predict"`, "serving_default"}},
		{"unknown input", good, spec4(), years, savedmodel.Options{Input: "pixels"}, []string{`no input "pixels"`, "images (images/Placeholder:0 [? 4 4 3] uint8)"}},
		{"unknown output", good, spec4(), years, savedmodel.Options{Output: "years"}, []string{`no output "years"`, "age (age/Identity:0 [?] float32)"}},
		{"input size", good, big, years, savedmodel.Options{}, []string{"cannot be fed by the declared preprocessing", "[N 8 8 3]", "images"}},
		{"input layout", good, nchw, years, savedmodel.Options{}, []string{"cannot be fed", "[N 3 4 4]"}},
		{"input dtype", good, float, years, savedmodel.Options{}, []string{"takes uint8", "dtype float32"}},
		{"output width", wide, spec4(), years, savedmodel.Options{}, []string{"output age", "3 values per row", "expects one"}},
		{"class count", good, spec4(), classes, savedmodel.Options{}, []string{"1 values per row", "2 class_ages"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := savedmodel.Open(tc.dir, tc.pre, tc.out, tc.opts)
			if err == nil {
				m.Close()
				t.Fatal("opened")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

// A foreign SavedModel without metadata must have its preprocessing
// declared; the error names the keys.
func TestUndeclaredPreprocessing(t *testing.T) {
	dir := tinyGraph(t, 0)
	kind, _ := regressor.Lookup("savedmodel")
	_, err := kind.Open(context.Background(), regressor.Env{From: dir, Settings: savedmodel.DefaultSettings()})
	if err == nil || !strings.Contains(err.Error(), "model.savedmodel.preprocess") || !strings.Contains(err.Error(), "model.savedmodel.decoding.decode") {
		t.Fatalf("error %v, want the undeclared keys named", err)
	}
	s := savedmodel.DefaultSettings()
	if _, err := s.InputSizeFrom(dir); err == nil || !strings.Contains(err.Error(), "fairage.json") {
		t.Errorf("InputSizeFrom: %v", err)
	}
	s.Preprocess = spec4()
	if n, err := s.InputSizeFrom(dir); err == nil || n != 0 {
		// decoding is still undeclared
		t.Errorf("InputSizeFrom with preprocessing but no decoding: %d, %v", n, err)
	}
	s.Decoding.Decode = preprocess.Years
	if n, err := s.InputSizeFrom(dir); err != nil || n != 4 {
		t.Errorf("InputSizeFrom: %d, %v; want 4", n, err)
	}
}

// Settings problems name their keys.
func TestSettingsValidate(t *testing.T) {
	s := savedmodel.DefaultSettings()
	if err := s.Validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	s.Tags, s.Signature = nil, ""
	s.Preprocess.Height = 4
	s.Decoding.ClassAges = []float64{1, 2}
	err := s.Validate()
	for _, w := range []string{"model.savedmodel.tags", "model.savedmodel.signature", "model.savedmodel.preprocess.width",
		"model.savedmodel.preprocess.layout", "model.savedmodel.decoding.decode"} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("error %v lacks %s", err, w)
		}
	}
}
