package analysis

import (
	"encoding/json"
	"fmt"
	"math"
)

// Estimate is a point estimate with its bootstrap percentile interval.
// Lower and Upper are NaN when intervals are off; Value is NaN when the
// metric is undefined (e.g. a group with no rows). In JSON every NaN is
// written as null, so the summary stays valid JSON.
type Estimate struct {
	Value float64 `json:"value"`
	Lower float64 `json:"lower"`
	Upper float64 `json:"upper"`
}

// pointEstimate is an Estimate without an interval.
func pointEstimate(v float64) Estimate {
	return Estimate{Value: v, Lower: math.NaN(), Upper: math.NaN()}
}

// HasInterval reports whether the estimate carries a bootstrap interval.
func (e Estimate) HasInterval() bool { return !math.IsNaN(e.Lower) && !math.IsNaN(e.Upper) }

// String formats the estimate as "1.234 [1.100, 1.370]" (no interval part
// when there is none, "n/a" for an undefined value).
func (e Estimate) String() string {
	if math.IsNaN(e.Value) {
		return "n/a"
	}
	if !e.HasInterval() {
		return fmt.Sprintf("%.3f", e.Value)
	}
	return fmt.Sprintf("%.3f [%.3f, %.3f]", e.Value, e.Lower, e.Upper)
}

type estimateJSON struct {
	Value *float64 `json:"value"`
	Lower *float64 `json:"lower"`
	Upper *float64 `json:"upper"`
}

func nullable(v float64) *float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return &v
}

func orNaN(p *float64) float64 {
	if p == nil {
		return math.NaN()
	}
	return *p
}

// MarshalJSON writes NaN as null.
func (e Estimate) MarshalJSON() ([]byte, error) {
	return json.Marshal(estimateJSON{nullable(e.Value), nullable(e.Lower), nullable(e.Upper)})
}

// UnmarshalJSON reads null as NaN.
func (e *Estimate) UnmarshalJSON(b []byte) error {
	var j estimateJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*e = Estimate{orNaN(j.Value), orNaN(j.Lower), orNaN(j.Upper)}
	return nil
}
