package tfjsmodel

import (
	"context"
	"errors"
	"fmt"

	"fairage/dataset"
	"fairage/internal/progress"
	"fairage/internal/spec"
	"fairage/preprocess"
	"fairage/regressor"
)

// KindSettings are the settings of model kind tfjs (model.tfjs): the
// tensors, and the model's declared preprocessing and output decoding. A
// preset (model.preset) brings its own.
type KindSettings struct {
	Input      string            `yaml:"input" doc:"Input tensor: a signature key or tensor name (default: the signature's only input)."`
	Output     string            `yaml:"output" doc:"Output tensor: a signature key (e.g. age_output) or tensor name (e.g. Identity:0); default: the signature's only output."`
	Preprocess preprocess.Spec   `yaml:"preprocess" doc:"How images become the model's input (TF.js graph models take nhwc float32), as the model declares it."`
	Decoding   preprocess.Output `yaml:"decoding" doc:"How the model's output becomes years."`
}

func init() {
	regressor.Register(regressor.Kind{
		Name: "tfjs",
		Doc: "A TensorFlow.js graph model (model.from: its model.json, with the weight shards beside it; or model.preset) " +
			"converted to a GraphDef and run on libtensorflow, with its declared preprocessing and output decoding.",
		ReadsImages: true,
		Settings: func() regressor.Settings {
			return &KindSettings{Decoding: preprocess.DefaultOutput()}
		},
		Open: openKind,
	})
	for _, name := range PresetNames() {
		p := Presets[name]
		regressor.RegisterPreset(regressor.Preset{Name: p.Name, Kind: "tfjs", Doc: p.Doc, License: p.License, TrainedOn: p.TrainedOn,
			InputSize: func() (int, error) { return p.Preprocess.Height, nil },
			Files:     p.Files})
	}
}

// validSpec stands in for the preprocessing when only the other fields
// are checked.
var validSpec = preprocess.Spec{Height: 1, Width: 1, Resample: dataset.ResampleBiLinear, Fit: dataset.FitCrop, Color: preprocess.RGB,
	Layout: preprocess.NHWC, DType: preprocess.Float32, Scale: 1}

// Validate checks the settings as far as they go without a model file;
// the preprocessing and decoding are checked (complete) only when they
// are used, without a preset.
func (s *KindSettings) Validate() error {
	own := *s
	own.Preprocess, own.Decoding = validSpec, preprocess.DefaultOutput()
	own.Decoding.Decode = preprocess.Years
	return spec.Check("model.tfjs", &own)
}

func (s *KindSettings) complete() error {
	return errors.Join(s.Preprocess.Check("model.tfjs.preprocess"), s.Decoding.Check("model.tfjs.decoding"))
}

// InputSize is the square image side the model reads.
func (s *KindSettings) InputSize(preset string) (int, error) {
	if preset != "" {
		p, err := LookupPreset(preset)
		if err != nil {
			return 0, err
		}
		return p.Preprocess.Height, nil
	}
	if err := s.complete(); err != nil {
		return 0, err
	}
	if s.Preprocess.Height != s.Preprocess.Width {
		return 0, fmt.Errorf("model.tfjs.preprocess: the model reads %d×%d images; the pipeline packs square images, so only square inputs are supported",
			s.Preprocess.Height, s.Preprocess.Width)
	}
	return s.Preprocess.Height, nil
}

func openKind(_ context.Context, env regressor.Env) (regressor.Model, error) {
	s, ok := env.Settings.(*KindSettings)
	if !ok {
		return nil, fmt.Errorf("model.tfjs: settings of type %T", env.Settings)
	}
	opts := DefaultOptions()
	opts.Input, opts.Output = s.Input, s.Output
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
			return nil, errors.New("model.from: kind tfjs needs the model.json of a TF.js graph model (or model.preset)")
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

// Predict runs the model on the packed images of the examples; a row
// without a usable output is rejected with its reason.
func (k *kindModel) Predict(ctx context.Context, data regressor.Data) (regressor.Output, error) {
	return regressor.PredictPacked(ctx, data, k.m.path, k.progress, k.m.PredictPacked,
		Result.Outcome)
}

// Describe says which file ran, converted how, read how.
func (k *kindModel) Describe() regressor.Description {
	d := k.m.Describe()
	rt := d.Runtime
	if len(d.Rewrites) > 0 {
		rt += "; rewrites: "
		for i, r := range d.Rewrites {
			if i > 0 {
				rt += "; "
			}
			rt += r
		}
	}
	return regressor.Description{Kind: "tfjs", Source: d.Path, InputSize: k.m.pre.Height, Preprocessing: d.Preprocess,
		Output: d.Decode, Runtime: rt, Digest: d.Digest, Preset: k.preset}
}

// Close ends the session.
func (k *kindModel) Close() error { return k.m.Close() }
