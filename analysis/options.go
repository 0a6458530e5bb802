package analysis

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"

	"fairage/dataset"
	"fairage/internal/spec"
)

// SmallGroupPolicy says whether groups below Options.MinGroupSize count in
// the bias scores. Either way they are shown and flagged.
type SmallGroupPolicy string

// Values lists the policies (config: analysis.small_groups).
func (SmallGroupPolicy) Values() []string {
	return []string{string(SmallGroupsInclude), string(SmallGroupsExclude)}
}

// Small-group policies (YAML `analysis.small_groups`).
const (
	// SmallGroupsInclude counts small groups in the scores and flags them,
	// so a tiny group's noisy MAE is visible rather than hidden.
	SmallGroupsInclude SmallGroupPolicy = "include"
	// SmallGroupsExclude leaves small groups out of the scores.
	SmallGroupsExclude SmallGroupPolicy = "exclude"
)

// Options configures Analyze and Compare. Start from DefaultOptions and
// override what the `analysis:` YAML section sets: the zero value of some
// fields (Resamples 0) means "off", so a zero Options is not the default.
type Options struct {
	// Split restricts the analysis to rows of one split (`analysis.split`);
	// "" or "all" analyses every row.
	Split SplitChoice `yaml:"split" doc:"Which split's predictions are audited (all: every evaluated row)."`
	// Attributes to group by (`analysis.attributes`), from
	// dataset.Attributes. age_group is computed from y_true with AgeEdges.
	Attributes []string `yaml:"attributes" doc:"Attributes audited one by one (gender, ethnicity, expression, age_group; in an audit of a table, any of its columns); age_group is binned from the true age with analysis.age_edges."`
	// Intersections are joint groupings (`analysis.intersections`), each a
	// list of two or more attributes, e.g. [gender, ethnicity].
	Intersections []Intersection `yaml:"intersections" doc:"Joint groupings audited as one attribute, written a*b (e.g. gender*ethnicity)."`
	// AgeEdges are the inner edges of the age bins (`analysis.age_edges`):
	// [20, 40, 60] gives [0,20), [20,40), [40,60), [60,∞).
	AgeEdges []float64 `yaml:"age_edges" doc:"Inner edges of the age bins: [20, 40, 60] gives the study's 0-19, 20-39, 40-59, 60+ (named as samples name their age groups)."`
	// Groups optionally fixes the expected groups of an attribute and their
	// order (`analysis.groups.<attribute>`). A listed group with no rows is
	// reported as empty; a value not listed is counted as unknown and named
	// in AttributeResult.Unlisted. Unset attributes take their groups from
	// the data, sorted by name.
	Groups map[string][]string `yaml:"groups" doc:"Optional expected groups per attribute, in order (groups: {ethnicity: [asian, black, white]}); values not listed are counted as unknown and named. Unset: groups come from the data."`
	// MinGroupSize flags groups with fewer rows (`analysis.min_group_size`).
	MinGroupSize int `yaml:"min_group_size" range:"[1,inf)" doc:"Groups with fewer rows are flagged in the report."`
	// SmallGroups says whether flagged groups count in the bias scores
	// (`analysis.small_groups`).
	SmallGroups SmallGroupPolicy `yaml:"small_groups" doc:"Whether flagged small groups count in the bias scores (they are shown either way)."`
	// Bootstrap configures the percentile intervals (`analysis.bootstrap`).
	Bootstrap BootstrapOptions `yaml:"bootstrap"`
	// Permutation configures the permutation tests (`analysis.permutation`).
	Permutation PermutationOptions `yaml:"permutation"`
	// Alpha is the family-wise significance level used to mark Holm-
	// corrected tests significant (`analysis.alpha`).
	Alpha float64 `yaml:"alpha" range:"(0,1)" doc:"Family-wise significance level (Holm-corrected)."`
	// Gates are pass/fail thresholds keyed by metric (`analysis.gates`), e.g.
	// "ethnicity_bias": {Max: 1.0}. See MetricKeys for the names.
	Gates map[string]Gate `yaml:"gates" doc:"Pass/fail thresholds that fail the run (exit code 3), e.g. {mae: {max: 8}, ethnicity_bias: {max: 1.0, on: interval}}. Keys: mae, rmse, mean_error, median_ae and <attribute>_bias|_gap|_ratio (age_group_bias, gender_x_ethnicity_bias for an intersection; age_bias is the deprecated spelling of age_group_bias), and <attribute>_bias_age_adjusted etc."`
	// Workers bounds the goroutines used for resampling
	// (`analysis.workers`); 0 uses GOMAXPROCS. Results do not depend on it.
	Workers int `yaml:"workers" range:"[0,1024]" fingerprint:"-" doc:"Resampling goroutines (0: one per CPU); results do not depend on it."`
	// Range bounds the values analysed and flags implausible ages
	// (`analysis.range`).
	Range RangeOptions `yaml:"range" doc:"Bounds on y_pred and y_true: rows beyond reject_min/reject_max are left out and listed, beyond flag_min/flag_max analysed and flagged."`
	// AgeAdjust configures the age-adjusted disparity
	// (`analysis.age_adjust`).
	AgeAdjust AgeAdjustOptions `yaml:"age_adjust" doc:"Age-adjusted disparity: group MAEs standardised to one age distribution."`

	// Columns, when non-nil, are the attribute columns of an audited table
	// (pipeline audit): attributes, intersections and groups may then name
	// any of them, or age_group, instead of dataset.Attributes. Set by the
	// caller from the table, never by a config file.
	Columns []string `yaml:"-"`
	// ColumnsSource names that table in messages ("preds.csv").
	ColumnsSource string `yaml:"-"`
	// Deprecated lists settings Validate accepted under an old name, for
	// the caller to show ("analysis.gates.age_bias: …").
	Deprecated []string `yaml:"-"`
}

// knownAttributes lists the attribute names the options may use and how
// an unknown one is described.
func (o *Options) knownAttributes() (known []string, notKnown string) {
	if o.Columns == nil {
		return dataset.Attributes, "is not an attribute (" + strings.Join(dataset.Attributes, ", ") + ")"
	}
	known = append(slices.Clone(o.Columns), dataset.AttrAgeGroup)
	src := o.ColumnsSource
	if src == "" {
		src = "the audited table"
	}
	return known, fmt.Sprintf("is not a column of %s (columns: %s; age_group is binned from the true age)", src, strings.Join(o.Columns, ", "))
}

// renameDeprecatedGates accepts gate keys spelt with "age" for the
// age_group attribute (age_bias, as summary version 2 named them), renames
// them to the attribute's name (age_group_bias) and records it.
func (o *Options) renameDeprecatedGates() {
	for _, k := range slices.Sorted(maps.Keys(o.Gates)) {
		rest, ok := strings.CutPrefix(k, "age_")
		if !ok || strings.HasPrefix(rest, "group_") {
			continue
		}
		if !slices.Contains(scoreMetrics, strings.TrimSuffix(rest, AgeAdjustedSuffix)) {
			continue
		}
		nk := dataset.AttrAgeGroup + "_" + rest
		if _, clash := o.Gates[nk]; clash {
			continue // both spelt: the new key's checks report the old one as unknown
		}
		o.Gates[nk] = o.Gates[k]
		delete(o.Gates, k)
		o.Deprecated = append(o.Deprecated, fmt.Sprintf("analysis.gates.%s is deprecated: the age attribute is called age_group everywhere; write %s", k, nk))
	}
}

// SplitChoice is the split an audit covers: train, valid, test or all.
type SplitChoice string

// SplitAll audits every row.
const SplitAll SplitChoice = "all"

// Values lists the choices (config: analysis.split).
func (SplitChoice) Values() []string {
	return []string{dataset.SplitTrain, dataset.SplitValid, dataset.SplitTest, string(SplitAll)}
}

// rows is the split name rows are selected by ("" for every row).
func (s SplitChoice) rows() string {
	if s == SplitAll {
		return ""
	}
	return string(s)
}

// Intersection is a joint grouping of two or more attributes, written
// "gender*ethnicity" in a config.
type Intersection []string

// FromConfig reads "a*b" (× also separates) or a list [a, b].
func (in *Intersection) FromConfig(raw any) error {
	switch v := raw.(type) {
	case string:
		*in = strings.Split(strings.ReplaceAll(v, "×", "*"), "*")
		for i := range *in {
			(*in)[i] = strings.TrimSpace((*in)[i])
		}
		return nil
	case []any:
		out := make(Intersection, len(v))
		for i, x := range v {
			s, ok := x.(string)
			if !ok {
				return fmt.Errorf("item %d: expected an attribute name, got %v", i+1, x)
			}
			out[i] = s
		}
		*in = out
		return nil
	}
	return fmt.Errorf("expected attributes joined by *, such as gender*ethnicity, got %v", raw)
}

// ToConfig writes "a*b".
func (in Intersection) ToConfig() any { return strings.Join(in, "*") }

// ConfigType names the setting's form in the config reference.
func (Intersection) ConfigType() string { return "a*b" }

// BootstrapOptions configures stratified bootstrap percentile intervals.
type BootstrapOptions struct {
	// Resamples is the number of bootstrap resamples; 0 turns intervals off.
	Resamples int `yaml:"resamples" range:"[0,inf)" doc:"Bootstrap resamples for percentile intervals (stratified within groups); 0 turns intervals off."`
	// Confidence is the interval's coverage, in (0,1), e.g. 0.95.
	Confidence float64 `yaml:"confidence" range:"[0.5,0.999]" doc:"Interval coverage."`
	// Seed makes the resamples reproducible.
	Seed uint64 `yaml:"-"`
}

// PermutationOptions configures the permutation tests.
type PermutationOptions struct {
	// Resamples is the number of random permutations; 0 turns tests off.
	Resamples int `yaml:"resamples" range:"[0,inf)" doc:"Permutations for the between-group tests; 0 turns tests off."`
	// Seed makes the permutations reproducible.
	Seed uint64 `yaml:"-"`
}

// DefaultAgeEdges are the study's age bins: [0,20), [20,40), [40,60), [60,∞).
var DefaultAgeEdges = []float64{20, 40, 60}

// DefaultOptions returns the defaults the `analysis:` section overrides:
// all four attributes, the study's age bins, groups under 30 flagged but
// counted, 1000 bootstrap resamples at 95%, 1000 permutations, alpha 0.05,
// DefaultRange, and age-adjusted scores over the age bins with the pooled
// reference.
func DefaultOptions() Options {
	return Options{
		Attributes:   slices.Clone(dataset.Attributes),
		AgeEdges:     slices.Clone(DefaultAgeEdges),
		MinGroupSize: 30,
		SmallGroups:  SmallGroupsInclude,
		Bootstrap:    BootstrapOptions{Resamples: 1000, Confidence: 0.95, Seed: 1},
		Permutation:  PermutationOptions{Resamples: 1000, Seed: 2},
		Alpha:        0.05,
		Range:        DefaultRange,
		AgeAdjust:    AgeAdjustOptions{Enabled: true, Reference: ReferencePooled},
	}
}

// Validate checks the options and returns every problem at once, each
// naming its YAML key under `analysis.`. Gate keys of the old spelling
// (age_bias for age_group_bias) are renamed, and the rename is recorded in
// Deprecated.
func (o *Options) Validate() error {
	if o.Split == "" {
		o.Split = SplitAll
	}
	errs := []error{spec.Check("analysis", o)}
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	known, notKnown := o.knownAttributes()
	if len(o.Attributes) == 0 && len(o.Intersections) == 0 {
		bad("analysis.attributes: is empty; list at least one of %s", strings.Join(known, ", "))
	}
	seen := map[string]bool{}
	for i, a := range o.Attributes {
		switch {
		case !slices.Contains(known, a):
			bad("analysis.attributes[%d]: %q %s", i, a, notKnown)
		case seen[a]:
			bad("analysis.attributes[%d]: %q is listed twice", i, a)
		}
		seen[a] = true
	}
	for i, in := range o.Intersections {
		if len(in) < 2 {
			bad("analysis.intersections[%d]: %v needs at least two attributes", i, in)
		}
		dup := map[string]bool{}
		for j, a := range in {
			if !slices.Contains(known, a) {
				bad("analysis.intersections[%d][%d]: %q %s", i, j, a, notKnown)
			}
			if dup[a] {
				bad("analysis.intersections[%d]: %q is listed twice", i, a)
			}
			dup[a] = true
		}
	}
	for i, e := range o.AgeEdges {
		if math.IsNaN(e) || math.IsInf(e, 0) || e <= 0 || (i > 0 && e <= o.AgeEdges[i-1]) {
			bad("analysis.age_edges: %v must be finite, positive and strictly increasing", o.AgeEdges)
			break
		}
	}
	for _, a := range slices.Sorted(maps.Keys(o.Groups)) {
		if !slices.Contains(known, a) {
			bad("analysis.groups.%s: %q %s", a, a, notKnown)
			continue
		}
		if a == dataset.AttrAgeGroup {
			bad("analysis.groups.age_group: age groups come from analysis.age_edges, not a list")
			continue
		}
		dup := map[string]bool{}
		for j, g := range o.Groups[a] {
			if g == "" {
				bad("analysis.groups.%s[%d]: empty group name (unknown values are counted separately)", a, j)
			}
			if dup[g] {
				bad("analysis.groups.%s[%d]: %q is listed twice", a, j, g)
			}
			dup[g] = true
		}
	}
	o.renameDeprecatedGates()
	o.Range.validate(bad)
	o.AgeAdjust.validate(bad)
	keys := MetricKeys(o)
	for _, k := range slices.Sorted(maps.Keys(o.Gates)) {
		if err := o.Gates[k].validate(k, keys); err != nil {
			errs = append(errs, err)
		} else if o.Gates[k].basis() == GateOnInterval && o.Bootstrap.Resamples == 0 {
			bad("analysis.gates.%s.on: %q needs analysis.bootstrap.resamples > 0", k, GateOnInterval)
		}
	}
	return errors.Join(errs...)
}

// groupings lists the attribute groupings Options asks for, each as its
// member attributes: single attributes first, then intersections.
func (o *Options) groupings() [][]string {
	out := make([][]string, 0, len(o.Attributes)+len(o.Intersections))
	for _, a := range o.Attributes {
		out = append(out, []string{a})
	}
	for _, in := range o.Intersections {
		out = append(out, in)
	}
	return out
}
