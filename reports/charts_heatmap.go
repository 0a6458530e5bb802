package reports

import (
	"fmt"
	"image/color"
	"math"
	"slices"

	"gonum.org/v1/plot/palette/brewer"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"fairage/analysis"
)

// cellGrid is an intersection's MAE per (row group, column group).
type cellGrid struct {
	rows, cols []string
	mae        [][]float64 // [row][col], NaN where the cell has no rows
	n          [][]int
}

func (g *cellGrid) Dims() (c, r int)   { return len(g.cols), len(g.rows) }
func (g *cellGrid) Z(c, r int) float64 { return g.mae[r][c] }
func (g *cellGrid) X(c int) float64    { return float64(c) }
func (g *cellGrid) Y(r int) float64    { return float64(r) }

// gridOf lays out a two-attribute intersection's groups: rows are the
// first member's values, columns the second's, each in the order the
// analysis gives them. ok is false for other groupings or when a group
// name cannot be split into the two values.
func gridOf(a *analysis.AttributeResult, singles map[string]*analysis.AttributeResult) (*cellGrid, bool) {
	if len(a.Members) != 2 || !a.Available {
		return nil, false
	}
	order := func(member string) []string {
		var out []string
		if s := singles[member]; s != nil {
			for _, g := range s.Groups {
				out = append(out, g.Name)
			}
		}
		return out
	}
	rows, cols := order(a.Members[0]), order(a.Members[1])
	type cell struct {
		mae float64
		n   int
	}
	cells := map[[2]string]cell{}
	for _, g := range a.Groups {
		r, c, ok := splitPair(g.Name, rows, cols)
		if !ok {
			return nil, false
		}
		if g.N > 0 {
			cells[[2]string{r, c}] = cell{g.MAE.Value, g.N}
		}
	}
	// Keep rows and columns with at least one cell.
	keep := func(names []string, has func(string) bool) []string {
		return slices.DeleteFunc(slices.Clone(names), func(s string) bool { return !has(s) })
	}
	rows = keep(rows, func(r string) bool {
		return slices.ContainsFunc(cols, func(c string) bool { _, ok := cells[[2]string{r, c}]; return ok })
	})
	cols = keep(cols, func(c string) bool {
		return slices.ContainsFunc(rows, func(r string) bool { _, ok := cells[[2]string{r, c}]; return ok })
	})
	if len(rows) < 2 || len(cols) < 2 {
		return nil, false
	}
	g := &cellGrid{rows: rows, cols: cols}
	for _, r := range rows {
		mr, nr := make([]float64, len(cols)), make([]int, len(cols))
		for j, c := range cols {
			mr[j] = math.NaN()
			if v, ok := cells[[2]string{r, c}]; ok {
				mr[j], nr[j] = v.mae, v.n
			}
		}
		g.mae, g.n = append(g.mae, mr), append(g.n, nr)
	}
	return g, true
}

// splitPair finds the row and column values a two-member group name
// joins ("female_x_asian"); values are tried in full, since a value may
// itself contain the separator.
func splitPair(name string, rows, cols []string) (string, string, bool) {
	for _, r := range rows {
		for _, c := range cols {
			if analysis.GroupingName([]string{r, c}) == name {
				return r, c, true
			}
		}
	}
	return "", "", false
}

// heatmapChart draws a two-attribute intersection as a grid of cells
// coloured by MAE (light: low, dark: high), each labelled with its MAE
// and size; empty cells are grey.
func heatmapChart(a *analysis.AttributeResult, singles map[string]*analysis.AttributeResult) (chart, bool, error) {
	g, ok := gridOf(a, singles)
	if !ok {
		return chart{}, false, nil
	}
	pal, err := brewer.GetPalette(brewer.TypeSequential, "OrRd", 9)
	if err != nil {
		return chart{}, false, fmt.Errorf("heatmap of %s: %w", a.Name, err)
	}
	title := fmt.Sprintf("MAE by %s", display(a.Name))
	p := newPlot(title, a.Members[1], a.Members[0])
	h := plotter.NewHeatMap(g, pal)
	h.NaN = color.RGBA{230, 230, 230, 255}
	if h.Max-h.Min < 1e-9 {
		h.Max = h.Min + 1
	}
	p.Add(h)
	var xys plotter.XYs
	var texts []string
	var dark []bool
	for r := range g.rows {
		for c := range g.cols {
			v := g.mae[r][c]
			if math.IsNaN(v) {
				xys, texts, dark = append(xys, plotter.XY{X: float64(c), Y: float64(r)}), append(texts, "no rows"), append(dark, false)
				continue
			}
			xys = append(xys, plotter.XY{X: float64(c), Y: float64(r)})
			texts = append(texts, fmt.Sprintf("%.2f\nn=%d", v, g.n[r][c]))
			dark = append(dark, (v-h.Min)/(h.Max-h.Min) > 0.6)
		}
	}
	labels, err := plotter.NewLabels(plotter.XYLabels{XYs: xys, Labels: texts})
	if err != nil {
		return chart{}, false, fmt.Errorf("heatmap of %s: %w", a.Name, err)
	}
	for i := range labels.TextStyle {
		labels.TextStyle[i].XAlign, labels.TextStyle[i].YAlign = draw.XCenter, draw.YCenter
		labels.TextStyle[i].Font.Size = vg.Points(9)
		if dark[i] {
			labels.TextStyle[i].Color = color.White
		}
	}
	p.Add(labels)
	rowNames, colNames := make([]string, len(g.rows)), make([]string, len(g.cols))
	for i, r := range g.rows {
		rowNames[i] = shorten(r, 18)
	}
	for i, c := range g.cols {
		colNames[i] = shorten(c, 18)
	}
	p.NominalX(colNames...)
	p.NominalY(rowNames...)
	p.X.Min, p.X.Max = -0.5, float64(len(g.cols))-0.5
	p.Y.Min, p.Y.Max = -0.5, float64(len(g.rows))-0.5
	p.X.Padding, p.Y.Padding = 0, 0
	svg, err := renderSVG(p)
	return chart{ID: "heatmap-" + safeID(a.Key), Title: title, SVG: svg}, true, err
}
