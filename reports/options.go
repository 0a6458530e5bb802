package reports

import (
	"errors"
	"fmt"
)

// Options configures the reports (the `report:` YAML section). Start from
// DefaultOptions.
type Options struct {
	// Title heads the report (`report.title`); "" gives
	// "fairage report: <run name>".
	Title string
	// Decimals is the number of decimals of metrics (`report.decimals`).
	Decimals int
	// MaxScatterPoints caps the points of the predicted-vs-true chart
	// (`report.max_scatter_points`); larger tables are thinned evenly so
	// the page stays light.
	MaxScatterPoints int
}

// DefaultOptions returns the defaults: 3 decimals, 2000 scatter points.
func DefaultOptions() Options {
	return Options{Decimals: 3, MaxScatterPoints: 2000}
}

// Validate checks the options, naming the YAML keys.
func (o *Options) Validate() error {
	var errs []error
	if o.Decimals < 0 || o.Decimals > 10 {
		errs = append(errs, fmt.Errorf("report.decimals: %d is outside [0,10]", o.Decimals))
	}
	if o.MaxScatterPoints < 1 {
		errs = append(errs, fmt.Errorf("report.max_scatter_points: %d must be ≥ 1", o.MaxScatterPoints))
	}
	return errors.Join(errs...)
}
