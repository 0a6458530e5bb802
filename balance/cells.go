package balance

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"

	"fairage/dataset"
)

// Sep joins attribute names and values of a joint cell, as in
// dataset.GroupCount ("gender×ethnicity", "female×asian").
const Sep = "×"

// population is the training set seen through the By attributes: the raw
// label of every sample (for the distribution tables) and the cell it is
// balanced in after the unknown and small-cell policies (for the plan).
type population struct {
	attrs   []string
	samples []*dataset.Sample
	labels  [][]string // [sample][attr]: value, or UnknownGroup
	// cellOf is each sample's index into cells, -1 when it is left
	// unbalanced; before grouping, 0 marks the samples still to group.
	cellOf []int
	cells  []cell
}

// cell is one unit of balancing: a joint cell, the pooled small cells, or
// (in marginal mode) a joint cell of the relabelled groups.
type cell struct {
	key     string
	labels  []string // per attribute; what marginal mode rakes on
	members []int    // sample indices, in ID order
}

func (c *cell) size() int { return len(c.members) }

// newPopulation labels the samples and applies the unknown policy; the
// small-cell policy depends on the mode and is applied by the caller.
func newPopulation(samples []*dataset.Sample, o Options, notes *notes) (*population, error) {
	p := &population{attrs: o.By, samples: samples,
		labels: make([][]string, len(samples)), cellOf: make([]int, len(samples))}
	unknown := make([]int, len(o.By)) // per attribute
	firstUnknown := make([]string, len(o.By))
	for i, s := range samples {
		l := make([]string, len(o.By))
		for j, a := range o.By {
			if l[j] = s.Attr(a); l[j] == "" {
				l[j] = UnknownGroup
				if unknown[j] == 0 {
					firstUnknown[j] = s.ID
				}
				unknown[j]++
			}
		}
		p.labels[i] = l
	}
	for j, a := range o.By {
		if unknown[j] == 0 {
			continue
		}
		switch o.Unknown {
		case PolicyFail:
			return nil, fmt.Errorf("balance.unknown: %d training samples have an unknown %s (first: %s) and the policy is fail; set balance.unknown to merge or skip",
				unknown[j], a, firstUnknown[j])
		case PolicyMerge:
			notes.info("%d training samples with an unknown %s are balanced as group %q (balance.unknown: merge)", unknown[j], a, UnknownGroup)
		case PolicySkip:
			notes.warn("%d training samples with an unknown %s are kept once, unbalanced (balance.unknown: skip)", unknown[j], a)
		}
	}
	for i, l := range p.labels {
		if o.Unknown == PolicySkip && slices.Contains(l, UnknownGroup) {
			p.cellOf[i] = -1
		}
	}
	return p, nil
}

// groupJoint puts every included sample in its joint cell, then pools or
// drops the cells below MinCount.
func (p *population) groupJoint(o Options, notes *notes) error {
	var small []*cell
	merged := &cell{key: OtherGroup, labels: slices.Repeat([]string{OtherGroup}, len(p.attrs))}
	for _, c := range p.jointCells(p.labels) {
		if c.size() >= o.MinCount {
			p.cells = append(p.cells, *c)
			continue
		}
		small = append(small, c)
		merged.members = append(merged.members, c.members...)
	}
	if len(small) > 0 {
		list := describeCells(small)
		switch o.SmallCells {
		case PolicyFail:
			return fmt.Errorf("balance.small_cells: cells below balance.min_count %d and the policy is fail: %s; set balance.small_cells to merge or skip, or lower balance.min_count",
				o.MinCount, list)
		case PolicySkip:
			notes.warn("cells below balance.min_count %d are kept once, unbalanced (balance.small_cells: skip): %s", o.MinCount, list)
		case PolicyMerge:
			sort.Ints(merged.members) // samples are in ID order
			p.cells = append(p.cells, *merged)
			notes.warn("cells below balance.min_count %d are pooled into one cell %q and balanced as one (balance.small_cells: merge): %s",
				o.MinCount, OtherGroup, list)
			if merged.size() < o.MinCount {
				notes.warn("the pooled cell %q still has only %d samples, below balance.min_count %d", OtherGroup, merged.size(), o.MinCount)
			}
		}
	}
	p.index()
	return nil
}

// groupMarginal applies the small-cell policy to each attribute's groups,
// then forms the joint cells of the resulting labels for raking.
func (p *population) groupMarginal(o Options, notes *notes) error {
	// Pooled groups are relabelled on copies: the raw labels still feed the
	// distribution tables, which show the data as it is.
	bl := append([][]string(nil), p.labels...)
	for j, a := range p.attrs {
		count := map[string]int{}
		for i, l := range bl {
			if p.cellOf[i] >= 0 {
				count[l[j]]++
			}
		}
		var small []string
		for _, g := range slices.Sorted(maps.Keys(count)) {
			if count[g] < o.MinCount {
				small = append(small, fmt.Sprintf("%s (%d)", g, count[g]))
			}
		}
		if len(small) == 0 {
			continue
		}
		list := strings.Join(small, ", ")
		switch o.SmallCells {
		case PolicyFail:
			return fmt.Errorf("balance.small_cells: %s groups below balance.min_count %d and the policy is fail: %s; set balance.small_cells to merge or skip, or lower balance.min_count",
				a, o.MinCount, list)
		case PolicySkip:
			notes.warn("%s groups below balance.min_count %d are kept once, unbalanced (balance.small_cells: skip): %s", a, o.MinCount, list)
		case PolicyMerge:
			notes.warn("%s groups below balance.min_count %d are pooled into one group %q (balance.small_cells: merge): %s", a, o.MinCount, OtherGroup, list)
		}
		pooled := 0
		for i, l := range bl {
			if count[l[j]] >= o.MinCount || p.cellOf[i] < 0 {
				continue
			}
			if o.SmallCells == PolicySkip {
				p.cellOf[i] = -1
				continue
			}
			nl := append([]string(nil), l...)
			nl[j] = OtherGroup
			bl[i] = nl
			pooled++
		}
		if o.SmallCells == PolicyMerge && pooled < o.MinCount {
			notes.warn("the pooled %s group %q still has only %d samples, below balance.min_count %d", a, OtherGroup, pooled, o.MinCount)
		}
	}
	for _, c := range p.jointCells(bl) {
		p.cells = append(p.cells, *c)
	}
	p.index()
	return nil
}

// jointCells groups the samples still to group by their labels, in key
// order.
func (p *population) jointCells(labels [][]string) []*cell {
	byKey := map[string]*cell{}
	for i, l := range labels {
		if p.cellOf[i] < 0 {
			continue
		}
		k := strings.Join(l, Sep)
		c := byKey[k]
		if c == nil {
			c = &cell{key: k, labels: l}
			byKey[k] = c
		}
		c.members = append(c.members, i)
	}
	out := make([]*cell, 0, len(byKey))
	for _, k := range slices.Sorted(maps.Keys(byKey)) {
		out = append(out, byKey[k])
	}
	return out
}

// index points every sample at its cell, or -1 when it is left
// unbalanced.
func (p *population) index() {
	for i := range p.cellOf {
		p.cellOf[i] = -1
	}
	for ci := range p.cells {
		for _, i := range p.cells[ci].members {
			p.cellOf[i] = ci
		}
	}
}

// excluded counts the samples left unbalanced.
func (p *population) excluded() int {
	n := 0
	for _, c := range p.cellOf {
		if c < 0 {
			n++
		}
	}
	return n
}

func describeCells(cells []*cell) string {
	s := make([]string, len(cells))
	for i, c := range cells {
		s[i] = fmt.Sprintf("%s (%d)", c.key, c.size())
	}
	return strings.Join(s, ", ")
}
