package stages

import (
	"context"
	"fmt"
	"strings"

	"fairage/dataset"
	"fairage/pipeline"
)

var splitDefaults = dataset.DefaultSplitOptions()

var splitSection = pipeline.Section{
	Name: "split",
	Doc:  "Train/valid/test assignment (package dataset): the dataset's own splits where it has them, otherwise stratified by attributes and age group, with near-duplicate groups kept on one side.",
	Fields: []pipeline.Field{
		{Key: "split.mode", Kind: pipeline.KindString, Default: dataset.SplitAuto, Enum: []string{dataset.SplitAuto, dataset.SplitSource, dataset.SplitStratified},
			Doc: "auto keeps the dataset's splits when every sample has one and stratifies when none has; source requires them; stratified always draws new ones."},
		{Key: "split.train", Kind: pipeline.KindFloat, Default: splitDefaults.Train, Min: pipeline.Num(0), Max: pipeline.Num(1), Doc: "Fraction of samples in the training split."},
		{Key: "split.valid", Kind: pipeline.KindFloat, Default: splitDefaults.Valid, Min: pipeline.Num(0), Max: pipeline.Num(1), Doc: "Fraction in the validation split (early stopping, reduce-on-plateau)."},
		{Key: "split.test", Kind: pipeline.KindFloat, Default: splitDefaults.Test, Min: pipeline.Num(0), Max: pipeline.Num(1), Doc: "Fraction in the test split (the audit's default)."},
		{Key: "split.stratify_by", Kind: pipeline.KindStrings, Default: splitDefaults.StratifyBy, Enum: dataset.Attributes, Doc: "Attributes whose combinations keep their proportions in every split."},
		{Key: "split.seed", Kind: pipeline.KindInt, Default: int(splitDefaults.Seed), Min: pipeline.Num(0), Doc: "Seed of the draw (separate from run.seed, so runs with different model seeds share the split and can be compared pairwise)."},
	},
}

func splitOptions(cfg *pipeline.Config) dataset.SplitOptions {
	return dataset.SplitOptions{
		Mode:  cfg.String("split.mode"),
		Train: cfg.Float("split.train"), Valid: cfg.Float("split.valid"), Test: cfg.Float("split.test"),
		StratifyBy: cfg.Strings("split.stratify_by"),
		Seed:       uint64(cfg.Int("split.seed")),
	}
}

// splitStage assigns every sample to train, valid or test.
type splitStage struct{ stageBase }

func newSplitStage() splitStage {
	return splitStage{stageBase{name: stageSplit, version: "1", sections: []string{"split"}, inputs: []string{stageIngest}}}
}

func (s splitStage) Run(ctx context.Context, sc *pipeline.StageContext) (pipeline.Stats, error) {
	samples, err := dataset.ReadSamples(inputPath(sc, stageIngest, samplesFile))
	if err != nil {
		return pipeline.Stats{}, err
	}
	out, err := dataset.Split(samples, splitOptions(sc.Config))
	if err != nil {
		return pipeline.Stats{}, fmt.Errorf("split: %w", err)
	}
	counts := map[string]int{}
	for i := range out {
		counts[out[i].Split]++
	}
	var parts []string
	for _, name := range []string{dataset.SplitTrain, dataset.SplitValid, dataset.SplitTest} {
		parts = append(parts, fmt.Sprintf("%s %d", name, counts[name]))
	}
	fmt.Fprintf(sc.Log, "split: %s\n", strings.Join(parts, ", "))
	if counts[dataset.SplitTrain] == 0 {
		return pipeline.Stats{}, fmt.Errorf("split: the training split is empty (split.train = %g)", sc.Config.Float("split.train"))
	}
	if err := dataset.WriteSamples(outPath(sc, samplesFile), out); err != nil {
		return pipeline.Stats{}, err
	}
	if err := writeJSON(outPath(sc, "split.json"), counts); err != nil {
		return pipeline.Stats{}, err
	}
	return pipeline.Stats{RowsIn: int64(len(samples)), RowsOut: int64(len(out))}, nil
}
