// Package audit reads any predictions table (CSV, TSV, Parquet, Arrow) for
// a bias audit without images: which columns hold the true and predicted
// ages, the row id, the subject and the split, which columns are the
// attributes (any categorical column: skin tone, dataset, camera…), and
// how numeric attribute columns are binned. It owns the `audit:` config
// section and turns a file into a dataset.PredictionTable whose own
// attribute columns the analysis groups by, with every row it could not
// use listed with a reason. It does not analyse (package analysis) or
// render (package reports).
package audit

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"

	"fairage/internal/spec"
)

// Options is the `audit:` section. With File set, a run audits that table
// instead of ingesting images and running a model.
type Options struct {
	File    string `yaml:"file" path:"config" doc:"The predictions table to audit without images (.csv, .tsv, .parquet, .arrow): when set, the run is an audit of it (stages load, analyze, report) and the data, split, balance, augment, model, train and evaluate sections are not used. Attributes are analysis.attributes, which may name any column of the table."`
	YTrue   string `yaml:"y_true" doc:"Column with the true age in years."`
	YPred   string `yaml:"y_pred" doc:"Column with the predicted age in years."`
	ID      string `yaml:"id" doc:"Column with a row id, used to pair rows of two audits (pipeline compare); empty: the row number."`
	Subject string `yaml:"subject" doc:"Column identifying the person in each row, for the within-subject comparison (empty: none)."`
	Split   string `yaml:"split" doc:"Column with each row's split, so analysis.split can select rows (empty: none; analysis.split must then be all)."`
	// Bins bins numeric attribute columns.
	Bins map[string]Edges `yaml:"bins" doc:"Numeric attribute columns binned by inner edges, e.g. {brightness: [0.3, 0.6]} gives the ordered groups <0.3, 0.3-0.6, >=0.6; a value that is not a number is unknown."`
	// Missing are the texts read as unknown.
	Missing []string `yaml:"missing" doc:"Texts read as unknown in attribute columns and as missing in y_true/y_pred, besides empty cells and nulls (compared ignoring case)."`
	// MaxRejectFraction stops an audit of a table most of whose rows
	// cannot be read (likely the wrong column).
	MaxRejectFraction float64 `yaml:"max_reject_fraction" range:"[0,1]" doc:"Fail when more than this fraction of the rows cannot be loaded (a missing or non-numeric y_true or y_pred, a repeated id, a malformed line)."`
}

// DefaultOptions are the defaults: columns y_true and y_pred, no id,
// subject or split column, NA-style markers as unknown, at most 10% of
// rows rejected.
func DefaultOptions() Options {
	return Options{YTrue: "y_true", YPred: "y_pred", Missing: []string{"NA", "N/A", "null", "None"}, MaxRejectFraction: 0.1}
}

// Enabled reports whether the run is an audit of a table.
func (o *Options) Enabled() bool { return o.File != "" }

// Edges are the inner edges of a numeric column's bins.
type Edges []float64

// Labels names the bins of inner edges e1 < … < ek: "<e1", "e1-e2", …,
// ">=ek" (each bin is [lo, hi)).
func (e Edges) Labels() []string {
	f := func(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
	out := make([]string, 0, len(e)+1)
	out = append(out, "<"+f(e[0]))
	for i := 1; i < len(e); i++ {
		out = append(out, f(e[i-1])+"-"+f(e[i]))
	}
	return append(out, ">="+f(e[len(e)-1]))
}

// bin returns the index of v's bin.
func (e Edges) bin(v float64) int {
	i, _ := slices.BinarySearch(e, v)
	if i < len(e) && e[i] == v {
		i++ // an edge starts the bin above it
	}
	return i
}

// Validate checks the section's own rules (the columns are checked
// against the file by Check).
func (o *Options) Validate() error {
	errs := []error{spec.Check("audit", o)}
	if !o.Enabled() {
		return errors.Join(errs...)
	}
	if o.YTrue == "" {
		errs = append(errs, errors.New("audit.y_true: give the column with the true age"))
	}
	if o.YPred == "" {
		errs = append(errs, errors.New("audit.y_pred: give the column with the predicted age"))
	}
	if o.YTrue != "" && o.YTrue == o.YPred {
		errs = append(errs, fmt.Errorf("audit.y_pred: %q is also audit.y_true", o.YPred))
	}
	for _, col := range slices.Sorted(maps.Keys(o.Bins)) {
		e := o.Bins[col]
		if len(e) == 0 {
			errs = append(errs, fmt.Errorf("audit.bins.%s: give at least one edge", col))
			continue
		}
		for i, v := range e {
			if math.IsNaN(v) || math.IsInf(v, 0) || (i > 0 && v <= e[i-1]) {
				errs = append(errs, fmt.Errorf("audit.bins.%s: %v must be finite and strictly increasing", col, []float64(e)))
				break
			}
		}
	}
	if _, err := formatOf(o.File); err != nil {
		errs = append(errs, fmt.Errorf("audit.file: %w", err))
	}
	return errors.Join(errs...)
}

// Check checks the section and the audited attributes against the columns
// of the table (header), naming the key and listing the columns when one
// is missing.
func (o *Options) Check(header []string, name string, attributes []string) error {
	var errs []error
	has := func(key, col string) {
		if col != "" && findColumn(header, col) < 0 {
			errs = append(errs, fmt.Errorf("%s: %s has no column %q (columns: %s)", key, name, col, strings.Join(header, ", ")))
		}
	}
	has("audit.y_true", o.YTrue)
	has("audit.y_pred", o.YPred)
	has("audit.id", o.ID)
	has("audit.subject", o.Subject)
	has("audit.split", o.Split)
	for _, col := range slices.Sorted(maps.Keys(o.Bins)) {
		has("audit.bins."+col, col)
		if !slices.Contains(attributes, col) {
			errs = append(errs, fmt.Errorf("audit.bins.%s: %q is not among the audited attributes (analysis.attributes and intersections: %s)", col, col, strings.Join(attributes, ", ")))
		}
	}
	return errors.Join(errs...)
}

// AttributeColumns are the columns of header an audit may group by: every
// column but the ages.
func (o *Options) AttributeColumns(header []string) []string {
	yt, yp := findColumn(header, o.YTrue), findColumn(header, o.YPred)
	var out []string
	for i, h := range header {
		if i != yt && i != yp {
			out = append(out, h)
		}
	}
	return out
}

// findColumn returns the position of col in header: the exact name, or
// else the one name equal to it ignoring case; -1 when none.
func findColumn(header []string, col string) int {
	if i := slices.Index(header, col); i >= 0 {
		return i
	}
	found := -1
	for i, h := range header {
		if strings.EqualFold(strings.TrimSpace(h), strings.TrimSpace(col)) {
			if found >= 0 {
				return -1 // ambiguous
			}
			found = i
		}
	}
	return found
}
