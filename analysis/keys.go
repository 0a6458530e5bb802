package analysis

import (
	"slices"
	"strings"

	"fairage/dataset"
)

// Metric names used in Result, the metrics table and gate keys.
const (
	MetricMAE       = "mae"        // mean |ŷ−y|
	MetricRMSE      = "rmse"       // sqrt(mean (ŷ−y)²)
	MetricMeanError = "mean_error" // mean ŷ−y: positive means over-estimation
	MetricMedianAE  = "median_ae"  // median |ŷ−y|
	MetricBias      = "bias"       // the study's score: mean pairwise |MAE gap|
	MetricGap       = "gap"        // max − min group MAE (Fairlearn's difference)
	MetricRatio     = "ratio"      // min / max group MAE (Fairlearn's ratio)
)

// AgeAdjustedSuffix marks the age-adjusted variant of a score in gate and
// test keys ("ethnicity_bias_age_adjusted") and metrics-table rows
// ("bias_age_adjusted", per group "mae_age_adjusted").
const AgeAdjustedSuffix = "_age_adjusted"

// groupMetrics are the per-group (and overall) metrics, in output order.
var groupMetrics = []string{MetricMAE, MetricRMSE, MetricMeanError, MetricMedianAE}

// scoreMetrics are the per-attribute disparity scores, in output order.
var scoreMetrics = []string{MetricBias, MetricGap, MetricRatio}

// IntersectionSep joins the attribute names and the group values of an
// intersection: ASCII, so every key and label types in a notebook
// ("gender_x_ethnicity", group "female_x_asian"). Reports show it as " × ".
const IntersectionSep = "_x_"

// GroupingName is the name of a grouping in every output: the attribute
// itself, or the members joined by "_x_" for an intersection
// ("gender_x_ethnicity").
func GroupingName(members []string) string { return strings.Join(members, IntersectionSep) }

// GroupingKey is the key of a grouping in gate and test names: its name
// with every character other than ASCII letters, digits and '_' replaced
// by '_' (an audited table's column "skin tone" gives "skin_tone"). For
// the built-in attributes it is the name itself ("age_group",
// "gender_x_ethnicity").
func GroupingKey(members []string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_':
			return r
		}
		return '_'
	}, GroupingName(members))
}

// ScoreKey names a grouping's score in gates and tests, e.g.
// ScoreKey("ethnicity", MetricBias) = "ethnicity_bias".
func ScoreKey(groupingKey, metric string) string { return groupingKey + "_" + metric }

// MetricKeys lists the metric names a gate may use under o: the overall
// metrics (mae, rmse, mean_error, median_ae) and, for every grouping,
// <key>_bias, <key>_gap and <key>_ratio, and with age adjustment on, for
// every grouping not by age, <key>_bias_age_adjusted (and _gap_, _ratio_).
func MetricKeys(o *Options) []string {
	keys := append([]string(nil), groupMetrics...)
	for _, members := range o.groupings() {
		k := GroupingKey(members)
		for _, m := range scoreMetrics {
			keys = append(keys, ScoreKey(k, m))
		}
		if o.AgeAdjust.Enabled && !slices.Contains(members, dataset.AttrAgeGroup) {
			for _, m := range scoreMetrics {
				keys = append(keys, ScoreKey(k, m+AgeAdjustedSuffix))
			}
		}
	}
	return keys
}
