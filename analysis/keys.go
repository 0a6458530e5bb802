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

// intersectionSep joins attribute names and group values of an
// intersection, as dataset.GroupCount does.
const intersectionSep = "×"

// GroupingName is the display name of a grouping: the attribute itself, or
// the members joined by "×" for an intersection ("gender×ethnicity").
func GroupingName(members []string) string { return strings.Join(members, intersectionSep) }

// GroupingKey is the YAML-friendly key of a grouping used in gate and test
// names: "gender", "age" for age_group (the study calls it age bias), and
// members joined by "_x_" for an intersection ("gender_x_ethnicity").
func GroupingKey(members []string) string {
	parts := make([]string, len(members))
	for i, m := range members {
		parts[i] = m
		if m == dataset.AttrAgeGroup {
			parts[i] = "age"
		}
	}
	return strings.Join(parts, "_x_")
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
