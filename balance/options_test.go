package balance

import (
	"strings"
	"testing"
)

func TestValidateRejectsBadOptions(t *testing.T) {
	tests := []struct {
		name string
		edit func(*Options)
		want string // substring of the error, naming the key
	}{
		{"unknown attribute", func(o *Options) { o.By = []string{"gender", "race"} }, `balance.by: unknown attribute "race"`},
		{"duplicate attribute", func(o *Options) { o.By = []string{"gender", "gender"} }, `balance.by: attribute "gender" is listed twice`},
		{"no attributes", func(o *Options) { o.Strategy, o.By = StrategyReweight, nil }, "balance.by: list at least one attribute"},
		{"bad strategy", func(o *Options) { o.Strategy = "smote" }, `balance.strategy: "smote" is not one of`},
		{"bad mode", func(o *Options) { o.Mode = "both" }, `balance.mode: "both"`},
		{"marginal undersample", func(o *Options) { o.Strategy, o.Mode = StrategyUndersample, ModeMarginal }, "balance.mode: marginal works with oversample and reweight"},
		{"target word", func(o *Options) { o.Strategy, o.Target = StrategyOversample, "most" }, `balance.target: "most" is not max, mean, min`},
		{"target negative", func(o *Options) { o.Strategy, o.Target = StrategyOversample, "-3" }, "balance.target: -3 must be positive"},
		{"target fractional count", func(o *Options) { o.Strategy, o.Target = StrategyOversample, "2.5" }, "balance.target: 2.5 is neither a whole count"},
		{"target percent", func(o *Options) { o.Strategy, o.Target = StrategyOversample, "150%" }, "balance.target: \"150%\" is not a percentage"},
		{"min for oversample", func(o *Options) { o.Strategy, o.Target = StrategyOversample, "min" }, "balance.target: min cannot be an oversampling target"},
		{"max for undersample", func(o *Options) { o.Strategy, o.Target = StrategyUndersample, "max" }, "balance.target: max cannot be an undersampling target"},
		{"negative min count", func(o *Options) { o.MinCount = -1 }, "balance.min_count: -1 is outside [0, ∞)"},
		{"empty small-cell policy", func(o *Options) { o.SmallCells = "" }, `balance.small_cells: not set; must be one of merge, skip, fail`},
		{"bad unknown policy", func(o *Options) { o.Unknown = "drop" }, `balance.unknown: "drop" is not one of merge, skip, fail`},
		{"lds sigma", func(o *Options) { o.LDS.Enabled, o.LDS.Sigma = true, 0 }, "balance.lds.sigma: 0 is outside (0, ∞)"},
		{"lds even kernel", func(o *Options) { o.LDS.Enabled, o.LDS.KernelSize = true, 4 }, "balance.lds.kernel_size: 4 must be an odd"},
		{"lds bin width", func(o *Options) { o.LDS.Enabled, o.LDS.BinWidth = true, -1 }, "balance.lds.bin_width: -1"},
		{"lds power", func(o *Options) { o.LDS.Enabled, o.LDS.Power = true, 2 }, "balance.lds.power: 2 is outside (0, 1]"},
		{"rake iterations", func(o *Options) { o.Mode, o.Rake.MaxIterations = ModeMarginal, 0 }, "balance.rake.max_iterations: 0"},
		{"rake tolerance", func(o *Options) { o.Mode, o.Rake.Tolerance = ModeMarginal, 0 }, "balance.rake.tolerance: 0"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := DefaultOptions()
			tc.edit(&o)
			err := o.Validate()
			if err == nil {
				t.Fatalf("Validate accepted %+v", o)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q does not contain %q", err, tc.want)
			}
		})
	}
}

func TestValidateAcceptsGoodOptions(t *testing.T) {
	tests := []struct {
		name string
		edit func(*Options)
	}{
		{"defaults", func(*Options) {}},
		{"oversample count", func(o *Options) { o.Strategy, o.Target = StrategyOversample, "5000" }},
		{"oversample fraction", func(o *Options) { o.Strategy, o.Target = StrategyOversample, "0.5" }},
		{"oversample percent", func(o *Options) { o.Strategy, o.Target = StrategyOversample, "50%" }},
		{"undersample default", func(o *Options) { o.Strategy = StrategyUndersample }},
		{"marginal reweight", func(o *Options) { o.Strategy, o.Mode = StrategyReweight, ModeMarginal }},
		{"lds", func(o *Options) { o.LDS.Enabled = true }},
		{"all attributes", func(o *Options) { o.By = []string{"gender", "ethnicity", "expression", "age_group"} }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := DefaultOptions()
			tc.edit(&o)
			if err := o.Validate(); err != nil {
				t.Fatalf("Validate: %v", err)
			}
		})
	}
}
