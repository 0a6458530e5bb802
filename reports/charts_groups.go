package reports

import (
	"fmt"
	"math"
	"slices"

	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"

	"fairage/analysis"
	"fairage/dataset"
)

// whiskers are bar tops with their interval, for plotter.YErrorBars.
type whiskers struct{ x, y, lo, hi []float64 }

// Len, XY and YError make whiskers a plotter.XYer and plotter.YErrorer.
func (w whiskers) Len() int                        { return len(w.x) }
func (w whiskers) XY(i int) (float64, float64)     { return w.x[i], w.y[i] }
func (w whiskers) YError(i int) (float64, float64) { return w.y[i] - w.lo[i], w.hi[i] - w.y[i] }
func (w *whiskers) add(x float64, e analysis.Estimate) {
	lo, hi := e.Lower, e.Upper
	if !e.HasInterval() {
		lo, hi = e.Value, e.Value
	}
	w.x, w.y, w.lo, w.hi = append(w.x, x), append(w.y, e.Value), append(w.lo, lo), append(w.hi, hi)
}

// maeChart draws an attribute's group MAEs as bars with their bootstrap
// intervals as whiskers. Empty groups are left out.
//
// A dashed line marks the overall MAE, so a group above it is worse off
// than the average face.
func maeChart(a *analysis.AttributeResult, overall analysis.Estimate) (chart, error) {
	var names []string
	var vals plotter.Values
	var w whiskers
	for _, g := range a.Groups {
		if g.N == 0 {
			continue
		}
		w.add(float64(len(names)), g.MAE)
		names = append(names, display(g.Name))
		vals = append(vals, g.MAE.Value)
	}
	title := fmt.Sprintf("MAE by %s (bias %s)", inferredName(a), formatter{3}.est(a.Bias))
	xLabel := display(a.Name)
	if finite(overall.Value) {
		xLabel += fmt.Sprintf("    (dashed line: overall MAE %.2f)", overall.Value)
	}
	p := newPlot(title, xLabel, "MAE (years)")
	bars, err := plotter.NewBarChart(vals, vg.Points(28))
	if err != nil {
		return chart{}, fmt.Errorf("MAE chart of %s: %w", a.Name, err)
	}
	bars.Color = palette[0]
	bars.LineStyle.Width = 0
	errBars, err := plotter.NewYErrorBars(w)
	if err != nil {
		return chart{}, fmt.Errorf("MAE chart of %s: %w", a.Name, err)
	}
	errBars.LineStyle.Width = vg.Points(1.2)
	p.Add(plotter.NewGrid(), bars, errBars)
	if finite(overall.Value) {
		p.Add(refLine(overall.Value, refColour))
		p.Y.Max = math.Max(p.Y.Max, overall.Value*1.05)
	}
	nominalX(p, names)
	p.Y.Min = 0
	svg, err := renderSVG(p)
	return chart{ID: "mae-" + safeID(a.Key), Title: title, SVG: svg}, err
}

// groupErrors collects the signed errors ŷ−y of each of an attribute's
// groups (in the result's order) from the predictions of the analysed
// split, with the analysis's own labelling of rows.
func groupErrors(a *analysis.AttributeResult, preds []dataset.Prediction, res *analysis.Result, extra []string) [][]float64 {
	index := make(map[string]int, len(a.Groups))
	for i, g := range a.Groups {
		index[g.Name] = i
	}
	label := analysis.GroupLabeler(a.Members, res.Settings.AgeEdges, extra)
	out := make([][]float64, len(a.Groups))
	for i := range preds {
		p := &preds[i]
		if res.Split != "" && p.Split != res.Split {
			continue
		}
		if g, ok := index[label(p)]; ok {
			out[g] = append(out[g], p.YPred-p.YTrue)
		}
	}
	return out
}

// errorChart draws the distribution of signed errors of each group as a
// box plot (median, quartiles, whiskers at 1.5 IQR). Outliers are not
// drawn: on a large test set they would be thousands of SVG circles.
func errorChart(a *analysis.AttributeResult, errs [][]float64) (chart, error) {
	if !slices.ContainsFunc(errs, func(e []float64) bool { return len(e) > 0 }) {
		return chart{}, errNoRows
	}
	title := fmt.Sprintf("Error ŷ−y by %s", display(a.Name))
	p := newPlot(title, display(a.Name), "error (years)")
	var names []string
	for g, e := range errs {
		if len(e) == 0 {
			continue
		}
		box, err := plotter.NewBoxPlot(vg.Points(24), float64(len(names)), plotter.Values(e))
		if err != nil {
			return chart{}, fmt.Errorf("error chart of %s: %w", a.Name, err)
		}
		box.Outside = nil
		box.Min, box.Max = box.AdjLow, box.AdjHigh
		box.FillColor = palette[len(names)%len(palette)]
		p.Add(box)
		names = append(names, display(a.Groups[g].Name))
	}
	zero := plotter.NewFunction(func(float64) float64 { return 0 })
	zero.Dashes = []vg.Length{vg.Points(3), vg.Points(3)}
	p.Add(zero, plotter.NewGrid())
	nominalX(p, names)
	svg, err := renderSVG(p)
	return chart{ID: "errors-" + safeID(a.Key), Title: title, SVG: svg}, err
}
