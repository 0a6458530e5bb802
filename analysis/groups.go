package analysis

import (
	"sort"

	"fairage/dataset"
)

// encoding assigns every analysed row to a group of one grouping (an
// attribute or an intersection), or to none when its value is unknown.
type encoding struct {
	members  []string
	labels   []string // group names in report order
	of       []int32  // per row: group index, or -1 when unknown
	sizes    []int    // rows per group
	unknown  int
	unlisted map[string]int // values outside the configured groups
}

// encoder builds encodings, caching single attributes so an intersection
// reuses its members' codes.
type encoder struct {
	rows   []*dataset.Prediction
	opts   *Options
	extra  []dataset.AttrColumn // the audited table's own attribute columns
	single map[string]*encoding
}

func newEncoder(rows []*dataset.Prediction, opts *Options, extra []dataset.AttrColumn) *encoder {
	return &encoder{rows: rows, opts: opts, extra: extra, single: map[string]*encoding{}}
}

// encode returns the encoding of a grouping given by its members.
func (c *encoder) encode(members []string) *encoding {
	if len(members) == 1 {
		return c.attribute(members[0])
	}
	parts := make([]*encoding, len(members))
	for i, m := range members {
		parts[i] = c.attribute(m)
	}
	return intersect(members, parts)
}

// attribute encodes one attribute, caching the result.
func (c *encoder) attribute(name string) *encoding {
	if e, ok := c.single[name]; ok {
		return e
	}
	names := make([]string, len(c.extra))
	var levels []string
	for i, col := range c.extra {
		names[i] = col.Name
		if col.Name == name {
			levels = col.Levels
		}
	}
	value, ok := dataset.Accessor(names, name)
	if !ok {
		value = func(*dataset.Prediction) string { return "" } // Validate rejects such names
	}
	var fixed []string
	if name == dataset.AttrAgeGroup {
		// Age groups come from the ground truth, so the study's bins hold
		// whatever age_group column the dataset carried.
		edges := c.opts.AgeEdges
		fixed = AgeLabels(edges)
		value = func(p *dataset.Prediction) string { return ageLabel(p.YTrue, edges, fixed) }
	} else if g, ok := c.opts.Groups[name]; ok {
		fixed = g
	} else if levels != nil {
		// A binned numeric column: its bins in order, every one shown.
		fixed = levels
	}
	e := encodeValues(name, c.rows, value, fixed)
	c.single[name] = e
	return e
}

// encodeValues groups rows by value. With fixed labels, values outside them
// are unknown (and counted as unlisted); otherwise groups are the distinct
// values, sorted.
func encodeValues(name string, rows []*dataset.Prediction, value func(*dataset.Prediction) string, fixed []string) *encoding {
	e := &encoding{members: []string{name}, of: make([]int32, len(rows))}
	index := map[string]int32{}
	for i, l := range fixed {
		index[l] = int32(i)
	}
	e.labels = append([]string(nil), fixed...)
	for i, p := range rows {
		v := value(p)
		if v == "" {
			e.of[i] = -1
			continue
		}
		g, ok := index[v]
		if !ok && fixed != nil {
			if e.unlisted == nil {
				e.unlisted = map[string]int{}
			}
			e.unlisted[v]++
			e.of[i] = -1
			continue
		}
		if !ok {
			// Codes in order of first appearance; relabelled sorted below.
			g = int32(len(e.labels))
			index[v] = g
			e.labels = append(e.labels, v)
		}
		e.of[i] = g
	}
	if fixed == nil {
		e.sortLabels()
	}
	e.count()
	return e
}

// sortLabels renumbers the groups so labels are in sorted order.
func (e *encoding) sortLabels() {
	order := make([]int, len(e.labels))
	for i := range order {
		order[i] = i
	}
	sort.Slice(order, func(a, b int) bool { return e.labels[order[a]] < e.labels[order[b]] })
	remap := make([]int32, len(order))
	labels := make([]string, len(order))
	for newIdx, old := range order {
		remap[old] = int32(newIdx)
		labels[newIdx] = e.labels[old]
	}
	e.labels = labels
	for i, g := range e.of {
		if g >= 0 {
			e.of[i] = remap[g]
		}
	}
}

// count fills sizes and unknown from of.
func (e *encoding) count() {
	e.sizes = make([]int, len(e.labels))
	e.unknown = 0
	for _, g := range e.of {
		if g < 0 {
			e.unknown++
		} else {
			e.sizes[g]++
		}
	}
}

// intersect combines member encodings. A row is unknown when any member is
// unknown; only combinations that occur become groups, ordered by the
// members' orders (mixed-radix code).
func intersect(members []string, parts []*encoding) *encoding {
	n := len(parts[0].of)
	codes := make([]int64, n)
	for i := 0; i < n; i++ {
		var code int64
		for _, p := range parts {
			g := p.of[i]
			if g < 0 {
				code = -1
				break
			}
			code = code*int64(len(p.labels)) + int64(g)
		}
		codes[i] = code
	}
	present := map[int64]struct{}{}
	for _, c := range codes {
		if c >= 0 {
			present[c] = struct{}{}
		}
	}
	sorted := make([]int64, 0, len(present))
	for c := range present {
		sorted = append(sorted, c)
	}
	sort.Slice(sorted, func(a, b int) bool { return sorted[a] < sorted[b] })
	index := make(map[int64]int32, len(sorted))
	e := &encoding{members: members, of: make([]int32, n)}
	for i, c := range sorted {
		index[c] = int32(i)
		e.labels = append(e.labels, intersectionLabel(c, parts))
	}
	for i, c := range codes {
		if c < 0 {
			e.of[i] = -1
		} else {
			e.of[i] = index[c]
		}
	}
	e.count()
	return e
}

func intersectionLabel(code int64, parts []*encoding) string {
	vals := make([]string, len(parts))
	for i := len(parts) - 1; i >= 0; i-- {
		k := int64(len(parts[i].labels))
		vals[i] = parts[i].labels[code%k]
		code /= k
	}
	return GroupingName(vals)
}

// AgeLabels names the age bins for inner edges e1 < e2 < … as samples
// name their age groups (dataset.AgeGroupLabels): [20, 40, 60] gives
// 0-19, 20-39, 40-59, 60+.
func AgeLabels(edges []float64) []string { return dataset.AgeGroupLabels(edges) }

// ageLabel bins an age; negative ages are unknown rather than put in the
// first bin, since no face is younger than 0.
func ageLabel(age float64, edges []float64, labels []string) string {
	if !(age >= 0) {
		return ""
	}
	return labels[sort.Search(len(edges), func(i int) bool { return age < edges[i] })]
}

// GroupLabeler returns a function naming the group of a prediction in the
// grouping given by its members, as Analyze names it (an age bin for
// age_group, values joined by "_x_" for an intersection), or "" when a
// value is unknown. extra names the table's own attribute columns
// (dataset.PredictionTable.Extra), nil for none. Reports use it to draw
// per-group charts from the predictions. It does not apply configured
// groups (analysis.groups): a value outside them still gets its own label.
func GroupLabeler(members []string, ageEdges []float64, extra []string) func(p *dataset.Prediction) string {
	labels := AgeLabels(ageEdges)
	get := make([]func(*dataset.Prediction) string, len(members))
	for i, m := range members {
		if m == dataset.AttrAgeGroup {
			get[i] = func(p *dataset.Prediction) string { return ageLabel(p.YTrue, ageEdges, labels) }
			continue
		}
		f, ok := dataset.Accessor(extra, m)
		if !ok {
			f = func(*dataset.Prediction) string { return "" }
		}
		get[i] = f
	}
	if len(members) == 1 {
		return get[0]
	}
	return func(p *dataset.Prediction) string {
		vals := make([]string, len(members))
		for i, g := range get {
			v := g(p)
			if v == "" {
				return ""
			}
			vals[i] = v
		}
		return GroupingName(vals)
	}
}
