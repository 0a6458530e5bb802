package balance

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"reflect"
	"sort"
	"strings"
	"testing"

	"fairage/dataset"
)

func TestUndersampleCutsLargeCells(t *testing.T) {
	tests := []struct {
		target string
		want   int
	}{
		{"", 30}, {"min", 30}, {"mean", 323}, {"25", 25}, {"0.5", 450},
	}
	samples := fixture(skewed)
	cellOf := cellOfSample(samples)
	for _, tc := range tests {
		t.Run("target="+tc.target, func(t *testing.T) {
			o := options(StrategyUndersample, ModeJoint)
			o.Target = tc.target
			r := mustPlan(t, samples, o)
			perCell := map[string]int{}
			for _, row := range r.Rows {
				perCell[cellOf[row.SampleID]]++
				if row.Copy != 0 || row.Weight != 1 {
					t.Fatalf("undersampling made copy %d weight %v", row.Copy, row.Weight)
				}
			}
			for cell, n := range skewed {
				if want := min(n, tc.want); perCell[cell] != want {
					t.Errorf("cell %s has %d samples, want %d", cell, perCell[cell], want)
				}
			}
		})
	}
	t.Run("count above smallest cell", func(t *testing.T) {
		o := options(StrategyUndersample, ModeJoint)
		o.Target = "100"
		o.MinCount = 1
		_, err := Plan(t.Context(), fixture(map[string]int{"female×asian": 40, "male×asian": 500}), o)
		want := "balance.target: 100 is above the smallest cell (female×asian: 40); undersample cannot grow cells"
		if err == nil || err.Error() != want {
			t.Fatalf("error %v, want %q", err, want)
		}
	})
}

func TestReweightEqualisesGroupTotals(t *testing.T) {
	tests := []struct {
		name  string
		mode  Mode
		by    []string
		attrs []string // attributes whose weighted group totals must be equal
	}{
		{"joint cells", ModeJoint, []string{"gender", "ethnicity"}, []string{"gender×ethnicity"}},
		{"one attribute", ModeJoint, []string{"ethnicity"}, []string{"ethnicity"}},
		{"marginals by raking", ModeMarginal, []string{"gender", "ethnicity"}, []string{"gender", "ethnicity"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := options(StrategyReweight, tc.mode)
			o.By = tc.by
			r := mustPlan(t, fixture(skewed), o)
			if len(r.Rows) != 1940 {
				t.Fatalf("%d rows, want every sample once (1940)", len(r.Rows))
			}
			if m := meanWeight(r.Rows); math.Abs(m-1) > 1e-9 {
				t.Errorf("mean weight %v, want 1", m)
			}
			for _, a := range tc.attrs {
				groups := stageCounts(r.Counts, StageAfter, a)
				want := 1940 / float64(len(groups))
				for g, c := range groups {
					if math.Abs(c.Weight-want) > 1e-6*want {
						t.Errorf("%s=%s: weighted total %v, want %v", a, g, c.Weight, want)
					}
				}
			}
		})
	}
}

func TestLDSWeights(t *testing.T) {
	l := DefaultOptions().LDS
	t.Run("flat histogram gives ones", func(t *testing.T) {
		var ages []float64
		for a := 0; a < 60; a++ {
			for k := 0; k < 3; k++ {
				ages = append(ages, float64(a)+0.25*float64(k))
			}
		}
		samples := make([]dataset.Sample, len(ages))
		for i, a := range ages {
			samples[i] = dataset.Sample{ID: itoa(1000 + i), Split: dataset.SplitTrain, Age: a}
		}
		o := options(StrategyNone, ModeJoint)
		o.LDS.Enabled = true
		r := mustPlan(t, samples, o)
		for _, row := range r.Rows {
			if math.Abs(row.Weight-1) > 1e-12 {
				t.Fatalf("sample %s weight %v, want 1", row.SampleID, row.Weight)
			}
		}
	})
	t.Run("weights fall as smoothed density rises", func(t *testing.T) {
		rng := rand.New(rand.NewPCG(1, 2))
		ages := make([]float64, 3000)
		mass := make([]float64, len(ages))
		for i := range ages {
			ages[i] = math.Max(0, math.Min(100, 30+15*rng.NormFloat64()))
			mass[i] = 1
		}
		w, density := ldsWeights(ages, mass, l)
		lo := minOf(ages)
		// Order samples by the density of their bin; weights must then
		// never rise.
		idx := make([]int, len(ages))
		dens := make([]float64, len(ages))
		for i, a := range ages {
			idx[i], dens[i] = i, density[int(math.Floor(a-lo))]
		}
		sort.Slice(idx, func(a, b int) bool { return dens[idx[a]] < dens[idx[b]] })
		for k := 1; k < len(idx); k++ {
			i, j := idx[k-1], idx[k]
			if dens[i] < dens[j] && !(w[i] > w[j]) {
				t.Fatalf("age %.1f (density %.2f) weight %.3f not above age %.1f (density %.2f) weight %.3f",
					ages[i], dens[i], w[i], ages[j], dens[j], w[j])
			}
		}
	})
	t.Run("combines with reweighting, mean 1", func(t *testing.T) {
		o := options(StrategyReweight, ModeJoint)
		o.LDS.Enabled = true
		r := mustPlan(t, fixture(skewed), o)
		if m := meanWeight(r.Rows); math.Abs(m-1) > 1e-9 {
			t.Fatalf("mean weight %v, want 1", m)
		}
	})
}

func minOf(x []float64) float64 {
	m := math.Inf(1)
	for _, v := range x {
		m = math.Min(m, v)
	}
	return m
}

func TestPolicies(t *testing.T) {
	// female×black is small (5 < min_count 10) and 7 samples have no
	// ethnicity.
	base := fixture(map[string]int{"female×white": 100, "male×white": 80, "female×black": 5, "male×black": 40})
	for i := 0; i < 7; i++ {
		base = append(base, dataset.Sample{ID: "nil-" + itoa(i), Split: dataset.SplitTrain, Age: 30, Gender: "male"})
	}
	tests := []struct {
		name          string
		unknown, smol Policy
		wantErr       string
		wantCells     map[string]int // examples per raw gender×ethnicity cell after balancing
	}{
		{name: "merge both", unknown: PolicyMerge, smol: PolicyMerge,
			// male×unknown (7) and female×black (5) are pooled into one cell
			// of 12 and brought to 100 with the rest.
			wantCells: map[string]int{"female×white": 100, "male×white": 100, "male×black": 100}},
		{name: "skip both", unknown: PolicySkip, smol: PolicySkip,
			wantCells: map[string]int{"female×white": 100, "male×white": 100, "male×black": 100, "female×black": 5, "male×unknown": 7}},
		{name: "fail unknown", unknown: PolicyFail, smol: PolicyMerge,
			wantErr: "balance.unknown: 7 training samples have an unknown ethnicity (first: nil-0) and the policy is fail; set balance.unknown to merge or skip"},
		{name: "fail small", unknown: PolicyMerge, smol: PolicyFail,
			wantErr: "balance.small_cells: cells below balance.min_count 10 and the policy is fail: female×black (5), male×unknown (7); set balance.small_cells to merge or skip, or lower balance.min_count"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := options(StrategyOversample, ModeJoint)
			o.MinCount, o.Unknown, o.SmallCells = 10, tc.unknown, tc.smol
			r, err := Plan(t.Context(), base, o)
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("error %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			after := stageCounts(r.Counts, StageAfter, "gender×ethnicity")
			for cell, want := range tc.wantCells {
				if got := after[cell].Count; got != int64(want) {
					t.Errorf("cell %s: %d examples, want %d", cell, got, want)
				}
			}
			if tc.unknown == PolicyMerge {
				if got := after["female×black"].Count + after["male×unknown"].Count; got != 100 {
					t.Errorf("pooled cell has %d examples, want 100", got)
				}
			}
			warned := false
			for _, n := range r.Notes {
				warned = warned || n.Level == Warning
			}
			if !warned {
				t.Errorf("no warning about the small cells in %v", r.Notes)
			}
		})
	}
}

func TestPlanIsDeterministic(t *testing.T) {
	samples := fixture(skewed)
	o := options(StrategyOversample, ModeJoint)
	a := mustPlan(t, samples, o)

	shuffled := append([]dataset.Sample(nil), samples...)
	rand.New(rand.NewPCG(7, 7)).Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	if b := mustPlan(t, shuffled, o); !reflect.DeepEqual(a.Rows, b.Rows) {
		t.Fatal("the plan depends on the order of the samples")
	}
	o.Seed++
	c := mustPlan(t, samples, o)
	if reflect.DeepEqual(appearances(a.Rows), appearances(c.Rows)) {
		t.Fatal("another seed chose the same samples to copy")
	}
}

func TestPlanIgnoresOtherSplits(t *testing.T) {
	samples := fixture(skewed)
	samples[0].Split = dataset.SplitTest
	samples[1].Split = dataset.SplitValid
	r := mustPlan(t, samples, options(StrategyNone, ModeJoint))
	if len(r.Rows) != len(samples)-2 {
		t.Fatalf("%d rows, want %d", len(r.Rows), len(samples)-2)
	}
	_, err := Plan(t.Context(), samples[:2], options(StrategyNone, ModeJoint))
	if err == nil {
		t.Fatal("a plan with no training samples succeeded")
	}
}

func TestPlanHonoursCancellation(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := Plan(ctx, fixture(skewed), options(StrategyOversample, ModeMarginal))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want context.Canceled", err)
	}
}

func TestMarginalPolicies(t *testing.T) {
	// ethnicity "other" has 6 samples, below min_count 10; 4 samples have
	// no gender.
	base := fixture(map[string]int{"female×white": 100, "male×white": 60, "female×black": 30, "male×black": 50, "male×other": 6})
	for i := 0; i < 4; i++ {
		base = append(base, dataset.Sample{ID: "nog-" + itoa(i), Split: dataset.SplitTrain, Age: 30, Ethnicity: "white"})
	}
	tests := []struct {
		name          string
		unknown, smol Policy
		wantErr       string
		// examples of each ethnicity group after balancing; NaN: any
		wantEth map[string]float64
	}{
		{name: "merge both", unknown: PolicyMerge, smol: PolicyMerge,
			// "other" (6) is pooled with nothing else, so it rises as its
			// own group: 3 ethnicity groups, each at white's 164.
			wantEth: map[string]float64{"white": 164, "black": 164}},
		{name: "skip both", unknown: PolicySkip, smol: PolicySkip,
			// Skipped samples stay once; white (160 balanced) is the
			// largest group, so black rises to 160.
			wantEth: map[string]float64{"white": 164, "black": 160, "other": 6}},
		{name: "fail small", unknown: PolicySkip, smol: PolicyFail,
			wantErr: "balance.small_cells: ethnicity groups below balance.min_count 10 and the policy is fail: other (6)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := options(StrategyOversample, ModeMarginal)
			o.MinCount, o.Unknown, o.SmallCells = 10, tc.unknown, tc.smol
			r, err := Plan(t.Context(), base, o)
			if tc.wantErr != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want prefix %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			after := stageCounts(r.Counts, StageAfter, dataset.AttrEthnicity)
			for g, want := range tc.wantEth {
				if got := float64(after[g].Count); math.Abs(got-want) > 0.01*want {
					t.Errorf("ethnicity %s: %v examples, want %v within 1%%", g, got, want)
				}
			}
		})
	}
}
