package stages

import (
	"context"
	"fmt"

	"fairage/balance"
	"fairage/config"
	"fairage/dataset"
	"fairage/pipeline"
)

var balanceDef = stageDef{
	name:  stageBalance,
	reads: func(c *Config) []any { return []any{&c.Balance, &c.Run.Seed} },
	build: func(v *Config, d []config.Decl, _ graphInfo) pipeline.Stage {
		opts := v.Balance
		opts.Seed = uint64(v.Run.Seed)
		return balanceStage{stageBase{name: stageBalance, version: "1", decls: d, inputs: []string{stageSplit}}, opts}
	},
}

// balanceStage writes the training plan: which samples are drawn, how
// often, with which augmentation seed and loss weight.
type balanceStage struct {
	stageBase
	opts balance.Options
}

// balanceReport is balance.json: the notes the report shows.
type balanceReport struct {
	Strategy string         `json:"strategy"`
	By       []string       `json:"by"`
	Mode     string         `json:"mode"`
	Train    int            `json:"train_samples"`
	PlanRows int            `json:"plan_rows"`
	Notes    []balance.Note `json:"notes"`
}

func (s balanceStage) Run(ctx context.Context, sc *pipeline.StageContext) (pipeline.Stats, error) {
	opts := s.opts
	samples, err := splitSamples(sc)
	if err != nil {
		return pipeline.Stats{}, err
	}
	res, err := balance.Plan(ctx, samples, opts)
	if err != nil {
		return pipeline.Stats{}, err
	}
	train := 0
	for i := range samples {
		if samples[i].Split == dataset.SplitTrain {
			train++
		}
	}
	for _, n := range res.Notes {
		fmt.Fprintf(sc.Log, "balance: %s: %s\n", n.Level, n.Message)
	}
	if err := dataset.WritePlan(outPath(sc, planFile), res.Rows); err != nil {
		return pipeline.Stats{}, err
	}
	if err := dataset.WriteGroupCounts(outPath(sc, distributionFile), res.Counts); err != nil {
		return pipeline.Stats{}, err
	}
	rep := balanceReport{Strategy: string(opts.Strategy), By: opts.By, Mode: string(opts.Mode), Train: train, PlanRows: len(res.Rows), Notes: res.Notes}
	if err := writeJSON(outPath(sc, "balance.json"), rep); err != nil {
		return pipeline.Stats{}, err
	}
	return pipeline.Stats{RowsIn: int64(train), RowsOut: int64(len(res.Rows))}, nil
}
