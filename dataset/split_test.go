package dataset

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"fairage/internal/testdata"
)

// randomSamples makes n samples with skewed attribute distributions and
// near-duplicate groups of 2-4 covering about 6% of them, whose members
// sometimes disagree on labels (as in UTKFace).
func randomSamples(n int, seed uint64) []Sample {
	rng := rand.New(rand.NewPCG(seed, 9))
	pick := func(values []string, weights []float64) string {
		u := rng.Float64()
		for i, w := range weights {
			if u < w {
				return values[i]
			}
			u -= w
		}
		return values[len(values)-1]
	}
	groups := DefaultAgeGroups()
	out := make([]Sample, 0, n)
	for len(out) < n {
		s := Sample{
			ID:         fmt.Sprintf("s%06d", len(out)),
			Age:        float64(1 + rng.IntN(90)),
			RealAge:    math.NaN(),
			Gender:     pick([]string{"female", "male"}, []float64{0.48, 0.52}),
			Ethnicity:  pick([]string{"white", "black", "indian", "asian", "others"}, []float64{0.42, 0.19, 0.17, 0.15, 0.07}),
			Expression: pick([]string{"", "happy", "neutral"}, []float64{0.6, 0.25, 0.15}),
		}
		s.AgeGroup = groups.Label(s.Age)
		if rng.Float64() < 0.02 {
			g := fmt.Sprintf("nd%04d", len(out))
			size := 2 + rng.IntN(3)
			for k := 0; k < size && len(out) < n; k++ {
				c := s
				c.ID = fmt.Sprintf("s%06d", len(out))
				c.NearDupGroup = g
				if k > 0 && rng.Float64() < 0.5 {
					c.Age += float64(rng.IntN(9) - 4)
					c.AgeGroup = groups.Label(c.Age)
				}
				out = append(out, c)
			}
			continue
		}
		out = append(out, s)
	}
	return out
}

// checkSplit asserts split sizes and each stratified attribute value's
// share within each split against the whole, to tol (absolute), and that
// no near-duplicate group spans two splits.
func checkSplit(t *testing.T, samples []Sample, opts SplitOptions, tol float64) {
	t.Helper()
	size := map[string]int{}
	for _, s := range samples {
		size[s.Split]++
	}
	n := float64(len(samples))
	for split, frac := range map[string]float64{SplitTrain: opts.Train, SplitValid: opts.Valid, SplitTest: opts.Test} {
		if got := float64(size[split]) / n; math.Abs(got-frac) > tol {
			t.Errorf("%s holds %.4f of the samples, want %.2f ± %.3f", split, got, frac, tol)
		}
	}
	worst := 0.0
	defer func() { t.Logf("largest share difference of a stratified group: %.4f", worst) }()
	for _, attr := range opts.StratifyBy {
		all := map[string]float64{}
		per := map[string]map[string]float64{}
		for _, s := range samples {
			all[s.Attr(attr)]++
			if per[s.Split] == nil {
				per[s.Split] = map[string]float64{}
			}
			per[s.Split][s.Attr(attr)]++
		}
		for value, count := range all {
			want := count / n
			for split, counts := range per {
				got := counts[value] / float64(size[split])
				worst = max(worst, math.Abs(got-want))
				if math.Abs(got-want) > tol {
					t.Errorf("%s %q is %.4f of %s, %.4f overall (tolerance %.3f)", attr, value, got, split, want, tol)
				}
			}
		}
	}
	side := map[string]string{}
	for _, s := range samples {
		if s.NearDupGroup == "" {
			continue
		}
		if prev, ok := side[s.NearDupGroup]; ok && prev != s.Split {
			t.Errorf("near-duplicate group %s spans %s and %s", s.NearDupGroup, prev, s.Split)
		}
		side[s.NearDupGroup] = s.Split
	}
}

func TestSplitStratifiesAndKeepsNearDuplicatesTogether(t *testing.T) {
	samples := randomSamples(20000, 1)
	tests := []struct {
		name string
		opts SplitOptions
	}{
		{"default 70/15/15", DefaultSplitOptions()},
		{"80/20, no valid", SplitOptions{Train: 0.8, Test: 0.2, StratifyBy: Attributes, Seed: 3}},
		{"only by age group", SplitOptions{Train: 0.6, Valid: 0.2, Test: 0.2, StratifyBy: []string{AttrAgeGroup}, Seed: 4}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := Split(samples, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			for i := range out {
				if out[i].ID != samples[i].ID {
					t.Fatal("Split reordered the samples")
				}
			}
			if samples[0].Split != "" {
				t.Fatal("Split modified its input")
			}
			checkSplit(t, out, tc.opts, 0.005)
		})
	}
}

func TestSplitIsDeterministicBySeed(t *testing.T) {
	samples := randomSamples(3000, 2)
	opts := DefaultSplitOptions()
	a, _ := Split(samples, opts)
	b, _ := Split(samples, opts)
	opts.Seed = 99
	c, _ := Split(samples, opts)
	moved := 0
	for i := range a {
		if a[i].Split != b[i].Split {
			t.Fatalf("sample %d: %s then %s with the same seed", i, a[i].Split, b[i].Split)
		}
		if a[i].Split != c[i].Split {
			moved++
		}
	}
	if moved < len(a)/5 {
		t.Errorf("only %d of %d samples moved with another seed", moved, len(a))
	}
}

// Strata of one sample each still split by the fractions on average.
func TestSplitTinyStrata(t *testing.T) {
	var samples []Sample
	for i := range 3000 {
		samples = append(samples, Sample{ID: fmt.Sprint(i), Gender: fmt.Sprint("g", i), RealAge: math.NaN()})
	}
	out, err := Split(samples, DefaultSplitOptions())
	if err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for _, s := range out {
		count[s.Split]++
	}
	// Binomial sd for 3000 draws at 0.15 is about 20; allow 4 sd.
	if math.Abs(float64(count[SplitTrain])-2100) > 100 || math.Abs(float64(count[SplitValid])-450) > 80 {
		t.Errorf("split sizes %v, want about 2100/450/450", count)
	}
	one, err := Split(samples[:1], DefaultSplitOptions())
	if err != nil || one[0].Split == "" {
		t.Errorf("a single sample: %v, %+v", err, one)
	}
	none, err := Split(nil, DefaultSplitOptions())
	if err != nil || len(none) != 0 {
		t.Errorf("no samples: %v, %v", err, none)
	}
}

func TestSplitModes(t *testing.T) {
	withSplits := randomSamples(300, 3)
	for i := range withSplits {
		withSplits[i].Split = []string{SplitTrain, SplitValid, SplitTest}[i%3]
	}
	without := randomSamples(300, 3)
	mixed := slices.Clone(withSplits)
	mixed[7].Split = ""
	tests := []struct {
		name    string
		in      []Sample
		mode    string
		wantErr bool
		kept    bool // the dataset's splits are unchanged
	}{
		{"auto keeps the dataset's splits", withSplits, SplitAuto, false, true},
		{"empty mode is auto", withSplits, "", false, true},
		{"auto stratifies without splits", without, SplitAuto, false, false},
		{"auto refuses a mix", mixed, SplitAuto, true, false},
		{"source keeps", withSplits, SplitSource, false, true},
		{"source needs splits", without, SplitSource, true, false},
		{"stratified redraws", withSplits, SplitStratified, false, false},
		{"unknown mode", withSplits, "random", true, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			opts := DefaultSplitOptions()
			opts.Mode = SplitMode(tc.mode)
			out, err := Split(tc.in, opts)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error %v", err, tc.wantErr)
			}
			if err != nil {
				t.Log(err)
				return
			}
			same := true
			for i := range out {
				if out[i].Split == "" {
					t.Fatalf("sample %d has no split", i)
				}
				same = same && out[i].Split == tc.in[i].Split
			}
			if same != tc.kept {
				t.Errorf("splits kept = %v, want %v", same, tc.kept)
			}
		})
	}
}

func TestSplitOptionErrors(t *testing.T) {
	for _, opts := range []SplitOptions{
		{Train: 0.5, Valid: 0.2, Test: 0.2},
		{Train: 0, Valid: 0.5, Test: 0.5},
		{Train: 1.2, Valid: -0.2},
		{Train: 1, StratifyBy: []string{"mood"}},
	} {
		if _, err := Split(randomSamples(10, 1), opts); err == nil {
			t.Errorf("options %+v accepted", opts)
		} else {
			t.Log(err)
		}
	}
}

// The real UTKFace labels (no images decoded): stratified splits keep
// every group's share within half a percentage point and its 598
// near-duplicate groups on one side.
func TestSplitRealUTKFace(t *testing.T) {
	root := testdata.UTKFace(t)
	src, err := OpenUTKFace(root, UTKFaceOptions{})
	if err != nil {
		t.Fatal(err)
	}
	groups := DefaultAgeGroups()
	var samples []Sample
	for r := range src.Records() {
		samples = append(samples, Sample{ID: r.ID, Age: r.Age, RealAge: r.RealAge, Gender: r.Gender,
			Ethnicity: r.Ethnicity, Expression: r.Expression, AgeGroup: groups.Label(r.Age), NearDupGroup: r.NearDupGroup})
	}
	opts := DefaultSplitOptions()
	out, err := Split(samples, opts)
	if err != nil {
		t.Fatal(err)
	}
	checkSplit(t, out, opts, 0.005)
}

// A subject's images share a split, and a sample in both a near-duplicate
// group and a subject ties the two together.
func TestSplitKeepsSubjectsTogether(t *testing.T) {
	samples := randomSamples(6000, 5)
	for i := range samples {
		samples[i].NearDupGroup = ""
		samples[i].Subject = fmt.Sprintf("p%d", i/3)
	}
	// Chain: subject p0 and near-duplicate group d1 share sample 2; d1 also
	// holds sample 3000 (subject p1000).
	samples[2].NearDupGroup, samples[3000].NearDupGroup = "d1", "d1"
	out, err := Split(samples, DefaultSplitOptions())
	if err != nil {
		t.Fatal(err)
	}
	where := map[string]string{}
	for _, s := range out {
		if w, ok := where[s.Subject]; ok && w != s.Split {
			t.Fatalf("subject %s in %s and %s", s.Subject, w, s.Split)
		}
		where[s.Subject] = s.Split
	}
	if where["p0"] != where["p1000"] {
		t.Errorf("subjects tied by a near-duplicate group landed in %s and %s", where["p0"], where["p1000"])
	}
	n := map[string]int{}
	for _, s := range out {
		n[s.Split]++
	}
	if f := float64(n[SplitTrain]) / float64(len(out)); math.Abs(f-0.7) > 0.03 {
		t.Errorf("train fraction %.3f with subjects of three images, want about 0.7", f)
	}
}
