package analysis

import (
	"encoding/json"
	"fmt"
	"os"

	"fairage/internal/atomicfile"
)

// MarshalSummary encodes r as the indented JSON summary. Undefined values
// are null, never NaN, so any JSON reader accepts it.
func MarshalSummary(r *Result) ([]byte, error) {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode analysis summary: %w", err)
	}
	return append(b, '\n'), nil
}

// WriteSummary writes the JSON summary of r to path, atomically.
func WriteSummary(path string, r *Result) error {
	b, err := MarshalSummary(r)
	if err != nil {
		return err
	}
	return atomicfile.WriteBytes(path, b)
}

// ReadSummary reads a JSON summary written by WriteSummary (e.g. an earlier
// run's, for a comparison report).
func ReadSummary(path string) (*Result, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read analysis summary: %w", err)
	}
	var r Result
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("read analysis summary %s: %w", path, err)
	}
	if r.Version != SummaryVersion {
		return nil, fmt.Errorf("read analysis summary %s: version %d, this build reads version %d", path, r.Version, SummaryVersion)
	}
	return &r, nil
}
