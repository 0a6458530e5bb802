package dataset

import (
	"bytes"
	"context"
	"math"
	"path/filepath"
	"testing"
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
		if r.Age < opts.AgeMin || r.Age > opts.AgeMax || r.Age != math.Round(r.Age) {
			t.Fatalf("age %g outside [%g, %g] or not whole", r.Age, opts.AgeMin, opts.AgeMax)
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
	opts := DefaultSyntheticOptions() // group_c: 8 years extra, everyone 2
	opts.Count = 3000
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

func TestSyntheticOptionErrors(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*SyntheticOptions)
	}{
		{"no images", func(o *SyntheticOptions) { o.Count = 0 }},
		{"tiny images", func(o *SyntheticOptions) { o.Size = 8 }},
		{"inverted ages", func(o *SyntheticOptions) { o.AgeMin, o.AgeMax = 50, 10 }},
		{"negative noise", func(o *SyntheticOptions) { o.CueNoise = -1 }},
		{"unknown attribute", func(o *SyntheticOptions) { o.Proportions["mood"] = map[string]float64{"a": 1} }},
		{"zero weights", func(o *SyntheticOptions) { o.Proportions[AttrGender] = map[string]float64{"female": 0} }},
		{"noise on an absent group", func(o *SyntheticOptions) { o.GroupCueNoise[AttrEthnicity]["group_z"] = 3 }},
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
// faces far better than guessing the mean, and err more on the group with
// planted noise: the generator is a usable oracle for the pipeline.
func TestSyntheticAgeIsLearnableAndBiasIsDetectable(t *testing.T) {
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
	var X [][]float64
	var y []float64
	mean := 0.0
	for i := range nTrain {
		X = append(X, features(i))
		y = append(y, samples[i].Age)
		mean += samples[i].Age / float64(nTrain)
	}
	w := ridge(X, y, 1)
	mae, base := map[string]float64{}, 0.0
	n := map[string]int{}
	for i := nTrain; i < len(samples); i++ {
		pred := 0.0
		for j, v := range features(i) {
			pred += w[j] * v
		}
		e := math.Abs(pred - samples[i].Age)
		mae["all"] += e
		mae[samples[i].Ethnicity] += e
		n["all"]++
		n[samples[i].Ethnicity]++
		base += math.Abs(mean - samples[i].Age)
	}
	for k := range mae {
		mae[k] /= float64(n[k])
	}
	base /= float64(n["all"])
	t.Logf("held-out MAE: linear %.2f (group_a %.2f, group_b %.2f, group_c %.2f), predicting the mean %.2f",
		mae["all"], mae["group_a"], mae["group_b"], mae["group_c"], base)
	if mae["all"] > 0.5*base {
		t.Errorf("linear MAE %.2f is not below half the baseline %.2f: age cues too weak", mae["all"], base)
	}
	if mae["group_c"] < mae["group_a"]+2 {
		t.Errorf("group_c MAE %.2f not clearly above group_a %.2f: planted bias not visible", mae["group_c"], mae["group_a"])
	}
}

// ridge solves (XᵀX + λI) w = Xᵀy by Cholesky decomposition.
func ridge(X [][]float64, y []float64, lambda float64) []float64 {
	d := len(X[0])
	A := make([][]float64, d)
	b := make([]float64, d)
	for i := range A {
		A[i] = make([]float64, d)
		A[i][i] = lambda
	}
	for r, x := range X {
		for i := range d {
			b[i] += x[i] * y[r]
			for j := 0; j <= i; j++ {
				A[i][j] += x[i] * x[j]
			}
		}
	}
	L := make([][]float64, d)
	for i := range d {
		L[i] = make([]float64, i+1)
		for j := 0; j <= i; j++ {
			s := A[i][j]
			for k := range j {
				s -= L[i][k] * L[j][k]
			}
			if i == j {
				L[i][i] = math.Sqrt(s)
			} else {
				L[i][j] = s / L[j][j]
			}
		}
	}
	z := make([]float64, d)
	for i := range d {
		s := b[i]
		for k := range i {
			s -= L[i][k] * z[k]
		}
		z[i] = s / L[i][i]
	}
	w := make([]float64, d)
	for i := d - 1; i >= 0; i-- {
		s := z[i]
		for k := i + 1; k < d; k++ {
			s -= L[k][i] * w[k]
		}
		w[i] = s / L[i][i]
	}
	return w
}
