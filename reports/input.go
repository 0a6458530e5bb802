package reports

import (
	"time"

	"fairage/analysis"
	"fairage/dataset"
)

// Run is everything a run's report shows. Only Name and Analysis are
// required; every other part may be empty and its section then says so.
type Run struct {
	// Name is the run's name (runs/<name>).
	Name string
	// Model describes the model for the study's results table.
	Model ModelInfo
	// Analysis is the analyze stage's result.
	Analysis *analysis.Result
	// History is the training history, for the learning curves.
	History []dataset.EpochRecord
	// Distribution is the training groups' distribution before and after
	// balancing, for the balance chart.
	Distribution []dataset.GroupCount
	// ContactSheet is the path of a PNG contact sheet of sample faces.
	ContactSheet string
	// Predictions are the analysed predictions, for the error distribution
	// and predicted-vs-true charts.
	Predictions []dataset.Prediction
	// Extra names the predictions' own attribute columns (their
	// Prediction.Extra values, dataset.PredictionTable.Extra) when the run
	// audited a table with attributes of its own; nil otherwise.
	Extra []string
	// Notes are facts about how the run was made that a reader needs to
	// read its numbers (e.g. head-only training on a random backbone),
	// shown in the summary after the analysis's warnings.
	Notes []string
	// Meta is shown at the end of the report.
	Meta Metadata
}

// ModelInfo is a run's row of the study's results table.
type ModelInfo struct {
	Name         string  // e.g. "resnet50 (all layers)"
	LearningRate float64 // 0 when not applicable
	Strategy     string  // balancing/augmentation strategy, e.g. "oversample ethnicity"
}

// Metadata describes how a run was produced.
type Metadata struct {
	Started    time.Time   // zero when unknown
	Host       string      // machine the run ran on
	ConfigText string      // the resolved config, shown verbatim
	Stages     []StageInfo // in pipeline order
	Versions   []Version   // Go, TensorFlow, module, ... in display order
}

// StageInfo is one stage's line in the metadata table.
type StageInfo struct {
	Name        string
	Fingerprint string
	Duration    time.Duration
	Status      string // the manifest's outcome: ran, skipped, failed, not_applicable, ...
	Reason      string // why it ran, was skipped or was not run
}

// Version is a named version string.
type Version struct {
	Name, Value string
}

// Comparison is the input of a comparison report across runs.
type Comparison struct {
	// Title heads the report; empty gives a default.
	Title string
	// Runs are the compared runs, one row each in the study's table.
	Runs []ComparedRun
	// Paired are paired tests between runs on the same samples, already
	// Holm-corrected as one family (analysis.AdjustFamily).
	Paired []*analysis.PairedResult
	// Differences are the resolved config keys whose values differ
	// between the runs (run.name aside), in key order.
	Differences []ConfigDifference
}

// ComparedRun is one run of a comparison. Name and Analysis are required;
// History and Stages may be empty, and their sections then say so.
type ComparedRun struct {
	// Name is the run's name, heading its column.
	Name string
	// Model is the run's row of the study's results table.
	Model ModelInfo
	// Analysis is the analyze stage's result, for the scores and the MAE
	// of every group.
	Analysis *analysis.Result
	// History is the training history, for the learning curves (empty
	// when the run trained no model, e.g. an audit of external predictions).
	History []dataset.EpochRecord
	// Stages are the run's stages in pipeline order, for the wall times.
	Stages []StageTime
	// Notes are the run's notes (see Run.Notes), listed under the results.
	Notes []string
	// Commit is the git commit of the code that made the run, from its
	// manifest ("" when unknown; "+dirty" marks uncommitted changes).
	Commit string
}

// StageTime is how long one stage of a compared run took.
type StageTime struct {
	// Name is the stage's name ("train").
	Name string
	// Seconds is the stage's wall time when it ran; for a cached stage,
	// the time it took when its output was computed (0 when unknown).
	Seconds float64
	// Cached is true when the stage's output was reused from the cache
	// instead of running; Seconds is then shown but not counted.
	Cached bool
}
