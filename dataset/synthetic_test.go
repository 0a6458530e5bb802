package dataset

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"path/filepath"
	"testing"

	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/mat"
)

func TestSyntheticIsDeterministicBySeed(t *testing.T) {
	opts := DefaultSyntheticOptions()
	opts.Count = 50
	a, _ := NewSynthetic(opts)
	b, _ := NewSynthetic(opts)
	opts.Seed = 2
	c, _ := NewSynthetic(opts)
	ra, rb, rc := collect(a), collect(b), collect(c)
	sameLabels, samePixels := 0, 0
	for i := range ra {
		x, y, z := ra[i], rb[i], rc[i]
		if x.ID != y.ID || x.Age != y.Age || x.Gender != y.Gender || x.Ethnicity != y.Ethnicity || x.Expression != y.Expression {
			t.Fatalf("record %d differs with the same seed: %+v vs %+v", i, x, y)
		}
		if !bytes.Equal(x.Render().Pix, y.Render().Pix) {
			t.Fatalf("record %d: pixels differ with the same seed", i)
		}
		if x.Age == z.Age && x.Gender == z.Gender && x.Ethnicity == z.Ethnicity {
			sameLabels++
		}
		if bytes.Equal(x.Render().Pix, z.Render().Pix) {
			samePixels++
		}
	}
	if sameLabels > len(ra)/2 || samePixels > 0 {
		t.Errorf("seed 2 repeats seed 1: %d of %d label sets and %d images equal", sameLabels, len(ra), samePixels)
	}
}

func collect(s Source) []Record {
	var out []Record
	for r := range s.Records() {
		out = append(out, r)
	}
	return out
}

func TestSyntheticRespectsProportions(t *testing.T) {
	opts := DefaultSyntheticOptions()
	opts.Count = 997 // not a round number, so rounding is exercised
	opts.Proportions = map[string]map[string]float64{
		AttrGender:     {"female": 3, "male": 1},
		AttrEthnicity:  {"group_a": 0.5, "group_b": 0.3, "group_c": 0.2},
		AttrExpression: {"happy": 1, "neutral": 1, "other": 0},
	}
	opts.GroupCueNoise = nil
	src, err := NewSynthetic(opts)
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]map[string]int{AttrGender: {}, AttrEthnicity: {}, AttrExpression: {}}
	for r := range src.Records() {
		counts[AttrGender][r.Gender]++
		counts[AttrEthnicity][r.Ethnicity]++
		counts[AttrExpression][r.Expression]++
		if r.Age < opts.Ages.Min || r.Age > opts.Ages.Max || r.Age != math.Round(r.Age) {
			t.Fatalf("age %g outside [%g, %g] or not whole", r.Age, opts.Ages.Min, opts.Ages.Max)
		}
	}
	for attr, weights := range opts.Proportions {
		sum := 0.0
		for _, w := range weights {
			sum += w
		}
		for v, w := range weights {
			want := w / sum * float64(opts.Count)
			if got := float64(counts[attr][v]); math.Abs(got-want) > 1 {
				t.Errorf("%s %s: %v images, want %.1f ± 1", attr, v, got, want)
			}
		}
	}
	if v := src.Vocabulary()[AttrExpression]; len(v) != 3 {
		t.Errorf("vocabulary %v, want the 3 expression values", v)
	}
}

func TestSyntheticPlantsCueNoiseOnTheDisadvantagedGroup(t *testing.T) {
	opts := DefaultSyntheticOptions()
	opts.Count = 3000
	opts.GroupCueNoise[AttrEthnicity]["group_c"] = 8 // everyone 2
	opts.GroupAgeShift = nil
	src, faces, err := buildSynthetic(opts)
	if err != nil {
		t.Fatal(err)
	}
	gap := map[string][]float64{}
	for i, r := range src.records {
		gap[r.Ethnicity] = append(gap[r.Ethnicity], faces[i].cueAge-r.Age)
	}
	sd := func(xs []float64) float64 {
		s := 0.0
		for _, x := range xs {
			s += x * x
		}
		return math.Sqrt(s / float64(len(xs)))
	}
	a, c := sd(gap["group_a"]), sd(gap["group_c"])
	t.Logf("rms cue gap: group_a %.2f, group_b %.2f, group_c %.2f years", a, sd(gap["group_b"]), c)
	// Ages are clamped to [0, 100], which shrinks the gap a little.
	if a < 1.5 || a > 2.5 || c < 6.5 || c > 9.5 {
		t.Errorf("rms gaps %.2f and %.2f; want about 2 and sqrt(4+64) = 8.2", a, c)
	}
}

// The scarcity part of the planted bias: group_c's faces look 15 years
// older than their age, everyone else's show the labelled age (noise off,
// so the mapping is exact; drawn ages are clamped to [0, 100]).
func TestSyntheticPlantsAnAgeShiftOnTheDisadvantagedGroup(t *testing.T) {
	opts := DefaultSyntheticOptions()
	opts.Count = 500
	opts.CueNoise, opts.GroupCueNoise = 0, nil
	src, faces, err := buildSynthetic(opts)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for i, r := range src.records {
		want := r.Age
		if r.Ethnicity == "group_c" {
			want = min(r.Age+15, 100)
		}
		if math.Abs(faces[i].cueAge-want) > 1e-9 {
			t.Fatalf("%s (%s, age %g): drawn at %g, want %g", r.ID, r.Ethnicity, r.Age, faces[i].cueAge, want)
		}
		seen[r.Ethnicity]++
	}
	if seen["group_c"] == 0 || seen["group_a"] == 0 {
		t.Fatalf("groups seen %v", seen)
	}
}

func TestSyntheticOptionErrors(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*SyntheticOptions)
	}{
		{"no images", func(o *SyntheticOptions) { o.Count = 0 }},
		{"tiny images", func(o *SyntheticOptions) { o.Size = 8 }},
		{"inverted ages", func(o *SyntheticOptions) { o.Ages = AgeRange{Min: 50, Max: 10} }},
		{"negative noise", func(o *SyntheticOptions) { o.CueNoise = -1 }},
		{"unknown attribute", func(o *SyntheticOptions) { o.Proportions["mood"] = map[string]float64{"a": 1} }},
		{"zero weights", func(o *SyntheticOptions) { o.Proportions[AttrGender] = map[string]float64{"female": 0} }},
		{"noise on an absent group", func(o *SyntheticOptions) { o.GroupCueNoise[AttrEthnicity]["group_z"] = 3 }},
		{"age shift on an absent group", func(o *SyntheticOptions) { o.GroupAgeShift[AttrGender] = map[string]float64{"other": 5} }},
		{"age shift beyond a lifetime", func(o *SyntheticOptions) { o.GroupAgeShift[AttrEthnicity]["group_c"] = 150 }},
		{"not-a-number age shift", func(o *SyntheticOptions) { o.GroupAgeShift[AttrEthnicity]["group_c"] = math.NaN() }},
		{"more images per person than expressions", func(o *SyntheticOptions) { o.ImagesPerSubject = 5 }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			opts := DefaultSyntheticOptions()
			tc.modify(&opts)
			if _, err := NewSynthetic(opts); err == nil {
				t.Error("no error")
			} else {
				t.Log(err)
			}
		})
	}
}

// A linear model on 16×16 grey pixels must learn age from the synthetic
// faces far better than guessing the mean and err more on the planted group,
// and weighting the ethnicity groups equally (as the reweight strategy does)
// must shrink that gap: the planted scarcity is learnable from more weight
// on the rare group. The generator is a usable oracle for the pipeline.
func TestSyntheticAgeIsLearnableAndBiasIsDetectableAndShrinksWithBalancing(t *testing.T) {
	if testing.Short() {
		t.Skip("ingests 3,000 synthetic images; skipped with -short")
	}
	opts := DefaultSyntheticOptions()
	opts.Count = 3000
	src, err := NewSynthetic(opts)
	if err != nil {
		t.Fatal(err)
	}
	ing := DefaultIngestOptions()
	ing.Size = 16
	pack := filepath.Join(t.TempDir(), "syn.pack")
	samples, rejected, err := Ingest(context.Background(), src, ing, pack, nil)
	if err != nil || len(rejected) != 0 || len(samples) != opts.Count {
		t.Fatalf("err %v, %d samples, rejected %v", err, len(samples), rejected)
	}
	p, err := OpenPacked(pack)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	features := func(i int) []float64 {
		px := p.Image(i)
		f := make([]float64, 0, len(px)/3+1)
		for j := 0; j < len(px); j += 3 {
			f = append(f, (float64(px[j])+float64(px[j+1])+float64(px[j+2]))/765)
		}
		return append(f, 1)
	}
	nTrain := 2000
	X := mat.NewDense(nTrain, len(features(0)), nil)
	y := make([]float64, nTrain)
	count := map[string]float64{}
	mean := 0.0
	for i := range nTrain {
		X.SetRow(i, features(i))
		y[i] = samples[i].Age
		count[samples[i].Ethnicity]++
		mean += samples[i].Age / float64(nTrain)
	}
	// heldOut is the held-out MAE, overall and per ethnicity, of a ridge
	// fit whose rows weigh weight(ethnicity).
	heldOut := func(weight func(string) float64) map[string]float64 {
		wts := make([]float64, nTrain)
		for i := range wts {
			wts[i] = weight(samples[i].Ethnicity)
		}
		coef, err := weightedRidge(X, y, wts, 1)
		if err != nil {
			t.Fatal(err)
		}
		mae, n := map[string]float64{}, map[string]float64{}
		for i := nTrain; i < len(samples); i++ {
			e := math.Abs(floats.Dot(coef, features(i)) - samples[i].Age)
			for _, k := range []string{"all", samples[i].Ethnicity} {
				mae[k] += e
				n[k]++
			}
		}
		for k := range mae {
			mae[k] /= n[k]
		}
		return mae
	}
	base := 0.0
	for i := nTrain; i < len(samples); i++ {
		base += math.Abs(mean-samples[i].Age) / float64(len(samples)-nTrain)
	}
	plain := heldOut(func(string) float64 { return 1 })
	// Reweighting each ethnicity to the same total weight, what the balance
	// stage's reweight strategy does (n/(k·n_g)).
	balanced := heldOut(func(g string) float64 { return float64(nTrain) / (float64(len(count)) * count[g]) })
	// The gap to the majority: a linear fit on grey levels also errs more on
	// the mid tone (group_b), which is not the planted bias.
	gap := func(mae map[string]float64) float64 { return mae["group_c"] - mae["group_a"] }
	for name, mae := range map[string]map[string]float64{"unweighted": plain, "balanced": balanced} {
		t.Logf("held-out MAE, %s linear fit: %.2f (group_a %.2f, group_b %.2f, group_c %.2f; gap %.2f), predicting the mean %.2f",
			name, mae["all"], mae["group_a"], mae["group_b"], mae["group_c"], gap(mae), base)
	}
	if plain["all"] > 0.5*base {
		t.Errorf("linear MAE %.2f is not below half the baseline %.2f: age cues too weak", plain["all"], base)
	}
	if gap(plain) < 1 {
		t.Errorf("group_c MAE %.2f not clearly above the others (gap %.2f): planted bias not visible", plain["group_c"], gap(plain))
	}
	if gap(balanced) > gap(plain)-0.5 {
		t.Errorf("balancing the groups' weights left group_c's gap at %.2f (unweighted %.2f): the planted scarcity is not learnable", gap(balanced), gap(plain))
	}
}

// weightedRidge solves (XᵀWX + λI) c = XᵀWy for the coefficients c.
func weightedRidge(X *mat.Dense, y, weights []float64, lambda float64) ([]float64, error) {
	rows, cols := X.Dims()
	var wx mat.Dense
	wx.Apply(func(i, _ int, v float64) float64 { return weights[i] * v }, X)
	var a mat.Dense
	a.Mul(X.T(), &wx)
	for i := range cols {
		a.Set(i, i, a.At(i, i)+lambda)
	}
	var b mat.VecDense
	b.MulVec(wx.T(), mat.NewVecDense(rows, y))
	var chol mat.Cholesky
	if !chol.Factorize(mat.NewSymDense(cols, a.RawMatrix().Data)) {
		return nil, fmt.Errorf("ridge: normal matrix is not positive definite")
	}
	var c mat.VecDense
	if err := chol.SolveVecTo(&c, &b); err != nil {
		return nil, err
	}
	return c.RawVector().Data, nil
}

// With ImagesPerSubject, each person's images share everything but the
// expression: labels, age, face seed and apparent-age noise, so a
// within-subject comparison isolates expression. The last person takes
// what is left of Count.
func TestSyntheticSubjectsDifferOnlyByExpression(t *testing.T) {
	for _, k := range []int{2, 3} {
		opts := DefaultSyntheticOptions()
		opts.Count, opts.Size, opts.ImagesPerSubject = 301, 32, k
		src, faces, err := buildSynthetic(opts)
		if err != nil {
			t.Fatal(err)
		}
		recs := src.records
		if len(recs) != opts.Count {
			t.Fatalf("k=%d: %d images, want %d", k, len(recs), opts.Count)
		}
		bySubject := map[string][]int{}
		ids := map[string]bool{}
		for i, r := range recs {
			if r.Subject == "" {
				t.Fatalf("k=%d: image %s has no subject", k, r.ID)
			}
			if ids[r.ID] {
				t.Fatalf("duplicate id %s", r.ID)
			}
			ids[r.ID] = true
			bySubject[r.Subject] = append(bySubject[r.Subject], i)
		}
		if want := (opts.Count + k - 1) / k; len(bySubject) != want {
			t.Errorf("k=%d: %d subjects, want %d", k, len(bySubject), want)
		}
		short := 0
		for subj, idx := range bySubject {
			if len(idx) != k {
				short++
			}
			first, seen := recs[idx[0]], map[string]bool{}
			for _, i := range idx {
				r := recs[i]
				if r.Age != first.Age || r.Gender != first.Gender || r.Ethnicity != first.Ethnicity {
					t.Errorf("%s: images disagree on age or labels: %+v vs %+v", subj, r, first)
				}
				if seen[r.Expression] {
					t.Errorf("%s: expression %s twice", subj, r.Expression)
				}
				seen[r.Expression] = true
				if faces[i].seed != faces[idx[0]].seed {
					t.Errorf("%s: images drawn from different face seeds", subj)
				}
			}
		}
		if short != min(1, opts.Count%k) {
			t.Errorf("k=%d: %d subjects with fewer than %d images", k, short, k)
		}
	}
	// One person, two expressions: the images differ (the mouth), but far
	// less than two different persons do.
	opts := DefaultSyntheticOptions()
	opts.Count, opts.Size, opts.ImagesPerSubject = 40, 32, 2
	opts.GroupAgeShift, opts.GroupCueNoise = nil, nil
	src, _, err := buildSynthetic(opts)
	if err != nil {
		t.Fatal(err)
	}
	diff := func(a, b Record) float64 {
		pa, pb := a.Render().Pix, b.Render().Pix
		s := 0.0
		for i := range pa {
			s += math.Abs(float64(pa[i]) - float64(pb[i]))
		}
		return s / float64(len(pa))
	}
	var same, other float64
	for p := 0; p+3 < len(src.records); p += 4 {
		r := src.records
		same += diff(r[p], r[p+1])
		other += diff(r[p], r[p+2])
	}
	if !(same > 0 && same < other/3) {
		t.Errorf("mean pixel difference within a person %.2f, between persons %.2f: want a small but nonzero difference within", same, other)
	}
}
