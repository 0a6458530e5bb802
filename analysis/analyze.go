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
// all), and warns (Result.Warnings) when the predictions are degenerate.
// It returns an error for invalid options or unusable data (no rows,
// a non-finite value, cancellation), never for a failed gate: call
// Result.GateError for that after writing the outputs.
func Analyze(ctx context.Context, preds []dataset.Prediction, opts Options) (*Result, error) {
	if err := opts.Validate(); err != nil {
		return nil, fmt.Errorf("analysis options: %w", err)
	}
	rows, err := selectRows(preds, opts.Split.rows())
	if err != nil {
		return nil, err
	}
	errs, order := sortedErrors(rows)
	res := &Result{
		Version:  SummaryVersion,
		Split:    opts.Split.rows(),
		Warnings: predictionWarnings(rows),
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
		},
	}
	overall := make([]float64, len(order))
	for k, i := range order {
		overall[k] = errs[i]
	}
	sets := []strata{{name: "overall", groups: [][]float64{overall}}}
	enc := newEncoder(rows, &opts)
	for _, members := range opts.groupings() {
		e := enc.encode(members)
		attr, set := describeGrouping(e, errs, order, &opts)
		res.Attributes = append(res.Attributes, attr)
		sets = append(sets, set)
	}

	var reps []replicates
	if opts.Bootstrap.Resamples > 0 {
		if reps, err = bootstrap(ctx, sets, opts.Bootstrap.Resamples, opts.Bootstrap.Seed, opts.Workers); err != nil {
			return nil, fmt.Errorf("analysis bootstrap: %w", err)
		}
	}
	fillEstimates(res, sets, reps, opts.Bootstrap.Confidence)
	if opts.Permutation.Resamples > 0 {
		if err := runGroupTests(ctx, res, sets[1:], &opts); err != nil {
			return nil, err
		}
	}
	res.Gates = evaluateGates(res, opts.Gates, opts.Bootstrap.Confidence)
	return res, nil
}

// selectRows keeps the rows of split ("" keeps all) and rejects values
// that would poison every mean: a NaN prediction is a model or pipeline
// bug to fix, not a row to drop silently.
func selectRows(preds []dataset.Prediction, split string) ([]*dataset.Prediction, error) {
	rows := make([]*dataset.Prediction, 0, len(preds))
	for i := range preds {
		p := &preds[i]
		if split != "" && p.Split != split {
			continue
		}
		if !finite(p.YTrue) || !finite(p.YPred) {
			return nil, fmt.Errorf("predictions row %d (id %q): y_true %v, y_pred %v: values must be finite", i, p.ID, p.YTrue, p.YPred)
		}
		rows = append(rows, p)
	}
	if len(rows) == 0 {
		if split != "" {
			return nil, fmt.Errorf("no predictions of split %q (analysis.split) among %d rows", split, len(preds))
		}
		return nil, fmt.Errorf("no predictions to analyse")
	}
	if len(rows) >= math.MaxInt32 {
		return nil, fmt.Errorf("%d predictions: the analysis handles at most %d rows", len(rows), math.MaxInt32-1)
	}
	return rows, nil
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
		a.Bias, a.Gap, a.Ratio = nan, nan, nan
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
		a.Note = fmt.Sprintf("scores need at least two scored groups; %s has %d", a.Name, a.ScoredGroups)
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
	}
}

// runGroupTests runs the between-group permutation test of every
// available bias score and Holm-corrects them as one family.
func runGroupTests(ctx context.Context, res *Result, sets []strata, opts *Options) error {
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
			return fmt.Errorf("analysis permutation test of %s: %w", a.Name, err)
		}
		a.Test = &t
		tests = append(tests, a.Test)
	}
	p := make([]float64, len(tests))
	for i, t := range tests {
		p[i] = t.P
	}
	for i, adj := range Holm(p) {
		tests[i].PHolm = adj
		tests[i].Significant = adj < opts.Alpha
	}
	return nil
}
