package balance

import (
	"errors"
	"fmt"
	"strings"

	"fairage/dataset"
	"fairage/internal/spec"
)

// Strategy is how a plan evens out the groups (balance.strategy).
type Strategy string

// Strategies.
const (
	// StrategyNone keeps every training sample once with weight 1 (LDS may
	// still reweight ages).
	StrategyNone Strategy = "none"
	// StrategyOversample adds duplicates of samples in small groups.
	StrategyOversample Strategy = "oversample"
	// StrategyUndersample drops samples from large cells.
	StrategyUndersample Strategy = "undersample"
	// StrategyReweight keeps every sample once and sets loss weights.
	StrategyReweight Strategy = "reweight"
)

var strategies = []Strategy{StrategyNone, StrategyOversample, StrategyUndersample, StrategyReweight}

// Values lists the strategies (config: balance.strategy).
func (Strategy) Values() []string { return names(strategies) }

// Mode says what is balanced (balance.mode).
type Mode string

// Modes.
const (
	// ModeJoint balances every combination of the By attributes present in
	// the data (e.g. female×asian).
	ModeJoint Mode = "joint"
	// ModeMarginal balances every group of each attribute separately, with
	// iterative proportional fitting over the joint cells so that all
	// marginals are met at once.
	ModeMarginal Mode = "marginal"
)

// Values lists the modes (config: balance.mode).
func (Mode) Values() []string { return []string{string(ModeJoint), string(ModeMarginal)} }

// Policy is what to do with samples whose attribute value is unknown
// (balance.unknown) or with cells smaller than MinCount (balance.small_cells).
type Policy string

// Policies.
const (
	// PolicyMerge balances unknown values as their own "unknown" group and
	// pools small cells into one "other" cell.
	PolicyMerge Policy = "merge"
	// PolicySkip keeps the samples once, unbalanced, with weight 1.
	PolicySkip Policy = "skip"
	// PolicyFail stops with an error.
	PolicyFail Policy = "fail"
)

var policies = []Policy{PolicyMerge, PolicySkip, PolicyFail}

// Values lists the policies (config: balance.small_cells, balance.unknown).
func (Policy) Values() []string { return names(policies) }

// Group labels that balancing introduces.
const (
	// UnknownGroup labels a missing attribute value.
	UnknownGroup = "unknown"
	// OtherGroup labels the cell that small cells are merged into.
	OtherGroup = "other (merged)"
)

// Options configure a balance plan. The balance stage maps the `balance:`
// YAML section onto it; error messages name those YAML keys.
type Options struct {
	// By lists the attributes to group by (balance.by), e.g. gender,
	// ethnicity, expression, age_group.
	By []string `yaml:"by" doc:"Attributes (gender, ethnicity, expression, age_group) whose groups are balanced."`
	// Strategy is none, oversample, undersample or reweight
	// (balance.strategy).
	Strategy Strategy `yaml:"strategy" doc:"none; oversample (copies of small cells, augmented); undersample (drop from large cells); reweight (loss weights w = n/(k·n_g))."`
	// Mode is joint or marginal (balance.mode). Marginal works with
	// oversample and reweight.
	Mode Mode `yaml:"mode" doc:"joint balances every combination present (female×asian, ...); marginal balances each attribute's groups at once by iterative proportional fitting."`
	// Target is the size every cell (or group) is brought to
	// (balance.target): "max", "mean", "min", a count such as "5000", or a
	// fraction of the largest cell such as "0.5" or "50%". Empty means
	// "max" for oversample and "min" for undersample; other strategies
	// ignore it.
	Target string `yaml:"target" doc:"Size cells are brought to: max, mean, min, a count (5000), or a fraction of the largest cell (0.5 or 50%); empty: max for oversample, min for undersample."`
	// MinCount is the smallest cell balanced as it is (balance.min_count);
	// smaller cells follow SmallCells.
	MinCount int `yaml:"min_count" range:"[0,inf)" doc:"Cells smaller than this follow balance.small_cells."`
	// SmallCells is the policy for cells below MinCount
	// (balance.small_cells).
	SmallCells Policy `yaml:"small_cells" doc:"merge small cells into one 'other' cell, skip them (kept once, unbalanced), or fail."`
	// Unknown is the policy for samples with an unknown value of a By
	// attribute (balance.unknown).
	Unknown Policy `yaml:"unknown" doc:"Samples with an unknown value of a balanced attribute: balance them as an 'unknown' group, skip them, or fail."`
	// LDS configures label-distribution smoothing of the age target
	// (balance.lds).
	LDS LDS `yaml:"lds"`
	// Rake bounds the iterative proportional fitting of marginal mode
	// (balance.rake).
	Rake Rake `yaml:"rake"`
	// Seed is the run seed; copies, undersampling and augmentation seeds
	// follow from it.
	Seed uint64 `yaml:"-"`
}

// LDS configures label-distribution smoothing (Yang et al., "Delving into
// Deep Imbalanced Regression", ICML 2021): the age histogram is convolved
// with a Gaussian kernel and each sample is weighted by the inverse of the
// smoothed density at its age.
type LDS struct {
	// Enabled turns LDS on (balance.lds.enabled).
	Enabled bool `yaml:"enabled" doc:"Label-distribution smoothing of the age target (Yang et al. 2021): weights by inverse smoothed age density; combines with the strategies above."`
	// Sigma is the kernel's standard deviation in years (balance.lds.sigma).
	Sigma float64 `yaml:"sigma" range:"(0,inf)" doc:"Gaussian kernel standard deviation, in years."`
	// KernelSize is the kernel's width in bins, odd (balance.lds.kernel_size).
	KernelSize int `yaml:"kernel_size" range:"[1,inf)" doc:"Kernel width in bins (odd)."`
	// BinWidth is the histogram bin width in years (balance.lds.bin_width).
	BinWidth float64 `yaml:"bin_width" range:"(0,inf)" doc:"Age histogram bin width, in years."`
	// Power is the exponent of the inverse density: 1 for inverse, 0.5 for
	// square-root inverse (balance.lds.power).
	Power float64 `yaml:"power" range:"(0,1]" doc:"Exponent of the inverse density: 1 inverse, 0.5 square-root inverse (milder)."`
}

// Rake bounds the iterative proportional fitting of marginal mode.
type Rake struct {
	// MaxIterations caps the fitting sweeps (balance.rake.max_iterations).
	MaxIterations int `yaml:"max_iterations" range:"[1,inf)" doc:"Marginal mode: cap on fitting sweeps."`
	// Tolerance is the largest relative marginal error accepted
	// (balance.rake.tolerance).
	Tolerance float64 `yaml:"tolerance" range:"(0,1)" doc:"Marginal mode: largest relative marginal error accepted."`
}

// DefaultOptions returns the defaults the config schema should offer: no
// balancing, joint cells over gender and ethnicity, target max, small cells
// (below 20) and unknown values merged, LDS off with the paper's kernel
// (size 5, sigma 2).
func DefaultOptions() Options {
	return Options{
		By:         []string{dataset.AttrGender, dataset.AttrEthnicity},
		Strategy:   StrategyNone,
		Mode:       ModeJoint,
		MinCount:   20,
		SmallCells: PolicyMerge,
		Unknown:    PolicyMerge,
		LDS:        LDS{Sigma: 2, KernelSize: 5, BinWidth: 1, Power: 1},
		Rake:       Rake{MaxIterations: 1000, Tolerance: 1e-6},
	}
}

// Validate checks the options without looking at data. Errors name the
// YAML key and list the accepted values.
func (o Options) Validate() error {
	errs := []error{spec.Check("balance", &o)}
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	if o.Mode == ModeMarginal && o.Strategy == StrategyUndersample {
		add("balance.mode: marginal works with oversample and reweight, not undersample (dropping samples cannot meet every marginal)")
	}
	if o.Strategy != StrategyNone && len(o.By) == 0 {
		add("balance.by: list at least one attribute for strategy %s", o.Strategy)
	}
	seen := map[string]bool{}
	for _, a := range o.By {
		switch {
		case !dataset.IsAttribute(a):
			add("balance.by: unknown attribute %q (known: %s)", a, strings.Join(dataset.Attributes, ", "))
		case seen[a]:
			add("balance.by: attribute %q is listed twice", a)
		}
		seen[a] = true
	}
	if _, err := parseTarget(o.Target, o.Strategy); err != nil {
		errs = append(errs, err)
	}
	if o.LDS.KernelSize%2 == 0 {
		add("balance.lds.kernel_size: %d must be an odd number of bins", o.LDS.KernelSize)
	}
	return errors.Join(errs...)
}

func names[T ~string](list []T) []string {
	s := make([]string, len(list))
	for i, v := range list {
		s[i] = string(v)
	}
	return s
}
