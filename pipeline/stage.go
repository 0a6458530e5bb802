package pipeline

import (
	"context"
	"io"

	"fairage/config"
	"fairage/internal/progress"
)

// Stage is one step of the pipeline: declared inputs (earlier stages'
// outputs), the settings it reads, and the files it writes. The runner
// decides whether it must run from its fingerprint. A stage holds its
// settings itself, built from exactly what Settings declares, so a setting
// it does not declare can neither change its output nor go unnoticed in
// its fingerprint.
type Stage interface {
	// Name is the stage's unique, lowercase name (used by --only/--from).
	Name() string
	// Version changes when the stage's code changes what it produces, so
	// cached outputs of older code are not reused.
	Version() string
	// Settings are the config settings the stage reads; the fingerprint
	// hashes them (without those tagged fingerprint:"-").
	Settings() []config.Decl
	// Inputs are the names of the stages whose outputs this one reads.
	Inputs() []string
	// Run writes the stage's outputs into sc.OutDir.
	Run(ctx context.Context, sc *StageContext) (Stats, error)
}

// ExternalInputs is implemented by stages that read files outside the
// pipeline (a dataset folder). The digest of those files joins the
// fingerprint, so editing the dataset reruns the stage.
type ExternalInputs interface {
	InputDigest(ctx context.Context) (string, error)
}

// Uncached is implemented by stages whose output describes the run itself
// (the report shows this run's manifest), so they run every time.
type Uncached interface{ Uncached() bool }

// Verifier is implemented by stages whose valid output can still fail the
// run, such as fairness gates. Verify runs whenever the output is used,
// whether the stage ran or was skipped as fresh, so a failing gate fails
// every run until fixed. Later stages still run (the report shows the
// failure); the run then ends with the error.
type Verifier interface {
	Verify(ctx context.Context, outDir string) error
}

// StageContext is what a running stage receives besides its own settings.
type StageContext struct {
	// Inputs maps each declared input stage name to its output folder.
	Inputs map[string]string
	// OutDir is an empty temporary folder; it becomes the stage's output
	// only if Run succeeds.
	OutDir string
	// RunDir is the run folder (runs/<name>), for reading the manifest of
	// the run so far (reports need it). Stages must not write there.
	RunDir string
	// Log receives human-readable messages.
	Log io.Writer
	// Progress starts a tracker for long work (bar on a terminal, plain
	// lines otherwise).
	Progress func(label, unit string, total int) progress.Tracker
	// Manifest is the run manifest so far (stages already done).
	Manifest *Manifest
	// Scratch is a folder tied to this stage's fingerprint that survives a
	// failed or interrupted attempt (training checkpoints live there) and
	// is removed once the output is committed.
	Scratch string
	// Resume asks the stage to continue from what Scratch holds; without it
	// Scratch starts empty.
	Resume bool
}

// Stats are the counts a stage reports for the manifest.
type Stats struct {
	RowsIn   int64          `json:"rows_in"`
	RowsOut  int64          `json:"rows_out"`
	Rejected int64          `json:"rejected"`
	Extra    map[string]any `json:"extra,omitempty"`
}

// Omitted is a stage the graph leaves out for this config, with why (a
// model kind that trains nothing has no train stage); the runner says so
// and records it, rather than pretending to run it.
type Omitted struct {
	Name   string
	Reason string
	After  string // the stage it would follow, where the record goes
}
