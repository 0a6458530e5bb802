package balance

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

type targetKind int

const (
	targetMax targetKind = iota
	targetMean
	targetMin
	targetCount
	targetFraction // of the largest cell
)

// target is a parsed balance.target.
type target struct {
	kind  targetKind
	value float64 // count or fraction
	text  string  // as written, for messages
}

// parseTarget reads balance.target for a strategy. A bare number in (0, 1]
// or a percentage is a fraction of the largest cell; a whole number above 1
// is a count.
func parseTarget(s string, st Strategy) (target, error) {
	s = strings.TrimSpace(strings.ToLower(s))
	if s == "" {
		if st == StrategyUndersample {
			return target{kind: targetMin, text: "min"}, nil
		}
		return target{kind: targetMax, text: "max"}, nil
	}
	t := target{text: s}
	switch {
	case s == "max":
		t.kind = targetMax
	case s == "mean":
		t.kind = targetMean
	case s == "min":
		t.kind = targetMin
	case strings.HasSuffix(s, "%"):
		v, err := strconv.ParseFloat(strings.TrimSuffix(s, "%"), 64)
		if err != nil || !(v > 0 && v <= 100) {
			return t, fmt.Errorf("balance.target: %q is not a percentage in (0%%, 100%%]", s)
		}
		t.kind, t.value = targetFraction, v/100
	default:
		v, err := strconv.ParseFloat(s, 64)
		switch {
		case err != nil || math.IsNaN(v) || math.IsInf(v, 0):
			return t, fmt.Errorf("balance.target: %q is not max, mean, min, a count or a fraction of the largest cell", s)
		case v <= 0:
			return t, fmt.Errorf("balance.target: %s must be positive", s)
		case v <= 1:
			t.kind, t.value = targetFraction, v
		case v != math.Trunc(v):
			return t, fmt.Errorf("balance.target: %s is neither a whole count nor a fraction in (0, 1]", s)
		default:
			t.kind, t.value = targetCount, v
		}
	}
	// max for undersampling and min for oversampling would change nothing;
	// that is surely a mistake in the config, so say so.
	if st == StrategyOversample && t.kind == targetMin {
		return t, fmt.Errorf("balance.target: min cannot be an oversampling target (it would add nothing); use max, mean, a count or a fraction")
	}
	if st == StrategyUndersample && t.kind == targetMax {
		return t, fmt.Errorf("balance.target: max cannot be an undersampling target (it would drop nothing); use min, mean, a count or a fraction")
	}
	return t, nil
}

// level resolves the target over the sizes of the cells (or groups) being
// balanced. It does not clamp: callers decide what happens to cells on the
// far side of the level.
func (t target) level(sizes []float64) float64 {
	lo, hi, sum := math.Inf(1), 0.0, 0.0
	for _, n := range sizes {
		lo, hi, sum = math.Min(lo, n), math.Max(hi, n), sum+n
	}
	switch t.kind {
	case targetMax:
		return hi
	case targetMin:
		return lo
	case targetMean:
		return math.Round(sum / float64(len(sizes)))
	case targetFraction:
		return math.Round(t.value * hi)
	default:
		return t.value
	}
}
