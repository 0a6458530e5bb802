package regressor

import (
	"context"
	"errors"
	"maps"
	"slices"

	"fairage/internal/registry"
	"fairage/internal/spec"
)

// Kind is one registered model kind (a value of model.kind).
type Kind struct {
	// Name is the model.kind value.
	Name string
	// Doc says what it is, for the config reference.
	Doc string
	// Trainable kinds are fitted by the train stage when model.from is
	// empty; other kinds only predict.
	Trainable bool
	// ReadsImages says whether the model predicts from images; when false
	// (an external predictions file) the evaluate stage reads none.
	ReadsImages bool
	// Precision says whether the kind honours Env.Precision (mixed
	// precision); other kinds run as their model was exported, and the
	// evaluate stage rejects a reduced evaluate.precision for them.
	Precision bool
	// Settings returns the kind's sub-section model.<name> with its
	// defaults; nil for a kind without settings of its own (the native
	// kind's settings are the model section's own fields).
	Settings func() Settings
	// Open loads an existing model from env.From.
	Open func(ctx context.Context, env Env) (Model, error)
	// New builds a fresh trainable model from its settings and the train
	// section (Trainable kinds only).
	New func(ctx context.Context, env Env, train any) (Trainable, error)
}

var kinds = registry.New[Kind]("model kind")

// Register adds a kind; registering a name twice is a programming error.
func Register(k Kind) {
	if k.Open == nil || (k.Trainable && k.New == nil) {
		panic("regressor: kind " + k.Name + " lacks Open (or New for a trainable kind)")
	}
	kinds.Add(k.Name, k)
}

// Kinds lists the registered kinds by name.
func Kinds() []Kind { return kinds.All() }

// Lookup returns the kind of a model.kind value, with an error listing the
// registered ones.
func Lookup(name string) (Kind, error) { return kinds.Lookup("model.kind", name) }

// KindName is a model.kind value: one of the registered kinds.
type KindName string

// Values lists the registered kind names.
func (KindName) Values() []string { return kinds.Names() }

// KindSettings holds the sub-section of every registered kind that has
// one, keyed by kind name; it is a spec.Registry.
type KindSettings map[string]Settings

// DefaultKindSettings returns every kind's default settings.
func DefaultKindSettings() KindSettings {
	out := KindSettings{}
	for _, k := range Kinds() {
		if k.Settings != nil {
			out[k.Name] = k.Settings()
		}
	}
	return out
}

// Sections implements spec.Registry. A nil value lists every kind with its
// defaults (for the key set); a restricted view lists what it holds.
func (s KindSettings) Sections() []spec.Named {
	var out []spec.Named
	for _, k := range Kinds() {
		if k.Settings == nil {
			continue
		}
		c, ok := s[k.Name]
		if !ok {
			if s != nil {
				continue
			}
			c = k.Settings()
		}
		out = append(out, spec.Named{Name: k.Name, Doc: k.Doc, Ptr: c})
	}
	return out
}

// Validate checks every kind's settings.
func (s KindSettings) Validate() error {
	var errs []error
	for _, name := range slices.Sorted(maps.Keys(s)) {
		errs = append(errs, s[name].Validate())
	}
	return errors.Join(errs...)
}

// Preset is a packaged, off-the-shelf model (model.preset): its kind opens
// it from files the set-up installs, with the preprocessing and output
// decoding its own files declare.
type Preset struct {
	Name string
	Kind string // the kind that opens it
	Doc  string // what it is and where it comes from
	// License of the package and of the weights.
	License string
	// TrainedOn names the datasets it was trained on where known, so a
	// report can warn when the audited data is among them.
	TrainedOn []string
	// InputSize reads the square input side from the preset's files.
	InputSize func() (int, error)
	// Files lists the preset's installed files, whose digest fingerprints
	// the evaluation.
	Files func() ([]string, error)
}

var presets = registry.New[Preset]("model preset")

// RegisterPreset adds a preset; its kind must register itself too.
func RegisterPreset(p Preset) { presets.Add(p.Name, p) }

// Presets lists the registered presets by name.
func Presets() []Preset { return presets.All() }

// LookupPreset returns a registered preset.
func LookupPreset(name string) (Preset, error) { return presets.Lookup("model.preset", name) }

// PresetName is a model.preset value: empty, or a registered preset.
type PresetName string

// InputSized is implemented by kind settings that declare the square
// image side their model reads, so the run packs the images at that size.
type InputSized interface {
	InputSize(preset string) (int, error)
}

// SourceSized is implemented by kind settings whose model's own files
// (model.from) may declare the square image side, so the run packs the
// images at that size (a SavedModel from pipeline export carries it).
type SourceSized interface {
	InputSizeFrom(from string) (int, error)
}
