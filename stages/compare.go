package stages

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
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
	commit  string   // the code's git commit (manifest versions)
	trained bool     // its last graph trained a model here
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
	run := &finishedRun{dir: dir, name: m.Name, cfg: cfg, result: res, preds: preds, stages: stageTimes(m), commit: m.Versions[revisionKey]}
	// Only a run whose last graph had a train stage has a history: its
	// folder may still link an older configuration's train output.
	if st, ok := m.Stage(stageTrain); ok && st.Status != pipeline.StageNotApplicable {
		run.trained = true
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
	return CompareRuns(ctx, runDirs, CompareOptions{Out: out, Title: title})
}

// CompareOptions say where a comparison goes and in which forms.
type CompareOptions struct {
	Out, Title string
	JSON, CSV  bool // also write compare.json, compare.csv
}

// CompareRuns is Compare with every option: with JSON and CSV it also
// writes compare.json and compare.csv (Files.Data lists them).
func CompareRuns(ctx context.Context, runDirs []string, o CompareOptions) (reports.Files, error) {
	out, title := o.Out, o.Title
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
		facts := factsOf(r.cfg)
		if !r.trained {
			// A model not trained here: the config's learning rate and
			// strategy describe nothing about it.
			facts = modelFacts{name: r.cfg.Report.ModelName}
		}
		cmp.Runs = append(cmp.Runs, reports.ComparedRun{
			Name: r.name, Model: facts.modelInfo(r.name), Analysis: r.result,
			History: r.history, Stages: r.stages, Notes: r.notes, Commit: r.commit,
		})
	}
	cmp.Differences = configDifferences(runs)
	for _, r := range runs[1:] {
		p, err := analysis.CompareTables(ctx, runs[0].name, runs[0].preds, r.name, r.preds, opts)
		if err != nil {
			return reports.Files{}, fmt.Errorf("compare %s with %s: %w", runs[0].name, r.name, err)
		}
		cmp.Paired = append(cmp.Paired, p)
	}
	analysis.AdjustFamily(cmp.Paired...)
	files, err := reports.WriteComparison(out, cmp, runs[0].cfg.Report.Options)
	if err != nil {
		return files, err
	}
	if o.JSON {
		p, err := reports.WriteComparisonJSON(out, cmp)
		if err != nil {
			return files, err
		}
		files.Data = append(files.Data, p)
	}
	if o.CSV {
		p, err := reports.WriteComparisonCSV(out, cmp)
		if err != nil {
			return files, err
		}
		files.Data = append(files.Data, p)
	}
	return files, nil
}

// configDifferences lists every resolved config key (defaults included)
// whose value differs between the runs, run.name aside, in key order.
func configDifferences(runs []*finishedRun) []reports.ConfigDifference {
	flat := make([]map[string]string, len(runs))
	keys := map[string]bool{}
	for i, r := range runs {
		flat[i] = map[string]string{}
		flatten("", config.Nested(r.cfg), flat[i])
		for k := range flat[i] {
			keys[k] = true
		}
	}
	var out []reports.ConfigDifference
	for _, k := range slices.Sorted(maps.Keys(keys)) {
		if k == "run.name" {
			continue
		}
		vals := make([]string, len(runs))
		same := true
		for i := range runs {
			v, ok := flat[i][k]
			if !ok {
				v = "(unset)"
			}
			vals[i] = v
			same = same && v == vals[0]
		}
		if !same {
			out = append(out, reports.ConfigDifference{Key: k, Values: vals})
		}
	}
	return out
}

// flatten writes the leaves of a nested config as dotted keys; lists and
// scalars are leaves, written as in a YAML flow (JSON for lists).
func flatten(prefix string, v any, out map[string]string) {
	switch x := v.(type) {
	case map[string]any:
		if len(x) == 0 {
			out[prefix] = "{}"
		}
		for k, sub := range x {
			key := k
			if prefix != "" {
				key = prefix + "." + k
			}
			flatten(key, sub, out)
		}
	case string:
		out[prefix] = x
	case nil:
		out[prefix] = "null"
	default:
		b, err := json.Marshal(x)
		if err != nil {
			out[prefix] = fmt.Sprint(x)
			return
		}
		out[prefix] = string(b)
	}
}
