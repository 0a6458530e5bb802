package augment

import (
	"errors"
	"fmt"
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

// OfflineEpoch is the epoch offline augmentation draws parameters for.
const OfflineEpoch = 0

// Options configure augmentation. The augment stage maps the `augment:`
// YAML section onto it.
type Options struct {
	// Mode is none, offline or online (augment.mode).
	Mode Mode
	// Originals also augments copy 0 of every sample (augment.originals);
	// copies above 0 are always augmented.
	Originals bool
	// Workers is the number of goroutines offline augmentation uses
	// (augment.workers); 0 means one per CPU.
	Workers int
	// Recipe lists the operations (the other keys of augment:).
	Recipe Recipe
}

// DefaultOptions augments oversampled copies offline with DefaultRecipe.
func DefaultOptions() Options {
	return Options{Mode: ModeOffline, Recipe: DefaultRecipe()}
}

// Validate checks the options. Errors name the YAML key.
func (o Options) Validate() error {
	var errs []error
	switch o.Mode {
	case ModeNone, ModeOffline, ModeOnline:
	default:
		errs = append(errs, fmt.Errorf("augment.mode: %q is not one of none, offline, online", o.Mode))
	}
	if o.Workers < 0 {
		errs = append(errs, fmt.Errorf("augment.workers: %d is negative (0 means one per CPU)", o.Workers))
	}
	errs = append(errs, o.Recipe.Validate())
	return errors.Join(errs...)
}
