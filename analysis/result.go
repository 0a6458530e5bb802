package analysis

// SummaryVersion is the version of the JSON summary layout. Field names are
// stable within a version; a renamed or removed field bumps it (FORMAT.md
// lists the changes).
const SummaryVersion = 3

// Result is the outcome of Analyze. It is also the JSON summary
// (WriteSummary): the json tags are its documented, stable field names.
type Result struct {
	// Version is SummaryVersion at the time of writing.
	Version int `json:"version"`
	// Split is the split analysed ("" for every row).
	Split string `json:"split"`
	// Warnings say, in plain words, what makes the numbers below
	// misleading, e.g. predictions that barely vary (a model that did not
	// learn age, whose group MAEs and bias scores then describe the groups'
	// age distributions). Empty when nothing does; reports show them first.
	Warnings []string `json:"warnings,omitempty"`
	// Rejected lists, by reason, the rows of the split left out of every
	// number because a value is not an age (analysis.range); empty when
	// none.
	Rejected []RowIssue `json:"rejected"`
	// Flagged lists, by reason, analysed rows with an implausible age.
	Flagged []RowIssue `json:"flagged"`
	// Overall holds the metrics over every analysed row.
	Overall Metrics `json:"overall"`
	// Attributes has one entry per configured attribute, then one per
	// intersection, in configuration order.
	Attributes []AttributeResult `json:"attributes"`
	// WithinSubject compares images of one subject under two values of an
	// attribute; nil when no analysed row has a subject id.
	WithinSubject *WithinSubject `json:"within_subject,omitempty"`
	// Gates has one entry per configured gate, sorted by metric name.
	Gates []GateResult `json:"gates"`
	// Settings echoes the options that shaped the numbers.
	Settings Settings `json:"settings"`
}

// Metrics are the error metrics of a set of rows (a group, or all rows).
type Metrics struct {
	// N is the number of rows.
	N int `json:"n"`
	// MAE is the mean absolute error |ŷ−y| in years.
	MAE Estimate `json:"mae"`
	// RMSE is the root mean squared error.
	RMSE Estimate `json:"rmse"`
	// MeanError is the mean signed error ŷ−y (positive: over-estimation).
	MeanError Estimate `json:"mean_error"`
	// MedianAE is the median absolute error.
	MedianAE Estimate `json:"median_ae"`
}

// Get returns a metric by name (MetricMAE, ...).
func (m *Metrics) Get(name string) (Estimate, bool) {
	switch name {
	case MetricMAE:
		return m.MAE, true
	case MetricRMSE:
		return m.RMSE, true
	case MetricMeanError:
		return m.MeanError, true
	case MetricMedianAE:
		return m.MedianAE, true
	}
	return Estimate{}, false
}

func (m *Metrics) set(name string, e Estimate) {
	switch name {
	case MetricMAE:
		m.MAE = e
	case MetricRMSE:
		m.RMSE = e
	case MetricMeanError:
		m.MeanError = e
	case MetricMedianAE:
		m.MedianAE = e
	}
}

// AttributeResult is the analysis of one attribute or intersection.
type AttributeResult struct {
	// Name is the attribute ("ethnicity") or intersection
	// ("gender_x_ethnicity"), as the table's columns spell it.
	Name string `json:"name"`
	// Key names the attribute in gates, tests and the metrics table: the
	// name in ASCII letters, digits and '_' (GroupingKey).
	Key string `json:"key"`
	// Members are the attributes of an intersection (one for a plain one).
	Members []string `json:"members"`
	// Available is false when no row has a known value (e.g. expression
	// on UTKFace); the groups and scores are then empty, not NaN.
	Available bool `json:"available"`
	// Note says why the attribute or its scores are unavailable.
	Note string `json:"note,omitempty"`
	// Inferred is set when the attribute's values (or a member's, for an
	// intersection) were predicted by a classifier rather than labelled,
	// saying by which and how ("inferred by emotion, threshold 0.5"):
	// reports show it in the attribute's heading, so nobody takes the
	// groups for ground truth.
	Inferred string `json:"inferred,omitempty"`
	// Unknown counts rows whose value is unknown (any member unknown for an
	// intersection), including Unlisted ones. They are in no group.
	Unknown int `json:"unknown"`
	// Unlisted counts, per value, rows whose value is not among the
	// configured groups (analysis.groups).
	Unlisted map[string]int `json:"unlisted,omitempty"`
	// Groups in report order: configured order, else sorted by name (age
	// bins by age; intersections by their members' orders).
	Groups []GroupResult `json:"groups"`
	// ScoredGroups is how many groups enter the scores.
	ScoredGroups int `json:"scored_groups"`
	// Bias is the study's score: the mean over all unordered pairs of
	// scored groups of |MAE_gi − MAE_gj|. NaN (null) with fewer than two
	// scored groups.
	Bias Estimate `json:"bias"`
	// Gap is max − min MAE over scored groups (Fairlearn's difference()).
	Gap Estimate `json:"gap"`
	// Ratio is min / max MAE over scored groups (1 when every MAE is 0).
	Ratio Estimate `json:"ratio"`
	// Worst and Best are the scored groups of highest and lowest MAE
	// (empty with fewer than two), and Diff their signed MAE difference:
	// its replicates contrast the same two groups, so its interval covers
	// 0 when they may not differ (Bias and Gap are never negative).
	Worst string   `json:"worst,omitempty"`
	Best  string   `json:"best,omitempty"`
	Diff  Estimate `json:"diff"`
	// Test is the between-group permutation test of Bias (nil when tests
	// are off or the score is unavailable).
	Test *Test `json:"test,omitempty"`
	// AgeAdjusted holds the scores after age standardisation (nil when
	// analysis.age_adjust.enabled is false).
	AgeAdjusted *AgeAdjusted `json:"age_adjusted,omitempty"`
}

// Score returns a score by metric name (MetricBias, MetricGap, MetricRatio).
func (a *AttributeResult) Score(metric string) (Estimate, bool) {
	switch metric {
	case MetricBias:
		return a.Bias, true
	case MetricGap:
		return a.Gap, true
	case MetricRatio:
		return a.Ratio, true
	}
	return Estimate{}, false
}

func (a *AttributeResult) setScore(metric string, e Estimate) {
	switch metric {
	case MetricBias:
		a.Bias = e
	case MetricGap:
		a.Gap = e
	case MetricRatio:
		a.Ratio = e
	}
}

// GroupResult is one group of an attribute.
type GroupResult struct {
	// Name is the group value ("female"), or values joined by "×".
	Name string `json:"name"`
	Metrics
	// Small is true when N < MinGroupSize: the metrics are noisy.
	Small bool `json:"small"`
	// Empty is true for a configured group with no rows.
	Empty bool `json:"empty"`
	// InScore is true when the group enters the attribute's scores.
	InScore bool `json:"in_score"`
}

// Test is a permutation test of one statistic.
type Test struct {
	// Name is the statistic, e.g. "ethnicity_bias".
	Name string `json:"name"`
	// Observed is the statistic on the data.
	Observed float64 `json:"observed"`
	// P is the permutation p-value, (1 + #{T* ≥ T}) / (1 + permutations);
	// two-sided for a within-subject test (|T*| ≥ |T|), whose Observed is
	// the signed mean difference.
	P float64 `json:"p"`
	// PHolm is P after Holm correction across the family: every test of
	// the analysis (raw, age-adjusted and within-subject).
	PHolm float64 `json:"p_holm"`
	// Permutations is the number of random permutations drawn.
	Permutations int `json:"permutations"`
	// Significant is PHolm < Settings.Alpha.
	Significant bool `json:"significant"`
}

// Settings echoes the options behind a Result.
type Settings struct {
	Rows                 int       `json:"rows"` // rows analysed
	MinGroupSize         int       `json:"min_group_size"`
	SmallGroups          string    `json:"small_groups"`
	AgeEdges             []float64 `json:"age_edges"`
	BootstrapResamples   int       `json:"bootstrap_resamples"`
	Confidence           float64   `json:"confidence"`
	BootstrapSeed        uint64    `json:"bootstrap_seed"`
	PermutationResamples int       `json:"permutation_resamples"`
	PermutationSeed      uint64    `json:"permutation_seed"`
	Alpha                float64   `json:"alpha"`
	// Range bounds the values analysed (rejected outside reject_*) and
	// flags implausible ones (outside flag_*).
	Range RangeOptions `json:"range"`
	// AgeAdjust is true when the age-adjusted scores were computed, over
	// the bins of AgeAdjustEdges weighted by AgeAdjustReference.
	AgeAdjust          bool      `json:"age_adjust"`
	AgeAdjustEdges     []float64 `json:"age_adjust_edges,omitempty"`
	AgeAdjustReference string    `json:"age_adjust_reference,omitempty"`
}

// Attribute returns the result for an attribute or intersection by name or
// key, or nil.
func (r *Result) Attribute(nameOrKey string) *AttributeResult {
	for i := range r.Attributes {
		if a := &r.Attributes[i]; a.Name == nameOrKey || a.Key == nameOrKey {
			return a
		}
	}
	return nil
}

// Metric looks up a gate-style metric key: an overall metric ("mae") or a
// score ("ethnicity_bias"). ok is false for an unknown key; note says why a
// known metric has no value (an unavailable attribute).
func (r *Result) Metric(key string) (e Estimate, note string, ok bool) {
	if e, ok := r.Overall.Get(key); ok {
		return e, "", true
	}
	for i := range r.Attributes {
		a := &r.Attributes[i]
		for _, m := range scoreMetrics {
			if ScoreKey(a.Key, m) == key {
				e, _ := a.Score(m)
				return e, a.Note, true
			}
			if ScoreKey(a.Key, m+AgeAdjustedSuffix) == key && a.AgeAdjusted != nil {
				e, _ := a.AgeAdjusted.Score(m)
				return e, a.AgeAdjusted.Note, true
			}
		}
	}
	return Estimate{}, "", false
}

// Score returns an adjusted score by metric name (MetricBias, MetricGap,
// MetricRatio).
func (a *AgeAdjusted) Score(metric string) (Estimate, bool) {
	switch metric {
	case MetricBias:
		return a.Bias, true
	case MetricGap:
		return a.Gap, true
	case MetricRatio:
		return a.Ratio, true
	}
	return Estimate{}, false
}
