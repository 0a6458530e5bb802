package balance

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"fairage/dataset"
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
	By []string
	// Strategy is none, oversample, undersample or reweight
	// (balance.strategy).
	Strategy Strategy
	// Mode is joint or marginal (balance.mode). Marginal works with
	// oversample and reweight.
	Mode Mode
	// Target is the size every cell (or group) is brought to
	// (balance.target): "max", "mean", "min", a count such as "5000", or a
	// fraction of the largest cell such as "0.5" or "50%". Empty means
	// "max" for oversample and "min" for undersample; other strategies
	// ignore it.
	Target string
	// MinCount is the smallest cell balanced as it is (balance.min_count);
	// smaller cells follow SmallCells.
	MinCount int
	// SmallCells is the policy for cells below MinCount
	// (balance.small_cells).
	SmallCells Policy
	// Unknown is the policy for samples with an unknown value of a By
	// attribute (balance.unknown).
	Unknown Policy
	// LDS configures label-distribution smoothing of the age target
	// (balance.lds).
	LDS LDS
	// Rake bounds the iterative proportional fitting of marginal mode
	// (balance.rake).
	Rake Rake
	// Seed is the run seed; copies, undersampling and augmentation seeds
	// follow from it.
	Seed uint64
}

// LDS configures label-distribution smoothing (Yang et al., "Delving into
// Deep Imbalanced Regression", ICML 2021): the age histogram is convolved
// with a Gaussian kernel and each sample is weighted by the inverse of the
// smoothed density at its age.
type LDS struct {
	// Enabled turns LDS on (balance.lds.enabled).
	Enabled bool
	// Sigma is the kernel's standard deviation in years (balance.lds.sigma).
	Sigma float64
	// KernelSize is the kernel's width in bins, odd (balance.lds.kernel_size).
	KernelSize int
	// BinWidth is the histogram bin width in years (balance.lds.bin_width).
	BinWidth float64
	// Power is the exponent of the inverse density: 1 for inverse, 0.5 for
	// square-root inverse (balance.lds.power).
	Power float64
}

// Rake bounds the iterative proportional fitting of marginal mode.
type Rake struct {
	// MaxIterations caps the fitting sweeps (balance.rake.max_iterations).
	MaxIterations int
	// Tolerance is the largest relative marginal error accepted
	// (balance.rake.tolerance).
	Tolerance float64
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
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	if !slices.Contains(strategies, o.Strategy) {
		add("balance.strategy: %q is not one of %s", o.Strategy, join(strategies))
	}
	if o.Mode != ModeJoint && o.Mode != ModeMarginal {
		add("balance.mode: %q is not one of joint, marginal", o.Mode)
	}
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
	if o.MinCount < 0 {
		add("balance.min_count: %d is negative", o.MinCount)
	}
	if !slices.Contains(policies, o.SmallCells) {
		add("balance.small_cells: %q is not one of %s", o.SmallCells, join(policies))
	}
	if !slices.Contains(policies, o.Unknown) {
		add("balance.unknown: %q is not one of %s", o.Unknown, join(policies))
	}
	if o.LDS.Enabled {
		errs = append(errs, o.LDS.validate())
	}
	if o.Mode == ModeMarginal {
		if o.Rake.MaxIterations < 1 {
			add("balance.rake.max_iterations: %d must be at least 1", o.Rake.MaxIterations)
		}
		if !(o.Rake.Tolerance > 0 && o.Rake.Tolerance < 1) {
			add("balance.rake.tolerance: %v must be in (0, 1)", o.Rake.Tolerance)
		}
	}
	return errors.Join(errs...)
}

func (l LDS) validate() error {
	var errs []error
	if !(l.Sigma > 0) || math.IsInf(l.Sigma, 0) {
		errs = append(errs, fmt.Errorf("balance.lds.sigma: %v must be a positive number of years", l.Sigma))
	}
	if l.KernelSize < 1 || l.KernelSize%2 == 0 {
		errs = append(errs, fmt.Errorf("balance.lds.kernel_size: %d must be a positive odd number of bins", l.KernelSize))
	}
	if !(l.BinWidth > 0) || math.IsInf(l.BinWidth, 0) {
		errs = append(errs, fmt.Errorf("balance.lds.bin_width: %v must be a positive number of years", l.BinWidth))
	}
	if !(l.Power > 0 && l.Power <= 1) {
		errs = append(errs, fmt.Errorf("balance.lds.power: %v must be in (0, 1] (1 = inverse, 0.5 = square-root inverse)", l.Power))
	}
	return errors.Join(errs...)
}

func join[T ~string](list []T) string {
	s := make([]string, len(list))
	for i, v := range list {
		s[i] = string(v)
	}
	return strings.Join(s, ", ")
}
