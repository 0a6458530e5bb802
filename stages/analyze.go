package stages

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"strings"

	"fairage/analysis"
	"fairage/config"
	"fairage/dataset"
	"fairage/pipeline"
)

// analyzeDef reads the analysis section, the seed its resampling derives
// from, and the run name its notebook copies carry in their run column.
var analyzeDef = stageDef{
	name: stageAnalyze,
	// With the infer stage, also infer.expression: the results say the
	// expression groups are inferred (and which classifier made them).
	reads: func(c *Config) []any {
		reads := []any{&c.Analysis, &c.Run.Seed, &c.Run.Name}
		if c.Infer.Expression.Enabled {
			reads = append(reads, &c.Infer.Expression)
		}
		return reads
	},
	build: func(v *Config, d []config.Decl, g graphInfo) pipeline.Stage {
		st := analyzeStage{stageBase: stageBase{name: stageAnalyze, version: "5", decls: d, inputs: []string{g.predictionsStage()}},
			opts: analysisOptions(v), run: v.Run.Name, from: g.predictionsStage()}
		if g.infer {
			// infer.json says whether any value was inferred at all.
			st.inputs = append(st.inputs, stageInfer)
			st.inferNote = v.Infer.Expression.Note()
		}
		return st
	},
}

// analysisOptions are the analysis section with its seeds derived from the
// run seed (compare uses the baseline run's).
func analysisOptions(c *Config) analysis.Options {
	o := c.Analysis
	o.Bootstrap.Seed = uint64(c.Run.Seed) + 1
	o.Permutation.Seed = uint64(c.Run.Seed) + 2
	return o
}

// analyzeStage audits the predictions for bias.
type analyzeStage struct {
	stageBase
	opts analysis.Options
	run  string // run.name, for the notebook copies' run column
	from string // the stage whose predictions are analysed
	// inferNote is how expression was inferred ("inferred by emotion,
	// threshold 0.5") when the infer stage ran; "" otherwise.
	inferNote string
}

// markInferred notes on each attribute result (plain or intersection)
// that has an inferred member how it was inferred.
func markInferred(res *analysis.Result, inferred map[string]string) {
	for i := range res.Attributes {
		a := &res.Attributes[i]
		var notes []string
		for _, m := range a.Members {
			if n, ok := inferred[m]; ok {
				if len(a.Members) > 1 {
					n = m + " " + n
				}
				notes = append(notes, n)
			}
		}
		a.Inferred = strings.Join(notes, "; ")
	}
}

func (s analyzeStage) Run(ctx context.Context, sc *pipeline.StageContext) (pipeline.Stats, error) {
	table, err := dataset.ReadPredictionTable(inputPath(sc, s.from, predictionsFile))
	if err != nil {
		return pipeline.Stats{}, err
	}
	res, err := analysis.AnalyzeTable(ctx, table, s.opts)
	if err != nil {
		return pipeline.Stats{}, err
	}
	if s.inferNote != "" {
		note, err := inferredNote(inputPath(sc, stageInfer, inferFile), s.inferNote)
		if err != nil {
			return pipeline.Stats{}, err
		}
		if note != "" {
			markInferred(res, map[string]string{dataset.AttrExpression: note})
		}
	}
	if err := analysis.WriteMetrics(outPath(sc, metricsFile), res); err != nil {
		return pipeline.Stats{}, err
	}
	if err := analysis.WriteMetricsJSON(outPath(sc, metricsJSONFile), res); err != nil {
		return pipeline.Stats{}, err
	}
	if err := analysis.WriteSummary(outPath(sc, summaryFile), res); err != nil {
		return pipeline.Stats{}, err
	}
	if err := writeNotebookCopies(sc.OutDir, s.run, table, res, &s.opts); err != nil {
		return pipeline.Stats{}, err
	}
	for _, w := range res.Warnings {
		fmt.Fprintf(sc.Log, "analyze: warning: %s\n", w)
	}
	fmt.Fprintf(sc.Log, "analyze: %s\n", headline(res))
	return pipeline.Stats{RowsIn: int64(len(table.Rows)), RowsOut: int64(res.Overall.N)}, nil
}

// Verify re-checks the gates every run, so a failing gate keeps failing
// the run even when the analysis itself is fresh.
func (s analyzeStage) Verify(_ context.Context, outDir string) error {
	res, err := analysis.ReadSummary(filepath.Join(outDir, summaryFile))
	if err != nil {
		return err
	}
	return res.GateError()
}

// headline is the one-line summary the analyze stage logs.
func headline(res *analysis.Result) string {
	var b strings.Builder
	fmt.Fprintf(&b, "n=%d MAE %.2f", res.Overall.N, res.Overall.MAE.Value)
	for _, a := range res.Attributes {
		key := a.Key
		if a.Inferred != "" {
			key += " (" + a.Inferred + ")"
		}
		if !a.Available {
			fmt.Fprintf(&b, ", %s bias unavailable", key)
			continue
		}
		if math.IsNaN(a.Bias.Value) {
			fmt.Fprintf(&b, ", %s bias undefined (%d scored group%s)", key, a.ScoredGroups, map[bool]string{true: "", false: "s"}[a.ScoredGroups == 1])
			continue
		}
		fmt.Fprintf(&b, ", %s bias %.3f", key, a.Bias.Value)
	}
	return b.String()
}
