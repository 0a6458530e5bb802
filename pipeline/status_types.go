package pipeline

// RunStatus is the state of a run in its manifest.
type RunStatus string

// Run statuses.
const (
	RunRunning     RunStatus = "running"
	RunCompleted   RunStatus = "completed"
	RunFailed      RunStatus = "failed"
	RunInterrupted RunStatus = "interrupted"
)

// StageOutcome is what happened to a stage in a run (StageRecord.Status).
type StageOutcome string

// Stage outcomes.
const (
	// StageRan: the stage computed its output.
	StageRan StageOutcome = "ran"
	// StageSkipped: its output was fresh (or it was not selected) and was
	// reused from the cache.
	StageSkipped StageOutcome = "skipped"
	// StageFailed: the stage returned an error.
	StageFailed StageOutcome = "failed"
	// StageInterrupted: the run was cancelled while the stage ran.
	StageInterrupted StageOutcome = "interrupted"
	// StageNotApplicable: the config's graph has no such stage (the model
	// kind trains nothing); Reason says why.
	StageNotApplicable StageOutcome = "not_applicable"
)

// Freshness says whether a stage's output in a run folder is current
// (pipeline status).
type Freshness string

// Freshness states.
const (
	Fresh   Freshness = "fresh"
	Stale   Freshness = "stale"
	Missing Freshness = "missing"
)
