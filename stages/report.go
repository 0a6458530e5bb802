package stages

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"time"

	"fairage/analysis"
	"fairage/dataset"
	"fairage/pipeline"
	"fairage/reports"
)

var reportDefaults = reports.DefaultOptions()

var reportSection = pipeline.Section{
	Name: "report",
	Doc:  "The run's report (package reports): report.md and a self-contained report.html with the summary, the study's results table, per-group tables with intervals, charts and run metadata.",
	Fields: []pipeline.Field{
		{Key: "report.title", Kind: pipeline.KindString, Default: "", Doc: "Report title (empty: \"fairage report: <run name>\")."},
		{Key: "report.model_name", Kind: pipeline.KindString, Default: "", Doc: "Model name in the study's results table (empty: the run name)."},
		{Key: "report.decimals", Kind: pipeline.KindInt, Default: reportDefaults.Decimals, Min: pipeline.Num(0), Max: pipeline.Num(10), Doc: "Decimals of metrics."},
		{Key: "report.max_scatter_points", Kind: pipeline.KindInt, Default: reportDefaults.MaxScatterPoints, Min: pipeline.Num(10), Doc: "Points drawn in the predicted-vs-true chart (larger sets are thinned evenly)."},
	},
}

func reportOptions(cfg *pipeline.Config) (reports.Options, error) {
	o := reports.DefaultOptions()
	o.Title = cfg.String("report.title")
	o.Decimals = cfg.Int("report.decimals")
	o.MaxScatterPoints = cfg.Int("report.max_scatter_points")
	return o, o.Validate()
}

// reportStage renders the run's report. It always runs, since it shows
// this run's manifest (names, durations, what was skipped).
type reportStage struct{ stageBase }

func newReportStage(inputs []string) reportStage {
	return reportStage{stageBase{name: stageReport, version: "1", sections: []string{"report", "model", "train"}, inputs: inputs}}
}

// Uncached makes the report rerun on every run.
func (reportStage) Uncached() bool { return true }

func (s reportStage) Run(ctx context.Context, sc *pipeline.StageContext) (pipeline.Stats, error) {
	opts, err := reportOptions(sc.Config)
	if err != nil {
		return pipeline.Stats{}, err
	}
	run, err := reportInput(sc)
	if err != nil {
		return pipeline.Stats{}, err
	}
	files, err := reports.Write(sc.OutDir, run, opts)
	if err != nil {
		return pipeline.Stats{}, err
	}
	fmt.Fprintf(sc.Log, "report: %s, %s\n", filepath.Join(sc.RunDir, stageReport, filepath.Base(files.HTML)), filepath.Base(files.Markdown))
	return pipeline.Stats{RowsOut: int64(len(files.Figures))}, nil
}

// reportInput gathers what the report shows from whichever inputs this
// graph has (an audit of external predictions has no training history).
func reportInput(sc *pipeline.StageContext) (reports.Run, error) {
	cfg := sc.Config
	run := reports.Run{Name: sc.Manifest.Name, Model: modelInfo(cfg, sc.Manifest.Name)}
	if _, ok := sc.Inputs[stageTrain]; ok {
		run.Notes = trainingNotes(cfg)
	}
	res, err := analysis.ReadSummary(inputPath(sc, stageAnalyze, summaryFile))
	if err != nil {
		return run, err
	}
	run.Analysis = res
	if run.Predictions, err = dataset.ReadPredictions(inputPath(sc, stageEvaluate, predictionsFile)); err != nil {
		return run, err
	}
	if _, ok := sc.Inputs[stageTrain]; ok {
		if run.History, err = readOptional(inputPath(sc, stageTrain, historyFile), dataset.ReadHistory); err != nil {
			return run, err
		}
	}
	if _, ok := sc.Inputs[stageBalance]; ok {
		if run.Distribution, err = dataset.ReadGroupCounts(inputPath(sc, stageBalance, distributionFile)); err != nil {
			return run, err
		}
	}
	if _, ok := sc.Inputs[stageAugment]; ok {
		run.ContactSheet = inputPath(sc, stageAugment, contactSheetFile)
	}
	run.Meta = metadata(sc)
	return run, nil
}

// readOptional reads an artifact that a stage may not have written (a
// training backend without per-epoch history).
func readOptional[T any](path string, read func(string) ([]T, error)) ([]T, error) {
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	return read(path)
}

func modelInfo(cfg *pipeline.Config, runName string) reports.ModelInfo {
	name := cfg.String("report.model_name")
	if name == "" {
		name = runName
	}
	return reports.ModelInfo{Name: name, LearningRate: cfg.Float("train.lr"), Strategy: cfg.String("train.strategy")}
}

func metadata(sc *pipeline.StageContext) reports.Metadata {
	m := sc.Manifest
	meta := reports.Metadata{Started: m.Started, Host: m.Host, ConfigText: sc.Config.YAML()}
	for _, st := range m.Stages {
		meta.Stages = append(meta.Stages, reports.StageInfo{Name: st.Name, Fingerprint: st.Fingerprint,
			Duration: time.Duration(st.DurationS * float64(time.Second)), Ran: st.Status == "ran", Reason: st.Reason})
	}
	for _, k := range slices.Sorted(maps.Keys(m.Versions)) {
		meta.Versions = append(meta.Versions, reports.Version{Name: k, Value: m.Versions[k]})
	}
	return meta
}

// trainingNotes says what a reader of the report must know about how the
// model was trained to read its numbers.
func trainingNotes(cfg *pipeline.Config) []string {
	const why = "fairage builds the ResNet from scratch and loads no pretrained weights, so a frozen backbone computes random features; " +
		"the original study froze a VGGFace2-pretrained backbone"
	switch cfg.String("train.strategy") {
	case "head_only":
		return []string{"Head-only training on a frozen, randomly initialised backbone measures little about the recipe: " + why + "."}
	case "head_then_all":
		return []string{"The head-only phase trains on a frozen, randomly initialised backbone: " + why + "; only the all-layers phase learns features."}
	}
	return nil
}
