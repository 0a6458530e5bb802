package regressor

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"

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

var (
	kindsMu sync.Mutex
	kinds   = map[string]Kind{}
)

// Register adds a kind; registering a name twice is a programming error.
func Register(k Kind) {
	kindsMu.Lock()
	defer kindsMu.Unlock()
	if _, dup := kinds[k.Name]; dup {
		panic("regressor: kind " + k.Name + " registered twice")
	}
	if k.Open == nil || (k.Trainable && k.New == nil) {
		panic("regressor: kind " + k.Name + " lacks Open (or New for a trainable kind)")
	}
	kinds[k.Name] = k
}

// Kinds lists the registered kinds by name.
func Kinds() []Kind {
	kindsMu.Lock()
	defer kindsMu.Unlock()
	names := make([]string, 0, len(kinds))
	for n := range kinds {
		names = append(names, n)
	}
	sort.Strings(names)
	out := make([]Kind, len(names))
	for i, n := range names {
		out[i] = kinds[n]
	}
	return out
}

// Lookup returns the kind of a model.kind value, with an error listing the
// registered ones.
func Lookup(name string) (Kind, error) {
	kindsMu.Lock()
	k, ok := kinds[name]
	kindsMu.Unlock()
	if !ok {
		return Kind{}, fmt.Errorf("model.kind: %q is not one of %s", name, strings.Join(KindName("").Values(), ", "))
	}
	return k, nil
}

// KindName is a model.kind value: one of the registered kinds.
type KindName string

// Values lists the registered kind names.
func (KindName) Values() []string {
	var out []string
	for _, k := range Kinds() {
		out = append(out, k.Name)
	}
	return out
}

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

var presets = map[string]Preset{}

// RegisterPreset adds a preset; its kind must register itself too.
func RegisterPreset(p Preset) {
	kindsMu.Lock()
	defer kindsMu.Unlock()
	if _, dup := presets[p.Name]; dup {
		panic("regressor: preset " + p.Name + " registered twice")
	}
	presets[p.Name] = p
}

// Presets lists the registered presets by name.
func Presets() []Preset {
	kindsMu.Lock()
	defer kindsMu.Unlock()
	names := make([]string, 0, len(presets))
	for n := range presets {
		names = append(names, n)
	}
	sort.Strings(names)
	out := make([]Preset, len(names))
	for i, n := range names {
		out[i] = presets[n]
	}
	return out
}

// LookupPreset returns a registered preset.
func LookupPreset(name string) (Preset, error) {
	kindsMu.Lock()
	p, ok := presets[name]
	kindsMu.Unlock()
	if !ok {
		var names []string
		for _, q := range Presets() {
			names = append(names, q.Name)
		}
		return Preset{}, fmt.Errorf("model.preset: %q is not one of %s", name, strings.Join(names, ", "))
	}
	return p, nil
}

// PresetName is a model.preset value: empty, or a registered preset.
type PresetName string

// InputSized is implemented by kind settings that declare the square
// image side their model reads, so the run packs the images at that size.
type InputSized interface {
	InputSize(preset string) (int, error)
}
