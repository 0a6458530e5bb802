package stages

import (
	"context"
	"fmt"

	"fairage/balance"
	"fairage/dataset"
	"fairage/pipeline"
)

var balanceDefaults = balance.DefaultOptions()

var balanceSection = pipeline.Section{
	Name: "balance",
	Doc:  "Rebalancing of the training split (package balance): which attributes define groups, and whether small groups are oversampled, large ones undersampled, or losses reweighted. Only the training split is touched.",
	Fields: []pipeline.Field{
		{Key: "balance.strategy", Kind: pipeline.KindString, Default: string(balanceDefaults.Strategy), Enum: []string{"none", "oversample", "undersample", "reweight"},
			Doc: "none; oversample (copies of small cells, augmented); undersample (drop from large cells); reweight (loss weights w = n/(k·n_g))."},
		{Key: "balance.by", Kind: pipeline.KindStrings, Default: balanceDefaults.By, Enum: dataset.Attributes, Doc: "Attributes whose groups are balanced."},
		{Key: "balance.mode", Kind: pipeline.KindString, Default: string(balanceDefaults.Mode), Enum: []string{"joint", "marginal"},
			Doc: "joint balances every combination present (female×asian, ...); marginal balances each attribute's groups at once by iterative proportional fitting."},
		{Key: "balance.target", Kind: pipeline.KindString, Default: "max", Doc: "Size cells are brought to: max, mean, min, a count (5000), or a fraction of the largest cell (0.5 or 50%)."},
		{Key: "balance.min_count", Kind: pipeline.KindInt, Default: balanceDefaults.MinCount, Min: pipeline.Num(1), Doc: "Cells smaller than this follow balance.small_cells."},
		{Key: "balance.small_cells", Kind: pipeline.KindString, Default: string(balanceDefaults.SmallCells), Enum: []string{"merge", "skip", "fail"}, Doc: "merge small cells into one 'other' cell, skip them (kept once, unbalanced), or fail."},
		{Key: "balance.unknown", Kind: pipeline.KindString, Default: string(balanceDefaults.Unknown), Enum: []string{"merge", "skip", "fail"}, Doc: "Samples with an unknown value of a balanced attribute: balance them as an 'unknown' group, skip them, or fail."},
		{Key: "balance.lds.enabled", Kind: pipeline.KindBool, Default: false, Doc: "Label-distribution smoothing of the age target (Yang et al. 2021): weights by inverse smoothed age density; combines with the strategies above."},
		{Key: "balance.lds.sigma", Kind: pipeline.KindFloat, Default: balanceDefaults.LDS.Sigma, Min: pipeline.Num(0), Doc: "Gaussian kernel standard deviation, in years."},
		{Key: "balance.lds.kernel_size", Kind: pipeline.KindInt, Default: balanceDefaults.LDS.KernelSize, Min: pipeline.Num(1), Doc: "Kernel width in bins (odd)."},
		{Key: "balance.lds.bin_width", Kind: pipeline.KindFloat, Default: balanceDefaults.LDS.BinWidth, Min: pipeline.Num(0), Doc: "Age histogram bin width, in years."},
		{Key: "balance.lds.power", Kind: pipeline.KindFloat, Default: balanceDefaults.LDS.Power, Min: pipeline.Num(0), Max: pipeline.Num(2), Doc: "Exponent of the inverse density: 1 inverse, 0.5 square-root inverse (milder)."},
		{Key: "balance.rake.max_iterations", Kind: pipeline.KindInt, Default: balanceDefaults.Rake.MaxIterations, Min: pipeline.Num(1), Doc: "Marginal mode: cap on fitting sweeps."},
		{Key: "balance.rake.tolerance", Kind: pipeline.KindFloat, Default: balanceDefaults.Rake.Tolerance, Min: pipeline.Num(0), Doc: "Marginal mode: largest relative marginal error accepted."},
	},
}

// balanceOptions maps the balance section onto balance.Options.
func balanceOptions(cfg *pipeline.Config) (balance.Options, error) {
	o := balance.DefaultOptions()
	o.Strategy = balance.Strategy(cfg.String("balance.strategy"))
	o.By = cfg.Strings("balance.by")
	o.Mode = balance.Mode(cfg.String("balance.mode"))
	o.Target = cfg.String("balance.target")
	o.MinCount = cfg.Int("balance.min_count")
	o.SmallCells = balance.Policy(cfg.String("balance.small_cells"))
	o.Unknown = balance.Policy(cfg.String("balance.unknown"))
	o.LDS = balance.LDS{Enabled: cfg.Bool("balance.lds.enabled"), Sigma: cfg.Float("balance.lds.sigma"),
		KernelSize: cfg.Int("balance.lds.kernel_size"), BinWidth: cfg.Float("balance.lds.bin_width"), Power: cfg.Float("balance.lds.power")}
	o.Rake = balance.Rake{MaxIterations: cfg.Int("balance.rake.max_iterations"), Tolerance: cfg.Float("balance.rake.tolerance")}
	o.Seed = seed(cfg)
	return o, o.Validate()
}

// balanceStage writes the training plan: which samples are drawn, how
// often, with which augmentation seed and loss weight.
type balanceStage struct{ stageBase }

func newBalanceStage() balanceStage {
	return balanceStage{stageBase{name: stageBalance, version: "1", sections: []string{"balance", "run.seed"}, inputs: []string{stageSplit}}}
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
	opts, err := balanceOptions(sc.Config)
	if err != nil {
		return pipeline.Stats{}, err
	}
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
