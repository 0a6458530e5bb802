package analysis

import (
	"context"
	"fmt"
	"math"
	"slices"

	"fairage/dataset"
)

// PairedResult compares two runs evaluated on the same samples (matched by
// id): e.g. does balancing reduce ethnicity bias? It is written into the
// comparison report; the json tags are its stable field names.
type PairedResult struct {
	// A and B name the runs; differences are B − A.
	A string `json:"a"`
	B string `json:"b"`
	// Split is the split compared ("" for every row).
	Split string `json:"split"`
	// Matched counts ids present in both runs; OnlyA and OnlyB count ids
	// present in one run only (left out of the comparison).
	Matched int `json:"matched"`
	OnlyA   int `json:"only_a"`
	OnlyB   int `json:"only_b"`
	// RejectedA and RejectedB count rows of each run left out because a
	// value is not an age (analysis.range); their ids count as missing
	// from that run.
	RejectedA int `json:"rejected_a"`
	RejectedB int `json:"rejected_b"`
	// Permutations is the number of random sign flips drawn per test.
	Permutations int `json:"permutations"`
	// Alpha is the family-wise level at which Significant is decided.
	Alpha float64 `json:"alpha"`
	// Tests has one entry for the overall MAE, then one per grouping's bias
	// score, in configuration order (groupings with fewer than two scored
	// groups are left out).
	Tests []PairedTest `json:"tests"`
}

// PairedTest is the paired permutation test of one metric between runs.
type PairedTest struct {
	// Metric is "mae" or a bias key such as "ethnicity_bias".
	Metric string `json:"metric"`
	// A and B are the metric in each run on the matched rows.
	A float64 `json:"a"`
	B float64 `json:"b"`
	// Diff is B − A: negative means B is lower (less error or bias).
	Diff float64 `json:"diff"`
	// P is the two-sided permutation p-value of Diff.
	P float64 `json:"p"`
	// PHolm is P after Holm correction across the family (Tests, or every
	// pair passed to AdjustFamily).
	PHolm float64 `json:"p_holm"`
	// Significant is PHolm < Alpha.
	Significant bool `json:"significant"`
}

// Compare runs paired permutation tests between runs a and b on the rows
// they share (by id, within opts.Split). Under the null hypothesis the two
// runs are exchangeable on each sample, so each permutation swaps a
// sample's two errors with probability ½ (keeping the sample in its
// groups); the statistic is the difference of the metric, two-sided. The
// tests of one call are Holm-corrected together. Rows must agree on y_true
// and on the attributes, or the runs did not evaluate the same samples.
func Compare(ctx context.Context, nameA string, a []dataset.Prediction, nameB string, b []dataset.Prediction, opts Options) (*PairedResult, error) {
	return CompareTables(ctx, nameA, &dataset.PredictionTable{Rows: a}, nameB, &dataset.PredictionTable{Rows: b}, opts)
}

// CompareTables is Compare on tables that may carry their own attribute
// columns (audits of two models' predictions of one file); groups follow
// the first table's columns, and both tables must agree on them.
func CompareTables(ctx context.Context, nameA string, ta *dataset.PredictionTable, nameB string, tb *dataset.PredictionTable, opts Options) (*PairedResult, error) {
	a, b := ta.Rows, tb.Rows
	if err := opts.Validate(); err != nil {
		return nil, fmt.Errorf("analysis options: %w", err)
	}
	if opts.Permutation.Resamples < 1 {
		return nil, fmt.Errorf("analysis.permutation.resamples: %d, a paired comparison needs at least 1", opts.Permutation.Resamples)
	}
	rowsA, scrA, err := selectRows(a, opts.Split.rows(), &opts.Range)
	if err != nil {
		return nil, fmt.Errorf("run %s: %w", nameA, err)
	}
	rowsB, scrB, err := selectRows(b, opts.Split.rows(), &opts.Range)
	if err != nil {
		return nil, fmt.Errorf("run %s: %w", nameB, err)
	}
	res := &PairedResult{A: nameA, B: nameB, Split: opts.Split.rows(), Permutations: opts.Permutation.Resamples, Alpha: opts.Alpha,
		RejectedA: issueCount(scrA.rejected), RejectedB: issueCount(scrB.rejected)}
	matchA, matchB, err := match(rowsA, rowsB, ta.ExtraNames(), tb.ExtraNames(), &opts, res)
	if err != nil {
		return nil, fmt.Errorf("compare %s with %s: %w", nameA, nameB, err)
	}
	dA, dB := absErrors(matchA), absErrors(matchB)
	enc := newEncoder(matchA, &opts, ta.Extra)
	// One "grouping" per test: the overall MAE is a grouping with one group.
	whole := &encoding{labels: []string{"all"}, of: make([]int32, len(matchA)), sizes: []int{len(matchA)}}
	tests := []pairedStat{{name: MetricMAE, enc: whole, scored: []int{0}}}
	for _, members := range opts.groupings() {
		e := enc.encode(members)
		scored := scoredGroups(e, &opts)
		if len(scored) < 2 {
			continue
		}
		tests = append(tests, pairedStat{name: ScoreKey(GroupingKey(members), MetricBias), enc: e, scored: scored})
	}
	if err := runPaired(ctx, tests, dA, dB, &opts, res); err != nil {
		return nil, fmt.Errorf("compare %s with %s: %w", nameA, nameB, err)
	}
	AdjustFamily(res)
	return res, nil
}

// match pairs rows by id and checks that they describe the same samples.
func match(rowsA, rowsB []*dataset.Prediction, extraA, extraB []string, opts *Options, res *PairedResult) (ma, mb []*dataset.Prediction, err error) {
	byID := make(map[string]*dataset.Prediction, len(rowsB))
	for _, p := range rowsB {
		if _, dup := byID[p.ID]; dup {
			return nil, nil, fmt.Errorf("run %s has id %q twice", res.B, p.ID)
		}
		byID[p.ID] = p
	}
	// Every attribute any grouping uses must agree between the runs.
	var attrs []string
	var getA, getB []func(*dataset.Prediction) string
	for _, members := range opts.groupings() {
		for _, m := range members {
			if m == dataset.AttrAgeGroup || slices.Contains(attrs, m) {
				continue
			}
			fa, okA := dataset.Accessor(extraA, m)
			fb, okB := dataset.Accessor(extraB, m)
			if !okA || !okB {
				continue // Validate checked the names against the first table
			}
			attrs, getA, getB = append(attrs, m), append(getA, fa), append(getB, fb)
		}
	}
	seen := make(map[string]bool, len(rowsA))
	for _, p := range rowsA {
		if seen[p.ID] {
			return nil, nil, fmt.Errorf("run %s has id %q twice", res.A, p.ID)
		}
		seen[p.ID] = true
		q, ok := byID[p.ID]
		if !ok {
			res.OnlyA++
			continue
		}
		if math.Abs(p.YTrue-q.YTrue) > 1e-9*math.Max(1, math.Abs(p.YTrue)) {
			return nil, nil, fmt.Errorf("id %q has y_true %v in %s but %v in %s: the runs did not evaluate the same samples", p.ID, p.YTrue, res.A, q.YTrue, res.B)
		}
		for i, attr := range attrs {
			if va, vb := getA[i](p), getB[i](q); va != vb {
				return nil, nil, fmt.Errorf("id %q has %s %q in %s but %q in %s", p.ID, attr, va, res.A, vb, res.B)
			}
		}
		ma, mb = append(ma, p), append(mb, q)
	}
	res.Matched = len(ma)
	res.OnlyB = len(rowsB) - len(ma)
	if len(ma) == 0 {
		return nil, nil, fmt.Errorf("no ids in common (%d rows in %s, %d in %s)", len(rowsA), res.A, len(rowsB), res.B)
	}
	return ma, mb, nil
}

func absErrors(rows []*dataset.Prediction) []float64 {
	out := make([]float64, len(rows))
	for i, p := range rows {
		out[i] = math.Abs(p.YPred - p.YTrue)
	}
	return out
}

// scoredGroups applies the small-group policy to an encoding.
func scoredGroups(e *encoding, opts *Options) []int {
	var out []int
	for g, n := range e.sizes {
		small := n < opts.MinGroupSize
		if n > 0 && !(small && opts.SmallGroups == SmallGroupsExclude) {
			out = append(out, g)
		}
	}
	return out
}

// pairedStat is one paired test: a metric over the scored groups of an
// encoding (MAE for one group, the bias score for several).
type pairedStat struct {
	name   string
	enc    *encoding
	scored []int
}

// value computes the statistic from per-group sums of absolute errors.
func (s pairedStat) value(sums []float64, maes []float64) float64 {
	maes = maes[:0]
	for _, g := range s.scored {
		maes = append(maes, sums[g]/float64(s.enc.sizes[g]))
	}
	if len(maes) == 1 {
		return maes[0]
	}
	bias, _, _ := scores(maes)
	return bias
}

// runPaired computes each statistic in both runs and its sign-flip
// permutation p-value. For a group, sum_A + sum_B is the same under every
// swap, so a permutation only needs the swapped rows' (dB − dA) added to A.
func runPaired(ctx context.Context, tests []pairedStat, dA, dB []float64, opts *Options, res *PairedResult) error {
	n := len(dA)
	diff := make([]float64, n)
	for i := range diff {
		diff[i] = dB[i] - dA[i]
	}
	// Per test: group sums in A and the invariant totals A+B. Slot 0 of the
	// shifted codes collects unknown rows, so the inner loop has no branch.
	type prepared struct {
		codes      []int32 // group index + 1, 0 for unknown
		sumA, tot  []float64
		observed   float64
		valA, valB float64
	}
	preps := make([]prepared, len(tests))
	scratch := make([]float64, 0, 64)
	for t, s := range tests {
		k := len(s.enc.labels)
		p := prepared{codes: make([]int32, n), sumA: make([]float64, k+1), tot: make([]float64, k+1)}
		sumB := make([]float64, k+1)
		for i, g := range s.enc.of {
			p.codes[i] = g + 1
			p.sumA[g+1] += dA[i]
			sumB[g+1] += dB[i]
		}
		for g := range p.tot {
			p.tot[g] = p.sumA[g] + sumB[g]
		}
		p.valA = s.value(p.sumA[1:], scratch)
		p.valB = s.value(sumB[1:], scratch)
		p.observed = math.Abs(p.valB - p.valA)
		preps[t] = p
	}
	B := opts.Permutation.Resamples
	hits := make([][]bool, len(tests))
	for t := range hits {
		hits[t] = make([]bool, B)
	}
	workers := workerCount(opts.Workers, B)
	type buffers struct{ acc [][]float64 }
	bufs := make([]*buffers, workers)
	err := parallelFor(ctx, B, workers, func(w, b int) {
		if bufs[w] == nil {
			bufs[w] = &buffers{acc: make([][]float64, len(tests))}
			for t := range tests {
				bufs[w].acc[t] = make([]float64, len(preps[t].sumA))
			}
		}
		acc := bufs[w].acc
		for t := range acc {
			clear(acc[t])
		}
		r := newStream(opts.Permutation.Seed, "paired", uint64(b))
		var bits uint64
		for i := 0; i < n; i++ {
			if i%64 == 0 {
				bits = r.uint64()
			}
			f := float64(bits & 1)
			bits >>= 1
			d := f * diff[i]
			for t := range acc {
				acc[t][preps[t].codes[i]] += d
			}
		}
		sa, sb := make([]float64, 0, 64), make([]float64, 0, 64)
		m := make([]float64, 0, 64)
		for t, s := range tests {
			p := &preps[t]
			sa, sb = sa[:0], sb[:0]
			for g := range p.sumA {
				a := p.sumA[g] + acc[t][g]
				sa = append(sa, a)
				sb = append(sb, p.tot[g]-a)
			}
			stat := math.Abs(s.value(sb[1:], m) - s.value(sa[1:], m))
			hits[t][b] = stat >= p.observed-1e-12*math.Max(1, p.observed)
		}
	})
	if err != nil {
		return err
	}
	for t, s := range tests {
		p := &preps[t]
		res.Tests = append(res.Tests, PairedTest{
			Metric: s.name, A: p.valA, B: p.valB, Diff: p.valB - p.valA, P: pValue(hits[t]),
		})
	}
	return nil
}

// AdjustFamily Holm-corrects the tests of every given comparison as one
// family, setting PHolm and Significant (at each result's Alpha). Compare
// already corrects within one pair; call this when several pairs (e.g. a
// baseline against three variants) are read together.
func AdjustFamily(results ...*PairedResult) {
	var p []float64
	for _, r := range results {
		for _, t := range r.Tests {
			p = append(p, t.P)
		}
	}
	adj := Holm(p)
	k := 0
	for _, r := range results {
		for i := range r.Tests {
			r.Tests[i].PHolm = adj[k]
			r.Tests[i].Significant = adj[k] < r.Alpha
			k++
		}
	}
}
