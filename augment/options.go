package augment

import (
	"errors"

	"fairage/internal/spec"
)

// Mode is when augmentation happens (augment.mode).
type Mode string

// Modes.
const (
	// ModeNone trains on the plan's images as they are.
	ModeNone Mode = "none"
	// ModeOffline writes augmented copies once, before training.
	ModeOffline Mode = "offline"
	// ModeOnline augments in the training loop, with new parameters every
	// epoch.
	ModeOnline Mode = "online"
)

// Values lists the modes (config: augment.mode).
func (Mode) Values() []string {
	return []string{string(ModeNone), string(ModeOffline), string(ModeOnline)}
}

// OfflineEpoch is the epoch offline augmentation draws parameters for.
const OfflineEpoch = 0

// Options configure augmentation. The augment stage maps the `augment:`
// YAML section onto it.
type Options struct {
	// Mode is none, offline or online (augment.mode).
	Mode Mode `yaml:"mode" doc:"offline writes the augmented training set once (copies of oversampled samples altered); online draws new parameters every epoch inside training; none trains on plain copies."`
	// Originals also augments copy 0 of every sample (augment.originals);
	// copies above 0 are always augmented.
	Originals bool `yaml:"originals" doc:"Augment originals (copy 0) too; copies are always augmented."`
	// Workers is the number of goroutines offline augmentation uses
	// (augment.workers); 0 means one per CPU.
	Workers int `yaml:"workers" range:"[0,1024]" fingerprint:"-" doc:"Offline worker goroutines (0: one per CPU); the output does not depend on it."`
	// Recipe lists the operations (the other keys of augment:).
	Recipe Recipe `yaml:",inline"`
}

// DefaultOptions augments oversampled copies offline with DefaultRecipe.
func DefaultOptions() Options {
	return Options{Mode: ModeOffline, Recipe: DefaultRecipe()}
}

// Validate checks the options. Errors name the YAML key.
func (o Options) Validate() error {
	// The recipe checks its own fields (spec.Check of the whole would
	// report them twice).
	own := Options{Mode: o.Mode, Workers: o.Workers, Recipe: DefaultRecipe()}
	return errors.Join(spec.Check("augment", &own), o.Recipe.Validate())
}
