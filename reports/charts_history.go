package reports

import (
	"fmt"
	"math"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"

	"fairage/dataset"
)

// historyCharts draws the learning curves: training and validation loss,
// and training and validation MAE, per epoch. Validation values are NaN
// without a validation split and are then left out.
func historyCharts(h []dataset.EpochRecord) ([]chart, error) {
	series := []struct {
		id, title, y string
		train, val   func(dataset.EpochRecord) float64
	}{
		{"curve-loss", "Learning curve: loss", "loss",
			func(r dataset.EpochRecord) float64 { return r.Loss }, func(r dataset.EpochRecord) float64 { return r.ValLoss }},
		{"curve-mae", "Learning curve: MAE", "MAE (years)",
			func(r dataset.EpochRecord) float64 { return r.MAE }, func(r dataset.EpochRecord) float64 { return r.ValMAE }},
	}
	var out []chart
	for _, s := range series {
		c, err := curveChart(s.id, s.title, s.y, []curve{
			{"training", epochPoints(h, s.train)},
			{"validation", epochPoints(h, s.val)},
		})
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// curve is one line of a learning-curve chart.
type curve struct {
	name   string // legend entry
	points plotter.XYs
}

// epochPoints are (epoch, get(record)) for the records where get is finite.
func epochPoints(h []dataset.EpochRecord, get func(dataset.EpochRecord) float64) plotter.XYs {
	var xy plotter.XYs
	for _, r := range h {
		if v := get(r); finite(v) {
			xy = append(xy, plotter.XY{X: float64(r.Epoch), Y: v})
		}
	}
	return xy
}

// curveChart draws curves over epochs, one line with points each, in
// palette order (dashed once the palette repeats); curves without points
// are left out.
func curveChart(id, title, yLabel string, curves []curve) (chart, error) {
	p := newPlot(title, "epoch", yLabel)
	p.Add(plotter.NewGrid())
	for i, c := range curves {
		if len(c.points) == 0 {
			continue
		}
		line, points, err := plotter.NewLinePoints(c.points)
		if err != nil {
			return chart{}, fmt.Errorf("%s: %w", title, err)
		}
		line.Color, points.Color = palette[i%len(palette)], palette[i%len(palette)]
		if i >= len(palette) {
			line.Dashes = []vg.Length{vg.Points(4), vg.Points(2)}
		}
		p.Add(line, points)
		p.Legend.Add(shorten(c.name, 30), line, points)
	}
	p.Legend.Top = true
	legendRoom(p, len(curves))
	// Room after the last epoch, so its point is not cut by the edge.
	p.X.Max += 0.3
	p.X.Tick.Marker = epochTicks{}
	svg, err := renderSVG(p)
	if err != nil {
		return chart{}, err
	}
	return chart{ID: id, Title: title, SVG: svg}, nil
}

// epochTicks labels whole epochs only (the default ticker labels 1.6),
// with a step that keeps about ten labels on long runs.
type epochTicks struct{}

func (epochTicks) Ticks(lo, hi float64) []plot.Tick {
	first, last := math.Ceil(lo), math.Floor(hi)
	step := math.Max(1, math.Ceil((last-first+1)/10))
	var ticks []plot.Tick
	for e := first; e <= last; e += step {
		ticks = append(ticks, plot.Tick{Value: e, Label: strconv.Itoa(int(e))})
	}
	return ticks
}
