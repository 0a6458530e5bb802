// Package regressor defines what the train and evaluate stages need from an
// age model, and the registry of model kinds (model.kind) that provide it,
// so that any model can be trained, saved and audited the same way. The
// TensorFlow ResNet (package tfmodel, kind resnet) is one implementation;
// an external predictions file (kind predictions, in this package) is
// another; foreign formats register their own kinds.
package regressor

import (
	"context"
	"io"
	"math"

	"fairage/dataset"
	"fairage/internal/progress"
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

// Data is a set of examples drawn from one packed-image file. Images is nil
// for kinds that do not read images (Kind.ReadsImages false).
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

// Model is an age model that predicts: every kind provides one.
type Model interface {
	// Predict returns one age per example, in order; examples it cannot
	// predict (a non-finite output, an id missing from a predictions file)
	// are listed in Output.Rejected with a reason, never averaged in.
	Predict(ctx context.Context, data Data) (Output, error)
	// Describe says what the model is and how it reads its input, for the
	// manifest and the report.
	Describe() Description
	// Close releases resources (sessions, graphs).
	Close() error
}

// Trainable is a model that can be fitted and saved (Kind.Trainable).
type Trainable interface {
	Model
	// Fit trains on train, monitoring valid, and returns the per-epoch
	// history. aug may be nil (no online augmentation).
	Fit(ctx context.Context, train, valid Data, aug Augmenter, onEpoch EpochFunc) ([]dataset.EpochRecord, error)
	// Save writes the model to dir (created if needed).
	Save(dir string) error
}

// Output is what Predict returns.
type Output struct {
	// Ages holds one prediction per example; entries of rejected examples
	// are NaN.
	Ages []float64
	// Rejected lists the examples without a usable prediction, and rows of
	// an external source that match no example (Index -1).
	Rejected []Rejection
}

// Rejection is an example (or external row) without a usable prediction.
type Rejection struct {
	Index int // example index; -1 for a row that matches no example
	dataset.Rejection
}

// Description says what a model is, for the manifest and the report.
type Description struct {
	Kind   string `json:"kind"`
	Source string `json:"source,omitempty"` // file or folder it was loaded from
	// InputSize is the square image side the model reads (0: no images).
	InputSize int `json:"input_size,omitempty"`
	// Preprocessing says how images become the model's input, in words.
	Preprocessing string `json:"preprocessing,omitempty"`
	// Output says how the model's output becomes years.
	Output string `json:"output,omitempty"`
	// Runtime and Digest say what ran it and which exact file it was.
	Runtime string `json:"runtime,omitempty"`
	Digest  string `json:"sha256,omitempty"`
	// Precision is the arithmetic it ran in, with why (e.g. "bf16 (auto:
	// the CPU has avx512_bf16)"); empty for kinds that run as exported.
	Precision string `json:"precision,omitempty"`
	// Preset names the packaged model, when it is one.
	Preset string `json:"preset,omitempty"`
}

// Threads sizes a runtime's thread pools; 0 leaves the choice to it.
type Threads struct {
	IntraOp int `json:"intra_op" yaml:"intra_op" range:"[0,1024]" doc:"Intra-op threads (0: all cores)."`
	InterOp int `json:"inter_op" yaml:"inter_op" range:"[0,1024]" doc:"Inter-op threads (0: the runtime's choice)."`
}

// Env is what a stage hands a kind to open or build a model.
type Env struct {
	// From is where the model comes from: model.from, or the train
	// stage's output folder.
	From string
	// Settings are the kind's settings: its model.<kind> sub-section, or
	// for the native kind the model section's own fields.
	Settings Settings
	// Preset is model.preset: a packaged model the kind opens from the
	// files the set-up installed (From is then empty).
	Preset string
	// BatchSize is the number of images per prediction step.
	BatchSize int
	// Threads sizes the runtime's pools.
	Threads Threads
	// Precision is the arithmetic to run in (only for kinds with
	// Kind.Precision; empty means float32).
	Precision Precision
	// Progress starts trackers for long work.
	Progress func(label, unit string, total int) progress.Tracker
	// Log receives human-readable messages.
	Log io.Writer
}

// Settings are a kind's settings: an option struct with config tags.
type Settings interface{ Validate() error }

func nan() float64 { return math.NaN() }
