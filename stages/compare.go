package stages

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"fairage/analysis"
	"fairage/config"
	"fairage/dataset"
	"fairage/pipeline"
	"fairage/reports"
)

// ReportHTML is where a run's HTML report lands inside its run folder.
var ReportHTML = filepath.Join(stageReport, "report.html")

// finishedRun is what comparison needs of one run folder.
type finishedRun struct {
	dir    string
	name   string
	cfg    *Config
	result *analysis.Result
	preds  *dataset.PredictionTable
	// history is the train stage's history; nil when the run trained
	// no model (evaluate-only, external predictions).
	history []dataset.EpochRecord
	stages  []reports.StageTime
	notes   []string // the run's report notes (trainingNotes)
}

func readFinishedRun(dir string) (*finishedRun, error) {
	m, err := pipeline.ReadManifest(dir)
	if err != nil {
		return nil, fmt.Errorf("compare %s: not a run folder: %w", dir, err)
	}
	cfg := DefaultConfig()
	if err := config.Decode(m.Config, cfg, filepath.Join(dir, pipeline.ManifestFile)); err != nil {
		return nil, fmt.Errorf("compare %s: the config its manifest records: %w", dir, err)
	}
	res, err := analysis.ReadSummary(filepath.Join(dir, stageAnalyze, summaryFile))
	if err != nil {
		return nil, fmt.Errorf("compare %s: run it through the analyze stage first: %w", dir, err)
	}
	from := stageEvaluate
	if cfg.Audit.Enabled() {
		from = stageLoad
	}
	preds, err := dataset.ReadPredictionTable(filepath.Join(dir, from, predictionsFile))
	if err != nil {
		return nil, fmt.Errorf("compare %s: %w", dir, err)
	}
	run := &finishedRun{dir: dir, name: m.Name, cfg: cfg, result: res, preds: preds, stages: stageTimes(m)}
	// Only a run whose last graph had a train stage has a history: its
	// folder may still link an older configuration's train output.
	if st, ok := m.Stage(stageTrain); ok && st.Status != pipeline.StageNotApplicable {
		run.notes = factsOf(cfg).trainingNotes()
		if run.history, err = readOptional(filepath.Join(dir, stageTrain, historyFile), dataset.ReadHistory); err != nil {
			return nil, fmt.Errorf("compare %s: %w", dir, err)
		}
	}
	return run, nil
}

// stageTimes are the wall times of the stages that ran or were reused from
// the cache, in pipeline order; a failed or interrupted stage is left out.
func stageTimes(m *pipeline.Manifest) []reports.StageTime {
	var out []reports.StageTime
	for _, s := range m.Stages {
		switch s.Status {
		case pipeline.StageRan:
			out = append(out, reports.StageTime{Name: s.Name, Seconds: s.DurationS})
		case pipeline.StageSkipped:
			out = append(out, reports.StageTime{Name: s.Name, Seconds: s.ComputedS, Cached: true})
		}
	}
	return out
}

// Compare writes a comparison report of finished runs into out: the study's
// results table with one row per run, paired permutation tests of every
// later run against the first (the baseline) on the samples both
// evaluated, Holm-corrected across all comparisons, then each group's MAE,
// the learning curves and each stage's wall time, per run. The analysis
// settings (split, groups, permutations) are the baseline's.
func Compare(ctx context.Context, runDirs []string, out, title string) (reports.Files, error) {
	if len(runDirs) < 2 {
		return reports.Files{}, fmt.Errorf("compare: give at least two run folders (got %d)", len(runDirs))
	}
	var runs []*finishedRun
	for _, d := range runDirs {
		r, err := readFinishedRun(d)
		if err != nil {
			return reports.Files{}, err
		}
		runs = append(runs, r)
	}
	opts := analysisOptions(runs[0].cfg)
	cmp := reports.Comparison{Title: title}
	if cmp.Title == "" {
		names := make([]string, len(runs))
		for i, r := range runs {
			names[i] = r.name
		}
		cmp.Title = "fairage comparison: " + strings.Join(names, ", ")
	}
	for _, r := range runs {
		cmp.Runs = append(cmp.Runs, reports.ComparedRun{
			Name: r.name, Model: factsOf(r.cfg).modelInfo(r.name), Analysis: r.result,
			History: r.history, Stages: r.stages, Notes: r.notes,
		})
	}
	for _, r := range runs[1:] {
		p, err := analysis.CompareTables(ctx, runs[0].name, runs[0].preds, r.name, r.preds, opts)
		if err != nil {
			return reports.Files{}, fmt.Errorf("compare %s with %s: %w", runs[0].name, r.name, err)
		}
		cmp.Paired = append(cmp.Paired, p)
	}
	analysis.AdjustFamily(cmp.Paired...)
	return reports.WriteComparison(out, cmp, runs[0].cfg.Report.Options)
}
