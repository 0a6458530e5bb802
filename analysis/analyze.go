package analysis

import (
	"context"
	"fmt"
	"math"
	"slices"

	"fairage/dataset"
)

// Analyze computes per-group metrics, bias scores, bootstrap intervals,
// permutation tests and gates for the predictions (rows of opts.Split, or
// all), the age-adjusted scores (opts.AgeAdjust) and, where rows carry
// subject ids, the within-subject comparisons. Rows whose values are not
// ages (opts.Range) are left out and listed in Result.Rejected; it warns
// (Result.Warnings) when the predictions are degenerate. It returns an
// error for invalid options or unusable data (no rows left, cancellation),
// never for a failed gate: call Result.GateError for that after writing
// the outputs.
func Analyze(ctx context.Context, preds []dataset.Prediction, opts Options) (*Result, error) {
	return AnalyzeTable(ctx, &dataset.PredictionTable{Rows: preds}, opts)
}

// AnalyzeTable is Analyze on a table that may carry its own attribute
// columns (an audited file's skin tone, camera…): with opts.Columns set,
// the options may group by them.
func AnalyzeTable(ctx context.Context, table *dataset.PredictionTable, opts Options) (*Result, error) {
	preds := table.Rows
	if err := opts.Validate(); err != nil {
		return nil, fmt.Errorf("analysis options: %w", err)
	}
	rows, scr, err := selectRows(preds, opts.Split.rows(), &opts.Range)
	if err != nil {
		return nil, err
	}
	errs, order := sortedErrors(rows)
	res := &Result{
		Version:  SummaryVersion,
		Split:    opts.Split.rows(),
		Warnings: append(predictionWarnings(rows), screeningWarnings(scr, len(rows)+issueCount(scr.rejected), &opts.Range)...),
		Rejected: nonNilIssues(scr.rejected),
		Flagged:  nonNilIssues(scr.flagged),
		Settings: Settings{
			Rows:                 len(rows),
			MinGroupSize:         opts.MinGroupSize,
			SmallGroups:          string(opts.SmallGroups),
			AgeEdges:             slices.Clone(opts.AgeEdges),
			BootstrapResamples:   opts.Bootstrap.Resamples,
			Confidence:           opts.Bootstrap.Confidence,
			BootstrapSeed:        opts.Bootstrap.Seed,
			PermutationResamples: opts.Permutation.Resamples,
			PermutationSeed:      opts.Permutation.Seed,
			Alpha:                opts.Alpha,
			Range:                opts.Range,
			AgeAdjust:            opts.AgeAdjust.Enabled,
		},
	}
	if opts.AgeAdjust.Enabled {
		res.Settings.AgeAdjustEdges = slices.Clone(opts.adjustEdges())
		res.Settings.AgeAdjustReference = opts.adjustReference()
	}
	overall := make([]float64, len(order))
	for k, i := range order {
		overall[k] = errs[i]
	}
	sets := []strata{{name: "overall", groups: [][]float64{overall}}}
	enc := newEncoder(rows, &opts, table.Extra)
	var encs []*encoding
	for _, members := range opts.groupings() {
		e := enc.encode(members)
		attr, set := describeGrouping(e, errs, order, &opts)
		res.Attributes = append(res.Attributes, attr)
		sets = append(sets, set)
		encs = append(encs, e)
	}
	abs := make([]float64, len(errs))
	for i, v := range errs {
		abs[i] = math.Abs(v)
	}
	var ageSets []*ageStrata // per attribute; nil where not adjusted
	if opts.AgeAdjust.Enabled {
		bins, labels, ref := ageBins(rows, &opts)
		ageSets = make([]*ageStrata, len(res.Attributes))
		for ai := range res.Attributes {
			a := &res.Attributes[ai]
			a.AgeAdjusted, ageSets[ai] = prepareAdjusted(a, &sets[ai+1], encs[ai], abs, bins, labels, ref)
		}
	}
	ws, pairs := withinSubject(rows, abs, res, encs)
	res.WithinSubject = ws

	var reps []replicates
	var ageReps []ageReplicates
	if opts.Bootstrap.Resamples > 0 {
		if reps, err = bootstrap(ctx, sets, opts.Bootstrap.Resamples, opts.Bootstrap.Seed, opts.Workers); err != nil {
			return nil, fmt.Errorf("analysis bootstrap: %w", err)
		}
		if ageSets != nil {
			if ageReps, err = ageBootstrap(ctx, ageSets, opts.Bootstrap.Resamples, opts.Bootstrap.Seed, opts.Workers); err != nil {
				return nil, fmt.Errorf("analysis bootstrap of the age-adjusted scores: %w", err)
			}
		}
		if err := subjectIntervals(ctx, pairs, opts.Bootstrap.Resamples, opts.Bootstrap.Seed, opts.Bootstrap.Confidence, opts.Workers); err != nil {
			return nil, fmt.Errorf("analysis bootstrap of the within-subject differences: %w", err)
		}
	}
	fillEstimates(res, sets, reps, opts.Bootstrap.Confidence)
	for ai, st := range ageSets {
		if st != nil {
			var r *ageReplicates
			if ageReps != nil {
				r = &ageReps[ai]
			}
			fillAdjusted(res.Attributes[ai].AgeAdjusted, st, r, opts.Bootstrap.Confidence)
		}
	}
	if opts.Permutation.Resamples > 0 {
		tests, err := runGroupTests(ctx, res, sets[1:], &opts)
		if err != nil {
			return nil, err
		}
		for ai, st := range ageSets {
			if st == nil {
				continue
			}
			a := &res.Attributes[ai]
			t, err := agePermutationTest(ctx, ScoreKey(a.Key, MetricBias+AgeAdjustedSuffix), st, a.AgeAdjusted.Bias.Value,
				opts.Permutation.Resamples, opts.Permutation.Seed, opts.Workers)
			if err != nil {
				return nil, fmt.Errorf("analysis age-adjusted permutation test of %s: %w", a.Name, err)
			}
			a.AgeAdjusted.Test = &t
			tests = append(tests, a.AgeAdjusted.Test)
		}
		st, err := subjectTests(ctx, pairs, opts.Permutation.Resamples, opts.Permutation.Seed, opts.Workers)
		if err != nil {
			return nil, fmt.Errorf("analysis within-subject tests: %w", err)
		}
		holmFamily(append(tests, st...), opts.Alpha)
	}
	res.Gates = evaluateGates(res, opts.Gates, opts.Bootstrap.Confidence)
	return res, nil
}

// selectRows keeps the rows of split ("" keeps all) whose values are ages
// (RejectReason), and records the rejected and implausible ones.
func selectRows(preds []dataset.Prediction, split string, rg *RangeOptions) ([]*dataset.Prediction, *screening, error) {
	rows := make([]*dataset.Prediction, 0, len(preds))
	scr := &screening{}
	inSplit := 0
	for i := range preds {
		p := &preds[i]
		if split != "" && p.Split != split {
			continue
		}
		inSplit++
		if scr.check(i, p, rg) {
			rows = append(rows, p)
		}
	}
	if len(rows) == 0 {
		switch {
		case inSplit > 0:
			return nil, nil, fmt.Errorf("no predictions to analyse: all %d rejected (%s)", inSplit, issueSummary(scr.rejected))
		case split != "":
			return nil, nil, fmt.Errorf("no predictions of split %q (analysis.split) among %d rows", split, len(preds))
		}
		return nil, nil, fmt.Errorf("no predictions to analyse")
	}
	if len(rows) >= math.MaxInt32 {
		return nil, nil, fmt.Errorf("%d predictions: the analysis handles at most %d rows", len(rows), math.MaxInt32-1)
	}
	return rows, scr, nil
}

func nonNilIssues(list []RowIssue) []RowIssue {
	if list == nil {
		return []RowIssue{}
	}
	return list
}

// sortedErrors returns the signed errors ŷ−y and the row order by |e|:
// every group's errors are then taken in that order, so each group is
// sorted by |e| without sorting it again (see resampleStats).
func sortedErrors(rows []*dataset.Prediction) ([]float64, []int32) {
	errs := make([]float64, len(rows))
	order := make([]int32, len(rows))
	for i, p := range rows {
		errs[i] = p.YPred - p.YTrue
		order[i] = int32(i)
	}
	slices.SortFunc(order, func(a, b int32) int {
		x, y := math.Abs(errs[a]), math.Abs(errs[b])
		switch {
		case x < y:
			return -1
		case x > y:
			return 1
		}
		return int(a - b) // stable, so the order is deterministic
	})
	return errs, order
}

// describeGrouping turns an encoding into the result skeleton (groups,
// flags, unknown counts) and the strata to resample.
func describeGrouping(e *encoding, errs []float64, order []int32, opts *Options) (AttributeResult, strata) {
	a := AttributeResult{
		Name:     GroupingName(e.members),
		Key:      GroupingKey(e.members),
		Members:  slices.Clone(e.members),
		Unknown:  e.unknown,
		Unlisted: e.unlisted,
	}
	set := strata{name: a.Name}
	known := len(errs) - e.unknown
	if known == 0 {
		a.Note = fmt.Sprintf("%s has no known values: all %d rows are unknown", a.Name, len(errs))
		nan := pointEstimate(math.NaN())
		a.Bias, a.Gap, a.Ratio, a.Diff = nan, nan, nan, nan
		return a, set
	}
	a.Available = true
	set.groups = make([][]float64, len(e.labels))
	for g, n := range e.sizes {
		set.groups[g] = make([]float64, 0, n)
	}
	for _, i := range order {
		if g := e.of[i]; g >= 0 {
			set.groups[g] = append(set.groups[g], errs[i])
		}
	}
	for g, label := range e.labels {
		n := e.sizes[g]
		gr := GroupResult{Name: label, Metrics: Metrics{N: n}}
		gr.Empty = n == 0
		gr.Small = n > 0 && n < opts.MinGroupSize
		gr.InScore = n > 0 && !(gr.Small && opts.SmallGroups == SmallGroupsExclude)
		if gr.InScore {
			set.scored = append(set.scored, g)
		}
		a.Groups = append(a.Groups, gr)
	}
	a.ScoredGroups = len(set.scored)
	if a.ScoredGroups < 2 {
		a.Note = fmt.Sprintf("%s has %d scored group%s: its bias, gap and ratio are undefined (they compare at least two groups)",
			a.Name, a.ScoredGroups, plural(a.ScoredGroups))
	}
	return a, set
}

// fillEstimates computes the point estimates of every metric and score and
// attaches the bootstrap intervals when reps is non-nil.
func fillEstimates(res *Result, sets []strata, reps []replicates, confidence float64) {
	rep := func(si, g, m int) []float64 {
		if reps == nil {
			return nil
		}
		return reps[si].group[g][m]
	}
	setMetrics := func(dst *Metrics, si, g int, e []float64) {
		st := pointStats(e)
		dst.N = len(e)
		for m, name := range groupMetrics {
			dst.set(name, withInterval(st.get(m), rep(si, g, m), confidence))
		}
	}
	setMetrics(&res.Overall, 0, 0, sets[0].groups[0])
	for ai := range res.Attributes {
		a, si := &res.Attributes[ai], ai+1
		if !a.Available {
			continue
		}
		maes := make([]float64, 0, len(sets[si].scored))
		for g := range a.Groups {
			setMetrics(&a.Groups[g].Metrics, si, g, sets[si].groups[g])
		}
		for _, g := range sets[si].scored {
			maes = append(maes, a.Groups[g].MAE.Value)
		}
		bias, gap, ratio := scores(maes)
		for m, v := range []float64{bias, gap, ratio} {
			var r []float64
			if reps != nil {
				r = reps[si].score[m]
			}
			a.setScore(scoreMetrics[m], withInterval(v, r, confidence))
		}
		a.Diff = pointEstimate(math.NaN())
		if len(maes) >= 2 {
			worstBest(a, sets[si].scored, rep, si, confidence)
		}
	}
}

// worstBest names the scored groups of highest and lowest MAE (first in
// group order on ties) and sets Diff, their signed MAE difference, whose
// replicates contrast the same two groups.
func worstBest(a *AttributeResult, scored []int, rep func(si, g, m int) []float64, si int, confidence float64) {
	w, b := scored[0], scored[0]
	for _, g := range scored {
		if a.Groups[g].MAE.Value > a.Groups[w].MAE.Value {
			w = g
		}
		if a.Groups[g].MAE.Value < a.Groups[b].MAE.Value {
			b = g
		}
	}
	a.Worst, a.Best = a.Groups[w].Name, a.Groups[b].Name
	var r []float64
	if rw, rb := rep(si, w, 0), rep(si, b, 0); rw != nil {
		r = make([]float64, len(rw))
		for i := range r {
			r[i] = rw[i] - rb[i]
		}
	}
	a.Diff = withInterval(a.Groups[w].MAE.Value-a.Groups[b].MAE.Value, r, confidence)
}

// runGroupTests runs the between-group permutation test of every
// available bias score and returns the tests for Holm correction.
func runGroupTests(ctx context.Context, res *Result, sets []strata, opts *Options) ([]*Test, error) {
	var tests []*Test
	for ai := range res.Attributes {
		a := &res.Attributes[ai]
		if !a.Available || a.ScoredGroups < 2 {
			continue
		}
		groups := make([][]float64, 0, a.ScoredGroups)
		for _, g := range sets[ai].scored {
			groups = append(groups, sets[ai].groups[g])
		}
		t, err := permutationTest(ctx, ScoreKey(a.Key, MetricBias), groups, a.Bias.Value,
			opts.Permutation.Resamples, opts.Permutation.Seed, opts.Workers)
		if err != nil {
			return nil, fmt.Errorf("analysis permutation test of %s: %w", a.Name, err)
		}
		a.Test = &t
		tests = append(tests, a.Test)
	}
	return tests, nil
}

// holmFamily Holm-corrects the tests as one family: every test of one
// analysis (raw, age-adjusted and within-subject) is one family.
func holmFamily(tests []*Test, alpha float64) {
	p := make([]float64, len(tests))
	for i, t := range tests {
		p[i] = t.P
	}
	for i, adj := range Holm(p) {
		tests[i].PHolm = adj
		tests[i].Significant = adj < alpha
	}
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
