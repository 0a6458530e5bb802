package reports

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"html/template"
	"image/color"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgsvg"
)

// chart is one rendered figure.
type chart struct {
	ID    string // HTML id and figure file stem; built from fixed names and attribute keys only
	Title string // caption (data-derived: escaped by the templates)
	SVG   []byte
}

// File is the figure's path relative to report.md.
func (c chart) File() string { return "figures/" + c.ID + ".svg" }

// URI is the figure as a data: URI for the self-contained HTML. It is
// base64 of SVG bytes that gonum/plot wrote (text escaped by vgsvg), loaded
// through <img>, where an SVG cannot run script; so it is marked safe for
// html/template, which would otherwise reject a data: URL.
func (c chart) URI() template.URL {
	return template.URL("data:image/svg+xml;base64," + base64.StdEncoding.EncodeToString(c.SVG))
}

// chartSection groups the charts of one kind under a heading; Note says
// why a section has no chart (e.g. no training history).
type chartSection struct {
	ID     string
	Title  string
	Intro  string
	Charts []chart
	Note   string
}

// Chart sizes: wide enough for a dozen group labels, small enough for a
// laptop screen two abreast.
const (
	chartW = 6.4 * vg.Inch
	chartH = 3.6 * vg.Inch
)

// palette is Okabe–Ito: distinguishable with the common colour-vision
// deficiencies.
var palette = []color.Color{
	color.RGBA{0, 114, 178, 255},   // blue
	color.RGBA{230, 159, 0, 255},   // orange
	color.RGBA{0, 158, 115, 255},   // green
	color.RGBA{204, 121, 167, 255}, // purple
	color.RGBA{86, 180, 233, 255},  // sky
	color.RGBA{213, 94, 0, 255},    // vermillion
}

// refColour draws reference lines (overall MAE, zero error).
var refColour = color.RGBA{85, 85, 85, 255}

// newPlot makes a plot with the reports' common styling.
func newPlot(title, xLabel, yLabel string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = xLabel
	p.Y.Label.Text = yLabel
	p.Title.Padding = vg.Points(6)
	p.X.Tick.Marker = uniformTicks{}
	p.Y.Tick.Marker = uniformTicks{}
	return p
}

// refLine draws a horizontal dashed line at y across the plot, for a
// reference value such as the overall MAE.
func refLine(y float64, c color.Color) *plotter.Function {
	f := plotter.NewFunction(func(float64) float64 { return y })
	f.Color = c
	f.Width = vg.Points(1.2)
	f.Dashes = []vg.Length{vg.Points(5), vg.Points(3)}
	return f
}

// nominalX labels the x axis with group names at 0, 1, …, n−1, with half a
// slot of room at both ends so the outer bars and boxes are not cut off.
// Long names are shortened on the axis (the tables carry them in full),
// and many are slanted so they do not overlap.
func nominalX(p *plot.Plot, names []string) {
	if len(names) == 0 {
		return // plot.NominalX panics on an empty list
	}
	short := make([]string, len(names))
	for i, n := range names {
		short[i] = shorten(n, 22)
	}
	p.NominalX(short...)
	p.X.Min, p.X.Max = -0.6, float64(len(names))-0.4
	if len(names) > 4 {
		p.X.Tick.Label.Rotation = math.Pi / 6
		p.X.Tick.Label.XAlign = draw.XRight
		p.X.Tick.Label.YAlign = draw.YCenter
	}
}

// shorten cuts s to at most n runes, marking the cut with "…".
func shorten(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// renderSVG draws p as SVG bytes.
func renderSVG(p *plot.Plot) ([]byte, error) {
	c := vgsvg.New(chartW, chartH)
	p.Draw(draw.New(c))
	var buf bytes.Buffer
	if _, err := c.WriteTo(&buf); err != nil {
		return nil, fmt.Errorf("render chart %q: %w", p.Title.Text, err)
	}
	return buf.Bytes(), nil
}
