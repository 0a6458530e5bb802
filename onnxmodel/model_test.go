package onnxmodel

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"fairage/dataset"
	"fairage/preprocess"
)

// spec22 is the declaration matching the test graphs: 2×2 RGB NCHW float32.
func spec22() preprocess.Spec {
	s := preprocess.DefaultSpec()
	s.Height, s.Width, s.Color, s.Layout = 2, 2, preprocess.RGB, preprocess.NCHW
	return s
}

var years = preprocess.Output{Decode: preprocess.Years}

// batchOf makes a tensor of n images; image i has every byte equal to
// values[i].
func batchOf(t *testing.T, s preprocess.Spec, values ...byte) preprocess.Tensor {
	t.Helper()
	p, err := preprocess.New(s)
	if err != nil {
		t.Fatal(err)
	}
	tn := s.NewTensor(len(values))
	for i, v := range values {
		rgb := make([]byte, s.Height*s.Width*3)
		for j := range rgb {
			rgb[j] = v
		}
		if err := p.PutRGB(tn, i, rgb, s.Height, s.Width); err != nil {
			t.Fatal(err)
		}
	}
	return tn
}

func TestPredictBatches(t *testing.T) {
	needRuntime(t)
	s := spec22()
	s.Mean = []float64{100}
	values := []byte{0, 1, 2, 50, 100, 200, 255}
	for _, batch := range []int{1, 2, 3, 32} {
		opts := DefaultOptions()
		opts.BatchSize, opts.IntraOpThreads, opts.InterOpThreads = batch, 1, 1
		m, err := Open(graphFile(t, "mean"), s, years, opts)
		if err != nil {
			t.Fatal(err)
		}
		res, err := m.Predict(context.Background(), batchOf(t, s, values...), nil)
		m.Close()
		if err != nil {
			t.Fatal(err)
		}
		if len(res) != len(values) {
			t.Fatalf("batch %d: %d results for %d images", batch, len(res), len(values))
		}
		for i, v := range values {
			if want := float64(v) - 100; res[i].Err != nil || res[i].Age != want {
				t.Errorf("batch %d image %d: %+v, want age %v", batch, i, res[i], want)
			}
		}
	}
}

func TestPredictFixedBatch(t *testing.T) {
	needRuntime(t)
	s := spec22()
	m, err := Open(graphFile(t, "batch2"), s, years, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	// 3 images on a graph that takes exactly 2: two calls, the second padded.
	res, err := m.Predict(context.Background(), batchOf(t, s, 7, 8, 9), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 3 || res[0].Age != 7 || res[1].Age != 8 || res[2].Age != 9 {
		t.Errorf("results %+v", res)
	}
}

func TestPredictUint8(t *testing.T) {
	needRuntime(t)
	s := spec22()
	s.Layout, s.DType = preprocess.NHWC, preprocess.Uint8
	m, err := Open(graphFile(t, "uint8"), s, years, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	res, err := m.Predict(context.Background(), batchOf(t, s, 3, 250), nil)
	if err != nil {
		t.Fatal(err)
	}
	if res[0].Age != 3 || res[1].Age != 250 {
		t.Errorf("results %+v", res)
	}
}

// Non-finite outputs are per-row rejections with a reason; the other rows
// keep their ages.
func TestPredictNonFinite(t *testing.T) {
	needRuntime(t)
	s := spec22()
	s.Mean = []float64{10}
	m, err := Open(graphFile(t, "logmean"), s, years, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	// means 0 (log −Inf), −5 (NaN), 10 (log 10)
	res, err := m.Predict(context.Background(), batchOf(t, s, 10, 5, 20), nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		if res[i].Err == nil || res[i].Err.Reason != preprocess.ReasonNonFinite {
			t.Errorf("row %d: %+v, want a %s rejection", i, res[i], preprocess.ReasonNonFinite)
		}
	}
	if res[2].Err != nil || !nearly(res[2].Age, 2.302585) {
		t.Errorf("row 2: %+v, want log(10)", res[2])
	}
}

func TestPredictClasses(t *testing.T) {
	needRuntime(t)
	s := spec22()
	ages := make([]float64, 12)
	for i := range ages {
		ages[i] = float64(10 * i)
	}
	out := preprocess.Output{Decode: preprocess.Classes, ClassAges: ages, Reduce: preprocess.Expected}
	m, err := Open(graphFile(t, "softmax"), s, out, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	// A uniform image gives uniform probabilities: the mean class age, 55.
	res, err := m.Predict(context.Background(), batchOf(t, s, 0, 200), nil)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range res {
		if r.Err != nil || !nearly(r.Age, 55) {
			t.Errorf("row %d: %+v, want 55", i, r)
		}
	}

	// Logits declared as probabilities are rejected row by row...
	raw, err := Open(graphFile(t, "flatten_open"), s, out, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	res, err = raw.Predict(context.Background(), batchOf(t, s, 3), nil)
	if err != nil {
		t.Fatal(err)
	}
	if res[0].Err == nil || res[0].Err.Reason != preprocess.ReasonInvalidProbabilities || !strings.Contains(res[0].Err.Detail, "softmax: true") {
		t.Errorf("logits as probabilities: %+v", res[0])
	}
	// ... and decoded once softmax is declared.
	out.Softmax = true
	logits, err := Open(graphFile(t, "flatten_open"), s, out, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	defer logits.Close()
	if res, err = logits.Predict(context.Background(), batchOf(t, s, 3), nil); err != nil || res[0].Err != nil || !nearly(res[0].Age, 55) {
		t.Errorf("softmax declared: %+v %v", res, err)
	}
}

// An output whose width the graph leaves open is checked when it runs.
func TestPredictWrongOutputShape(t *testing.T) {
	needRuntime(t)
	m, err := Open(graphFile(t, "flatten_open"), spec22(), years, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	_, err = m.Predict(context.Background(), batchOf(t, spec22(), 1, 2), nil)
	if err == nil || !strings.Contains(err.Error(), `output "f" has shape [2 12] for a batch of 2; the declared decoding (years) expects [2 1]`) {
		t.Errorf("error %v", err)
	}
}

func TestOpenErrors(t *testing.T) {
	needRuntime(t)
	dir := t.TempDir()
	text := filepath.Join(dir, "notes.onnx")
	if err := os.WriteFile(text, []byte("this is not a model\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ages81 := preprocess.Output{Decode: preprocess.Classes, ClassAges: make([]float64, 81), Reduce: preprocess.Expected}
	nhwc := spec22()
	nhwc.Layout = preprocess.NHWC
	big := spec22()
	big.Height, big.Width = 4, 4
	gray := spec22()
	gray.Color = preprocess.Gray
	u8 := spec22()
	u8.DType = preprocess.Uint8
	withName := func(in, out string) Options {
		o := DefaultOptions()
		o.Input, o.Output = in, out
		return o
	}
	cases := []struct {
		name string
		path string
		spec preprocess.Spec
		out  preprocess.Output
		opts Options
		want string
	}{
		{"missing file", filepath.Join(dir, "none.onnx"), spec22(), years, DefaultOptions(), "none.onnx: no such file"},
		{"folder", dir, spec22(), years, DefaultOptions(), "is a folder, not an .onnx file"},
		{"not onnx", text, spec22(), years, DefaultOptions(), "notes.onnx is not an ONNX model ONNX Runtime 1.24.1 can load"},
		{"bad spec", graphFile(t, "mean"), preprocess.Spec{}, years, DefaultOptions(), "preprocess.height: 0"},
		{"bad output", graphFile(t, "mean"), spec22(), preprocess.Output{}, DefaultOptions(), "output.decode: not set"},
		{"bad options", graphFile(t, "mean"), spec22(), years, Options{}, "batch_size: 0"},
		{"two inputs unnamed", graphFile(t, "two"), spec22(), years, withName("", "y"),
			"has 2 inputs (a [? 3 2 2] float32; b [? 3 2 2] float32): name the one to use with the input option"},
		{"no such input", graphFile(t, "mean"), spec22(), years, withName("images", ""), `has no input "images"; its inputs are: x [? 3 2 2] float32`},
		{"no such output", graphFile(t, "two"), spec22(), years, withName("a", "age"), `has no output "age"; its outputs are: y [?] float32; z [?] float32`},
		{"layout mismatch", graphFile(t, "mean"), nhwc, years, DefaultOptions(), "input x [? 3 2 2] float32 cannot be fed by the declared preprocessing (2x2 bilinear crop, rgb nhwc float32, x), which makes [N 2 2 3]"},
		{"size mismatch", graphFile(t, "mean"), big, years, DefaultOptions(), "which makes [N 3 4 4]"},
		{"channels mismatch", graphFile(t, "mean"), gray, years, DefaultOptions(), "which makes [N 1 2 2]"},
		{"dtype mismatch", graphFile(t, "mean"), u8, years, DefaultOptions(), "takes float32, but the preprocessing declares dtype uint8"},
		{"width mismatch", graphFile(t, "softmax"), spec22(), ages81, DefaultOptions(), "output p [? 12] float32: the output has 12 values per row but 81 class_ages are declared"},
		{"integer output", graphFile(t, "int64"), spec22(), years, DefaultOptions(), "output y [?] int64 is not a float32 or float64 tensor"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m, err := Open(tc.path, tc.spec, tc.out, tc.opts)
			if err == nil {
				m.Close()
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q\nlacks %q", err, tc.want)
			}
		})
	}
}

func TestTwoInputsNamed(t *testing.T) {
	needRuntime(t)
	o := DefaultOptions()
	o.Input, o.Output = "a", "z"
	// Naming one input of two cannot feed the other: ONNX Runtime says so,
	// and the error comes back instead of a crash.
	m, err := Open(graphFile(t, "two"), spec22(), years, o)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if got := m.Input().Name + "/" + m.Output().Name; got != "a/z" {
		t.Errorf("picked %s", got)
	}
	if _, err := m.Predict(context.Background(), batchOf(t, spec22(), 1), nil); err == nil || !strings.Contains(err.Error(), "running a batch of 1") {
		t.Errorf("missing second input: %v", err)
	}
}

func TestPredictCancelled(t *testing.T) {
	needRuntime(t)
	o := DefaultOptions()
	o.BatchSize = 1
	m, err := Open(graphFile(t, "mean"), spec22(), years, o)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := m.Predict(ctx, batchOf(t, spec22(), 1, 2), nil); err != context.Canceled {
		t.Errorf("error %v, want context.Canceled", err)
	}
	wrong := preprocess.Tensor{Shape: []int64{1, 2, 2, 3}, F32: make([]float32, 12)}
	if _, err := m.Predict(context.Background(), wrong, nil); err == nil || !strings.Contains(err.Error(), "makes [1 3 2 2]") {
		t.Errorf("batch of the wrong shape: %v", err)
	}
}

func TestPredictPackedAndFiles(t *testing.T) {
	needRuntime(t)
	dir := t.TempDir()
	w, err := dataset.CreatePacked(filepath.Join(dir, "p.pack"), 2, 2)
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range []byte{10, 20, 30} {
		px := make([]byte, 12)
		for j := range px {
			px[j] = v
		}
		if err := w.Append(string(rune('a'+i)), px); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	pk, err := dataset.OpenPacked(filepath.Join(dir, "p.pack"))
	if err != nil {
		t.Fatal(err)
	}
	defer pk.Close()
	o := DefaultOptions()
	o.BatchSize = 2
	m, err := Open(graphFile(t, "mean"), spec22(), years, o)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	res, err := m.PredictPacked(context.Background(), pk, []int{2, 0, 1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 3 || res[0].Age != 30 || res[1].Age != 10 || res[2].Age != 20 {
		t.Errorf("packed: %+v", res)
	}
	big := spec22()
	big.Height, big.Width = 4, 4
	if _, err := (&Model{pre: big, path: "m.onnx"}).PredictPacked(context.Background(), pk, []int{0}, nil); err == nil ||
		!strings.Contains(err.Error(), "never rescaled from a pack") {
		t.Errorf("pack at another size: %v", err)
	}

	missing := filepath.Join(dir, "missing.png")
	res, fileErrs, err := m.PredictFiles(context.Background(), []string{missing, missing, missing}, 2, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 3 || len(fileErrs) != 3 || fileErrs[2] == nil || !strings.Contains(fileErrs[2].Error(), "missing.png") {
		t.Errorf("files: %+v %v", res, fileErrs)
	}
}

// The library errors need a fresh process each: ONNX Runtime is loaded
// once per process.
func TestLibraryErrors(t *testing.T) {
	if os.Getenv("FAIRAGE_ONNX_LIBTEST") != "" {
		_, err := Init("")
		if err == nil {
			os.Stdout.WriteString("no error\n")
			os.Exit(0)
		}
		os.Stdout.WriteString(err.Error() + "\n")
		os.Exit(3)
	}
	root, err := ModuleRoot()
	if err != nil {
		t.Skip(err)
	}
	notORT := filepath.Join(root, "build", "tf", "lib", "libtensorflow_framework.so.2")
	if _, err := os.Stat(notORT); err != nil {
		notORT = "/lib/x86_64-linux-gnu/libz.so.1"
	}
	junk := filepath.Join(t.TempDir(), "libjunk.so")
	if err := os.WriteFile(junk, []byte("junk"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		lib, want string
	}{
		{filepath.Join(t.TempDir(), "libonnxruntime.so"), "no such file"},
		{junk, "cannot load the ONNX Runtime library " + junk},
		{notORT, "is not an ONNX Runtime library (it has no OrtGetApiBase)"},
	} {
		if _, err := os.Stat(tc.lib); err != nil && tc.want != "no such file" {
			t.Logf("skipping %s: %v", tc.lib, err)
			continue
		}
		cmd := exec.Command(os.Args[0], "-test.run=^TestLibraryErrors$")
		cmd.Env = append(os.Environ(), "FAIRAGE_ONNX_LIBTEST=1", EnvLibrary+"="+tc.lib)
		out, _ := cmd.CombinedOutput()
		if !strings.Contains(string(out), tc.want) || !strings.Contains(string(out), "make setup-onnx") {
			t.Errorf("%s: %s\nwant %q and how to run setup", tc.lib, out, tc.want)
		}
		if strings.Contains(string(out), "panic") || strings.Contains(string(out), "goroutine ") {
			t.Errorf("%s: a panic reached the user: %s", tc.lib, out)
		}
	}
}

func TestCheckVersion(t *testing.T) {
	for v, ok := range map[string]bool{"1.24.1": true, "1.24.0": true, "1.31.1": true, "2.0.0": true, "1.23.2": false, "1.9.0": false, "dev": false} {
		if err := checkVersion(v); (err == nil) != ok {
			t.Errorf("%s: %v", v, err)
		}
	}
}
