package balance

import (
	"math"
	"strings"
	"testing"

	"fairage/dataset"
)

func TestOversampleJointBringsEveryCellToTarget(t *testing.T) {
	tests := []struct {
		target string
		want   int // examples per cell after balancing, for cells below it
	}{
		{"max", 900},
		{"", 900},
		{"1200", 1200},
		{"mean", 323}, // (150+60+900+100+30+700)/6 = 323.3
		{"0.5", 450},
		{"25%", 225},
	}
	samples := fixture(skewed)
	cellOf := cellOfSample(samples)
	for _, tc := range tests {
		t.Run("target="+tc.target, func(t *testing.T) {
			o := options(StrategyOversample, ModeJoint)
			o.Target = tc.target
			r := mustPlan(t, samples, o)

			perCell := map[string]int{}
			for _, row := range r.Rows {
				perCell[cellOf[row.SampleID]]++
			}
			for cell, n := range skewed {
				want := max(n, tc.want)
				if perCell[cell] != want {
					t.Errorf("cell %s has %d examples, want %d", cell, perCell[cell], want)
				}
			}
			// Every original kept, and spread evenly: ⌊t/n⌋ or ⌈t/n⌉ each.
			app := appearances(r.Rows)
			for _, s := range samples {
				n := skewed[cellOf[s.ID]]
				goal := max(n, tc.want)
				lo, hi := goal/n, (goal+n-1)/n
				if got := app[s.ID]; got < lo || got > hi {
					t.Errorf("sample %s appears %d times, want %d..%d", s.ID, got, lo, hi)
				}
			}
			checkCopies(t, r.Rows, o.Seed)
			if m := meanWeight(r.Rows); math.Abs(m-1) > 1e-12 {
				t.Errorf("mean weight %v, want 1", m)
			}
			after := stageCounts(r.Counts, StageAfter, "gender×ethnicity")
			for cell, n := range skewed {
				if got := after[cell].Count; got != int64(max(n, tc.want)) {
					t.Errorf("after-count of %s is %d, want %d", cell, got, max(n, tc.want))
				}
			}
		})
	}
}

// checkCopies checks that every sample has copy 0 and copies 1..k-1 with
// no gaps, each with the seed derived from (seed, id, copy).
func checkCopies(t *testing.T, rows []dataset.PlanRow, seed uint64) {
	t.Helper()
	next := map[string]int32{}
	for _, r := range rows {
		if r.Copy != next[r.SampleID] {
			t.Fatalf("sample %s: copy %d follows copy %d", r.SampleID, r.Copy, next[r.SampleID]-1)
		}
		next[r.SampleID]++
		if want := AugSeed(seed, r.SampleID, r.Copy); r.AugSeed != want {
			t.Fatalf("sample %s copy %d: aug seed %x, want %x", r.SampleID, r.Copy, r.AugSeed, want)
		}
	}
}

func TestOversampleRejectsCountBelowLargestCell(t *testing.T) {
	tests := []struct {
		mode Mode
		want string
	}{
		{ModeJoint, "balance.target: 5 is below the largest cell (female×white: 900); oversample cannot shrink cells"},
		{ModeMarginal, "balance.target: 5 is below the largest gender group (female: 1110); oversample cannot shrink groups"},
	}
	for _, tc := range tests {
		t.Run(string(tc.mode), func(t *testing.T) {
			o := options(StrategyOversample, tc.mode)
			o.Target = "5"
			_, err := Plan(t.Context(), fixture(skewed), o)
			if err == nil || err.Error() != tc.want {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
		})
	}
}

func TestOversampleMarginalMeetsEveryMarginal(t *testing.T) {
	// Three attributes, strongly skewed and correlated, with one combination
	// missing, so raking has real work to do.
	var samples []dataset.Sample
	add := func(gender, eth, expr string, n int) {
		for i := 0; i < n; i++ {
			samples = append(samples, dataset.Sample{
				ID: gender + eth + expr + string(rune('a'+i%26)) + itoa(i), Split: dataset.SplitTrain,
				Age: float64(20 + i%50), Gender: gender, Ethnicity: eth, Expression: expr,
			})
		}
	}
	add("female", "white", "happy", 800)
	add("female", "white", "neutral", 300)
	add("female", "black", "happy", 40)
	add("female", "asian", "neutral", 120)
	add("male", "white", "neutral", 900)
	add("male", "white", "happy", 200)
	add("male", "black", "neutral", 90)
	add("male", "asian", "happy", 25)
	add("male", "asian", "neutral", 60)

	for _, target := range []string{"max", "mean", "3000"} {
		t.Run("target="+target, func(t *testing.T) {
			o := options(StrategyOversample, ModeMarginal)
			o.By = []string{dataset.AttrGender, dataset.AttrEthnicity, dataset.AttrExpression}
			o.Target = target
			r := mustPlan(t, samples, o)
			total := len(r.Rows)
			for _, a := range o.By {
				before := stageCounts(r.Counts, StageBefore, a)
				after := stageCounts(r.Counts, StageAfter, a)
				// Groups below the common level rise to it; groups above
				// stay as they were.
				level := waterLevelOf(before, float64(total))
				for g, c := range after {
					want := math.Max(float64(before[g].Count), level)
					if d := math.Abs(float64(c.Count)-want) / want; d > 0.01 {
						t.Errorf("%s=%s: %d examples, target %.0f (%.2f%% off)", a, g, c.Count, want, 100*d)
					}
				}
			}
			app := appearances(r.Rows)
			for _, s := range samples {
				if app[s.ID] < 1 {
					t.Fatalf("original %s was dropped", s.ID)
				}
			}
			checkCopies(t, r.Rows, o.Seed)
		})
	}
}

func waterLevelOf(groups map[string]dataset.GroupCount, total float64) float64 {
	var sizes []float64
	for _, g := range groups {
		sizes = append(sizes, float64(g.Count))
	}
	return waterLevel(sizes, total)
}

func itoa(i int) string {
	const digits = "0123456789"
	if i < 10 {
		return digits[i : i+1]
	}
	return itoa(i/10) + digits[i%10:i%10+1]
}

func TestOversampleWarnsAboutHeavyCopying(t *testing.T) {
	r := mustPlan(t, fixture(skewed), options(StrategyOversample, ModeJoint))
	found := false
	for _, n := range r.Notes {
		if n.Level == Warning && strings.Contains(n.Message, "male×black is oversampled 30.0×") {
			found = true
		}
	}
	if !found {
		t.Fatalf("no heavy-oversampling warning in %v", r.Notes)
	}
}
