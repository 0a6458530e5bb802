package analysis

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
)

// GateBasis says what a gate compares with its bounds.
type GateBasis string

// Gate bases (YAML `analysis.gates.<metric>.on`).
const (
	// GateOnEstimate compares the point estimate (the default).
	GateOnEstimate GateBasis = "estimate"
	// GateOnInterval requires the whole bootstrap interval within bounds:
	// a conservative gate that a noisy estimate cannot pass by luck.
	GateOnInterval GateBasis = "interval"
)

// Gate is a pass/fail threshold on one metric (a key from MetricKeys),
// e.g. `ethnicity_bias: {max: 1.0}`. At least one bound is set.
type Gate struct {
	Max *float64  `yaml:"max" doc:"The value must be at most max."`
	Min *float64  `yaml:"min" doc:"The value must be at least min."`
	On  GateBasis `yaml:"on" doc:"estimate (default) compares the point estimate; interval requires the whole bootstrap interval within bounds."`
}

func (g Gate) basis() GateBasis {
	if g.On == "" {
		return GateOnEstimate
	}
	return g.On
}

func (g Gate) validate(key string, known []string) error {
	prefix := "analysis.gates." + key
	switch {
	case !slices.Contains(known, key):
		return fmt.Errorf("%s: unknown metric %q; known: %s", prefix, key, strings.Join(known, ", "))
	case g.Max == nil && g.Min == nil:
		return fmt.Errorf("%s: needs max or min", prefix)
	case g.Max != nil && !finite(*g.Max):
		return fmt.Errorf("%s.max: %v is not a finite number", prefix, *g.Max)
	case g.Min != nil && !finite(*g.Min):
		return fmt.Errorf("%s.min: %v is not a finite number", prefix, *g.Min)
	case g.Max != nil && g.Min != nil && *g.Min > *g.Max:
		return fmt.Errorf("%s: min %v is above max %v", prefix, *g.Min, *g.Max)
	case g.basis() != GateOnEstimate && g.basis() != GateOnInterval:
		return fmt.Errorf("%s.on: %q is not %q or %q", prefix, g.On, GateOnEstimate, GateOnInterval)
	}
	return nil
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// GateResult is the outcome of one gate.
type GateResult struct {
	// Metric is the gated metric key, e.g. "ethnicity_bias".
	Metric string `json:"metric"`
	// Max and Min are the configured bounds (absent when unset).
	Max *float64 `json:"max,omitempty"`
	Min *float64 `json:"min,omitempty"`
	// On is "estimate" or "interval".
	On GateBasis `json:"on"`
	// Value is the metric with its interval.
	Value Estimate `json:"value"`
	// Passed is true when the gate holds.
	Passed bool `json:"passed"`
	// Message describes a failure in one sentence, e.g. "ethnicity_bias =
	// 1.420 (95% CI 1.100–1.770) is above max 1"; empty when passed.
	Message string `json:"message,omitempty"`
}

// evaluateGates checks every gate against r, sorted by metric name.
func evaluateGates(r *Result, gates map[string]Gate, confidence float64) []GateResult {
	out := make([]GateResult, 0, len(gates))
	for _, key := range slices.Sorted(maps.Keys(gates)) {
		g := gates[key]
		e, note, _ := r.Metric(key)
		res := GateResult{Metric: key, Max: g.Max, Min: g.Min, On: g.basis(), Value: e}
		res.Passed, res.Message = checkGate(key, g, e, note, confidence)
		out = append(out, res)
	}
	return out
}

// checkGate decides one gate. A metric without a value fails: an audit
// gate that cannot be checked must not pass silently.
func checkGate(key string, g Gate, e Estimate, note string, confidence float64) (bool, string) {
	desc := describe(key, e, confidence)
	if math.IsNaN(e.Value) {
		if note == "" {
			note = "no value"
		}
		return false, fmt.Sprintf("%s cannot be checked: %s", key, note)
	}
	lo, hi := e.Value, e.Value
	if g.basis() == GateOnInterval {
		if !e.HasInterval() {
			return false, fmt.Sprintf("%s cannot be checked on its interval: bootstrap intervals are off", desc)
		}
		lo, hi = e.Lower, e.Upper
	}
	if g.Max != nil && hi > *g.Max {
		what := "is"
		if g.basis() == GateOnInterval {
			what = "has its upper bound"
		}
		return false, fmt.Sprintf("%s %s above max %s", desc, what, fmtBound(*g.Max))
	}
	if g.Min != nil && lo < *g.Min {
		what := "is"
		if g.basis() == GateOnInterval {
			what = "has its lower bound"
		}
		return false, fmt.Sprintf("%s %s below min %s", desc, what, fmtBound(*g.Min))
	}
	return true, ""
}

// describe formats "mae = 8.412 (95% CI 8.100–8.730)".
func describe(key string, e Estimate, confidence float64) string {
	s := fmt.Sprintf("%s = %.3f", key, e.Value)
	if e.HasInterval() {
		s += fmt.Sprintf(" (%s%% CI %.3f–%.3f)", fmtBound(confidence*100), e.Lower, e.Upper)
	}
	return s
}

func fmtBound(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

// GateError reports failed gates; the analyze stage returns it so the run
// exits non-zero after writing its outputs.
type GateError struct {
	Failed []GateResult
}

// Error lists every failed gate: "analysis gate failed: ethnicity_bias =
// 1.420 (95% CI 1.100–1.770) is above max 1" (gates joined by "; ").
func (e *GateError) Error() string {
	msgs := make([]string, len(e.Failed))
	for i, f := range e.Failed {
		msgs[i] = f.Message
	}
	word := "gate"
	if len(msgs) > 1 {
		word = "gates"
	}
	return fmt.Sprintf("analysis %s failed: %s", word, strings.Join(msgs, "; "))
}

// GateError returns a *GateError listing the failed gates, or nil when
// every gate passed (or none is configured).
func (r *Result) GateError() error {
	var failed []GateResult
	for _, g := range r.Gates {
		if !g.Passed {
			failed = append(failed, g)
		}
	}
	if len(failed) == 0 {
		return nil
	}
	return &GateError{Failed: failed}
}
