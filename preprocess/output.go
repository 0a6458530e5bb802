package preprocess

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"fairage/internal/spec"
)

// Decode says what a model's output row means.
type Decode string

// Output decodings.
const (
	Years   Decode = "years"   // one value: the age in years
	Unit    Decode = "unit"    // one value in [0, 1]: the age divided by age_max
	Classes Decode = "classes" // one probability per class, each class standing for an age
)

// Values lists the accepted values.
func (Decode) Values() []string { return []string{string(Years), string(Unit), string(Classes)} }

// Reduce turns class probabilities into one age.
type Reduce string

// Reductions of class probabilities.
const (
	Expected Reduce = "expected" // Σ p_i · age_i
	Argmax   Reduce = "argmax"   // the age of the most probable class (the first on ties)
)

// Values lists the accepted values.
func (Reduce) Values() []string { return []string{string(Expected), string(Argmax)} }

// Output declares how a model's output row becomes an age.
type Output struct {
	Decode    Decode    `yaml:"decode" json:"decode,omitempty" doc:"what an output row is: years (one value, the age), unit (one value, age / age_max) or classes (one probability per class, see class_ages)"`
	AgeMax    float64   `yaml:"age_max" json:"age_max,omitempty" doc:"decode unit: the age an output of 1 stands for" range:"[0,inf)"`
	ClassAges []float64 `yaml:"class_ages" json:"class_ages,omitempty" doc:"decode classes: the age each class stands for, in output order (their count must equal the output width)"`
	Reduce    Reduce    `yaml:"reduce" json:"reduce,omitempty" doc:"decode classes: expected (Σ p·age) or argmax (the age of the most probable class)"`
	Softmax   bool      `yaml:"softmax" json:"softmax,omitempty" doc:"decode classes: apply softmax to the row first, for a graph that returns logits"`
}

// DefaultOutput returns the settings an output declaration may leave out:
// expected value over classes, no softmax. The decoding itself has no
// default.
func DefaultOutput() Output { return Output{Reduce: Expected} }

// Reasons a single output row is rejected (see RowError).
const (
	ReasonNonFinite            = "non_finite_output"
	ReasonInvalidProbabilities = "invalid_probabilities"
)

// RowError is why one output row gives no age. The row is to be rejected
// with this reason and counted, never averaged in.
type RowError struct {
	Reason string // ReasonNonFinite or ReasonInvalidProbabilities
	Detail string
}

func (e *RowError) Error() string { return e.Detail }

// probabilityTolerance is how far a row of class probabilities may sum
// from 1 (float32 softmax outputs of 100 classes are off by ~1e-6; a
// graph returning logits is off by far more).
const probabilityTolerance = 1e-3

// Validate checks the declaration; each problem names its key.
func (o Output) Validate() error { return o.Check("") }

// Check is Validate with every key prefixed by prefix (e.g. "model.output").
func (o Output) Check(prefix string) error {
	key := func(k string) string {
		if prefix == "" {
			return k
		}
		return prefix + "." + k
	}
	var errs []error
	bad := func(k, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", key(k), fmt.Sprintf(format, args...)))
	}
	switch o.Decode {
	case Years:
	case Unit:
		if !(o.AgeMax > 0) || math.IsInf(o.AgeMax, 0) {
			bad("age_max", "%v; decode unit needs the age an output of 1 stands for (positive, finite)", o.AgeMax)
		}
	case Classes:
		if len(o.ClassAges) < 2 {
			bad("class_ages", "%d ages given; decode classes needs the age of each class (at least 2)", len(o.ClassAges))
		}
		for i, a := range o.ClassAges {
			if math.IsNaN(a) || math.IsInf(a, 0) {
				bad("class_ages", "item %d is %v; must be finite", i+1, a)
			}
		}
	}
	declared := o
	if declared.Reduce == "" {
		declared.Reduce = Expected // used by decode classes only, where it defaults
	}
	errs = append(errs, spec.Check(prefix, &declared))
	if o.Decode != Classes && (len(o.ClassAges) > 0 || o.Softmax) {
		bad("class_ages", "class_ages and softmax apply to decode classes only, not %q", o.Decode)
	}
	if o.Decode != Unit && o.AgeMax != 0 {
		bad("age_max", "applies to decode unit only, not %q", o.Decode)
	}
	return errors.Join(errs...)
}

// Width is the number of values per output row the declaration expects.
func (o Output) Width() int {
	if o.Decode == Classes {
		return len(o.ClassAges)
	}
	return 1
}

// CheckWidth reports whether an output of width values per row (negative:
// not fixed by the graph) matches the declaration.
func (o Output) CheckWidth(width int64) error {
	if width < 0 || width == int64(o.Width()) {
		return nil
	}
	if o.Decode == Classes {
		return fmt.Errorf("the output has %d values per row but %d class_ages are declared", width, len(o.ClassAges))
	}
	return fmt.Errorf("the output has %d values per row; decode %s expects one", width, o.Decode)
}

// Age decodes one output row. A row it cannot use (non-finite values,
// class probabilities that are not probabilities) returns a *RowError.
func (o Output) Age(row []float32) (float64, error) {
	if len(row) != o.Width() {
		// A caller bug, not a data problem: the width is checked on open.
		return 0, fmt.Errorf("output row has %d values, expected %d", len(row), o.Width())
	}
	for i, v := range row {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return 0, &RowError{Reason: ReasonNonFinite, Detail: fmt.Sprintf("output value %d of %d is %v", i+1, len(row), v)}
		}
	}
	switch o.Decode {
	case Years:
		return float64(row[0]), nil
	case Unit:
		return float64(row[0]) * o.AgeMax, nil
	}
	p := make([]float64, len(row))
	for i, v := range row {
		p[i] = float64(v)
	}
	if o.Softmax {
		softmax(p)
	} else {
		sum, lo, hi := 0.0, p[0], p[0]
		for _, v := range p {
			sum += v
			lo, hi = min(lo, v), max(hi, v)
		}
		if lo < -probabilityTolerance || hi > 1+probabilityTolerance || math.Abs(sum-1) > probabilityTolerance {
			return 0, &RowError{Reason: ReasonInvalidProbabilities, Detail: fmt.Sprintf(
				"class outputs range over [%.4g, %.4g] and sum to %.6g, not probabilities (set softmax: true if the graph returns logits)", lo, hi, sum)}
		}
	}
	if o.Reduce == Argmax {
		best := 0
		for i, v := range p {
			if v > p[best] {
				best = i
			}
		}
		return o.ClassAges[best], nil
	}
	age := 0.0
	for i, v := range p {
		age += v * o.ClassAges[i]
	}
	return age, nil
}

func softmax(p []float64) {
	m := p[0]
	for _, v := range p {
		m = max(m, v)
	}
	sum := 0.0
	for i, v := range p {
		p[i] = math.Exp(v - m)
		sum += p[i]
	}
	for i := range p {
		p[i] /= sum
	}
}

// String describes the decoding on one line, for the run manifest and
// report, e.g. "classes: expected age over 81 classes (0.25, 1, 2, …, 80)".
func (o Output) String() string {
	switch o.Decode {
	case Years:
		return "years"
	case Unit:
		return "unit × " + strconv.FormatFloat(o.AgeMax, 'g', -1, 64)
	case Classes:
		how := "expected age"
		if o.Reduce == Argmax {
			how = "argmax age"
		}
		s := fmt.Sprintf("classes: %s over %d classes (%s)", how, len(o.ClassAges), ages(o.ClassAges))
		if o.Softmax {
			s += " after softmax"
		}
		return s
	}
	return string(o.Decode)
}

func ages(a []float64) string {
	f := func(x float64) string { return strconv.FormatFloat(x, 'g', -1, 64) }
	if len(a) <= 4 {
		parts := make([]string, len(a))
		for i, x := range a {
			parts[i] = f(x)
		}
		return strings.Join(parts, ", ")
	}
	return fmt.Sprintf("%s, %s, %s, …, %s", f(a[0]), f(a[1]), f(a[2]), f(a[len(a)-1]))
}

// Result is the age a model gives one image, or why it has none (a
// non-finite output, class outputs that are not probabilities): such a row
// is rejected with Err.Reason and counted, never averaged in.
type Result struct {
	Age float64
	Err *RowError
}

// Outcome spells r for regressor.PredictPacked: the age, and the reason
// and detail when the row has no usable age.
func (r Result) Outcome() (float64, string, string) {
	if r.Err == nil {
		return r.Age, "", ""
	}
	return r.Age, r.Err.Reason, r.Err.Detail
}

// Results turns each output row into a Result: a row the decoding refuses
// becomes a Result with Err; any other error concerns the whole model.
func (o Output) Results(rows [][]float32) ([]Result, error) {
	res := make([]Result, len(rows))
	for i, r := range rows {
		age, err := o.Age(r)
		if err != nil {
			var re *RowError
			if !errors.As(err, &re) {
				return nil, err
			}
			res[i].Err = re
			continue
		}
		res[i].Age = age
	}
	return res, nil
}

// Split cuts a flat output buffer into n rows of Width values.
func (o Output) Split(values []float32, n int) [][]float32 {
	w := o.Width()
	rows := make([][]float32, n)
	for i := range rows {
		rows[i] = values[i*w : (i+1)*w]
	}
	return rows
}
