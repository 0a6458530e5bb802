package dataset

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"strings"

	"fairage/internal/seedmix"
	"fairage/internal/spec"
)

// Split modes.
const (
	// SplitAuto keeps the dataset's own splits when every sample has one
	// (APPA-REAL) and draws stratified splits when none has.
	SplitAuto = "auto"
	// SplitSource keeps the dataset's splits and fails if any is missing.
	SplitSource = "source"
	// SplitStratified draws new splits even when the dataset has its own.
	SplitStratified = "stratified"
)

// SplitOptions controls Split. Start from DefaultSplitOptions.
type SplitOptions struct {
	// Mode is SplitAuto (default when empty), SplitSource or
	// SplitStratified.
	Mode SplitMode `yaml:"mode" doc:"auto keeps the dataset's splits when every sample has one and stratifies when none has; source requires them; stratified always draws new ones."`
	// Train, Valid and Test are the fractions of samples in each split;
	// they must sum to 1 (default 0.7, 0.15, 0.15).
	Train float64 `yaml:"train" range:"(0,1]" doc:"Fraction of samples in the training split."`
	Valid float64 `yaml:"valid" range:"[0,1]" doc:"Fraction in the validation split (early stopping, reduce-on-plateau)."`
	Test  float64 `yaml:"test" range:"[0,1]" doc:"Fraction in the test split (the audit's default)."`
	// StratifyBy lists the attributes whose combinations keep their
	// proportions in every split (default gender, ethnicity, expression,
	// age_group).
	StratifyBy []string `yaml:"stratify_by" doc:"Attributes (gender, ethnicity, expression, age_group) whose combinations keep their proportions in every split."`
	// Seed fixes the draw.
	Seed uint64 `yaml:"seed" doc:"Seed of the draw (separate from run.seed, so runs with different model seeds share the split and can be compared pairwise)."`
}

// SplitMode is how splits are assigned (split.mode).
type SplitMode string

// Values lists the split modes.
func (SplitMode) Values() []string { return []string{SplitAuto, SplitSource, SplitStratified} }

// DefaultSplitOptions returns the defaults documented on each field.
func DefaultSplitOptions() SplitOptions {
	return SplitOptions{Mode: SplitAuto, Train: 0.7, Valid: 0.15, Test: 0.15,
		StratifyBy: slices.Clone(Attributes), Seed: 1}
}

// Validate checks the options, naming the split.* keys.
func (o *SplitOptions) Validate() error {
	if o.Mode == "" {
		o.Mode = SplitAuto
	}
	errs := []error{spec.Check("split", o)}
	if sum := o.Train + o.Valid + o.Test; math.Abs(sum-1) > 1e-6 {
		errs = append(errs, fmt.Errorf("split.train: the fractions train %g, valid %g and test %g sum to %g, not 1", o.Train, o.Valid, o.Test, sum))
	}
	for i, a := range o.StratifyBy {
		if !IsAttribute(a) {
			errs = append(errs, fmt.Errorf("split.stratify_by: item %d, %q is not one of %s", i+1, a, strings.Join(Attributes, ", ")))
		}
	}
	return errors.Join(errs...)
}

// Split returns a copy of samples, in the same order, with Split set.
//
// Stratified mode groups samples into strata by the StratifyBy attributes
// and, within each stratum, deals them to train, valid and test by
// systematic sampling from a seeded random start: each split gets its
// fraction of the stratum to within one unit, and a stratum of one or two
// samples lands in each split with probability equal to its fraction, so
// tiny strata need no special case. Samples sharing a NearDupGroup or a
// Subject move as one unit (in the stratum of the unit's first sample), so
// near-duplicates and a person's images never straddle two splits.
func Split(samples []Sample, opts SplitOptions) ([]Sample, error) {
	if err := opts.Validate(); err != nil {
		return nil, fmt.Errorf("split: %w", err)
	}
	out := slices.Clone(samples)
	if len(out) == 0 {
		return out, nil
	}
	have := 0
	for i := range out {
		switch out[i].Split {
		case "":
		case SplitTrain, SplitValid, SplitTest:
			have++
		default:
			return nil, fmt.Errorf("split: sample %q has split %q, not train, valid or test", out[i].ID, out[i].Split)
		}
	}
	mode := opts.Mode
	if mode == "" || mode == SplitAuto {
		switch have {
		case len(out):
			return out, nil
		case 0:
			mode = SplitStratified
		default:
			return nil, fmt.Errorf("split: %d of %d samples have a split from the dataset and %d do not; use mode source or stratified", have, len(out), len(out)-have)
		}
	}
	if mode == SplitSource {
		if have != len(out) {
			return nil, fmt.Errorf("split: mode source, but %d of %d samples have no split from the dataset", len(out)-have, len(out))
		}
		return out, nil
	}
	stratify(out, opts)
	return out, nil
}

// unit is a set of samples that must share a split: one sample, or the
// samples tied together by near-duplicate groups and subjects.
type unit struct{ members []int }

func stratify(out []Sample, opts SplitOptions) {
	strata := map[string][]*unit{}
	for _, members := range tiedUnits(out) {
		u := &unit{members: members}
		key := stratumKey(&out[members[0]], opts.StratifyBy)
		strata[key] = append(strata[key], u)
	}
	bounds := [2]float64{opts.Train, opts.Train + opts.Valid}
	for _, key := range slices.Sorted(maps.Keys(strata)) {
		units := strata[key]
		// Each stratum draws from its own stream, so adding or removing one
		// stratum leaves the others' assignment unchanged.
		rng := rand.New(rand.NewPCG(opts.Seed, seedmix.String(key)))
		rng.Shuffle(len(units), func(i, j int) { units[i], units[j] = units[j], units[i] })
		n := 0
		for _, u := range units {
			n += len(u.members)
		}
		start := rng.Float64()
		cum := 0
		for _, u := range units {
			pos := start + (float64(cum)+float64(len(u.members))/2)/float64(n)
			pos -= math.Floor(pos)
			split := SplitTest
			switch {
			case pos < bounds[0]:
				split = SplitTrain
			case pos < bounds[1]:
				split = SplitValid
			}
			for _, m := range u.members {
				out[m].Split = split
			}
			cum += len(u.members)
		}
	}
}

// tiedUnits groups the samples that must share a split: a near-duplicate
// group and a subject's images each move as one, and a sample in both ties
// them together (union-find). Units come in the order of their first
// member, each listing its members in order, so a dataset without ties
// gives one unit per sample in input order.
func tiedUnits(out []Sample) [][]int {
	parent := make([]int, len(out))
	var find func(int) int
	find = func(i int) int {
		for parent[i] != i {
			parent[i] = parent[parent[i]]
			i = parent[i]
		}
		return i
	}
	first := map[string]int{} // tie key → first sample with it
	for i := range out {
		parent[i] = i
		for _, key := range [...]string{tieKey("d", out[i].NearDupGroup), tieKey("s", out[i].Subject)} {
			if key == "" {
				continue
			}
			j, seen := first[key]
			if !seen {
				first[key] = i
				continue
			}
			a, b := find(i), find(j)
			if a != b {
				parent[max(a, b)] = min(a, b) // the root is the unit's first member
			}
		}
	}
	var units [][]int
	at := map[int]int{} // root → position in units
	for i := range out {
		r := find(i)
		k, ok := at[r]
		if !ok {
			k = len(units)
			at[r] = k
			units = append(units, nil)
		}
		units[k] = append(units[k], i)
	}
	return units
}

func tieKey(kind, value string) string {
	if value == "" {
		return ""
	}
	return kind + "\x1f" + value
}

func stratumKey(s *Sample, attrs []string) string {
	var b strings.Builder
	for _, a := range attrs {
		b.WriteString(s.Attr(a))
		b.WriteByte(0x1f) // unit separator: cannot occur in labels
	}
	return b.String()
}
