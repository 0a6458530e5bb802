package stages

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"fairage/audit"
	"fairage/config"
	"fairage/dataset"
	"fairage/pipeline"
)

// stageLoad reads the audited table (audit.file) in place of ingest,
// split and evaluate.
const stageLoad = "load"

// loadRejectedFile lists the rows of the audited table that could not be
// loaded; loadSummaryFile counts what was loaded.
const (
	loadRejectedFile = "rejected.arrow"
	loadSummaryFile  = "load.json"
)

// loadDef reads the audit section and which attributes the analysis
// groups by (only those columns are loaded).
var loadDef = stageDef{
	name: stageLoad,
	reads: func(c *Config) []any {
		return []any{&c.Audit, &c.Analysis.Attributes, &c.Analysis.Intersections}
	},
	build: func(v *Config, d []config.Decl, _ graphInfo) pipeline.Stage {
		return loadStage{stageBase: stageBase{name: stageLoad, version: "1", decls: d}, opts: v.Audit, attrs: auditedAttributes(v)}
	},
}

// auditedAttributes lists the attribute columns the analysis groups by,
// singles then intersection members, each once.
func auditedAttributes(c *Config) []string {
	var out []string
	add := func(a string) {
		if !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	for _, a := range c.Analysis.Attributes {
		add(a)
	}
	for _, in := range c.Analysis.Intersections {
		for _, a := range in {
			add(a)
		}
	}
	return out
}

// loadStage turns the audited table into the predictions table the
// analysis reads, with the table's attribute columns beside it.
type loadStage struct {
	stageBase
	opts  audit.Options
	attrs []string
}

// InputDigest fingerprints the audited file, so a changed file reruns
// the audit.
func (s loadStage) InputDigest(context.Context) (string, error) {
	return pipeline.FilesDigest([]string{s.opts.File}, 1<<30)
}

// loadSummary is load.json.
type loadSummary struct {
	File       string         `json:"file"`
	Rows       int64          `json:"rows"`
	Loaded     int            `json:"loaded"`
	Rejected   map[string]int `json:"rejected"`
	Columns    []string       `json:"columns"`
	Attributes []string       `json:"attributes"`
	NotNumbers map[string]int `json:"not_numbers,omitempty"`
}

func (s loadStage) Run(ctx context.Context, sc *pipeline.StageContext) (pipeline.Stats, error) {
	t, err := audit.Read(ctx, &s.opts, s.attrs)
	if err != nil {
		return pipeline.Stats{}, err
	}
	if err := dataset.WritePredictionTable(outPath(sc, predictionsFile), t.Predictions); err != nil {
		return pipeline.Stats{}, err
	}
	if err := dataset.WriteRejections(outPath(sc, loadRejectedFile), t.Rejected); err != nil {
		return pipeline.Stats{}, err
	}
	counts := dataset.CountByReason(t.Rejected)
	sum := loadSummary{File: filepath.Base(s.opts.File), Rows: t.Rows, Loaded: len(t.Predictions.Rows), Rejected: map[string]int{},
		Columns: t.Columns, Attributes: t.Predictions.ExtraNames(), NotNumbers: t.NotNumbers}
	for _, c := range counts {
		sum.Rejected[c.Reason] = c.Count
	}
	if err := writeJSON(outPath(sc, loadSummaryFile), sum); err != nil {
		return pipeline.Stats{}, err
	}
	fmt.Fprintf(sc.Log, "load: %s: %d rows, %d loaded", filepath.Base(s.opts.File), t.Rows, len(t.Predictions.Rows))
	if len(t.Rejected) > 0 {
		fmt.Fprintf(sc.Log, ", %d rejected (%s; see %s/%s)", len(t.Rejected), dataset.FormatReasonCounts(counts), stageLoad, loadRejectedFile)
	}
	fmt.Fprintln(sc.Log)
	for _, col := range slices.Sorted(mapKeys(t.NotNumbers)) {
		fmt.Fprintf(sc.Log, "load: warning: %d values of %s are not numbers; they are analysed as unknown\n", t.NotNumbers[col], col)
	}
	return pipeline.Stats{RowsIn: t.Rows, RowsOut: int64(len(t.Predictions.Rows)), Rejected: int64(len(t.Rejected))}, nil
}

func mapKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// loadNote is what the report says of rows the load stage left out.
func loadNote(sc *pipeline.StageContext) (string, error) {
	rej, err := dataset.ReadRejections(inputPath(sc, stageLoad, loadRejectedFile))
	if err != nil || len(rej) == 0 {
		return "", err
	}
	r := rej[0]
	return fmt.Sprintf("%d rows of the audited table could not be loaded and are in no number (%s; first: row %d, %s); they are listed in %s/%s.",
		len(rej), dataset.FormatReasonCounts(dataset.CountByReason(rej)), r.Row, r.Detail, stageLoad, loadRejectedFile), nil
}

// checkAudit checks an audit's columns against the audited table's header
// and lets the analysis options group by them.
func (c *Config) checkAudit() []error {
	if !c.Audit.Enabled() {
		return nil
	}
	header, err := audit.Header(c.Audit.File)
	if err != nil {
		if !strings.HasPrefix(err.Error(), "audit.file:") {
			err = fmt.Errorf("audit.file: %w", err)
		}
		return []error{err}
	}
	name := filepath.Base(c.Audit.File)
	c.Analysis.Columns, c.Analysis.ColumnsSource = c.Audit.AttributeColumns(header), name
	var errs []error
	if err := c.Audit.Check(header, name, auditedAttributes(c)); err != nil {
		errs = append(errs, err)
	}
	if c.Audit.Split == "" && c.Analysis.Split != "" && c.Analysis.Split != "all" {
		errs = append(errs, fmt.Errorf("analysis.split: %s selects rows by their split, but the audited table has none; set audit.split to its split column, or analysis.split: all", c.Analysis.Split))
	}
	return errs
}
