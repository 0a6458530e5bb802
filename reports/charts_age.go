package reports

import (
	"fmt"
	"math"

	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"fairage/analysis"
	"fairage/dataset"
)

// Error-versus-age curves: true ages are binned by ageCurveBin years, and
// a group's bin is drawn when it has at least ageCurveMinRows rows.
const (
	ageCurveBin     = 10.0
	ageCurveMinRows = 10
	ageCurveMaxLine = 6 // one colour each (palette)
)

// ageCurve is one group's binned error curve.
type ageCurve struct {
	name string
	x    []float64 // bin centres
	mean []float64
	half []float64 // half-width of the 95% interval
}

// ageCurveData bins the analysed rows of each of a's groups by true age
// and returns, per group, the mean of value(e) per bin with a normal 95%
// interval (mean ± 1.96·sd/√n).
func ageCurveData(a *analysis.AttributeResult, preds []dataset.Prediction, res *analysis.Result, extra []string, value func(float64) float64) []ageCurve {
	index := map[string]int{}
	var curves []ageCurve
	for _, g := range a.Groups {
		if g.N > 0 {
			index[g.Name] = len(curves)
			curves = append(curves, ageCurve{name: display(g.Name)})
		}
	}
	type acc struct{ n, sum, sq float64 }
	bins := make([]map[int]*acc, len(curves))
	for i := range bins {
		bins[i] = map[int]*acc{}
	}
	label := analysis.GroupLabeler(a.Members, res.Settings.AgeEdges, extra)
	maxBin := 0
	for i := range preds {
		p := &preds[i]
		if res.Split != "" && p.Split != res.Split {
			continue
		}
		g, ok := index[label(p)]
		if !ok {
			continue
		}
		b := int(math.Floor(p.YTrue / ageCurveBin))
		maxBin = max(maxBin, b)
		c := bins[g][b]
		if c == nil {
			c = &acc{}
			bins[g][b] = c
		}
		v := value(p.YPred - p.YTrue)
		c.n++
		c.sum += v
		c.sq += v * v
	}
	for g := range curves {
		for b := 0; b <= maxBin; b++ {
			c := bins[g][b]
			if c == nil || c.n < ageCurveMinRows {
				continue
			}
			mean := c.sum / c.n
			sd := math.Sqrt(math.Max(0, (c.sq-c.n*mean*mean)/(c.n-1)))
			curves[g].x = append(curves[g].x, (float64(b)+0.5)*ageCurveBin)
			curves[g].mean = append(curves[g].mean, mean)
			curves[g].half = append(curves[g].half, 1.96*sd/math.Sqrt(c.n))
		}
	}
	return curves
}

// curvePoints are a curve's points with their intervals, for gonum.
type curvePoints struct {
	c      ageCurve
	offset float64 // years, so the whiskers of groups do not overlap
}

func (p curvePoints) Len() int                        { return len(p.c.x) }
func (p curvePoints) XY(i int) (float64, float64)     { return p.c.x[i] + p.offset, p.c.mean[i] }
func (p curvePoints) YError(i int) (float64, float64) { return p.c.half[i], p.c.half[i] }

// ageCurveCharts draws, for a single attribute other than age_group with
// 2 to 6 groups, its groups' mean absolute and mean signed error against
// true age, with a reference line at the overall MAE (absolute) or 0
// (signed). It returns no chart for other attributes.
func ageCurveCharts(a *analysis.AttributeResult, preds []dataset.Prediction, res *analysis.Result, extra []string) ([]chart, error) {
	if len(a.Members) != 1 || a.Members[0] == dataset.AttrAgeGroup || !a.Available {
		return nil, nil
	}
	var out []chart
	for _, kind := range []struct {
		id, what, y string
		value       func(float64) float64
		ref         float64
		refName     string
	}{
		{"age-abs-", "Absolute error", "mean |ŷ−y| (years)", math.Abs, res.Overall.MAE.Value, fmt.Sprintf("overall MAE %.2f", res.Overall.MAE.Value)},
		{"age-signed-", "Signed error", "mean ŷ−y (years)", func(e float64) float64 { return e }, 0, "no bias"},
	} {
		curves := ageCurveData(a, preds, res, extra, kind.value)
		if len(curves) < 2 || len(curves) > ageCurveMaxLine {
			return nil, nil
		}
		title := fmt.Sprintf("%s by true age and %s", kind.what, display(a.Name))
		p := newPlot(title, "true age (years)", kind.y)
		p.Add(plotter.NewGrid())
		drawn := 0
		for i, c := range curves {
			if len(c.x) == 0 {
				continue
			}
			pts := curvePoints{c: c, offset: (float64(i) - float64(len(curves)-1)/2) * 1.2}
			line, points, err := plotter.NewLinePoints(pts)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", title, err)
			}
			col := palette[i%len(palette)]
			line.Color, points.Color = col, col
			points.Shape = draw.CircleGlyph{}
			points.Radius = vg.Points(2)
			whisk, err := plotter.NewYErrorBars(pts)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", title, err)
			}
			whisk.Color = col
			p.Add(line, points, whisk)
			p.Legend.Add(shorten(c.name, 24), line, points)
			drawn++
		}
		if drawn == 0 {
			return nil, nil
		}
		if finite(kind.ref) {
			ref := refLine(kind.ref, refColour)
			p.Add(ref)
			p.Legend.Add(kind.refName, ref)
		}
		p.Legend.Top = true
		p.Legend.Left = true
		legendRoom(p, drawn+1)
		p.X.Min = 0
		svg, err := renderSVG(p)
		if err != nil {
			return nil, err
		}
		out = append(out, chart{ID: kind.id + safeID(a.Key), Title: title, SVG: svg})
	}
	return out, nil
}
