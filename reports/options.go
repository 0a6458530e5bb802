package reports

import "fairage/internal/spec"

// Options configures the reports (the `report:` YAML section). Start from
// DefaultOptions.
type Options struct {
	// Title heads the report (`report.title`); "" gives
	// "fairage report: <run name>".
	Title string `yaml:"title" doc:"Report title (empty: \"fairage report: <run name>\")."`
	// Decimals is the number of decimals of metrics (`report.decimals`).
	Decimals int `yaml:"decimals" range:"[0,10]" doc:"Decimals of metrics."`
	// MaxScatterPoints caps the points of the predicted-vs-true chart
	// (`report.max_scatter_points`); larger tables are thinned evenly so
	// the page stays light.
	MaxScatterPoints int `yaml:"max_scatter_points" range:"[10,inf)" doc:"Points drawn in the predicted-vs-true chart (larger sets are thinned evenly)."`
}

// DefaultOptions returns the defaults: 3 decimals, 2000 scatter points.
func DefaultOptions() Options {
	return Options{Decimals: 3, MaxScatterPoints: 2000}
}

// Validate checks the options, naming the YAML keys.
func (o *Options) Validate() error { return spec.Check("report", o) }
