package analysis

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"
)

func ptr(v float64) *float64 { return &v }

func TestGateMessages(t *testing.T) {
	r := &Result{
		Overall: Metrics{MAE: Estimate{8.412, 8.1, 8.73}},
		Attributes: []AttributeResult{
			{Name: "ethnicity", Key: "ethnicity", Available: true, Bias: Estimate{1.42, 1.1, 1.77}, Gap: pointEstimate(2), Ratio: pointEstimate(0.5)},
			{Name: "expression", Key: "expression", Note: "expression has no known values: all 10 rows are unknown",
				Bias: pointEstimate(math.NaN()), Gap: pointEstimate(math.NaN()), Ratio: pointEstimate(math.NaN())},
		},
	}
	tests := []struct {
		key  string
		gate Gate
		want string // "" = passes
	}{
		{"ethnicity_bias", Gate{Max: ptr(1)}, "ethnicity_bias = 1.420 (95% CI 1.100–1.770) is above max 1"},
		{"ethnicity_bias", Gate{Max: ptr(1.5)}, ""},
		{"ethnicity_bias", Gate{Max: ptr(1.5), On: GateOnInterval}, "ethnicity_bias = 1.420 (95% CI 1.100–1.770) has its upper bound above max 1.5"},
		{"mae", Gate{Max: ptr(8)}, "mae = 8.412 (95% CI 8.100–8.730) is above max 8"},
		{"mae", Gate{Min: ptr(9)}, "mae = 8.412 (95% CI 8.100–8.730) is below min 9"},
		{"ethnicity_ratio", Gate{Min: ptr(0.4)}, ""},
		{"expression_bias", Gate{Max: ptr(1)}, "expression_bias cannot be checked: expression has no known values: all 10 rows are unknown"},
	}
	for _, tc := range tests {
		t.Run(tc.key+tc.want, func(t *testing.T) {
			r.Gates = evaluateGates(r, map[string]Gate{tc.key: tc.gate}, 0.95)
			g := r.Gates[0]
			if g.Passed != (tc.want == "") || g.Message != tc.want {
				t.Errorf("passed=%v message %q, want %q", g.Passed, g.Message, tc.want)
			}
			err := r.GateError()
			if (err == nil) != (tc.want == "") {
				t.Fatalf("GateError() = %v", err)
			}
			var ge *GateError
			if err != nil && (!errors.As(err, &ge) || err.Error() != "analysis gate failed: "+tc.want) {
				t.Errorf("error %q, want %q", err, "analysis gate failed: "+tc.want)
			}
		})
	}
}

func TestGatesInAnalyze(t *testing.T) {
	o := handOptions()
	o.Gates = map[string]Gate{"ethnicity_bias": {Max: ptr(1)}, "mae": {Max: ptr(8)}, "gender_bias": {Max: ptr(1.5)}}
	res, err := Analyze(context.Background(), handFixture(), o)
	if err != nil {
		t.Fatal(err)
	}
	// Sorted by key: ethnicity_bias (2 > 1) and gender_bias (2 > 1.5) fail, mae (2) passes.
	want := "analysis gates failed: ethnicity_bias = 2.000 is above max 1; gender_bias = 2.000 is above max 1.5"
	if err := res.GateError(); err == nil || err.Error() != want {
		t.Errorf("GateError() = %v, want %q", err, want)
	}
	if len(res.Gates) != 3 || !res.Gates[2].Passed || res.Gates[2].Metric != "mae" {
		t.Errorf("gates %+v", res.Gates)
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		edit func(o *Options)
		want string
	}{
		{"defaults", func(o *Options) {}, ""},
		{"confidence", func(o *Options) { o.Bootstrap.Confidence = 1.5 }, "analysis.bootstrap.confidence: 1.5 is outside [0.5, 0.999]"},
		{"attribute", func(o *Options) { o.Attributes = []string{"gender", "hair"} }, `analysis.attributes[1]: "hair" is not an attribute`},
		{"intersection", func(o *Options) { o.Intersections = []Intersection{{"gender"}} }, "analysis.intersections[0]: [gender] needs at least two attributes"},
		{"edges", func(o *Options) { o.AgeEdges = []float64{20, 10} }, "analysis.age_edges: [20 10] must be finite, positive and strictly increasing"},
		{"policy", func(o *Options) { o.SmallGroups = "drop" }, `analysis.small_groups: "drop" is not one of include, exclude`},
		{"resamples", func(o *Options) { o.Bootstrap.Resamples = -1 }, "analysis.bootstrap.resamples: -1 is outside [0, ∞)"},
		{"gate key", func(o *Options) { o.Gates = map[string]Gate{"hair_bias": {Max: ptr(1)}} }, `analysis.gates.hair_bias: unknown metric "hair_bias"`},
		{"gate bounds", func(o *Options) { o.Gates = map[string]Gate{"mae": {}} }, "analysis.gates.mae: needs max or min"},
		{"gate interval", func(o *Options) {
			o.Bootstrap.Resamples = 0
			o.Gates = map[string]Gate{"mae": {Max: ptr(1), On: GateOnInterval}}
		}, `analysis.gates.mae.on: "interval" needs analysis.bootstrap.resamples > 0`},
		{"groups", func(o *Options) { o.Groups = map[string][]string{"gender": {"f", "f"}} }, `analysis.groups.gender[1]: "f" is listed twice`},
		{"age groups", func(o *Options) { o.Groups = map[string][]string{"age_group": {"young"}} }, "analysis.groups.age_group: age groups come from analysis.age_edges"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := DefaultOptions()
			tc.edit(&o)
			err := o.Validate()
			if tc.want == "" {
				if err != nil {
					t.Errorf("unexpected error %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

// The gate keys of summary version 2 spelt the age attribute "age"
// (age_bias); they still work, renamed, with a deprecation message.
func TestDeprecatedAgeGateKeys(t *testing.T) {
	o := DefaultOptions()
	o.Gates = map[string]Gate{"age_bias": {Max: ptr(9)}, "age_group_gap": {Max: ptr(9)}}
	if err := o.Validate(); err != nil {
		t.Fatal(err)
	}
	if _, ok := o.Gates["age_group_bias"]; !ok || len(o.Gates) != 2 {
		t.Errorf("gates %v, want age_bias renamed to age_group_bias", o.Gates)
	}
	if len(o.Deprecated) != 1 || !strings.Contains(o.Deprecated[0], "analysis.gates.age_bias is deprecated") || !strings.Contains(o.Deprecated[0], "age_group_bias") {
		t.Errorf("deprecations %q", o.Deprecated)
	}
	if err := o.Validate(); err != nil || len(o.Deprecated) != 1 {
		t.Errorf("validating again: %v, %q", err, o.Deprecated)
	}
}
