package dataset

import (
	"fmt"
	"math"
	"strconv"

	"fairage/internal/spec"
)

// AgeGroups bins ages into labelled groups: [Edges[0], Edges[1]),
// [Edges[1], Edges[2]), ..., [Edges[last], ∞).
type AgeGroups struct {
	Edges  []float64
	Labels []string // one per edge
}

// FromConfig reads the inner edges (age_edges: [20, 40, 60]); the first
// group starts at 0.
func (g *AgeGroups) FromConfig(raw any) error {
	list, ok := raw.([]any)
	if !ok {
		return fmt.Errorf("expected a list of inner edges such as [20, 40, 60], got %v", raw)
	}
	edges := []float64{0}
	for i, it := range list {
		x, ok := spec.Number(it)
		if !ok {
			return fmt.Errorf("item %d: expected a number, got %v", i+1, it)
		}
		edges = append(edges, x)
	}
	ng, err := NewAgeGroups(edges, nil)
	if err != nil {
		return err
	}
	*g = ng
	return nil
}

// ToConfig writes the inner edges.
func (g AgeGroups) ToConfig() any {
	out := []any{}
	for _, e := range g.Edges[min(1, len(g.Edges)):] {
		out = append(out, e)
	}
	return out
}

// ConfigType names the setting's form in the config reference.
func (AgeGroups) ConfigType() string { return "list of numbers" }

// DefaultAgeGroups are the original study's bins: 0-19, 20-39, 40-59, 60+.
func DefaultAgeGroups() AgeGroups {
	return AgeGroups{Edges: []float64{0, 20, 40, 60}, Labels: []string{"0-19", "20-39", "40-59", "60+"}}
}

// NewAgeGroups checks edges (strictly increasing, finite, at least one) and
// labels them; nil labels are made from the edges ("20-39" for integer
// edges, "20-39.5" style otherwise, "60+" for the last).
func NewAgeGroups(edges []float64, labels []string) (AgeGroups, error) {
	if len(edges) == 0 {
		return AgeGroups{}, fmt.Errorf("age groups: need at least one edge")
	}
	for i, e := range edges {
		if math.IsNaN(e) || math.IsInf(e, 0) {
			return AgeGroups{}, fmt.Errorf("age groups: edge %d is %v, must be finite", i, e)
		}
		if i > 0 && e <= edges[i-1] {
			return AgeGroups{}, fmt.Errorf("age groups: edges must increase, but %g follows %g", e, edges[i-1])
		}
	}
	if labels == nil {
		labels = make([]string, len(edges))
		for i := range edges {
			labels[i] = edgeLabel(edges, i)
		}
	}
	if len(labels) != len(edges) {
		return AgeGroups{}, fmt.Errorf("age groups: %d labels for %d edges", len(labels), len(edges))
	}
	seen := map[string]bool{}
	for _, l := range labels {
		if l == "" || seen[l] {
			return AgeGroups{}, fmt.Errorf("age groups: label %q is empty or repeated", l)
		}
		seen[l] = true
	}
	return AgeGroups{Edges: append([]float64(nil), edges...), Labels: append([]string(nil), labels...)}, nil
}

func edgeLabel(edges []float64, i int) string {
	lo := strconv.FormatFloat(edges[i], 'g', -1, 64)
	if i == len(edges)-1 {
		return lo + "+"
	}
	hi := edges[i+1]
	// Integer ages read naturally as inclusive ranges ("20-39").
	if edges[i] == math.Trunc(edges[i]) && hi == math.Trunc(hi) {
		return lo + "-" + strconv.FormatFloat(hi-1, 'g', -1, 64)
	}
	return lo + "-" + strconv.FormatFloat(hi, 'g', -1, 64)
}

// Label returns the group of age, or "" when age is below the first edge.
func (g AgeGroups) Label(age float64) string {
	for i := len(g.Edges) - 1; i >= 0; i-- {
		if age >= g.Edges[i] {
			return g.Labels[i]
		}
	}
	return ""
}
