package stages

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"

	"fairage/config"
	"fairage/dataset"
	"fairage/pipeline"
	"fairage/regressor"
)

// evaluateDef reads the evaluate section and, to open the model, its
// kind, where it comes from and the kind's own sub-section. A model this
// run trains comes from the train stage's output (its settings are in
// model.json there).
var evaluateDef = stageDef{
	name: stageEvaluate,
	reads: func(c *Config) []any {
		reads := []any{&c.Evaluate, &c.Model.Kind, &c.Model.From, &c.Model.Preset}
		if s, ok := c.Model.Kinds[string(c.Model.Kind)]; ok {
			reads = append(reads, s)
		}
		return reads
	},
	build: func(v *Config, d []config.Decl, g graphInfo) pipeline.Stage {
		inputs := []string{stageIngest, stageSplit}
		if g.trains {
			inputs = append(inputs, stageTrain)
		}
		var settings regressor.Settings
		if s, ok := v.Model.Kinds[string(v.Model.Kind)]; ok {
			settings = s
		}
		return evaluateStage{stageBase: stageBase{name: stageEvaluate, version: "2", decls: d, inputs: inputs},
			opts: v.Evaluate, kind: v.Model.Kind, from: v.Model.From, preset: string(v.Model.Preset), settings: settings, trained: g.trains}
	},
}

// evaluateStage predicts the evaluated splits with the configured model
// and writes the predictions table with each sample's attributes.
type evaluateStage struct {
	stageBase
	opts     EvaluateConfig
	kind     regressor.KindName
	from     string // model.from ("" when this run trains the model)
	preset   string // model.preset
	settings regressor.Settings
	trained  bool
}

// InputDigest fingerprints the model a run did not train (a file, or the
// files of a folder), so replacing it reruns the evaluation.
func (s evaluateStage) InputDigest(ctx context.Context) (string, error) {
	if s.trained {
		return "", nil
	}
	if s.preset != "" {
		p, err := regressor.LookupPreset(s.preset)
		if err != nil {
			return "", err
		}
		files, err := p.Files()
		if err != nil {
			return "", err
		}
		return pipeline.FilesDigest(files, 1<<30)
	}
	src, err := s.source()
	if err != nil {
		return "", err
	}
	st, err := os.Stat(src)
	if err != nil {
		return "", fmt.Errorf("model.from: %w", err)
	}
	files := []string{src}
	if st.IsDir() {
		// Every file below: a SavedModel keeps its weights in variables/.
		files = nil
		err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				files = append(files, p)
			}
			return err
		})
		if err != nil {
			return "", fmt.Errorf("model.from: %w", err)
		}
	}
	return pipeline.FilesDigest(files, 1<<30)
}

// source is where the kind opens the model from: a run folder becomes its
// model folder.
func (s evaluateStage) source() (string, error) {
	if s.kind == "resnet" {
		return modelDirOf(s.from)
	}
	return s.from, nil
}

func (s evaluateStage) Run(ctx context.Context, sc *pipeline.StageContext) (pipeline.Stats, error) {
	samples, err := splitSamples(sc)
	if err != nil {
		return pipeline.Stats{}, err
	}
	var chosen []dataset.Sample
	for i := range samples {
		if slices.Contains(s.opts.Splits, samples[i].Split) {
			chosen = append(chosen, samples[i])
		}
	}
	if len(chosen) == 0 {
		return pipeline.Stats{}, fmt.Errorf("evaluate.splits: %v selects no samples", s.opts.Splits)
	}
	from := inputPath(sc, stageTrain, modelDir)
	if !s.trained && s.preset == "" {
		if from, err = s.source(); err != nil {
			return pipeline.Stats{}, err
		}
		// A model trained by another run is that run's cached output:
		// never read it if its files changed since they were committed.
		if err := pipeline.VerifyOutput(ctx, from); err != nil {
			return pipeline.Stats{}, fmt.Errorf("model.from %s: %w; rerun the run that trained it", s.from, err)
		}
	}
	kind, err := regressor.Lookup(string(s.kind))
	if err != nil {
		return pipeline.Stats{}, err
	}
	var images *dataset.Packed
	if kind.ReadsImages {
		if images, err = dataset.OpenPacked(inputPath(sc, stageIngest, imagesFile)); err != nil {
			return pipeline.Stats{}, err
		}
		defer images.Close()
	}
	if s.preset != "" {
		from = ""
	}
	model, err := kind.Open(ctx, regressor.Env{From: from, Preset: s.preset, Settings: s.settings, BatchSize: s.opts.BatchSize,
		Threads: s.opts.Threads, Progress: sc.Progress, Log: sc.Log})
	if err != nil {
		return pipeline.Stats{}, err
	}
	defer model.Close()
	desc := model.Describe()
	if s.trained {
		desc.Source = "this run's train stage" // not its cache path, which varies
	}
	if images != nil && desc.InputSize != 0 && (desc.InputSize != images.Height() || desc.InputSize != images.Width()) {
		return pipeline.Stats{}, fmt.Errorf("evaluate: the model at %s takes %d×%d images but the data was ingested at %d×%d; set data.image_size: %d",
			from, desc.InputSize, desc.InputSize, images.Height(), images.Width(), desc.InputSize)
	}
	data, err := splitData(chosen, "", images)
	if err != nil {
		return pipeline.Stats{}, err
	}
	out, err := model.Predict(ctx, data)
	if err != nil {
		return pipeline.Stats{}, err
	}
	rejectedAt := map[int]bool{}
	var rejected []dataset.Rejection
	for _, r := range out.Rejected {
		if r.Index >= 0 {
			rejectedAt[r.Index] = true
		}
		rejected = append(rejected, r.Rejection)
	}
	var preds []dataset.Prediction
	for i := range chosen {
		if !rejectedAt[i] {
			preds = append(preds, predictionOf(&chosen[i], out.Ages[i]))
		}
	}
	if err := dataset.WriteRejections(outPath(sc, "predictions_rejected.arrow"), rejected); err != nil {
		return pipeline.Stats{}, err
	}
	if len(rejected) > 0 {
		fmt.Fprintf(sc.Log, "evaluate: warning: %d rows without a usable prediction (%s); see predictions_rejected.arrow\n",
			len(rejected), dataset.FormatReasonCounts(dataset.CountByReason(rejected)))
	}
	if len(preds) == 0 {
		return pipeline.Stats{}, fmt.Errorf("evaluate: the model gave no usable prediction for any of the %d evaluated samples", len(chosen))
	}
	if err := writeJSON(outPath(sc, "model.json"), desc); err != nil {
		return pipeline.Stats{}, err
	}
	if err := dataset.WritePredictions(outPath(sc, predictionsFile), preds); err != nil {
		return pipeline.Stats{}, err
	}
	return pipeline.Stats{RowsIn: int64(len(chosen)), RowsOut: int64(len(preds)), Rejected: int64(len(chosen) - len(preds))}, nil
}

// splitData lists the samples of one split ("" for all) as examples; with
// no images (a kind that reads none) examples carry only ids and targets.
func splitData(samples []dataset.Sample, split string, images *dataset.Packed) (regressor.Data, error) {
	var ex []regressor.Example
	for i := range samples {
		s := &samples[i]
		if split != "" && s.Split != split {
			continue
		}
		idx := -1
		if images != nil {
			j, ok := images.Index(s.ID)
			if !ok {
				return regressor.Data{}, fmt.Errorf("sample %q has no packed image", s.ID)
			}
			idx = j
		}
		ex = append(ex, regressor.Example{Index: idx, ID: s.ID, Target: s.Age, Weight: 1})
	}
	return regressor.Data{Images: images, Examples: ex}, nil
}

func predictionOf(s *dataset.Sample, yhat float64) dataset.Prediction {
	return dataset.Prediction{ID: s.ID, Split: s.Split, YTrue: s.Age, YPred: yhat,
		Gender: s.Gender, Ethnicity: s.Ethnicity, Expression: s.Expression, AgeGroup: s.AgeGroup, Subject: s.Subject}
}
