package reports

import (
	"math"
	"strconv"
	"strings"

	"gonum.org/v1/plot"

	"fairage/analysis"
)

// uniformTicks are gonum's default ticks with every label of an axis
// written with the same number of decimals ("0.0 2.5 5.0", not
// "0 2.5 5"), so the labels of one axis line up and read alike.
type uniformTicks struct{}

// Ticks implements plot.Ticker.
func (uniformTicks) Ticks(lo, hi float64) []plot.Tick {
	ticks := plot.DefaultTicks{}.Ticks(lo, hi)
	decimals := 0
	for _, t := range ticks {
		if t.Label == "" {
			continue
		}
		// Rounded first: 0.15000000000000002 is 0.15.
		v := math.Round(t.Value*1e6) / 1e6
		if _, frac, ok := strings.Cut(strconv.FormatFloat(v, 'f', -1, 64), "."); ok {
			decimals = max(decimals, min(len(frac), 4))
		}
	}
	for i := range ticks {
		if ticks[i].Label != "" {
			v := ticks[i].Value
			if math.Abs(v) < 1e-12 {
				v = 0 // no "-0.0"
			}
			ticks[i].Label = strconv.FormatFloat(v, 'f', decimals, 64)
		}
	}
	return ticks
}

// display writes a grouping or group name for a reader: the ASCII
// separator of intersections ("gender_x_ethnicity", "female_x_asian")
// becomes " × ".
func display(name string) string {
	return strings.ReplaceAll(name, analysis.IntersectionSep, " × ")
}

// legendRoom raises the top of p's y axis so a legend of lines entries in
// a top corner sits above the data instead of on it. Call it after every
// plotter is added (Add sets the axis range from the data).
func legendRoom(p *plot.Plot, lines int) {
	span := p.Y.Max - p.Y.Min
	if !(span > 0) || lines == 0 {
		return
	}
	p.Y.Max += span * (0.06*float64(lines) + 0.04)
}
