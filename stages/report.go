package stages

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"fairage/analysis"
	"fairage/config"
	"fairage/dataset"
	"fairage/pipeline"
	"fairage/regressor"
	"fairage/reports"
	"fairage/tfmodel"

	"go.yaml.in/yaml/v3"
)

// reportDef reads the report section and what the report says of the
// model (its name, learning rate, strategy and initial weights:
// modelInfo, trainingNotes; a preset and the dataset's adapter: whether
// the audited faces may be among the preset's training data).
var reportDef = stageDef{
	name: stageReport,
	reads: func(c *Config) []any {
		return []any{&c.Report, &c.Train.Strategy, &c.Train.Adam.LR, &c.Model.ResNet.Pretrained, &c.Model.Preset, &c.Data.Adapter}
	},
	build: func(v *Config, d []config.Decl, g graphInfo) pipeline.Stage {
		inputs := []string{g.predictionsStage(), stageAnalyze}
		if g.trains {
			inputs = append(inputs, stageBalance, stageAugment, stageTrain)
		}
		facts := factsOf(v)
		if !g.trains {
			// No model was trained here (an audited table, a foreign or
			// another run's model): this config's train section says
			// nothing about it.
			// The preset and the dataset stay: whether the audited faces
			// may be among the preset's training data.
			facts = modelFacts{name: v.Report.ModelName, preset: string(v.Model.Preset), dataset: string(v.Data.Adapter)}
		}
		return reportStage{stageBase: stageBase{name: stageReport, version: "2", decls: d, inputs: inputs},
			opts: v.Report.Options, facts: facts, from: g.predictionsStage()}
	},
}

// reportStage renders the run's report. It always runs, since it shows
// this run's manifest (names, durations, what was skipped).
type reportStage struct {
	stageBase
	opts  reports.Options
	facts modelFacts
	from  string // the stage whose predictions the charts draw
}

// modelFacts is what a report (or a comparison) says of how the model was
// made, from the settings the report stage declares.
type modelFacts struct {
	name       string // report.model_name
	lr         float64
	strategy   tfmodel.Strategy
	pretrained tfmodel.Pretrained // model.pretrained
	preset     string             // model.preset
	dataset    string             // data.adapter
}

func factsOf(c *Config) modelFacts {
	return modelFacts{name: c.Report.ModelName, lr: c.Train.Adam.LR, strategy: c.Train.Strategy,
		pretrained: c.Model.ResNet.Pretrained, preset: string(c.Model.Preset), dataset: string(c.Data.Adapter)}
}

// Uncached makes the report rerun on every run.
func (reportStage) Uncached() bool { return true }

func (s reportStage) Run(ctx context.Context, sc *pipeline.StageContext) (pipeline.Stats, error) {
	opts := s.opts
	run, err := reportInput(sc, s.facts, s.from)
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
func reportInput(sc *pipeline.StageContext, facts modelFacts, from string) (reports.Run, error) {
	run := reports.Run{Name: sc.Manifest.Name, Model: facts.modelInfo(sc.Manifest.Name)}
	if _, ok := sc.Inputs[stageTrain]; ok {
		run.Notes = facts.trainingNotes()
	}
	run.Notes = append(run.Notes, facts.overlapNotes()...)
	res, err := analysis.ReadSummary(inputPath(sc, stageAnalyze, summaryFile))
	if err != nil {
		return run, err
	}
	run.Analysis = res
	table, err := dataset.ReadPredictionTable(inputPath(sc, from, predictionsFile))
	if err != nil {
		return run, err
	}
	run.Predictions, run.Extra = table.Rows, table.ExtraNames()
	if from == stageEvaluate {
		note, err := modelNote(inputPath(sc, stageEvaluate, "model.json"))
		if err != nil {
			return run, err
		}
		if note != "" {
			run.Notes = append(run.Notes, note)
		}
	}
	if from == stageLoad {
		note, err := loadNote(sc)
		if err != nil {
			return run, err
		}
		if note != "" {
			run.Notes = append(run.Notes, note)
		}
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

// modelInfo names the model for the study's table (report.model_name,
// train.lr, train.strategy).
func (f modelFacts) modelInfo(runName string) reports.ModelInfo {
	name := f.name
	if name == "" {
		name = runName
	}
	return reports.ModelInfo{Name: name, LearningRate: f.lr, Strategy: string(f.strategy)}
}

func metadata(sc *pipeline.StageContext) reports.Metadata {
	m := sc.Manifest
	meta := reports.Metadata{Started: m.Started, Host: m.Host, ConfigText: manifestYAML(m.Config)}
	for _, st := range m.Stages {
		meta.Stages = append(meta.Stages, reports.StageInfo{Name: st.Name, Fingerprint: st.Fingerprint,
			Duration: time.Duration(st.DurationS * float64(time.Second)), Status: string(st.Status), Reason: st.Reason})
	}
	for _, k := range slices.Sorted(maps.Keys(m.Versions)) {
		meta.Versions = append(meta.Versions, reports.Version{Name: k, Value: m.Versions[k]})
	}
	return meta
}

// trainingNotes says what a reader of the report must know about how the
// model was trained to read its numbers.
func (f modelFacts) trainingNotes() []string {
	if f.pretrained != "" && f.pretrained != "none" {
		return nil // the frozen backbone carries pretrained features, as in the study
	}
	const why = "fairage builds the ResNet from scratch and loads no pretrained weights, so a frozen backbone computes random features; " +
		"the original study froze a VGGFace2-pretrained backbone"
	switch f.strategy {
	case "head_only":
		return []string{"Head-only training on a frozen, randomly initialised backbone measures little about the recipe: " + why + "."}
	case "head_then_all":
		return []string{"The head-only phase trains on a frozen, randomly initialised backbone: " + why + "; only the all-layers phase learns features."}
	}
	return nil
}

// overlapNotes warns when a packaged model was trained on the dataset
// being audited: its errors there are not held out and flatter it.
func (f modelFacts) overlapNotes() []string {
	if f.preset == "" || f.dataset == "" {
		return nil
	}
	p, err := regressor.LookupPreset(f.preset)
	if err != nil || !slices.Contains(p.TrainedOn, f.dataset) {
		return nil
	}
	return []string{fmt.Sprintf("The packaged model %s is listed as trained on %s (its training data, stated or inferred: %s; see the README's presets): "+
		"some audited faces may have been among its training images, so its errors here may not be held out and may flatter it; "+
		"compare it with models trained here only on other data with care.", f.preset, f.dataset, strings.Join(p.TrainedOn, ", "))}
}

// manifestYAML renders the resolved config a manifest records.
func manifestYAML(m map[string]any) string {
	b, err := yaml.Marshal(m)
	if err != nil {
		return "# " + err.Error()
	}
	return string(b)
}

// modelNote says which model made a foreign model's predictions and how
// it read its input (evaluate's model.json), because the declared
// preprocessing and decoding decide the result; "" for the native kind
// and for predictions files, whose reports say how they were made.
func modelNote(path string) (string, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	var d regressor.Description
	if err := json.Unmarshal(b, &d); err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	if d.Kind == "resnet" || d.Preprocessing == "" {
		return "", nil
	}
	what := d.Source
	if d.Preset != "" {
		what = "preset " + d.Preset
	}
	note := fmt.Sprintf("Model: kind %s, %s; input: %s; output: %s", d.Kind, what, d.Preprocessing, d.Output)
	if d.Runtime != "" {
		note += "; run with " + d.Runtime
	}
	if d.Digest != "" {
		note += "; sha256 " + d.Digest[:min(12, len(d.Digest))]
	}
	return note + ".", nil
}
