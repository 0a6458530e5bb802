package balance

import (
	"fmt"
	"sort"
	"strings"
	"testing"

	"fairage/dataset"
)

// fixture builds training samples with the given number per
// "gender×ethnicity" cell; ages cycle through 1..80 so LDS has something to
// smooth.
func fixture(cells map[string]int) []dataset.Sample {
	var out []dataset.Sample
	keys := make([]string, 0, len(cells))
	for k := range cells {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		parts := strings.Split(k, Sep)
		for i := 0; i < cells[k]; i++ {
			out = append(out, dataset.Sample{
				ID:        fmt.Sprintf("%s-%04d", strings.ReplaceAll(k, Sep, "-"), i),
				Split:     dataset.SplitTrain,
				Age:       float64(1 + (len(out)*7)%80),
				Gender:    parts[0],
				Ethnicity: parts[1],
			})
		}
	}
	return out
}

// skewed is a gender×ethnicity table with a 30× spread between cells.
var skewed = map[string]int{
	"female×asian": 150, "female×black": 60, "female×white": 900,
	"male×asian": 100, "male×black": 30, "male×white": 700,
}

func options(strategy Strategy, mode Mode) Options {
	o := DefaultOptions()
	o.Strategy, o.Mode, o.Seed, o.MinCount = strategy, mode, 42, 1
	return o
}

func mustPlan(t *testing.T, samples []dataset.Sample, o Options) *Result {
	t.Helper()
	r, err := Plan(t.Context(), samples, o)
	if err != nil {
		t.Fatalf("Plan: %v", err)
	}
	return r
}

// appearances counts plan rows per sample id.
func appearances(rows []dataset.PlanRow) map[string]int {
	m := map[string]int{}
	for _, r := range rows {
		m[r.SampleID]++
	}
	return m
}

// cellOfSample maps sample id to its "gender×ethnicity" key.
func cellOfSample(samples []dataset.Sample) map[string]string {
	m := map[string]string{}
	for _, s := range samples {
		m[s.ID] = s.Gender + Sep + s.Ethnicity
	}
	return m
}

// after returns the "after" counts of one attribute (or joint name) by group.
func stageCounts(counts []dataset.GroupCount, stage, attr string) map[string]dataset.GroupCount {
	m := map[string]dataset.GroupCount{}
	for _, c := range counts {
		if c.Stage == stage && c.Attribute == attr {
			m[c.Group] = c
		}
	}
	return m
}

func meanWeight(rows []dataset.PlanRow) float64 {
	s := 0.0
	for _, r := range rows {
		s += r.Weight
	}
	return s / float64(len(rows))
}
