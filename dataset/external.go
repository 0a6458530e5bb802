package dataset

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"strconv"
)

// ExternalPredictions are an outside model's predicted ages keyed by sample
// id, read from a CSV, TSV or Parquet file, so any model can be audited.
type ExternalPredictions struct {
	ByID     map[string]float64
	Rejected []Rejection // rows that could not be used, with reasons
}

// ReadExternalPredictions reads idCol and predCol of the table at path.
// Malformed rows, non-numeric or non-finite predictions and repeated ids
// are rejected with their row number, never dropped silently; a missing
// column or an unreadable file is an error.
func ReadExternalPredictions(ctx context.Context, path, idCol, predCol string) (*ExternalPredictions, error) {
	name := filepath.Base(path)
	t, err := readAnyTable(ctx, path, name, 0)
	if err != nil {
		return nil, fmt.Errorf("predictions: %w", err)
	}
	idPos, err := t.mustCol(idCol)
	if err != nil {
		return nil, fmt.Errorf("predictions: %w", err)
	}
	predPos, err := t.mustCol(predCol)
	if err != nil {
		return nil, fmt.Errorf("predictions: %w", err)
	}
	out := &ExternalPredictions{ByID: make(map[string]float64, len(t.rows))}
	reject := func(r *tableRow, id, reason, detail string) {
		out.Rejected = append(out.Rejected, Rejection{Source: name, Row: r.num, ID: id, Reason: reason, Detail: detail})
	}
	for i := range t.rows {
		r := &t.rows[i]
		if p := t.rowProblem(r); p != nil {
			reject(r, "", p.Reason, p.Detail)
			continue
		}
		id, raw := r.field(idPos), r.field(predPos)
		if id == "" {
			reject(r, "", ReasonMalformedRow, fmt.Sprintf("column %s: empty id", idCol))
			continue
		}
		v, err := strconv.ParseFloat(raw, 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
			reject(r, id, ReasonInvalidPrediction, fmt.Sprintf("column %s: %q is not a finite number", predCol, raw))
			continue
		}
		if _, dup := out.ByID[id]; dup {
			reject(r, id, ReasonDuplicateID, fmt.Sprintf("column %s: id %q has an earlier prediction", idCol, id))
			continue
		}
		out.ByID[id] = v
	}
	return out, nil
}

// ReasonInvalidPrediction marks a predictions row whose value is not a
// finite number.
const ReasonInvalidPrediction = "invalid_prediction"
