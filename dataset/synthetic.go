package dataset

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"slices"

	"fairage/internal/spec"
)

// SyntheticOptions configures the built-in generator. Start from
// DefaultSyntheticOptions.
type SyntheticOptions struct {
	// Count is the number of images (default 2000).
	Count int `yaml:"count" range:"[10,10000000]" doc:"Number of synthetic faces."`
	// Size is the image side in pixels (default 64; 16 to 1024).
	Size int `yaml:"-"`
	// Seed fixes labels and pixels: the same options give the same bytes.
	Seed uint64 `yaml:"seed" doc:"Seed of the synthetic dataset (separate from run.seed so models can vary while the data stays)."`
	// Ages bounds the uniformly drawn integer ages (default 1 to 80).
	Ages AgeRange `yaml:"age_range" doc:"[min, max] of the uniformly drawn ages, within [0, 120]."`
	// Proportions gives, per attribute (gender, ethnicity, expression), the
	// weight of each value; weights are normalised and met exactly, up to
	// rounding, by quota rather than by chance.
	Proportions map[string]map[string]float64 `yaml:"proportions" doc:"Group weights per attribute, e.g. {ethnicity: {group_a: 0.6, group_b: 0.25, group_c: 0.15}} (the default for ethnicity)."`
	// CueNoise is the standard deviation, in years, of the gap between a
	// face's labelled age and the age its features are drawn at, for
	// everyone (default 2): the irreducible error of a perfect model.
	CueNoise float64 `yaml:"cue_noise" range:"[0,100]" doc:"Years of noise between every face's label and the age its features show (irreducible error)."`
	// GroupCueNoise adds, per attribute and value, a further standard
	// deviation in years for members of that group (variances add). This
	// is the part of the planted bias no model can remove: its error is
	// larger for these groups however well it learns (default: ethnicity
	// group_c, 2 years).
	GroupCueNoise map[string]map[string]float64 `yaml:"group_cue_noise" doc:"Extra noise in years per attribute and group: the part of the planted bias no model can remove, e.g. {ethnicity: {group_c: 2}} (the default)."`
	// GroupAgeShift makes, per attribute and value, members of that group
	// look older (positive) or younger (negative) than their age by that
	// many years: their features are drawn at age + shift (shifts of several
	// groups add). A model learns to undo it only from the group's own
	// examples: this is the part of the planted gap that scarcity causes
	// and balancing can shrink, where GroupCueNoise is the part no model
	// can remove (default: ethnicity group_c, 15 years).
	GroupAgeShift map[string]map[string]float64 `yaml:"group_age_shift" doc:"Years older (positive) or younger (negative) each group's faces look than their age: the part of the planted bias a model learns to undo only from the group's own examples, so balancing can shrink it, e.g. {ethnicity: {group_c: 15}} (the default); {ethnicity: {group_c: 0}} turns it off."`
	// ImagesPerSubject draws each synthetic person this many times, each
	// image with a different expression and otherwise the same face, age
	// and labels (default 1: every face is its own person). With 2 or more
	// the samples carry a subject id, so a split keeps a person's images
	// together and the analysis compares expressions within persons: the
	// within-subject test of ARCHITECTURE.md §5 gets an oracle.
	ImagesPerSubject int `yaml:"images_per_subject" range:"[1,8]" doc:"Images of each synthetic person, each with a different expression and otherwise the same face and labels (1: every face is its own person); with 2 or more the samples carry a subject id, splits keep a person's images together, and the analysis compares expressions within persons."`
}

// AgeRange is a [min, max] range of ages, written as a two-number list.
type AgeRange struct{ Min, Max float64 }

// FromConfig reads [min, max].
func (r *AgeRange) FromConfig(raw any) error {
	lo, hi, err := spec.Pair(raw)
	r.Min, r.Max = lo, hi
	return err
}

// ToConfig writes [min, max].
func (r AgeRange) ToConfig() any { return []any{r.Min, r.Max} }

// ConfigType names the setting's form in the config reference.
func (AgeRange) ConfigType() string { return "[min, max]" }

// DefaultSyntheticOptions returns the defaults documented on each field.
// Ethnicity values are neutral names (group_a, group_b, group_c) for three
// skin tones: the generator models no real population.
func DefaultSyntheticOptions() SyntheticOptions {
	return SyntheticOptions{
		Count: 2000,
		Size:  64,
		Seed:  1,
		Ages:  AgeRange{Min: 1, Max: 80},
		Proportions: map[string]map[string]float64{
			AttrGender:     {"female": 0.5, "male": 0.5},
			AttrEthnicity:  {"group_a": 0.6, "group_b": 0.25, "group_c": 0.15},
			AttrExpression: {"happy": 0.3, "slightlyhappy": 0.25, "neutral": 0.35, "other": 0.1},
		},
		CueNoise:         2,
		ImagesPerSubject: 1,
		GroupCueNoise:    map[string]map[string]float64{AttrEthnicity: {"group_c": 2}},
		GroupAgeShift:    map[string]map[string]float64{AttrEthnicity: {"group_c": 15}},
	}
}

func init() {
	RegisterAdapter(Adapter{Name: "synthetic", Doc: "The built-in generator of face-like drawings with a planted bias: a demonstration and a test oracle, not a substitute for real faces.",
		New: func() AdapterConfig { o := DefaultSyntheticOptions(); return &o }})
}

// Validate checks the settings (data.synthetic.*).
func (o *SyntheticOptions) Validate() error {
	if err := spec.Check("data.synthetic", o); err != nil {
		return err
	}
	if err := o.rules(); err != nil {
		return fmt.Errorf("data.synthetic: %w", err)
	}
	return nil
}

// Open draws the dataset at data.image_size.
func (o *SyntheticOptions) Open(_ context.Context, env OpenEnv) (Source, error) {
	opts := *o
	opts.Size = env.Size
	src, err := NewSynthetic(opts)
	if err != nil {
		return nil, fmt.Errorf("data.synthetic: %w", err)
	}
	return src, nil
}

// InputFiles is empty: the images are drawn in memory.
func (o *SyntheticOptions) InputFiles(context.Context, OpenEnv) ([]string, error) { return nil, nil }

func (o *SyntheticOptions) rules() error {
	if o.Count <= 0 {
		return fmt.Errorf("count %d must be positive", o.Count)
	}
	if o.Size < 16 || o.Size > 1024 {
		return fmt.Errorf("size %d must be in [16, 1024]", o.Size)
	}
	if !(o.Ages.Min >= 0 && o.Ages.Min <= o.Ages.Max && o.Ages.Max <= 120) {
		return fmt.Errorf("age range [%g, %g] must lie within [0, 120] with min <= max", o.Ages.Min, o.Ages.Max)
	}
	if o.ImagesPerSubject > 1 {
		if n := len(o.Proportions[AttrExpression]); n < o.ImagesPerSubject {
			return fmt.Errorf("images per subject %d needs as many expression values in the proportions, there are %d", o.ImagesPerSubject, n)
		}
	}
	if !(o.CueNoise >= 0) {
		return fmt.Errorf("cue noise %g must not be negative", o.CueNoise)
	}
	for attr, weights := range o.Proportions {
		if attr != AttrGender && attr != AttrEthnicity && attr != AttrExpression {
			return fmt.Errorf("proportions: %q is not gender, ethnicity or expression", attr)
		}
		sum := 0.0
		for v, w := range weights {
			if v == "" || !(w >= 0) || math.IsInf(w, 0) {
				return fmt.Errorf("proportions of %s: value %q has weight %g; need a name and a finite weight >= 0", attr, v, w)
			}
			sum += w
		}
		if sum <= 0 {
			return fmt.Errorf("proportions of %s: weights sum to %g, need a positive sum", attr, sum)
		}
	}
	if err := checkGroupValues("group cue noise", o.GroupCueNoise, o.Proportions, func(s float64) bool { return s >= 0 }, "a finite value >= 0"); err != nil {
		return err
	}
	return checkGroupValues("group age shift", o.GroupAgeShift, o.Proportions, func(s float64) bool { return s >= -100 && s <= 100 }, "a value in [-100, 100] years")
}

// checkGroupValues checks a per-group setting: every group must exist in the
// proportions and every value must be finite and pass ok.
func checkGroupValues(what string, byGroup, proportions map[string]map[string]float64, ok func(float64) bool, want string) error {
	for attr, groups := range byGroup {
		for v, s := range groups {
			if _, found := proportions[attr][v]; !found {
				return fmt.Errorf("%s: %s %q is not a value in the proportions", what, attr, v)
			}
			if !ok(s) || math.IsInf(s, 0) {
				return fmt.Errorf("%s of %s %q is %g; need %s", what, attr, v, s, want)
			}
		}
	}
	return nil
}

// NewSynthetic returns the built-in synthetic dataset: simple face-like
// drawings (an elliptic face, eyes, nose, a mouth curved by expression,
// skin tone by ethnicity group, hair by gender) whose features follow age:
// head size and roundness, eye height and size, forehead and eye
// wrinkles, grey and receding hair. Each face is drawn at its labelled age
// (shifted for the GroupAgeShift groups) plus Gaussian
// noise (CueNoise, more for the GroupCueNoise groups), so an audit of a
// model trained on it should find the planted gap, and a model trained on
// balanced data should show a smaller one.
//
// It is a demonstration and a test oracle that lets the whole pipeline run
// anywhere in minutes with a known answer; it is not a substitute for real
// faces, and results on it say nothing about any real population.
func NewSynthetic(opts SyntheticOptions) (Source, error) {
	src, _, err := buildSynthetic(opts)
	if err != nil {
		return nil, err
	}
	return src, nil
}

// buildSynthetic returns the source and, for tests, each record's face.
func buildSynthetic(opts SyntheticOptions) (*listSource, []face, error) {
	if err := opts.rules(); err != nil {
		return nil, nil, fmt.Errorf("synthetic: %w", err)
	}
	rng := rand.New(rand.NewPCG(opts.Seed, 0x5eed))
	labels := map[string][]string{}
	vocab := map[string][]string{}
	styles := map[string]map[string]int{} // attribute → value → drawing style index
	for _, attr := range []string{AttrGender, AttrEthnicity, AttrExpression} {
		values := slices.Sorted(maps.Keys(opts.Proportions[attr]))
		vocab[attr] = values
		styles[attr] = map[string]int{}
		for i, v := range values {
			styles[attr][v] = i
		}
		labels[attr] = quotaLabels(opts.Proportions[attr], values, opts.Count, rng)
	}
	if opts.ImagesPerSubject > 1 {
		return buildSubjects(opts, rng, vocab, styles)
	}
	src := &listSource{name: "synthetic", vocab: vocab, records: make([]Record, opts.Count)}
	faces := make([]face, opts.Count)
	for i := range src.records {
		r := Record{Source: "synthetic", Row: int64(i + 1), ID: fmt.Sprintf("syn_%06d", i+1), RealAge: math.NaN()}
		r.Age = math.Round(opts.Ages.Min + rng.Float64()*(opts.Ages.Max-opts.Ages.Min))
		r.Gender, r.Ethnicity, r.Expression = at(labels[AttrGender], i), at(labels[AttrEthnicity], i), at(labels[AttrExpression], i)
		variance, shift := opts.CueNoise*opts.CueNoise, 0.0
		// A fixed order keeps the float arithmetic, and so the pixels, reproducible.
		for _, g := range [...][2]string{{AttrGender, r.Gender}, {AttrEthnicity, r.Ethnicity}, {AttrExpression, r.Expression}} {
			s := opts.GroupCueNoise[g[0]][g[1]]
			variance += s * s
			shift += opts.GroupAgeShift[g[0]][g[1]]
		}
		f := face{
			size:       opts.Size,
			seed:       rng.Uint64(),
			cueAge:     min(max(r.Age+shift+rng.NormFloat64()*math.Sqrt(variance), 0), 100),
			gender:     r.Gender,
			genderIdx:  styles[AttrGender][r.Gender],
			tone:       styles[AttrEthnicity][r.Ethnicity],
			expression: r.Expression,
			exprIdx:    styles[AttrExpression][r.Expression],
		}
		r.Render = f.draw
		src.records[i], faces[i] = r, f
	}
	return src, faces, nil
}

// buildSubjects draws Count images of ceil(Count/ImagesPerSubject)
// persons. A person's age, gender and ethnicity follow the quotas over
// persons; each of their images takes a different expression, drawn by
// the proportions without replacement, so expression counts follow the
// proportions only approximately. The images of one person share the face
// seed and the apparent-age noise, so they differ only by expression (and
// by any shift or noise planted for an expression group).
func buildSubjects(opts SyntheticOptions, rng *rand.Rand, vocab map[string][]string, styles map[string]map[string]int) (*listSource, []face, error) {
	k := opts.ImagesPerSubject
	persons := (opts.Count + k - 1) / k
	gender := quotaLabels(opts.Proportions[AttrGender], vocab[AttrGender], persons, rng)
	ethnicity := quotaLabels(opts.Proportions[AttrEthnicity], vocab[AttrEthnicity], persons, rng)
	src := &listSource{name: "synthetic", vocab: vocab, records: make([]Record, 0, opts.Count)}
	faces := make([]face, 0, opts.Count)
	for p := range persons {
		age := math.Round(opts.Ages.Min + rng.Float64()*(opts.Ages.Max-opts.Ages.Min))
		seed, noise := rng.Uint64(), rng.NormFloat64()
		g, e := at(gender, p), at(ethnicity, p)
		exprs := drawDistinct(opts.Proportions[AttrExpression], vocab[AttrExpression], k, rng)
		for _, x := range exprs[:min(k, opts.Count-len(src.records))] {
			i := len(src.records)
			r := Record{Source: "synthetic", Row: int64(i + 1), ID: fmt.Sprintf("syn_%06d", i+1), RealAge: math.NaN(),
				Age: age, Gender: g, Ethnicity: e, Expression: x, Subject: fmt.Sprintf("person_%06d", p+1)}
			variance, shift := opts.CueNoise*opts.CueNoise, 0.0
			for _, gv := range [...][2]string{{AttrGender, g}, {AttrEthnicity, e}, {AttrExpression, x}} {
				s := opts.GroupCueNoise[gv[0]][gv[1]]
				variance += s * s
				shift += opts.GroupAgeShift[gv[0]][gv[1]]
			}
			f := face{size: opts.Size, seed: seed, cueAge: min(max(age+shift+noise*math.Sqrt(variance), 0), 100),
				gender: g, genderIdx: styles[AttrGender][g], tone: styles[AttrEthnicity][e],
				expression: x, exprIdx: styles[AttrExpression][x]}
			r.Render = f.draw
			src.records = append(src.records, r)
			faces = append(faces, f)
		}
	}
	return src, faces, nil
}

// drawDistinct draws k different values, each with probability
// proportional to its weight among those not yet drawn.
func drawDistinct(weights map[string]float64, values []string, k int, rng *rand.Rand) []string {
	left := slices.Clone(values)
	out := make([]string, 0, k)
	for range k {
		sum := 0.0
		for _, v := range left {
			sum += weights[v]
		}
		u, pick := rng.Float64()*sum, len(left)-1
		for i, v := range left {
			if u < weights[v] {
				pick = i
				break
			}
			u -= weights[v]
		}
		out = append(out, left[pick])
		left = slices.Delete(left, pick, pick+1)
	}
	return out
}

func at(s []string, i int) string {
	if s == nil {
		return ""
	}
	return s[i]
}

// quotaLabels returns n labels whose counts follow the weights exactly up
// to rounding (largest remainder), in a seeded random order. Nil when the
// attribute has no proportions (unknown for every sample).
func quotaLabels(weights map[string]float64, values []string, n int, rng *rand.Rand) []string {
	if len(values) == 0 {
		return nil
	}
	sum := 0.0
	for _, v := range values {
		sum += weights[v]
	}
	type share struct {
		value string
		count int
		rem   float64
	}
	shares := make([]share, len(values))
	given := 0
	for i, v := range values {
		exact := weights[v] / sum * float64(n)
		shares[i] = share{v, int(exact), exact - math.Floor(exact)}
		given += int(exact)
	}
	order := slices.Clone(shares)
	slices.SortStableFunc(order, func(a, b share) int { return cmp.Compare(b.rem, a.rem) })
	extra := map[string]int{}
	for i := 0; given < n; i, given = i+1, given+1 {
		extra[order[i%len(order)].value]++
	}
	out := make([]string, 0, n)
	for _, s := range shares {
		for range s.count + extra[s.value] {
			out = append(out, s.value)
		}
	}
	rng.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}
