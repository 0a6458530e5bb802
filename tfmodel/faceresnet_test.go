package tfmodel

import (
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/jpeg"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/image/draw"

	"fairage/dataset"
	"fairage/internal/modelsdir"
	"fairage/internal/testdata"
	"fairage/regressor"
	"fairage/weights"
)

// faceModel is face_resnet at 150×150 with a small head.
func faceModel(pretrained, features string) ModelConfig {
	c := DefaultModelConfig()
	c.Arch, c.InputSize, c.Pretrained, c.Features = ArchFaceResNet, 150, Pretrained(pretrained), Features(features)
	c.Head = []int{16}
	c.Dropout = 0.1
	return c
}

// needFaceAPI returns the face-api manifest installed by `make
// setup-models`, or skips.
func needFaceAPI(t testing.TB) string {
	t.Helper()
	path, err := modelsdir.Path(pretrained["face-api"].manifest)
	if err != nil {
		t.Skipf("face-api weights not installed (%v); skipping", err)
	}
	return path
}

// TestFaceResNetArchitecture: the graph has exactly the variables of
// face-api's weights (5,614,592 values with fc, 5,581,824 without), the
// features the head reads are 256- or 128-d, and the smallest input the
// 'valid' layers take is 103.
func TestFaceResNetArchitecture(t *testing.T) {
	for _, tt := range []struct {
		features string
		params   int64
		dim      int64
		vars     int
	}{{"descriptor", 5_614_592, 128, 117}, {"pooled", 5_581_824, 256, 116}} {
		gr, err := buildGraph(faceModel("none", tt.features))
		if err != nil {
			t.Fatal(err)
		}
		var params int64
		bb := gr.vs.filter(func(v *variable) bool { return v.part == partBackbone })
		for _, v := range bb {
			params += bytesOf([]*variable{v}) / 4
			if !v.trained {
				t.Errorf("%s is not trained", v.name)
			}
		}
		if params != tt.params || len(bb) != tt.vars {
			t.Errorf("%s: %d backbone variables with %d values, want %d with %d", tt.features, len(bb), params, tt.vars, tt.params)
		}
		if d := channels(gr.infer.features); d != tt.dim {
			t.Errorf("%s: head reads %d features, want %d", tt.features, d, tt.dim)
		}
		for _, v := range bb {
			if st := faceResNetStage(v.name); st < 1 || st > numStages {
				t.Errorf("%s has no stage", v.name)
			}
		}
	}
	ok := faceModel("none", "pooled")
	ok.InputSize = faceResNetMinInput
	if _, err := buildGraph(ok); err != nil {
		t.Errorf("face_resnet at %d pixels: %v", faceResNetMinInput, err)
	}
	for _, tt := range []struct {
		name   string
		change func(*ModelConfig)
		want   string
	}{
		{"too small", func(c *ModelConfig) { c.InputSize = faceResNetMinInput - 1 }, "model.input_size: 102 pixels is too small for face_resnet"},
		{"width", func(c *ModelConfig) { c.WidthMultiplier = 0.5 }, "model.width_multiplier"},
		{"pretrained elsewhere", func(c *ModelConfig) { c.Arch = "resnet18"; c.Pretrained = "face-api" }, "model.pretrained: face-api weights exist for arch face_resnet only, not resnet18"},
		{"descriptor elsewhere", func(c *ModelConfig) { c.Arch = "resnet50"; c.Features = "descriptor" }, "model.features: descriptor exists only for arch face_resnet"},
		{"unknown source", func(c *ModelConfig) { c.Pretrained = "imagenet" }, `model.pretrained: "imagenet" is not one of none, face-api`},
		{"unknown features", func(c *ModelConfig) { c.Features = "logits" }, `model.features: "logits" is not one of pooled, descriptor`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := faceModel("none", "pooled")
			tt.change(&c)
			checkErr(t, c.Validate(), tt.want)
		})
	}
}

// TestFaceResNetPretrainedErrors: a missing, corrupt or mismatched weights
// package fails New with a message naming the file or tensor.
func TestFaceResNetPretrainedErrors(t *testing.T) {
	manifest := needFaceAPI(t)
	raw, err := os.ReadFile(manifest)
	if err != nil {
		t.Fatal(err)
	}
	bin, err := os.ReadFile(filepath.Join(filepath.Dir(manifest), "face_recognition_model.bin"))
	if err != nil {
		t.Fatal(err)
	}
	// copyModels writes a models folder with the given manifest and shard.
	copyModels := func(t *testing.T, manifest, shard []byte) string {
		dir := t.TempDir()
		m := filepath.Join(dir, "face-api", "model")
		if err := os.MkdirAll(m, 0o755); err != nil {
			t.Fatal(err)
		}
		if manifest != nil {
			os.WriteFile(filepath.Join(m, "face_recognition_model-weights_manifest.json"), manifest, 0o644)
		}
		os.WriteFile(filepath.Join(m, "face_recognition_model.bin"), shard, 0o644)
		return dir
	}
	flipped := slices.Clone(bin)
	flipped[len(flipped)/2] ^= 1
	for _, tt := range []struct {
		name     string
		manifest []byte
		shard    []byte
		want     []string
	}{
		{"missing", nil, bin, []string{"model.pretrained face-api", "make setup-models"}},
		{"corrupt", raw, flipped, []string{"face_recognition_model.bin has sha256", "another version of the package or a corrupt copy"}},
		{"truncated", raw, bin[:len(bin)-100], []string{"runs past the end", "face_recognition_model.bin"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(modelsdir.Env, copyModels(t, tt.manifest, tt.shard))
			_, err := New(faceModel("face-api", "pooled"), quiet()...)
			for _, w := range tt.want {
				if err == nil || !strings.Contains(err.Error(), w) {
					t.Errorf("error %v does not contain %q", err, w)
				}
			}
		})
	}

	// Mismatches between the manifest and the network (pins off, since the
	// files are edited on purpose).
	m, err := weights.ParseManifest(raw)
	if err != nil {
		t.Fatal(err)
	}
	width := func(e weights.Entry) int {
		n := 1
		for _, d := range e.Shape {
			n *= d
		}
		if e.Quantization != nil {
			return n
		}
		return 4 * n
	}
	edit := func(change func(m weights.Manifest, shard []byte) (weights.Manifest, []byte)) string {
		mm := slices.Clone(m)
		mm[0].Weights = slices.Clone(m[0].Weights)
		mm, shard := change(mm, slices.Clone(bin))
		b, _ := json.Marshal(mm)
		dir := copyModels(t, b, shard)
		return filepath.Join(dir, "face-api", "model", "face_recognition_model-weights_manifest.json")
	}
	last := len(m[0].Weights) - 1
	for _, tt := range []struct {
		name     string
		features string
		path     string
		want     string
	}{
		{"extra tensor", "pooled", edit(func(m weights.Manifest, s []byte) (weights.Manifest, []byte) {
			m[0].Weights = append(m[0].Weights, weights.Entry{Name: "conv512/conv/bias", Shape: []int{1}, DType: "float32"})
			return m, append(s, 0, 0, 0, 0)
		}), `tensor "conv512/conv/bias"`},
		{"missing tensor", "descriptor", edit(func(m weights.Manifest, s []byte) (weights.Manifest, []byte) {
			if m[0].Weights[last].Name != "fc" {
				t.Fatalf("last tensor is %s, not fc", m[0].Weights[last].Name)
			}
			n := width(m[0].Weights[last])
			m[0].Weights = m[0].Weights[:last]
			return m, s[:len(s)-n]
		}), "variable backbone/fc of the face_resnet network has no tensor"},
		{"shape", "pooled", edit(func(m weights.Manifest, s []byte) (weights.Manifest, []byte) {
			m[0].Weights[2].Shape = []int{16, 2} // conv32_down/scale/weights, same size
			return m, s
		}), `tensor "conv32_down/scale/weights"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r, err := open(faceModel("face-api", tt.features), quiet())
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			src := pretrained["face-api"]
			src.sha256 = nil
			_, err = r.assignPretrained("face-api", src, tt.path)
			checkErr(t, err, tt.want)
			t.Log(err)
		})
	}
}

// utkCrops returns n real UTKFace crops (spread over the metadata), resized
// to size×size with bilinear interpolation, packed, plus their raw bytes.
func utkCrops(t testing.TB, n, size int) (regressor.Data, []byte) {
	t.Helper()
	dir := testdata.UTKFace(t)
	meta, err := os.ReadFile(filepath.Join(dir, "metadata.csv"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(meta)), "\n")[1:]
	path := filepath.Join(t.TempDir(), "crops.pack")
	w, err := dataset.CreatePacked(path, size, size)
	if err != nil {
		t.Fatal(err)
	}
	var all []byte
	ex := make([]regressor.Example, n)
	dst := image.NewRGBA(image.Rect(0, 0, size, size))
	for i := range n {
		file, _, _ := strings.Cut(lines[i*len(lines)/n], ",")
		f, err := os.Open(filepath.Join(dir, "images", file))
		if err != nil {
			t.Fatal(err)
		}
		img, err := jpeg.Decode(f)
		f.Close()
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		draw.BiLinear.Scale(dst, dst.Rect, img, img.Bounds(), draw.Src, nil)
		pix := make([]byte, 0, size*size*3)
		for p := 0; p < len(dst.Pix); p += 4 {
			pix = append(pix, dst.Pix[p], dst.Pix[p+1], dst.Pix[p+2])
		}
		if err := w.Append(file, pix); err != nil {
			t.Fatal(err)
		}
		all = append(all, pix...)
		ex[i] = regressor.Example{Index: i, ID: file, Weight: 1}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	p, err := dataset.OpenPacked(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return regressor.Data{Images: p, Examples: ex}, all
}

// TestFaceResNetMatchesFaceAPI is the conformance check: on 50 real UTKFace
// crops the Go network's 128-d descriptors equal those of face-api's own
// FaceRecognitionNet.computeFaceDescriptor in Node (TensorFlow.js
// pure-JavaScript CPU backend, weights read by tfjs's own loader) within
// 1e-4. Both sides get the same 150×150 uint8 pixels. Needs `make
// setup-models` and node; about half a minute.
func TestFaceResNetMatchesFaceAPI(t *testing.T) {
	if testing.Short() {
		t.Skip("runs face-api in Node; skipped with -short")
	}
	manifest := needFaceAPI(t)
	root, nodeDir := testdata.NodeEnv(t)
	const n = 50
	data, pixels := utkCrops(t, n, 150)
	tmp := t.TempDir()
	imagesPath, outPath := filepath.Join(tmp, "images.u8"), filepath.Join(tmp, "descriptors.json")
	if err := os.WriteFile(imagesPath, pixels, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("node", filepath.Join(root, "scripts", "conformance", "face_descriptors.mjs"),
		nodeDir, filepath.Dir(manifest), imagesPath, fmt.Sprint(n), "150", outPath)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("node face_descriptors.mjs: %v\n%s", err, out)
	}
	var ref struct {
		TFJS, FaceAPI, Backend string
		Descriptors            [][]float64
	}
	b, err := os.ReadFile(outPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &ref); err != nil {
		t.Fatal(err)
	}
	if ref.Backend != "cpu" || len(ref.Descriptors) != n {
		t.Fatalf("reference: backend %q, %d descriptors", ref.Backend, len(ref.Descriptors))
	}

	tc := DefaultTrainConfig()
	tc.Threads = Threads{IntraOp: 2, InterOp: 1}
	m, err := New(faceModel("face-api", "descriptor"), quiet(WithThreads(2, 1))...)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	got, err := m.Features(context.Background(), data)
	if err != nil {
		t.Fatal(err)
	}
	worst, worstAt := 0.0, ""
	var norm float64
	for i := range n {
		if len(got[i]) != 128 || len(ref.Descriptors[i]) != 128 {
			t.Fatalf("image %d: %d and %d values, want 128", i, len(got[i]), len(ref.Descriptors[i]))
		}
		for j := range 128 {
			d := math.Abs(float64(got[i][j]) - ref.Descriptors[i][j])
			norm += math.Abs(ref.Descriptors[i][j])
			if d > worst {
				worst, worstAt = d, fmt.Sprintf("image %d (%s) value %d", i, data.Examples[i].ID, j)
			}
		}
	}
	t.Logf("face-api %s on tfjs %s (%s backend): largest |Go − face-api| over %d×128 values is %.3g at %s (mean |value| %.3g)",
		ref.FaceAPI, ref.TFJS, ref.Backend, n, worst, worstAt, norm/(n*128))
	if worst > 1e-4 {
		t.Errorf("descriptors differ by up to %.3g at %s, want ≤ 1e-4", worst, worstAt)
	}
}

// TestFaceDescriptorDistances: the pretrained descriptors behave like face
// recognition descriptors on real faces: an image and its mirror are close
// (face-api's match threshold is 0.6; the feasibility run measured 0.18 on
// average), two different UTKFace people far apart (median 0.83).
func TestFaceDescriptorDistances(t *testing.T) {
	skipTrainingIfShort(t)
	needFaceAPI(t)
	const n = 60
	data, pixels := utkCrops(t, n, 150)
	mirrored := make([]byte, len(pixels))
	const row = 150 * 3
	for i := 0; i < len(pixels); i += row {
		for x := range 150 {
			copy(mirrored[i+3*x:i+3*x+3], pixels[i+3*(149-x):i+3*(149-x)+3])
		}
	}
	path := filepath.Join(t.TempDir(), "mirrored.pack")
	w, err := dataset.CreatePacked(path, 150, 150)
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		w.Append(data.Examples[i].ID, mirrored[i*150*row:(i+1)*150*row])
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	mp, err := dataset.OpenPacked(path)
	if err != nil {
		t.Fatal(err)
	}
	defer mp.Close()

	m, err := New(faceModel("face-api", "descriptor"), quiet(WithThreads(2, 1))...)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	orig, err := m.Features(context.Background(), data)
	if err != nil {
		t.Fatal(err)
	}
	mirr, err := m.Features(context.Background(), regressor.Data{Images: mp, Examples: data.Examples})
	if err != nil {
		t.Fatal(err)
	}
	dist := func(a, b []float32) float64 {
		var s float64
		for i := range a {
			d := float64(a[i] - b[i])
			s += d * d
		}
		return math.Sqrt(s)
	}
	var mirror, others []float64
	for i := range n {
		mirror = append(mirror, dist(orig[i], mirr[i]))
		others = append(others, dist(orig[i], orig[(i+1)%n]), dist(orig[i], orig[(i+n/2)%n]))
	}
	mean := 0.0
	for _, d := range mirror {
		mean += d / n
	}
	slices.Sort(others)
	median := others[len(others)/2]
	worst := slices.Max(mirror)
	t.Logf("image vs mirror: mean distance %.3f, max %.3f; different faces: median %.3f (min %.3f)", mean, worst, median, others[0])
	if mean < 0.08 || mean > 0.3 {
		t.Errorf("mean mirror distance %.3f, want about 0.18 (0.08-0.3)", mean)
	}
	if worst >= 0.6 {
		t.Errorf("an image and its mirror are %.3f apart, beyond face-api's match threshold 0.6", worst)
	}
	if median < 0.7 || median > 0.95 {
		t.Errorf("median distance between different faces %.3f, want about 0.83 (0.7-0.95)", median)
	}
}
