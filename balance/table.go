package balance

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"sort"
	"strings"

	"github.com/go-gota/gota/dataframe"
	"github.com/go-gota/gota/series"

	"fairage/dataset"
)

// tally is one joint cell of a distribution: its labels, how many examples
// it holds and their summed loss weight.
type tally struct {
	labels []string
	count  int64
	weight float64
}

// groupTotal is one group of one attribute, summed over the joint cells.
type groupTotal struct {
	group  string
	count  int64
	weight float64
}

// cellFrame is the joint table as a data frame: one row per cell, a column
// per attribute, and count and weight columns. Tables have one row per cell
// (tens of rows), so gota's convenience costs nothing here.
func cellFrame(attrs []string, cells []tally) dataframe.DataFrame {
	cols := make([]series.Series, 0, len(attrs)+2)
	for j, a := range attrs {
		v := make([]string, len(cells))
		for i, c := range cells {
			v[i] = c.labels[j]
		}
		cols = append(cols, series.New(v, series.String, a))
	}
	counts := make([]float64, len(cells))
	weights := make([]float64, len(cells))
	for i, c := range cells {
		counts[i], weights[i] = float64(c.count), c.weight
	}
	cols = append(cols, series.New(counts, series.Float, "count"), series.New(weights, series.Float, "weight"))
	return dataframe.New(cols...)
}

// marginal sums the joint table over every attribute but attr, sorted by
// group.
func marginal(df dataframe.DataFrame, attr string) ([]groupTotal, error) {
	if df.Nrow() == 0 {
		return nil, nil
	}
	g := df.GroupBy(attr)
	if g.Err != nil {
		return nil, fmt.Errorf("group %s: %w", attr, g.Err)
	}
	agg := g.Aggregation([]dataframe.AggregationType{dataframe.Aggregation_SUM, dataframe.Aggregation_SUM},
		[]string{"count", "weight"}).Arrange(dataframe.Sort(attr))
	if agg.Err != nil {
		return nil, fmt.Errorf("sum %s groups: %w", attr, agg.Err)
	}
	groups := agg.Col(attr).Records()
	counts := agg.Col("count_SUM").Float()
	weights := agg.Col("weight_SUM").Float()
	out := make([]groupTotal, len(groups))
	for i := range groups {
		out[i] = groupTotal{group: groups[i], count: int64(math.Round(counts[i])), weight: weights[i]}
	}
	return out, nil
}

// tallyCells counts examples per joint cell on plain slices (this loop
// sees every example) and returns the cells sorted by key. labelOf gives
// example i's labels; weightOf its loss weight.
func tallyCells(n int, labelOf func(i int) []string, weightOf func(i int) float64) []tally {
	byKey := map[string]*tally{}
	for i := 0; i < n; i++ {
		l := labelOf(i)
		k := strings.Join(l, Sep)
		t := byKey[k]
		if t == nil {
			t = &tally{labels: l}
			byKey[k] = t
		}
		t.count++
		t.weight += weightOf(i)
	}
	out := make([]tally, 0, len(byKey))
	for _, k := range slices.Sorted(maps.Keys(byKey)) {
		out = append(out, *byKey[k])
	}
	return out
}

// distribution renders one stage ("before" or "after") of the group
// distribution table: each attribute's groups, then the joint cells when
// there is more than one attribute.
func distribution(stage string, attrs []string, cells []tally) ([]dataset.GroupCount, error) {
	df := cellFrame(attrs, cells)
	var out []dataset.GroupCount
	for _, a := range attrs {
		groups, err := marginal(df, a)
		if err != nil {
			return nil, fmt.Errorf("%s distribution: %w", stage, err)
		}
		for _, g := range groups {
			out = append(out, dataset.GroupCount{Stage: stage, Attribute: a, Group: g.group, Count: g.count, Weight: g.weight})
		}
	}
	if len(attrs) > 1 {
		name := strings.Join(attrs, Sep)
		joint := append([]tally(nil), cells...)
		sort.Slice(joint, func(i, j int) bool {
			return strings.Join(joint[i].labels, Sep) < strings.Join(joint[j].labels, Sep)
		})
		for _, c := range joint {
			out = append(out, dataset.GroupCount{Stage: stage, Attribute: name,
				Group: strings.Join(c.labels, Sep), Count: c.count, Weight: c.weight})
		}
	}
	return out, nil
}
