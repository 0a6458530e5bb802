package savedmodel

import (
	"context"
	"errors"
	"fmt"
	"reflect"

	tf "github.com/tensorflow/tensorflow/tensorflow/go"

	"fairage/internal/progress"
	"fairage/internal/spec"
	"fairage/preprocess"
	"fairage/regressor"
)

// KindSettings are the settings of model kind savedmodel
// (model.savedmodel): which MetaGraph, signature and tensors to run, and
// the model's declared preprocessing and output decoding. A SavedModel
// written by pipeline export carries its own (assets/fairage.json); the
// settings, when given, take precedence.
type KindSettings struct {
	Tags       []string          `yaml:"tags" doc:"MetaGraph tags to load (TensorFlow matches the whole set)."`
	Signature  string            `yaml:"signature" doc:"Signature to run."`
	Input      string            `yaml:"input" doc:"Input of the signature, by key or graph tensor name (default: the signature's only input)."`
	Output     string            `yaml:"output" doc:"Output of the signature, by key or graph tensor name (default: the signature's only output)."`
	Preprocess preprocess.Spec   `yaml:"preprocess" doc:"How images become the model's input, as the model declares it (default for a SavedModel from pipeline export: its assets/fairage.json)."`
	Decoding   preprocess.Output `yaml:"decoding" doc:"How the model's output becomes years (default for a SavedModel from pipeline export: its assets/fairage.json)."`
}

// DefaultSettings are tags [serve], signature serving_default, nothing
// declared.
func DefaultSettings() *KindSettings {
	return &KindSettings{Tags: []string{ServeTag}, Signature: DefaultSigKey, Decoding: preprocess.DefaultOutput()}
}

func init() {
	regressor.Register(regressor.Kind{
		Name: "savedmodel",
		Doc: "A TensorFlow SavedModel folder (model.from: Keras model.export(), tf.saved_model.save, or pipeline export) run with TensorFlow through the Go bindings, " +
			"with its declared preprocessing and output decoding.",
		ReadsImages: true,
		Settings:    func() regressor.Settings { return DefaultSettings() },
		Open:        openKind,
	})
}

// Validate checks the settings as far as they go without the model: the
// preprocessing and decoding only where declared (they may come from the
// SavedModel's metadata).
func (s *KindSettings) Validate() error {
	own := *s
	own.Preprocess, own.Decoding = validSpec, preprocess.Output{Decode: preprocess.Years, Reduce: preprocess.Expected}
	errs := []error{spec.Check("model.savedmodel", &own)}
	if len(s.Tags) == 0 {
		errs = append(errs, errors.New("model.savedmodel.tags: list at least one tag (a SavedModel for serving is tagged serve)"))
	}
	if s.Signature == "" {
		errs = append(errs, errors.New("model.savedmodel.signature: name the signature to run (usually serving_default)"))
	}
	if s.declaresInput() {
		errs = append(errs, s.Preprocess.Check("model.savedmodel.preprocess"))
	}
	if s.declaresOutput() {
		errs = append(errs, s.Decoding.Check("model.savedmodel.decoding"))
	}
	return errors.Join(errs...)
}

var validSpec = preprocess.Spec{Height: 1, Width: 1, Resample: "bilinear", Fit: "crop", Color: preprocess.RGB,
	Layout: preprocess.NHWC, DType: preprocess.Uint8, Scale: 1}

// declaresInput: any preprocessing key set declares the whole of it (a
// partial declaration is an error naming what is missing, never silently
// completed from the metadata).
func (s *KindSettings) declaresInput() bool {
	return !reflect.DeepEqual(s.Preprocess, preprocess.Spec{})
}

// declaresOutput: likewise for the decoding (reduce has a default).
func (s *KindSettings) declaresOutput() bool {
	d := s.Decoding
	return d.Decode != "" || d.AgeMax != 0 || len(d.ClassAges) > 0 || d.Softmax
}

// resolve returns the preprocessing and decoding of the SavedModel in dir:
// the declared ones, else its metadata's; one that is in neither is an
// error naming the key to set.
func (s *KindSettings) resolve(dir string) (preprocess.Spec, preprocess.Output, Options, error) {
	opts := Options{Tags: s.Tags, Signature: s.Signature, Input: s.Input, Output: s.Output}
	pre, out := s.Preprocess, s.Decoding
	if !s.declaresInput() || !s.declaresOutput() {
		meta, ok, err := ReadMetadata(dir)
		if err != nil {
			return pre, out, opts, err
		}
		if !ok {
			var missing []error
			if !s.declaresInput() {
				missing = append(missing, fmt.Errorf("model.savedmodel.preprocess: the SavedModel %s carries no fairage metadata (%s/%s); declare how images become its input (size, resample, fit, color, layout, dtype, mean, std, scale)", dir, AssetsDir, MetadataFile))
			}
			if !s.declaresOutput() {
				missing = append(missing, fmt.Errorf("model.savedmodel.decoding.decode: the SavedModel %s carries no fairage metadata; declare what its output is (years, unit or classes)", dir))
			}
			return pre, out, opts, errors.Join(missing...)
		}
		if !s.declaresInput() {
			pre = meta.Preprocess
		}
		if !s.declaresOutput() {
			out = meta.Decoding
		}
		if opts.Input == "" && opts.Signature == meta.Signature {
			opts.Input = meta.Input
		}
		if opts.Output == "" && opts.Signature == meta.Signature {
			opts.Output = meta.Output
		}
	}
	return pre, out, opts, errors.Join(pre.Check("model.savedmodel.preprocess"), out.Check("model.savedmodel.decoding"))
}

// InputSize is without a model folder only known when declared.
func (s *KindSettings) InputSize(string) (int, error) {
	if !s.declaresInput() {
		return 0, errors.New("model.savedmodel.preprocess: declare the model's input size (or give model.from, a SavedModel from pipeline export, whose metadata has it)")
	}
	return squareSide(s.Preprocess)
}

// InputSizeFrom is the square image side the SavedModel in from reads,
// declared or from its metadata, so the run packs the images at that size.
func (s *KindSettings) InputSizeFrom(from string) (int, error) {
	pre, _, _, err := s.resolve(from)
	if err != nil {
		return 0, err
	}
	return squareSide(pre)
}

func squareSide(p preprocess.Spec) (int, error) {
	if p.Height != p.Width {
		return 0, fmt.Errorf("model.savedmodel.preprocess: the model reads %d×%d images; the pipeline packs square images, so only square inputs are supported", p.Height, p.Width)
	}
	return p.Height, nil
}

func openKind(_ context.Context, env regressor.Env) (regressor.Model, error) {
	s, ok := env.Settings.(*KindSettings)
	if !ok {
		return nil, fmt.Errorf("model.savedmodel: settings of type %T", env.Settings)
	}
	if env.From == "" {
		return nil, errors.New("model.from: kind savedmodel needs the SavedModel folder")
	}
	pre, out, opts, err := s.resolve(env.From)
	if err != nil {
		return nil, err
	}
	opts.BatchSize, opts.IntraOpThreads, opts.InterOpThreads = env.BatchSize, env.Threads.IntraOp, env.Threads.InterOp
	m, err := Open(env.From, pre, out, opts)
	if err != nil {
		return nil, err
	}
	return &kindModel{m: m, progress: env.Progress}, nil
}

// kindModel adapts a Model to regressor.Model.
type kindModel struct {
	m        *Model
	progress func(label, unit string, total int) progress.Tracker
}

// Predict runs the model on the packed images of the examples (packed at
// the model's input size); a row without a usable output is rejected with
// its reason.
func (k *kindModel) Predict(ctx context.Context, data regressor.Data) (regressor.Output, error) {
	return regressor.PredictPacked(ctx, data, k.m.dir, k.progress, k.m.PredictPacked,
		Result.Outcome)
}

// Describe says which folder ran, on what runtime, read how.
func (k *kindModel) Describe() regressor.Description {
	m := k.m
	return regressor.Description{Kind: "savedmodel", Source: m.dir, InputSize: m.pre.Height,
		Preprocessing: m.pre.String() + "; input " + m.in.String(),
		Output:        m.out.String() + "; output " + m.res.String(),
		Runtime:       "TensorFlow " + tf.Version(), Digest: m.digest}
}

// Close ends the session.
func (k *kindModel) Close() error { return k.m.Close() }
