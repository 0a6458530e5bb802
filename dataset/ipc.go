package dataset

import (
	"github.com/apache/arrow/go/v17/arrow"

	"fairage/internal/arrowtab"
)

// WriteIPC writes rec to path as an Arrow IPC file, atomically.
func WriteIPC(path string, rec arrow.Record) error { return arrowtab.WriteIPC(path, rec) }

// ReadIPC reads every record batch of an Arrow IPC file at path and returns
// them concatenated as one record; the caller releases it. Bad bytes are
// an error, never a panic.
func ReadIPC(path string) (arrow.Record, error) { return arrowtab.ReadIPC(path) }

// WriteSamples writes the samples table to path.
// The infer stage's columns (expression_source, expression_confidence) are
// written only when some row has them.
func WriteSamples(path string, rows []Sample) error { return samplesFor(rows).WriteFile(path, rows) }

// ReadSamples reads the samples table at path, with or without the infer
// stage's columns.
func ReadSamples(path string) ([]Sample, error) { return samplesInferredTable.ReadFile(path) }

// WritePredictions writes the predictions table to path.
func WritePredictions(path string, rows []Prediction) error {
	return predictionsTable.WriteFile(path, rows)
}

// ReadPredictions reads the predictions table at path.
func ReadPredictions(path string) ([]Prediction, error) { return predictionsTable.ReadFile(path) }

// WritePlan writes the plan table to path.
func WritePlan(path string, rows []PlanRow) error { return planTable.WriteFile(path, rows) }

// ReadPlan reads the plan table at path.
func ReadPlan(path string) ([]PlanRow, error) { return planTable.ReadFile(path) }

// WriteRejections writes the rejected table to path.
func WriteRejections(path string, rows []Rejection) error {
	return rejectedTable.WriteFile(path, rows)
}

// ReadRejections reads the rejected table at path.
func ReadRejections(path string) ([]Rejection, error) { return rejectedTable.ReadFile(path) }
