package onnxmodel

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"

	"fairage/internal/progress"
	"fairage/internal/spec"
	"fairage/preprocess"
	"fairage/regressor"
)

// KindSettings are the settings of model kind onnx (model.onnx): the
// runtime library, the tensors, and the model's declared preprocessing and
// output decoding. A preset (model.preset) brings its own tensors,
// preprocessing and decoding from its manifest.
type KindSettings struct {
	Library           string            `yaml:"library" path:"config" fingerprint:"-" doc:"ONNX Runtime shared library (default: $FAIRAGE_ONNXRUNTIME_LIB, else build/onnxruntime from make setup)."`
	Input             string            `yaml:"input" doc:"Input tensor name (default: the graph's only input)."`
	Output            string            `yaml:"output" doc:"Output tensor name (default: the graph's only output)."`
	GraphOptimization Optimization      `yaml:"graph_optimization" doc:"ONNX Runtime graph optimisation: disable_all, basic, extended or all (fusions may change outputs in the last bits)."`
	Preprocess        preprocess.Spec   `yaml:"preprocess" doc:"How images become the model's input, as the model declares it."`
	Decoding          preprocess.Output `yaml:"decoding" doc:"How the model's output becomes years."`
}

func init() {
	regressor.Register(regressor.Kind{
		Name:        "onnx",
		Doc:         "An ONNX model (model.from: a .onnx file, or model.preset) run with ONNX Runtime, with its declared preprocessing and output decoding.",
		ReadsImages: true,
		Settings: func() regressor.Settings {
			return &KindSettings{GraphOptimization: OptimizeAll, Decoding: preprocess.DefaultOutput()}
		},
		Open: openKind,
	})
	for _, name := range PresetNames() {
		p := Presets[name]
		regressor.RegisterPreset(regressor.Preset{Name: p.Name, Kind: "onnx", Doc: p.Doc, License: p.License, TrainedOn: p.TrainedOn,
			InputSize: func() (int, error) {
				r, err := ResolvePreset(name)
				if err != nil {
					return 0, err
				}
				return squareSide(r.Preprocess)
			},
			Files: func() ([]string, error) {
				dir, err := PresetDir(name)
				if err != nil {
					return nil, err
				}
				return filepath.Glob(filepath.Join(dir, "*"))
			}})
	}
}

// Validate checks the settings as far as they go without a model file;
// the preprocessing and decoding are checked (complete) only when they
// are used, without a preset.
func (s *KindSettings) Validate() error {
	own := *s
	own.Preprocess, own.Decoding = validSpec, preprocess.DefaultOutput()
	own.Decoding.Decode = preprocess.Years
	return spec.Check("model.onnx", &own)
}

// validSpec stands in for the preprocessing when only the other fields
// are checked.
var validSpec = preprocess.Spec{Height: 1, Width: 1, Resample: "bilinear", Fit: "crop", Color: preprocess.RGB,
	Layout: preprocess.NHWC, DType: preprocess.Uint8, Scale: 1}

// complete checks what a model without a preset must declare.
func (s *KindSettings) complete() error {
	return errors.Join(s.Preprocess.Check("model.onnx.preprocess"), s.Decoding.Check("model.onnx.decoding"))
}

// InputSize is the square image side the model reads.
func (s *KindSettings) InputSize(preset string) (int, error) {
	if preset != "" {
		r, err := ResolvePreset(preset)
		if err != nil {
			return 0, err
		}
		return squareSide(r.Preprocess)
	}
	if err := s.complete(); err != nil {
		return 0, err
	}
	return squareSide(s.Preprocess)
}

func squareSide(p preprocess.Spec) (int, error) {
	if p.Height != p.Width {
		return 0, fmt.Errorf("model.onnx.preprocess: the model reads %d×%d images; the pipeline packs square images, so only square inputs are supported", p.Height, p.Width)
	}
	return p.Height, nil
}

func openKind(_ context.Context, env regressor.Env) (regressor.Model, error) {
	s, ok := env.Settings.(*KindSettings)
	if !ok {
		return nil, fmt.Errorf("model.onnx: settings of type %T", env.Settings)
	}
	opts := DefaultOptions()
	opts.Library, opts.Input, opts.Output, opts.GraphOptimization = s.Library, s.Input, s.Output, s.GraphOptimization
	opts.IntraOpThreads, opts.InterOpThreads = env.Threads.IntraOp, env.Threads.InterOp
	if env.BatchSize > 0 {
		opts.BatchSize = env.BatchSize
	}
	var m *Model
	var err error
	if env.Preset != "" {
		m, err = OpenPreset(env.Preset, opts)
	} else {
		if env.From == "" {
			return nil, errors.New("model.from: kind onnx needs the .onnx file (or model.preset)")
		}
		if err := s.complete(); err != nil {
			return nil, err
		}
		m, err = Open(env.From, s.Preprocess, s.Decoding, opts)
	}
	if err != nil {
		return nil, err
	}
	return &kindModel{m: m, preset: env.Preset, progress: env.Progress}, nil
}

// kindModel adapts a Model to regressor.Model.
type kindModel struct {
	m        *Model
	preset   string
	progress func(label, unit string, total int) progress.Tracker
}

// Predict runs the model on the packed images of the examples (packed at
// the model's input size); a row without a usable output is rejected with
// its reason.
func (k *kindModel) Predict(ctx context.Context, data regressor.Data) (regressor.Output, error) {
	return regressor.PredictPacked(ctx, data, k.m.path, k.progress, k.m.PredictPacked,
		Result.Outcome)
}

// Describe says which file ran, on what runtime, read how.
func (k *kindModel) Describe() regressor.Description {
	d := k.m.Describe()
	return regressor.Description{Kind: "onnx", Source: d.Path, InputSize: k.m.pre.Height, Preprocessing: d.Preprocess,
		Output: d.Decode, Runtime: d.Runtime, Digest: d.SHA256, Preset: k.preset}
}

// Close ends the session.
func (k *kindModel) Close() error { return k.m.Close() }
