// Package regressor defines what the train and evaluate stages need from an
// age model, so that any model can be trained, saved and audited the same
// way. The TensorFlow ResNet (package tfmodel) is one implementation; an
// external predictions file is another.
package regressor

import (
	"context"

	"fairage/dataset"
)

// Example is one input to training or prediction: an image in a packed
// file, its target, its loss weight, and the plan fields that make its
// augmentation reproducible.
type Example struct {
	Index   int     // position of the image in Data.Images
	ID      string  // sample id
	Target  float64 // age in years
	Weight  float64 // per-sample loss weight (1 when unweighted)
	Copy    int     // 0 for an original, >0 for an oversampled copy
	AugSeed uint64  // seed of this copy's augmentation
}

// Data is a set of examples drawn from one packed-image file.
type Data struct {
	Images   *dataset.Packed
	Examples []Example
}

// Augmenter writes an augmented version of src (HWC RGB, h×w) into dst (same
// size) for one example in one epoch. It must be deterministic in its
// arguments and safe for concurrent use. Training calls it in goroutines
// ahead of the graph.
type Augmenter func(dst, src []byte, h, w int, ex Example, epoch int)

// EpochFunc observes each finished epoch (for live display).
type EpochFunc func(dataset.EpochRecord)

// Regressor is an age model that can be fitted, used to predict, and saved.
type Regressor interface {
	// Fit trains on train, monitoring valid, and returns the per-epoch
	// history. aug may be nil (no online augmentation).
	Fit(ctx context.Context, train, valid Data, aug Augmenter, onEpoch EpochFunc) ([]dataset.EpochRecord, error)
	// Predict returns one predicted age per example, in order.
	Predict(ctx context.Context, data Data) ([]float64, error)
	// Save writes the model to dir (created if needed).
	Save(dir string) error
	// Close releases resources (sessions, graphs).
	Close() error
}
