package regressor

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"

	"fairage/dataset"
	"fairage/internal/spec"
)

// PredictionsSettings are the settings of kind predictions: which columns
// of the file (model.from) hold the sample id and the predicted age.
type PredictionsSettings struct {
	IDColumn string `yaml:"id_column" doc:"Column with the sample id (as in the samples table: the file name for utkface)."`
	Column   string `yaml:"column" doc:"Column with the predicted age in years."`
}

// Validate checks the settings (model.predictions.*).
func (s *PredictionsSettings) Validate() error {
	errs := []error{spec.Check("model.predictions", s)}
	if s.IDColumn == "" {
		errs = append(errs, errors.New("model.predictions.id_column: give the id column's name"))
	}
	if s.Column == "" {
		errs = append(errs, errors.New("model.predictions.column: give the prediction column's name"))
	}
	return errors.Join(errs...)
}

func init() {
	Register(Kind{
		Name: "predictions",
		Doc:  "An external model's predictions file (model.from: .csv, .tsv or .parquet with an id and a prediction column): audit any model without running it here.",
		Settings: func() Settings {
			return &PredictionsSettings{IDColumn: "id", Column: "prediction"}
		},
		Open: openPredictions,
	})
}

// predictionsFile is a Model whose predictions were made elsewhere.
type predictionsFile struct {
	path     string
	settings PredictionsSettings
	ext      *dataset.ExternalPredictions
}

func openPredictions(ctx context.Context, env Env) (Model, error) {
	if env.From == "" {
		return nil, errors.New("model.from: kind predictions needs the predictions file (.csv, .tsv, .parquet)")
	}
	s, ok := env.Settings.(*PredictionsSettings)
	if !ok {
		return nil, fmt.Errorf("model.predictions: settings of type %T", env.Settings)
	}
	ext, err := dataset.ReadExternalPredictions(ctx, env.From, s.IDColumn, s.Column)
	if err != nil {
		return nil, fmt.Errorf("model.from: %w", err)
	}
	return &predictionsFile{path: env.From, settings: *s, ext: ext}, nil
}

// Predict looks every example up by id. Examples without a prediction and
// file rows that match no example are rejected with a reason.
func (p *predictionsFile) Predict(_ context.Context, data Data) (Output, error) {
	out := Output{Ages: make([]float64, len(data.Examples))}
	name := filepath.Base(p.path)
	known := make(map[string]bool, len(data.Examples))
	for i, ex := range data.Examples {
		known[ex.ID] = true
		v, ok := p.ext.ByID[ex.ID]
		if !ok {
			out.Ages[i] = nan()
			out.Rejected = append(out.Rejected, Rejection{Index: i, Rejection: dataset.Rejection{Source: name, ID: ex.ID,
				Reason: ReasonNoPrediction, Detail: "the predictions file has no row for this sample"}})
			continue
		}
		out.Ages[i] = v
	}
	for _, r := range p.ext.Rejected {
		out.Rejected = append(out.Rejected, Rejection{Index: -1, Rejection: r})
	}
	for _, id := range slices.Sorted(func(yield func(string) bool) {
		for id := range p.ext.ByID {
			if !yield(id) {
				return
			}
		}
	}) {
		if !known[id] {
			out.Rejected = append(out.Rejected, Rejection{Index: -1, Rejection: dataset.Rejection{Source: name, ID: id, Reason: ReasonUnknownID,
				Detail: "id not among the evaluated samples (wrong id column, or a sample in another split or rejected at ingest)"}})
		}
	}
	if len(data.Examples) > 0 && countIndexed(out.Rejected) == len(data.Examples) {
		return out, fmt.Errorf("model.from: %s has no prediction for any of the %d evaluated samples (ids look like %q)", p.path, len(data.Examples), data.Examples[0].ID)
	}
	return out, nil
}

func countIndexed(rs []Rejection) int {
	n := 0
	for _, r := range rs {
		if r.Index >= 0 {
			n++
		}
	}
	return n
}

// Describe names the file.
func (p *predictionsFile) Describe() Description {
	return Description{Kind: "predictions", Source: p.path,
		Output: fmt.Sprintf("column %s (years), joined on %s", p.settings.Column, p.settings.IDColumn)}
}

// Close does nothing.
func (p *predictionsFile) Close() error { return nil }

// Rejection reasons of predictions.
const (
	// ReasonNoPrediction: an evaluated sample the model gave no prediction.
	ReasonNoPrediction = "no_prediction"
	// ReasonUnknownID: a prediction for an id that is not evaluated.
	ReasonUnknownID = "unknown_id"
	// ReasonNonFinite: the model's output is NaN or infinite.
	ReasonNonFinite = "non_finite_prediction"
)
