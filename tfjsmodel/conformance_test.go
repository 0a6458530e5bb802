package tfjsmodel

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"testing"

	"fairage/dataset"
	"fairage/internal/testdata"
	"fairage/preprocess"
)

// utkCrops returns n UTKFace crops (every stride-th row of metadata.csv)
// and their ages, or skips without the dataset.
func utkCrops(t testing.TB, n, stride int) (paths []string, ages []float64) {
	t.Helper()
	dir := testdata.UTKFace(t)
	f, err := os.Open(filepath.Join(dir, "metadata.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	head := rows[0]
	fileCol, ageCol := slices.Index(head, "file"), slices.Index(head, "age")
	for i := 1; i < len(rows) && len(paths) < n; i += stride {
		age, err := strconv.ParseFloat(rows[i][ageCol], 64)
		if err != nil {
			t.Fatalf("metadata.csv row %d: %v", i+1, err)
		}
		paths = append(paths, filepath.Join(dir, "images", rows[i][fileCol]))
		ages = append(ages, age)
	}
	if len(paths) < n {
		t.Fatalf("only %d crops at stride %d", len(paths), stride)
	}
	return paths, ages
}

// resized returns the crops resized by the preset's own declaration, as
// raw RGB bytes back to back.
func resized(t testing.TB, pre preprocess.Spec, paths []string) []byte {
	t.Helper()
	rz, err := dataset.NewResizer(pre.Height, pre.Width, pre.Fit, pre.Resample)
	if err != nil {
		t.Fatal(err)
	}
	per := pre.Height * pre.Width * 3
	out := make([]byte, len(paths)*per)
	for i, p := range paths {
		img, err := preprocess.ReadImage(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := rz.RGB(img, out[i*per:(i+1)*per]); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// nodeEnv returns the repository root and the Node conformance
// environment, or skips.
func nodeEnv(t testing.TB) (root, nodeDir string) {
	t.Helper()
	root, ok := testdata.RepoRoot()
	if !ok {
		t.Skip("repository root not found")
	}
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("node not found; skipping the TF.js conformance check")
	}
	nodeDir = filepath.Join(root, "build", "node")
	if _, err := os.Stat(filepath.Join(nodeDir, "node_modules", "@tensorflow", "tfjs")); err != nil {
		t.Skipf("no Node conformance environment in %s (run `make setup-models` with node installed); skipping", nodeDir)
	}
	return root, nodeDir
}

// tfjsRef is what scripts/conformance/tfjs_graph.mjs writes.
type tfjsRef struct {
	TFJS, Backend string
	Outputs       [][]float64
	Seconds       float64
	Passes        []float64
	N             int
}

// runTFJS runs the model in Node on the given RGB images.
func runTFJS(t testing.TB, root, nodeDir, modelPath string, pre preprocess.Spec, output string, images []byte, n, repeat int) tfjsRef {
	t.Helper()
	tmp := t.TempDir()
	imagesPath, outPath := filepath.Join(tmp, "images.u8"), filepath.Join(tmp, "out.json")
	if err := os.WriteFile(imagesPath, images, 0o644); err != nil {
		t.Fatal(err)
	}
	mean := pre.Mean
	if mean == nil {
		mean = []float64{}
	}
	prep, _ := json.Marshal(map[string]any{"color": pre.Color, "mean": mean, "scale": pre.Scale})
	cmd := exec.Command("node", filepath.Join(root, "scripts", "conformance", "tfjs_graph.mjs"),
		nodeDir, modelPath, imagesPath, fmt.Sprint(n), fmt.Sprint(pre.Height), string(prep), output, outPath, fmt.Sprint(repeat))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("node tfjs_graph.mjs: %v\n%s", err, out)
	}
	var ref tfjsRef
	b, err := os.ReadFile(outPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &ref); err != nil {
		t.Fatal(err)
	}
	if ref.Backend != "cpu" || len(ref.Outputs) != n {
		t.Fatalf("reference: backend %q, %d rows for %d images", ref.Backend, len(ref.Outputs), n)
	}
	return ref
}

// conformanceCrops is how many UTKFace crops the conformance tests run
// through TF.js: pure-JavaScript TF.js takes seconds to tens of seconds a
// face (GEAR: about 19 s), so make test checks 3 and make conformance-tfjs
// the full 20 (-args -tfjs-crops=20).
var conformanceCrops = flag.Int("tfjs-crops", 3, "UTKFace crops the TF.js conformance tests compare (make conformance-tfjs: 20)")

// TestPresetsMatchTFJS is the conformance check: for each preset, on 20
// real UTKFace crops (3 in make test, see conformanceCrops), fairage's outputs (every value of the output row,
// and the decoded age) equal those of TensorFlow.js running the same
// model.json in Node (pure-JavaScript CPU backend, tfjs's own loader)
// within 1e-4. Both sides get the same resized pixels and apply the
// preset's declared normalisation themselves. Needs `make setup-models`,
// node and the dataset; skips with a message otherwise.
func TestPresetsMatchTFJS(t *testing.T) {
	if testing.Short() {
		t.Skip("runs TF.js in Node; skipped with -short")
	}
	root, nodeDir := nodeEnv(t)
	n := *conformanceCrops
	paths, _ := utkCrops(t, n, 911)
	for _, name := range PresetNames() {
		t.Run(name, func(t *testing.T) {
			p := Presets[name]
			modelPath, err := p.Path()
			if err != nil {
				t.Skipf("%v", err)
			}
			m, err := OpenPreset(name, Options{BatchSize: 8, IntraOpThreads: 2, InterOpThreads: 1})
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			images := resized(t, p.Preprocess, paths)
			ref := runTFJS(t, root, nodeDir, modelPath, p.Preprocess, m.outName, images, n, 1)

			pp, err := preprocess.New(p.Preprocess)
			if err != nil {
				t.Fatal(err)
			}
			x := p.Preprocess.NewTensor(n)
			per := p.Preprocess.Height * p.Preprocess.Width * 3
			for i := range n {
				if err := pp.PutRGB(x, i, images[i*per:(i+1)*per], p.Preprocess.Height, p.Preprocess.Width); err != nil {
					t.Fatal(err)
				}
			}
			rows, err := m.Outputs(context.Background(), x, nil)
			if err != nil {
				t.Fatal(err)
			}
			worstV, worstAge := 0.0, 0.0
			for i, row := range rows {
				if len(row) != len(ref.Outputs[i]) {
					t.Fatalf("image %d: %d values, TF.js %d", i, len(row), len(ref.Outputs[i]))
				}
				js := make([]float32, len(row))
				for j, v := range row {
					js[j] = float32(ref.Outputs[i][j])
					if d := math.Abs(float64(v) - ref.Outputs[i][j]); d > worstV {
						worstV = d
					}
				}
				ours, err := p.Decoding.Age(row)
				if err != nil {
					t.Fatalf("image %d: %v", i, err)
				}
				theirs, err := p.Decoding.Age(js)
				if err != nil {
					t.Fatalf("image %d: TF.js output: %v", i, err)
				}
				if d := math.Abs(ours - theirs); d > worstAge {
					worstAge = d
				}
				if d := math.Abs(ours - theirs); d > 1e-4 {
					t.Errorf("%s: age %.6f, TF.js %.6f (|Δ| %.2g)", filepath.Base(paths[i]), ours, theirs, d)
				}
			}
			if worstV > 1e-4 {
				t.Errorf("max |Δ| over the output values %.3g > 1e-4", worstV)
			}
			t.Logf("%s: %d crops, fairage (%s) vs TF.js %s %s backend: max |Δ output| %.3g, max |Δ age| %.3g years; rewrites: %q",
				name, n, m.Describe().Runtime, ref.TFJS, ref.Backend, worstV, worstAge, m.conv.Rewrites)
		})
	}
}

// TestEmotionMatchesTFJS: the emotion classifier's probabilities equal
// those of TensorFlow.js fed exactly as the human library's emotion.ts
// feeds it (its own gray conversion and scaling, done in tfjs ops), on 20
// UTKFace crops within 1e-4: the preset's declared preprocessing is that
// scaling.
func TestEmotionMatchesTFJS(t *testing.T) {
	if testing.Short() {
		t.Skip("runs TF.js in Node; skipped with -short")
	}
	root, nodeDir := nodeEnv(t)
	n := *conformanceCrops
	paths, _ := utkCrops(t, n, 911)
	p := Classifiers["emotion"]
	modelPath, err := Preset{Name: p.Name, File: p.File, SHA256: p.SHA256}.Path()
	if err != nil {
		t.Skipf("%v", err)
	}
	c, err := OpenClassifier("emotion", Options{BatchSize: 8, IntraOpThreads: 2, InterOpThreads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	pre := p.Preprocess
	images := resized(t, pre, paths) // RGB bytes at 64×64: both sides convert to gray themselves

	tmp := t.TempDir()
	imagesPath, outPath := filepath.Join(tmp, "images.u8"), filepath.Join(tmp, "out.json")
	if err := os.WriteFile(imagesPath, images, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("node", filepath.Join(root, "scripts", "conformance", "tfjs_graph.mjs"),
		nodeDir, modelPath, imagesPath, fmt.Sprint(n), fmt.Sprint(pre.Height), `{"human": "emotion"}`, p.Output, outPath, "1")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("node tfjs_graph.mjs: %v\n%s", err, out)
	}
	var ref tfjsRef
	b, err := os.ReadFile(outPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &ref); err != nil || len(ref.Outputs) != n {
		t.Fatalf("reference: %v, %d rows", err, len(ref.Outputs))
	}

	pp, err := preprocess.New(pre)
	if err != nil {
		t.Fatal(err)
	}
	x := pre.NewTensor(n)
	per := pre.Height * pre.Width * 3
	for i := range n {
		if err := pp.PutRGB(x, i, images[i*per:(i+1)*per], pre.Height, pre.Width); err != nil {
			t.Fatal(err)
		}
	}
	got, err := c.Classify(context.Background(), x, nil)
	if err != nil {
		t.Fatal(err)
	}
	worst, same := 0.0, 0
	counts := map[string]int{}
	for i, g := range got {
		if g.Err != nil {
			t.Fatalf("image %d: %v", i, g.Err)
		}
		best := 0
		for j, v := range g.Probs {
			worst = max(worst, math.Abs(float64(v)-ref.Outputs[i][j]))
			if ref.Outputs[i][j] > ref.Outputs[i][best] {
				best = j
			}
		}
		if best == g.Best {
			same++
		}
		counts[p.Classes[g.Best]]++
	}
	if worst > 1e-4 {
		t.Errorf("max |Δ probability| %.3g > 1e-4", worst)
	}
	if same != n {
		t.Errorf("same top class for %d/%d crops", same, n)
	}
	t.Logf("emotion: %d crops, fairage vs TF.js %s (the human library's preprocessing): max |Δ probability| %.3g, same top class %d/%d; top classes %v",
		n, ref.TFJS, worst, same, n, counts)
}
