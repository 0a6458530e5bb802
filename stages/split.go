package stages

import (
	"context"
	"fmt"
	"strings"

	"fairage/config"
	"fairage/dataset"
	"fairage/pipeline"
)

var splitDef = stageDef{
	name:  stageSplit,
	reads: func(c *Config) []any { return []any{&c.Split} },
	build: func(v *Config, d []config.Decl, g graphInfo) pipeline.Stage {
		// Version 2: the samples table's subject column; a subject's images
		// share a split.
		from := g.samplesStage()
		return splitStage{stageBase{name: stageSplit, version: "2", decls: d, inputs: []string{from}}, v.Split, from}
	},
}

// splitStage assigns every sample to train, valid or test.
type splitStage struct {
	stageBase
	opts dataset.SplitOptions
	from string // the stage whose samples are split (ingest or infer)
}

func (s splitStage) Run(ctx context.Context, sc *pipeline.StageContext) (pipeline.Stats, error) {
	samples, err := dataset.ReadSamples(inputPath(sc, s.from, samplesFile))
	if err != nil {
		return pipeline.Stats{}, err
	}
	out, err := dataset.Split(samples, s.opts)
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
		return pipeline.Stats{}, fmt.Errorf("split: the training split is empty (split.train = %g)", s.opts.Train)
	}
	if err := dataset.WriteSamples(outPath(sc, samplesFile), out); err != nil {
		return pipeline.Stats{}, err
	}
	if err := writeJSON(outPath(sc, "split.json"), counts); err != nil {
		return pipeline.Stats{}, err
	}
	return pipeline.Stats{RowsIn: int64(len(samples)), RowsOut: int64(len(out))}, nil
}
