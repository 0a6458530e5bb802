package reports

import (
	"fmt"
	"math"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"

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
		p := newPlot(s.title, "epoch", s.y)
		p.Add(plotter.NewGrid())
		for i, part := range []struct {
			name string
			get  func(dataset.EpochRecord) float64
		}{{"training", s.train}, {"validation", s.val}} {
			var xy plotter.XYs
			for _, r := range h {
				if v := part.get(r); finite(v) {
					xy = append(xy, plotter.XY{X: float64(r.Epoch), Y: v})
				}
			}
			if len(xy) == 0 {
				continue
			}
			line, points, err := plotter.NewLinePoints(xy)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", s.title, err)
			}
			line.Color, points.Color = palette[i], palette[i]
			p.Add(line, points)
			p.Legend.Add(part.name, line, points)
		}
		p.Legend.Top = true
		// Room after the last epoch, so its point is not cut by the edge.
		p.X.Max += 0.3
		p.X.Tick.Marker = epochTicks{}
		svg, err := renderSVG(p)
		if err != nil {
			return nil, err
		}
		out = append(out, chart{ID: s.id, Title: s.title, SVG: svg})
	}
	return out, nil
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
