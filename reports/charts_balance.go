package reports

import (
	"fmt"
	"strings"

	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"

	"fairage/dataset"
)

// balanceCharts draws, per attribute, the training examples of each group
// before and after balancing as paired bars. Attributes keep the order in
// which they first appear; groups within one are in order of appearance.
func balanceCharts(dist []dataset.GroupCount) ([]chart, error) {
	type groupCounts struct {
		order         []string
		before, after map[string]float64
	}
	var attrs []string
	byAttr := map[string]*groupCounts{}
	for _, c := range dist {
		gc, ok := byAttr[c.Attribute]
		if !ok {
			gc = &groupCounts{before: map[string]float64{}, after: map[string]float64{}}
			byAttr[c.Attribute] = gc
			attrs = append(attrs, c.Attribute)
		}
		if _, seen := gc.before[c.Group]; !seen {
			if _, seen := gc.after[c.Group]; !seen {
				gc.order = append(gc.order, c.Group)
			}
		}
		if c.Stage == "after" {
			gc.after[c.Group] += float64(c.Count)
		} else {
			gc.before[c.Group] += float64(c.Count)
		}
	}
	var out []chart
	for i, attr := range attrs {
		gc := byAttr[attr]
		before, after := make(plotter.Values, len(gc.order)), make(plotter.Values, len(gc.order))
		for j, g := range gc.order {
			before[j], after[j] = gc.before[g], gc.after[g]
		}
		title := fmt.Sprintf("Training examples by %s, before and after balancing", display(attr))
		p := newPlot(title, display(attr), "examples")
		w := vg.Points(14)
		for k, v := range []struct {
			name string
			vals plotter.Values
		}{{"before", before}, {"after", after}} {
			bars, err := plotter.NewBarChart(v.vals, w)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", title, err)
			}
			bars.Color = palette[k]
			bars.LineStyle.Width = 0
			bars.Offset = w * vg.Length(2*k-1) / 2
			p.Add(bars)
			p.Legend.Add(v.name, bars)
		}
		p.Add(plotter.NewGrid())
		p.Legend.Top = true
		p.Y.Min = 0
		legendRoom(p, 2)
		nominalX(p, gc.order)
		svg, err := renderSVG(p)
		if err != nil {
			return nil, err
		}
		out = append(out, chart{ID: fmt.Sprintf("balance-%d-%s", i, safeID(attr)), Title: title, SVG: svg})
	}
	return out, nil
}

// safeID keeps ASCII letters, digits and '-' of s for an HTML id or file
// name; the index in front keeps ids unique.
func safeID(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	return b.String()
}
