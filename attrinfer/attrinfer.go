// Package attrinfer turns a face-attribute classifier's class probabilities
// into a dataset attribute value: each class is mapped onto the dataset's
// vocabulary (e.g. the emotion model's happy → happy, neutral → neutral,
// every other class → other), and a prediction whose mapped probability is
// below a threshold stays unknown, so an inferred label is only as
// confident as declared. It owns that rule and its configuration; it knows
// nothing of models (tfjsmodel runs the classifier) or of the pipeline (a
// stage would call it and record the value as inferred, with its
// confidence, never as ground truth).
package attrinfer

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"

	"fairage/internal/spec"
)

// Config declares how one attribute is inferred.
type Config struct {
	// Mapping maps each classifier class to a value of the attribute's
	// vocabulary; classes left out take Other.
	Mapping map[string]string `yaml:"mapping" doc:"Classifier class → attribute value (e.g. {happy: happy, neutral: neutral}); classes not listed take other."`
	// Other is the value of unlisted classes ("": they must all be listed).
	Other string `yaml:"other" doc:"Value of the classes the mapping leaves out (empty: every class must be mapped)."`
	// Threshold is the least probability, summed over the classes mapped
	// to the winning value, for the value to be kept.
	Threshold float64 `yaml:"threshold" range:"[0,1]" doc:"Least probability (summed over the classes mapped to the chosen value) for an inferred value to be kept; below it the value stays unknown."`
}

// Check validates the configuration against the classifier's classes and,
// when vocabulary is not empty, the attribute's allowed values. Errors
// name the key under prefix (e.g. "infer.expression").
func (c Config) Check(prefix string, classes, vocabulary []string) error {
	errs := []error{spec.Check(prefix, &c)}
	key := func(k string) string { return prefix + "." + k }
	if len(classes) == 0 {
		errs = append(errs, fmt.Errorf("%s: the classifier declares no classes", prefix))
	}
	for _, k := range slices.Sorted(maps.Keys(c.Mapping)) {
		if !slices.Contains(classes, k) {
			errs = append(errs, fmt.Errorf("%s: %q is not a class of the classifier (its %d classes: %s)",
				key("mapping"), k, len(classes), strings.Join(classes, ", ")))
		}
	}
	if c.Other == "" {
		var missing []string
		for _, cl := range classes {
			if _, ok := c.Mapping[cl]; !ok {
				missing = append(missing, cl)
			}
		}
		if len(missing) > 0 {
			errs = append(errs, fmt.Errorf("%s: the classifier has %d classes but the mapping covers %d (missing %s); map them or set %s",
				key("mapping"), len(classes), len(classes)-len(missing), strings.Join(missing, ", "), key("other")))
		}
	}
	if len(vocabulary) > 0 {
		for _, v := range append(slices.Sorted(maps.Values(c.Mapping)), c.Other) {
			if v != "" && !slices.Contains(vocabulary, v) {
				errs = append(errs, fmt.Errorf("%s: %q is not an allowed value (allowed: %s)", key("mapping"), v, strings.Join(vocabulary, ", ")))
			}
		}
	}
	return errors.Join(errs...)
}

// Result is one inferred value.
type Result struct {
	Value      string  // the mapped value; "" when unknown
	Confidence float64 // the probability summed over the classes mapped to the chosen value
	Known      bool    // Confidence reached the threshold
}

// Infer maps one row of class probabilities (in classes order) onto the
// vocabulary: the value whose classes sum to the largest probability
// wins (ties: the first in class order), and is kept when that sum
// reaches the threshold. A row of another width is a caller error.
func (c Config) Infer(classes []string, probs []float32) (Result, error) {
	if len(probs) != len(classes) {
		return Result{}, fmt.Errorf("%d probabilities for %d classes", len(probs), len(classes))
	}
	sum := map[string]float64{}
	var order []string
	for i, cl := range classes {
		v, ok := c.Mapping[cl]
		if !ok {
			v = c.Other
		}
		if v == "" {
			return Result{}, fmt.Errorf("class %q has no mapped value and no other value is set", cl)
		}
		p := float64(probs[i])
		if math.IsNaN(p) || math.IsInf(p, 0) {
			return Result{}, fmt.Errorf("class %q has probability %v", cl, p)
		}
		if _, seen := sum[v]; !seen {
			order = append(order, v)
		}
		sum[v] += p
	}
	best := order[0]
	for _, v := range order[1:] {
		if sum[v] > sum[best] {
			best = v
		}
	}
	r := Result{Value: best, Confidence: sum[best], Known: sum[best] >= c.Threshold}
	if !r.Known {
		r.Value = ""
	}
	return r, nil
}
