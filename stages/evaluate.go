package stages

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"fairage/dataset"
	"fairage/pipeline"
	"fairage/tfmodel"
)

var evaluateSection = pipeline.Section{
	Name: "evaluate",
	Doc:  "Prediction over the evaluated splits, producing the predictions table the analysis audits. The model comes from this run's train stage, from another run (evaluate.model: audit a trained model on another dataset without retraining), or from an external predictions file (evaluate.backend: predictions: audit any model).",
	Fields: []pipeline.Field{
		{Key: "evaluate.backend", Kind: pipeline.KindString, Default: "model", Enum: []string{"model", "predictions"}, Doc: "model predicts with the ResNet; predictions reads an external model's predictions file (no training stages run)."},
		{Key: "evaluate.splits", Kind: pipeline.KindStrings, Default: []string{dataset.SplitValid, dataset.SplitTest}, Enum: []string{dataset.SplitTrain, dataset.SplitValid, dataset.SplitTest}, Doc: "Splits to predict."},
		{Key: "evaluate.batch_size", Kind: pipeline.KindInt, Default: 64, Min: pipeline.Num(1), Max: pipeline.Num(4096), Doc: "Images per prediction step."},
		{Key: "evaluate.model", Kind: pipeline.KindString, Default: "", Doc: "A trained run folder (runs/<name>) or model folder to evaluate instead of training one; the balance, augment and train stages are then left out."},
		{Key: "evaluate.predictions.path", Kind: pipeline.KindString, Default: "", Doc: "External predictions file (.csv, .tsv, .parquet) for backend predictions."},
		{Key: "evaluate.predictions.id_column", Kind: pipeline.KindString, Default: "id", Doc: "Column with the sample id (as in the samples table: the file name for utkface)."},
		{Key: "evaluate.predictions.column", Kind: pipeline.KindString, Default: "prediction", Doc: "Column with the predicted age in years."},
	},
}

// evaluateMode is which of the three backends a config selects.
type evaluateMode int

const (
	evalTrained  evaluateMode = iota // the model this run trains
	evalExternal                     // a model trained by another run
	evalFile                         // an external predictions file
)

func evaluationMode(cfg *pipeline.Config) evaluateMode {
	switch {
	case cfg.String("evaluate.backend") == "predictions":
		return evalFile
	case cfg.String("evaluate.model") != "":
		return evalExternal
	}
	return evalTrained
}

// evaluateStage predicts the evaluated splits and writes the predictions
// table with each sample's attributes.
type evaluateStage struct {
	stageBase
	mode evaluateMode
}

func newEvaluateStage(mode evaluateMode) evaluateStage {
	inputs := []string{stageIngest, stageSplit}
	if mode == evalTrained {
		inputs = append(inputs, stageTrain)
	}
	return evaluateStage{stageBase{name: stageEvaluate, version: "1", sections: []string{"evaluate"}, inputs: inputs}, mode}
}

// InputDigest fingerprints the external model or predictions file, so
// replacing it reruns the evaluation.
func (s evaluateStage) InputDigest(ctx context.Context, cfg *pipeline.Config) (string, error) {
	switch s.mode {
	case evalFile:
		return pipeline.FilesDigest([]string{cfg.Path("evaluate.predictions.path")}, 1<<30)
	case evalExternal:
		dir, err := externalModelDir(cfg)
		if err != nil {
			return "", err
		}
		files, _ := filepath.Glob(filepath.Join(dir, "*"))
		return pipeline.FilesDigest(files, 1<<30)
	}
	return "", nil
}

// externalModelDir accepts a run folder (runs/<name>) or a model folder.
func externalModelDir(cfg *pipeline.Config) (string, error) {
	p := cfg.Path("evaluate.model")
	for _, dir := range []string{filepath.Join(p, stageTrain, modelDir), p} {
		if _, err := os.Stat(filepath.Join(dir, "model.json")); err == nil {
			return dir, nil
		}
	}
	return "", fmt.Errorf("evaluate.model: %s holds no trained model (expected a run folder with train/%s/model.json, or a model folder)", p, modelDir)
}

func (s evaluateStage) Run(ctx context.Context, sc *pipeline.StageContext) (pipeline.Stats, error) {
	cfg := sc.Config
	samples, err := splitSamples(sc)
	if err != nil {
		return pipeline.Stats{}, err
	}
	wanted := map[string]bool{}
	for _, sp := range cfg.Strings("evaluate.splits") {
		wanted[sp] = true
	}
	var chosen []dataset.Sample
	for i := range samples {
		if wanted[samples[i].Split] {
			chosen = append(chosen, samples[i])
		}
	}
	if len(chosen) == 0 {
		return pipeline.Stats{}, fmt.Errorf("evaluate.splits: %v selects no samples", cfg.Strings("evaluate.splits"))
	}
	var preds []dataset.Prediction
	if s.mode == evalFile {
		preds, err = s.fromFile(ctx, sc, chosen)
	} else {
		preds, err = s.fromModel(ctx, sc, chosen)
	}
	if err != nil {
		return pipeline.Stats{}, err
	}
	if err := dataset.WritePredictions(outPath(sc, predictionsFile), preds); err != nil {
		return pipeline.Stats{}, err
	}
	return pipeline.Stats{RowsIn: int64(len(chosen)), RowsOut: int64(len(preds)), Rejected: int64(len(chosen) - len(preds))}, nil
}

func (s evaluateStage) fromModel(ctx context.Context, sc *pipeline.StageContext, chosen []dataset.Sample) ([]dataset.Prediction, error) {
	dir := inputPath(sc, stageTrain, modelDir)
	if s.mode == evalExternal {
		var err error
		if dir, err = externalModelDir(sc.Config); err != nil {
			return nil, err
		}
	}
	images, err := dataset.OpenPacked(inputPath(sc, stageIngest, imagesFile))
	if err != nil {
		return nil, err
	}
	defer images.Close()
	model, err := tfmodel.Load(dir, tfmodel.WithBatchSize(sc.Config.Int("evaluate.batch_size")),
		tfmodel.WithThreads(sc.Config.Int("train.threads.intra_op"), sc.Config.Int("train.threads.inter_op")), tfmodel.WithProgress(sc.Progress))
	if err != nil {
		return nil, err
	}
	defer model.Close()
	if size := model.Config().InputSize; size != images.Height() || size != images.Width() {
		return nil, fmt.Errorf("evaluate: the model at %s takes %d×%d images but the data was ingested at %d×%d; set data.image_size: %d",
			dir, size, size, images.Height(), images.Width(), size)
	}
	data, err := splitData(chosen, "", images)
	if err != nil {
		return nil, err
	}
	yhat, err := model.Predict(ctx, data)
	if err != nil {
		return nil, err
	}
	preds := make([]dataset.Prediction, len(chosen))
	for i := range chosen {
		preds[i] = predictionOf(&chosen[i], yhat[i])
	}
	return preds, nil
}

func (s evaluateStage) fromFile(ctx context.Context, sc *pipeline.StageContext, chosen []dataset.Sample) ([]dataset.Prediction, error) {
	cfg := sc.Config
	path := cfg.Path("evaluate.predictions.path")
	if path == "" {
		return nil, errors.New("evaluate.predictions.path: backend predictions needs the predictions file")
	}
	ext, err := dataset.ReadExternalPredictions(ctx, path, cfg.String("evaluate.predictions.id_column"), cfg.String("evaluate.predictions.column"))
	if err != nil {
		return nil, err
	}
	known := make(map[string]bool, len(chosen))
	var preds []dataset.Prediction
	var missing []string
	for i := range chosen {
		known[chosen[i].ID] = true
		if v, ok := ext.ByID[chosen[i].ID]; ok {
			preds = append(preds, predictionOf(&chosen[i], v))
		} else {
			missing = append(missing, chosen[i].ID)
		}
	}
	rejected := ext.Rejected
	for id := range ext.ByID {
		if !known[id] {
			rejected = append(rejected, dataset.Rejection{Source: filepath.Base(path), ID: id, Reason: "unknown_id",
				Detail: "id not among the evaluated samples (wrong id column, or a sample in another split or rejected at ingest)"})
		}
	}
	if err := dataset.WriteRejections(outPath(sc, "predictions_rejected.arrow"), rejected); err != nil {
		return nil, err
	}
	if len(rejected) > 0 {
		fmt.Fprintf(sc.Log, "evaluate: warning: %d prediction rows not used (%s); see predictions_rejected.arrow\n",
			len(rejected), dataset.FormatReasonCounts(dataset.CountByReason(rejected)))
	}
	if len(missing) > 0 {
		fmt.Fprintf(sc.Log, "evaluate: warning: %d of %d evaluated samples have no prediction (first: %s); they are left out of the audit\n",
			len(missing), len(chosen), missing[0])
	}
	if len(preds) == 0 {
		return nil, fmt.Errorf("evaluate.predictions.path: %s has no prediction for any of the %d evaluated samples (ids look like %q)", path, len(chosen), chosen[0].ID)
	}
	return preds, nil
}

func predictionOf(s *dataset.Sample, yhat float64) dataset.Prediction {
	return dataset.Prediction{ID: s.ID, Split: s.Split, YTrue: s.Age, YPred: yhat,
		Gender: s.Gender, Ethnicity: s.Ethnicity, Expression: s.Expression, AgeGroup: s.AgeGroup}
}
