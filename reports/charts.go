package reports

import (
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"os"

	"fairage/analysis"
	"fairage/dataset"
)

// Section ids of the report, in page order. The HTML uses them as element
// ids; tests and scripts/report-check.sh look for every one.
var sectionIDs = []string{
	"headline", "toc", "summary", "study-table", "gates", "attributes", "age-adjusted", "within-subject",
	"chart-mae", "chart-errors", "chart-age-curves", "chart-heatmap", "chart-scatter", "chart-curves", "chart-balance",
	"contact-sheet", "metadata",
}

// buildCharts renders every chart section of a run's report.
func buildCharts(run *Run, opts Options) ([]chartSection, error) {
	res := run.Analysis
	// Only rows the analysis used are drawn: a value it rejected (1e300,
	// NaN) is not an age and would wreck the axes or stop the plotter.
	preds := make([]dataset.Prediction, 0, len(run.Predictions))
	for i := range run.Predictions {
		if !res.Rejects(&run.Predictions[i]) {
			preds = append(preds, run.Predictions[i])
		}
	}
	mae := chartSection{ID: "chart-mae", Title: "MAE by group",
		Intro: "Bars are group MAEs; whiskers are their bootstrap percentile intervals."}
	errs := chartSection{ID: "chart-errors", Title: "Error distribution by group",
		Intro: "Boxes span the quartiles of ŷ−y with the median inside; whiskers reach 1.5 IQR (outliers not drawn). Above 0: over-estimated age."}
	ages := chartSection{ID: "chart-age-curves", Title: "Error against true age by group",
		Intro: fmt.Sprintf("Each point is a group's mean error over true ages binned by %g years, with a 95%% normal interval (mean ± 1.96 sd/√n); bins with fewer than %d rows of a group are left out. "+
			"Error grows with age for most models, so groups of different age mix differ in MAE even when they are treated alike at every age: where the curves overlap, a raw gap is age mix.", ageCurveBin, ageCurveMinRows)}
	heat := chartSection{ID: "chart-heatmap", Title: "Intersections",
		Intro: "Each cell is the MAE of one combination of two attributes (darker: larger), with its size; grey cells have no rows."}
	singles := map[string]*analysis.AttributeResult{}
	for i := range res.Attributes {
		if a := &res.Attributes[i]; len(a.Members) == 1 {
			singles[a.Members[0]] = a
		}
	}
	for i := range res.Attributes {
		a := &res.Attributes[i]
		if !a.Available {
			continue
		}
		if len(preds) > 0 {
			cs, err := ageCurveCharts(a, preds, res, run.Extra)
			if err != nil {
				return nil, err
			}
			ages.Charts = append(ages.Charts, cs...)
		}
		if c, ok, err := heatmapChart(a, singles); err != nil {
			return nil, err
		} else if ok {
			heat.Charts = append(heat.Charts, c)
		}
		c, err := maeChart(a, res.Overall.MAE)
		if err != nil {
			return nil, err
		}
		mae.Charts = append(mae.Charts, c)
		if len(run.Predictions) > 0 {
			c, err := errorChart(a, groupErrors(a, preds, res, run.Extra))
			switch {
			case errors.Is(err, errNoRows):
				errs.Note = fmt.Sprintf("None of the %d predictions given to the report is of split %q.", len(run.Predictions), res.Split)
			case err != nil:
				return nil, err
			default:
				errs.Charts = append(errs.Charts, c)
			}
		}
	}
	if len(mae.Charts) == 0 {
		mae.Note = "No attribute has known values."
	}
	if len(ages.Charts) == 0 {
		ages.Note = "No attribute has 2 to 6 groups with enough rows per age bin (age_group and intersections are not drawn), or no predictions were given to the report."
	}
	if len(heat.Charts) == 0 {
		heat.Note = "No intersection of two attributes with at least two groups each (set analysis.intersections, e.g. gender*ethnicity)."
	}
	scatter := chartSection{ID: "chart-scatter", Title: "Predicted vs true age"}
	if len(run.Predictions) == 0 {
		errs.Note = "No predictions were given to the report."
		scatter.Note = errs.Note
	} else {
		c, err := scatterChart(preds, res.Split, opts.MaxScatterPoints)
		switch {
		case errors.Is(err, errNoRows):
			scatter.Note = fmt.Sprintf("None of the %d predictions given to the report is of split %q.", len(run.Predictions), res.Split)
		case err != nil:
			return nil, err
		default:
			scatter.Charts = []chart{c}
		}
	}
	curves := chartSection{ID: "chart-curves", Title: "Learning curves"}
	if len(run.History) == 0 {
		curves.Note = "No training history (the model was not trained in this run, or its history is missing)."
	} else {
		cs, err := historyCharts(run.History)
		if err != nil {
			return nil, err
		}
		curves.Charts = cs
	}
	balance := chartSection{ID: "chart-balance", Title: "Group distribution before and after balancing"}
	if len(run.Distribution) == 0 {
		balance.Note = "No balancing distribution (no balance stage, or it kept the data as it was)."
	} else {
		cs, err := balanceCharts(run.Distribution)
		if err != nil {
			return nil, err
		}
		balance.Charts = cs
	}
	return []chartSection{mae, errs, ages, heat, scatter, curves, balance}, nil
}

// contactSheet is the contact sheet image, or a note why there is none.
type contactSheet struct {
	PNG  []byte
	Note string
}

// File is the contact sheet's path relative to report.md.
func (c contactSheet) File() string { return "figures/contact-sheet.png" }

// URI is the PNG as a data: URI. Base64 of image bytes loaded through
// <img> cannot carry markup, so it is marked safe for html/template.
func (c contactSheet) URI() template.URL {
	return template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(c.PNG))
}

// loadContactSheet reads the PNG at path ("" means none). A path that was
// given but cannot be read, or is not a PNG, is an error: the run promised
// a sheet.
func loadContactSheet(path string) (contactSheet, error) {
	if path == "" {
		return contactSheet{Note: "No contact sheet was made for this run."}, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return contactSheet{}, fmt.Errorf("contact sheet: %w", err)
	}
	if len(b) < 8 || string(b[:8]) != "\x89PNG\r\n\x1a\n" {
		return contactSheet{}, fmt.Errorf("contact sheet %s is not a PNG file", path)
	}
	return contactSheet{PNG: b}, nil
}
