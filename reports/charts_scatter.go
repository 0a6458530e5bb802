package reports

import (
	"errors"
	"fmt"
	"math"

	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"fairage/dataset"
)

// errNoRows says no prediction belongs to the analysed split.
var errNoRows = errors.New("no predictions of the analysed split")

// scatterChart draws predicted against true age with the y = x line. A
// large table is thinned to at most maxPoints rows taken at an even stride,
// which keeps the picture's shape and is deterministic.
func scatterChart(preds []dataset.Prediction, split string, maxPoints int) (chart, error) {
	var rows []*dataset.Prediction
	for i := range preds {
		if split == "" || preds[i].Split == split {
			rows = append(rows, &preds[i])
		}
	}
	if len(rows) == 0 {
		return chart{}, errNoRows
	}
	step := 1
	if len(rows) > maxPoints {
		step = (len(rows) + maxPoints - 1) / maxPoints
	}
	var xy plotter.XYs
	lo, hi := math.Inf(1), math.Inf(-1)
	for i := 0; i < len(rows); i += step {
		p := rows[i]
		xy = append(xy, plotter.XY{X: p.YTrue, Y: p.YPred})
		lo = math.Min(lo, math.Min(p.YTrue, p.YPred))
		hi = math.Max(hi, math.Max(p.YTrue, p.YPred))
	}
	title := "Predicted vs true age"
	if step > 1 {
		title = fmt.Sprintf("Predicted vs true age (every %d-th of %d rows)", step, len(rows))
	}
	p := newPlot(title, "true age (years)", "predicted age (years)")
	sc, err := plotter.NewScatter(xy)
	if err != nil {
		return chart{}, fmt.Errorf("scatter chart: %w", err)
	}
	sc.GlyphStyle.Radius = vg.Points(1.2)
	sc.GlyphStyle.Shape = draw.CircleGlyph{}
	sc.GlyphStyle.Color = palette[0]
	diag, err := plotter.NewLine(plotter.XYs{{X: lo, Y: lo}, {X: hi, Y: hi}})
	if err != nil {
		return chart{}, fmt.Errorf("scatter chart: %w", err)
	}
	diag.Color = palette[5]
	diag.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
	p.Add(plotter.NewGrid(), sc, diag)
	p.Legend.Add("y = x", diag)
	p.Legend.Top, p.Legend.Left = true, true
	svg, err := renderSVG(p)
	return chart{ID: "pred-vs-true", Title: title, SVG: svg}, err
}
