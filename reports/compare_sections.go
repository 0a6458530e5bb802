package reports

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"fairage/analysis"
	"fairage/dataset"
)

// cellRow is a row of a table with one column per compared run.
type cellRow struct {
	Label string
	Cells []string // one per run, "–" where the run has nothing
}

// groupsView is the MAE-by-group section: one table per attribute and
// intersection, then the attributes no run has values of.
type groupsView struct {
	Tables      []groupTableView
	Unavailable []unavailableView
}

type groupTableView struct {
	Name   string
	Anchor string // HTML id, from the attribute key
	Rows   []cellRow
	Notes  []string // runs without the attribute, a table left out
}

type unavailableView struct {
	Name string
	Note string // the runs' common reason, "" when they differ
}

// curvesView is the learning-curves section.
type curvesView struct {
	Rows  []cellRow // one per epoch
	Best  []string  // per run: "3.143 (epoch 8)"
	Chart *chart    // nil when no run has a validation MAE
	Notes []string
}

// timesView is the wall-time section.
type timesView struct {
	Rows  []cellRow // one per stage
	Total []string  // per run: the sum over the stages that ran
	Note  string
}

// maxCompareGroups caps the rows of a MAE-by-group table; an attribute or
// intersection with more groups gets a note instead of an unreadable table.
const maxCompareGroups = 40

// dash marks a cell where a run has nothing to show.
const dash = "–"

func dashes(n int) []string {
	s := make([]string, n)
	for i := range s {
		s[i] = dash
	}
	return s
}

// buildGroups tabulates every group's MAE per run, attributes in the order
// the runs list them (the first run's first), groups in the order they are
// first seen.
func buildGroups(runs []ComparedRun, f formatter) groupsView {
	var v groupsView
	var keys []string
	names := map[string]string{}
	for _, r := range runs {
		for _, a := range r.Analysis.Attributes {
			if _, ok := names[a.Key]; !ok {
				keys = append(keys, a.Key)
				names[a.Key] = a.Name
			}
		}
	}
	for _, key := range keys {
		per := make([]*analysis.AttributeResult, len(runs)) // nil: not analysed in that run
		available := false
		for i, r := range runs {
			for j := range r.Analysis.Attributes {
				if a := &r.Analysis.Attributes[j]; a.Key == key {
					per[i] = a
					available = available || a.Available
				}
			}
		}
		if !available {
			v.Unavailable = append(v.Unavailable, unavailableView{Name: display(names[key]), Note: commonNote(per)})
			continue
		}
		v.Tables = append(v.Tables, groupTable(runs, names[key], key, per, f))
	}
	return v
}

// comparedInferred is the heading's mark of an attribute some runs
// inferred: " (inferred by emotion, threshold 0.5)" when every run that
// analysed it did so alike, else which runs inferred it how; "" when none.
func comparedInferred(runs []ComparedRun, per []*analysis.AttributeResult) string {
	var notes []string
	first, all, same := "", true, true
	for i, a := range per {
		if a == nil {
			continue
		}
		if a.Inferred == "" {
			all = false
			continue
		}
		if first == "" {
			first = a.Inferred
		}
		same = same && a.Inferred == first
		notes = append(notes, runs[i].Name+": "+a.Inferred)
	}
	switch {
	case len(notes) == 0:
		return ""
	case all && same:
		return " (" + first + ")"
	}
	return " (" + strings.Join(notes, "; ") + ")"
}

func groupTable(runs []ComparedRun, name, key string, per []*analysis.AttributeResult, f formatter) groupTableView {
	t := groupTableView{Name: display(name) + comparedInferred(runs, per), Anchor: "cmp-attr-" + safeID(key)}
	row := map[string]int{}
	var groups []string
	for _, a := range per {
		if a == nil || !a.Available {
			continue
		}
		for _, g := range a.Groups {
			if _, ok := row[g.Name]; !ok {
				row[g.Name] = len(groups)
				groups = append(groups, g.Name)
			}
		}
	}
	if len(groups) > maxCompareGroups {
		t.Notes = append(t.Notes, fmt.Sprintf("%d groups: too many to compare here; each run's report lists them.", len(groups)))
	} else {
		for _, g := range groups {
			t.Rows = append(t.Rows, cellRow{Label: display(g), Cells: dashes(len(runs))})
		}
		for i, a := range per {
			if a == nil || !a.Available {
				continue
			}
			for _, g := range a.Groups {
				t.Rows[row[g.Name]].Cells[i] = fmt.Sprintf("%s (%d)", f.est(g.MAE), g.N)
			}
		}
	}
	for i, a := range per {
		switch {
		case a == nil:
			t.Notes = append(t.Notes, fmt.Sprintf("Not analysed in %s.", runs[i].Name))
		case !a.Available:
			t.Notes = append(t.Notes, fmt.Sprintf("Not available in %s: %s.", runs[i].Name, strings.TrimSuffix(a.Note, ".")))
		}
	}
	return t
}

// commonNote is the reason every run that analysed an attribute gives for
// it being unavailable, or "" when they differ.
func commonNote(per []*analysis.AttributeResult) string {
	note, seen := "", false
	for _, a := range per {
		switch {
		case a == nil:
		case !seen:
			note, seen = a.Note, true
		case a.Note != note:
			return ""
		}
	}
	return note
}

// buildCurves tabulates each run's validation MAE per epoch and draws one
// line per run that has a training history.
func buildCurves(runs []ComparedRun, f formatter) (curvesView, error) {
	v := curvesView{Best: dashes(len(runs))}
	cells := map[int32][]string{} // epoch -> one cell per run
	var epochs []int32
	var curves []curve
	var untrained []string
	valMAE := func(r dataset.EpochRecord) float64 { return r.ValMAE }
	for i, r := range runs {
		if len(r.History) == 0 {
			untrained = append(untrained, r.Name)
			continue
		}
		best, bestEpoch := math.Inf(1), int32(0)
		for _, e := range r.History {
			if _, ok := cells[e.Epoch]; !ok {
				cells[e.Epoch] = dashes(len(runs))
				epochs = append(epochs, e.Epoch)
			}
			cells[e.Epoch][i] = f.num(e.ValMAE)
			if finite(e.ValMAE) && e.ValMAE < best {
				best, bestEpoch = e.ValMAE, e.Epoch
			}
		}
		v.Best[i] = "n/a"
		if bestEpoch > 0 {
			v.Best[i] = fmt.Sprintf("%s (epoch %d)", f.num(best), bestEpoch)
		}
		curves = append(curves, curve{name: r.Name, points: epochPoints(r.History, valMAE)})
	}
	if len(untrained) == len(runs) {
		v.Best = nil
		v.Notes = append(v.Notes, "No run has a training history: none trained a model, or their histories are missing.")
		return v, nil
	}
	slices.Sort(epochs)
	for _, e := range epochs {
		v.Rows = append(v.Rows, cellRow{Label: strconv.Itoa(int(e)), Cells: cells[e]})
	}
	if len(untrained) > 0 {
		v.Notes = append(v.Notes, "No training history, so no curve, for "+strings.Join(untrained, ", ")+": no model was trained in the run, or its history is missing.")
	}
	if !slices.ContainsFunc(curves, func(c curve) bool { return len(c.points) > 0 }) {
		v.Notes = append(v.Notes, "No run has a validation MAE, so there is no chart: no run had a validation split.")
		return v, nil
	}
	c, err := curveChart("compare-curve-mae", "Validation MAE per epoch", "validation MAE (years)", curves)
	if err != nil {
		return curvesView{}, err
	}
	v.Chart = &c
	return v, nil
}

// buildTimes tabulates each stage's wall time per run, stages in pipeline
// order (the first run's, with other runs' extra stages where they ran).
func buildTimes(runs []ComparedRun) timesView {
	var v timesView
	lists := make([][]string, len(runs))
	var missing []string
	for i, r := range runs {
		if len(r.Stages) == 0 {
			missing = append(missing, r.Name)
		}
		for _, s := range r.Stages {
			lists[i] = append(lists[i], s.Name)
		}
	}
	if len(missing) == len(runs) {
		v.Note = "No run recorded its stages."
		return v
	}
	order := mergeOrder(lists)
	for _, name := range order {
		v.Rows = append(v.Rows, cellRow{Label: name, Cells: dashes(len(runs))})
	}
	v.Total = dashes(len(runs))
	for i, r := range runs {
		if len(r.Stages) == 0 {
			continue
		}
		total, cached := 0.0, 0.0
		for _, s := range r.Stages {
			cell := &v.Rows[slices.Index(order, s.Name)].Cells[i]
			if s.Cached {
				*cell = "cached"
				if s.Seconds > 0 {
					*cell = "cached (" + seconds(s.Seconds) + ")"
					cached += s.Seconds
				}
				continue
			}
			*cell = seconds(s.Seconds)
			total += s.Seconds
		}
		v.Total[i] = seconds(total)
		if cached > 0 {
			// What the run would take from an empty cache.
			v.Total[i] += " (" + seconds(total+cached) + " with the cached stages)"
		}
	}
	if len(missing) > 0 {
		v.Note = "No stages recorded: " + strings.Join(missing, ", ") + "."
	}
	return v
}

// mergeOrder merges lists of names into one, keeping each list's order
// where the lists agree: a name not seen yet goes right after the name
// before it in its own list (first when it has none).
func mergeOrder(lists [][]string) []string {
	var out []string
	for _, l := range lists {
		prev := -1 // position in out of the previous name of l
		for _, n := range l {
			if i := slices.Index(out, n); i >= 0 {
				prev = i
				continue
			}
			prev++
			out = slices.Insert(out, prev, n)
		}
	}
	return out
}
