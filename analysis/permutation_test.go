package analysis

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"fairage/dataset"
)

// threeGroups makes 40 asian, 60 black and 100 white rows with errors
// N(0, σ²); white's σ is scaled by planted (1 under the null hypothesis).
func threeGroups(seed uint64, planted float64) []dataset.Prediction {
	r := rand.New(rand.NewPCG(seed, 5))
	var out []dataset.Prediction
	for _, g := range []struct {
		name string
		n    int
		sd   float64
	}{{"asian", 40, 6}, {"black", 60, 6}, {"white", 100, 6 * planted}} {
		for i := 0; i < g.n; i++ {
			y := 10 + r.Float64()*60
			out = append(out, dataset.Prediction{ID: fmt.Sprint(len(out)), YTrue: y, YPred: y + r.NormFloat64()*g.sd, Ethnicity: g.name, Gender: []string{"female", "male"}[i%2]})
		}
	}
	return out
}

func testOptions() Options {
	o := DefaultOptions()
	o.Attributes = []string{dataset.AttrGender, dataset.AttrEthnicity}
	o.Bootstrap.Resamples = 0
	o.Permutation.Resamples = 199
	return o
}

// checkUniform asserts p-values look uniform: the Kolmogorov–Smirnov
// distance to U(0,1) is below the 1% critical value 1.63/√m, and the share
// below 0.05 is within 0.05 ± 0.05 (about 4 binomial standard errors at
// m = 300).
func checkUniform(t *testing.T, name string, p []float64) {
	t.Helper()
	s := slices.Sorted(slices.Values(p))
	m := float64(len(s))
	d, below := 0.0, 0
	for i, v := range s {
		d = math.Max(d, math.Max(float64(i+1)/m-v, v-float64(i)/m))
		if v <= 0.05 {
			below++
		}
	}
	frac := float64(below) / m
	t.Logf("%s: KS distance %.3f (critical %.3f), share ≤ 0.05: %.3f", name, d, 1.63/math.Sqrt(m), frac)
	if d > 1.63/math.Sqrt(m) {
		t.Errorf("%s: p-values are not uniform under the null: KS distance %.3f", name, d)
	}
	if frac > 0.10 || frac < 0.005 {
		t.Errorf("%s: %.3f of p-values ≤ 0.05 under the null, want about 0.05", name, frac)
	}
}

func TestGroupPermutationNull(t *testing.T) {
	const reps = 300
	var p []float64
	o := testOptions()
	for rep := 0; rep < reps; rep++ {
		o.Permutation.Seed = uint64(rep) + 5000
		res, err := Analyze(context.Background(), threeGroups(uint64(rep), 1), o)
		if err != nil {
			t.Fatal(err)
		}
		p = append(p, res.Attribute("ethnicity").Test.P)
	}
	checkUniform(t, "ethnicity bias", p)
}

func TestGroupPermutationPlanted(t *testing.T) {
	res, err := Analyze(context.Background(), threeGroups(1, 2), testOptions())
	if err != nil {
		t.Fatal(err)
	}
	eth := res.Attribute("ethnicity").Test
	if eth.P > 0.01 || !eth.Significant || eth.PHolm < eth.P {
		t.Errorf("planted ethnicity difference: %+v, want p ≤ 0.01, significant after Holm", eth)
	}
	if g := res.Attribute("gender").Test; g.PHolm < g.P {
		t.Errorf("Holm-adjusted p below raw p: %+v", g)
	}
}

// pairedRuns makes two runs on the same 200 samples; run A's errors on white
// faces have twice the spread. With planted = 1 run B's errors are drawn
// from the same distributions (the null hypothesis); with planted < 1 B's
// white spread is scaled down (less ethnicity bias).
func pairedRuns(seed uint64, planted float64) (a, b []dataset.Prediction) {
	a = threeGroups(seed, 2)
	r := rand.New(rand.NewPCG(seed, 11))
	b = slices.Clone(a)
	for i := range b {
		sd := 6.0
		if b[i].Ethnicity == "white" {
			sd = 6 * 2 * planted
		}
		b[i].YPred = b[i].YTrue + r.NormFloat64()*sd
	}
	// Same samples in another order: matching is by id.
	slices.Reverse(b)
	return a, b
}

func TestPairedNull(t *testing.T) {
	const reps = 300
	pm, pb := []float64{}, []float64{}
	o := testOptions()
	for rep := 0; rep < reps; rep++ {
		o.Permutation.Seed = uint64(rep) + 9000
		a, b := pairedRuns(uint64(rep), 1)
		res, err := Compare(context.Background(), "a", a, "b", b, o)
		if err != nil {
			t.Fatal(err)
		}
		pm = append(pm, res.Tests[0].P)
		pb = append(pb, res.Tests[2].P)
	}
	checkUniform(t, "paired mae", pm)
	checkUniform(t, "paired ethnicity bias", pb)
}

func TestPairedPlanted(t *testing.T) {
	a, b := pairedRuns(3, 0.5)
	b = append(b, dataset.Prediction{ID: "only-b", YTrue: 30, YPred: 30, Ethnicity: "white", Gender: "male"})
	res, err := Compare(context.Background(), "baseline", a, "balanced", b, testOptions())
	if err != nil {
		t.Fatal(err)
	}
	if res.Matched != 200 || res.OnlyA != 0 || res.OnlyB != 1 {
		t.Errorf("matched %d only_a %d only_b %d, want 200 0 1", res.Matched, res.OnlyA, res.OnlyB)
	}
	names := []string{}
	for _, tt := range res.Tests {
		names = append(names, tt.Metric)
	}
	if want := []string{"mae", "gender_bias", "ethnicity_bias"}; !slices.Equal(names, want) {
		t.Fatalf("tests %v, want %v", names, want)
	}
	eth := res.Tests[2]
	if eth.Diff >= 0 || eth.P > 0.01 || !eth.Significant {
		t.Errorf("balanced run should have significantly less ethnicity bias: %+v", eth)
	}
	if !near(eth.Diff, eth.B-eth.A) {
		t.Errorf("diff %v is not B−A (%v − %v)", eth.Diff, eth.B, eth.A)
	}
}

func TestCompareRejectsDifferentSamples(t *testing.T) {
	a, b := pairedRuns(1, 1)
	b[0].YTrue += 1
	if _, err := Compare(context.Background(), "a", a, "b", b, testOptions()); err == nil {
		t.Error("runs disagreeing on y_true should not be compared")
	}
	a, b = pairedRuns(1, 1)
	for i := range b {
		b[i].ID = "x" + b[i].ID
	}
	if _, err := Compare(context.Background(), "a", a, "b", b, testOptions()); err == nil {
		t.Error("runs with no common ids should not be compared")
	}
}

func TestHolm(t *testing.T) {
	// m = 4. Sorted: 0.005, 0.01, 0.03, 0.04 → ×4, ×3, ×2, ×1 = 0.02,
	// 0.03, 0.06, 0.04; running max keeps 0.06 for the last one.
	got := Holm([]float64{0.01, 0.04, 0.03, 0.005})
	want := []float64{0.03, 0.06, 0.06, 0.02}
	for i := range want {
		if !near(got[i], want[i]) {
			t.Errorf("Holm = %v, want %v", got, want)
			break
		}
	}
	// Capped at 1, NaN left out of m.
	got = Holm([]float64{0.6, math.NaN(), 0.2})
	if !near(got[0], 0.6) || !math.IsNaN(got[1]) || !near(got[2], 0.4) {
		t.Errorf("Holm with NaN = %v, want [0.6 NaN 0.4]", got)
	}
}
