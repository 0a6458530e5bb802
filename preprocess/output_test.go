package preprocess

import (
	"errors"
	"math"
	"strings"
	"testing"
)

func TestOutputAge(t *testing.T) {
	nan, inf := float32(math.NaN()), float32(math.Inf(1))
	classes := Output{Decode: Classes, ClassAges: []float64{10, 20, 40}, Reduce: Expected}
	argmax := classes
	argmax.Reduce = Argmax
	logits := classes
	logits.Softmax = true
	cases := []struct {
		name   string
		out    Output
		row    []float32
		want   float64
		reason string // a RowError's reason; "" for none
	}{
		{"years", Output{Decode: Years}, []float32{33.5}, 33.5, ""},
		{"years may be negative", Output{Decode: Years}, []float32{-2}, -2, ""},
		{"unit", Output{Decode: Unit, AgeMax: 100}, []float32{0.25}, 25, ""},
		{"expected", classes, []float32{0.5, 0.25, 0.25}, 0.5*10 + 0.25*20 + 0.25*40, ""},
		{"argmax", argmax, []float32{0.2, 0.5, 0.3}, 20, ""},
		{"argmax tie takes the first", argmax, []float32{0.4, 0.2, 0.4}, 10, ""},
		// softmax of (0, ln 2, ln 1) = (1/4, 2/4, 1/4)
		{"softmax", logits, []float32{0, float32(math.Ln2), 0}, 0.25*10 + 0.5*20 + 0.25*40, ""},
		{"softmax of large logits", logits, []float32{1000, 1000, -1e30}, 15, ""},
		{"nan", Output{Decode: Years}, []float32{nan}, 0, ReasonNonFinite},
		{"inf in a class", classes, []float32{0.5, inf, 0}, 0, ReasonNonFinite},
		{"inf logit", logits, []float32{0, inf, 0}, 0, ReasonNonFinite},
		{"logits declared as probabilities", classes, []float32{2, -1, 3}, 0, ReasonInvalidProbabilities},
		{"probabilities not summing to 1", classes, []float32{0.5, 0.2, 0.2}, 0, ReasonInvalidProbabilities},
		{"float32 rounding is fine", classes, []float32{0.3333334, 0.3333333, 0.3333334},
			float64(float32(0.3333334))*50 + float64(float32(0.3333333))*20, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.out.Age(tc.row)
			if tc.reason != "" {
				var re *RowError
				if !errors.As(err, &re) || re.Reason != tc.reason {
					t.Fatalf("error %v, want a RowError with reason %s", err, tc.reason)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(got-tc.want) > 1e-6 {
				t.Errorf("age %v, want %v", got, tc.want)
			}
		})
	}
	if _, err := classes.Age([]float32{1}); err == nil || !strings.Contains(err.Error(), "1 values, expected 3") {
		t.Errorf("row of the wrong width: %v", err)
	}
}

func TestOutputValidate(t *testing.T) {
	cases := []struct {
		name string
		out  Output
		want []string
	}{
		{"years", Output{Decode: Years}, nil},
		{"unit", Output{Decode: Unit, AgeMax: 120}, nil},
		{"classes", Output{Decode: Classes, ClassAges: []float64{1, 2}, Reduce: Argmax}, nil},
		{"unset", Output{}, []string{"decode: not set; must be one of years, unit, classes"}},
		{"unknown", Output{Decode: "logits"}, []string{`decode: "logits" is not one of`}},
		{"unit without age_max", Output{Decode: Unit}, []string{"age_max: 0; decode unit needs"}},
		{"classes without ages", Output{Decode: Classes, Reduce: Expected}, []string{"class_ages: 0 ages given"}},
		{"classes with nan", Output{Decode: Classes, ClassAges: []float64{1, math.NaN()}, Reduce: Expected}, []string{"class_ages: item 2 is NaN"}},
		{"classes bad reduce", Output{Decode: Classes, ClassAges: []float64{1, 2}, Reduce: "median"}, []string{`reduce: "median" is not one of expected, argmax`}},
		{"years with class settings", Output{Decode: Years, ClassAges: []float64{1, 2}, AgeMax: 3}, []string{"class_ages: class_ages and softmax apply to decode classes only", "age_max: applies to decode unit only"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.out.Check("model.output")
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), "model.output."+w) {
					t.Errorf("error %q lacks %q", err, "model.output."+w)
				}
			}
		})
	}
}

func TestOutputWidth(t *testing.T) {
	classes := Output{Decode: Classes, ClassAges: make([]float64, 81), Reduce: Expected}
	for _, tc := range []struct {
		out   Output
		width int64
		want  string
	}{
		{classes, 81, ""},
		{classes, -1, ""},
		{classes, 80, "the output has 80 values per row but 81 class_ages are declared"},
		{Output{Decode: Years}, 1, ""},
		{Output{Decode: Unit, AgeMax: 1}, 2, "the output has 2 values per row; decode unit expects one"},
	} {
		err := tc.out.CheckWidth(tc.width)
		if (tc.want == "") != (err == nil) || (err != nil && err.Error() != tc.want) {
			t.Errorf("%s width %d: error %v, want %q", tc.out.Decode, tc.width, err, tc.want)
		}
	}
}

func TestOutputString(t *testing.T) {
	for _, tc := range []struct {
		out  Output
		want string
	}{
		{Output{Decode: Years}, "years"},
		{Output{Decode: Unit, AgeMax: 100}, "unit × 100"},
		{Output{Decode: Classes, ClassAges: []float64{0.25, 1, 2, 3, 80}, Reduce: Expected}, "classes: expected age over 5 classes (0.25, 1, 2, …, 80)"},
		{Output{Decode: Classes, ClassAges: []float64{5, 15}, Reduce: Argmax, Softmax: true}, "classes: argmax age over 2 classes (5, 15) after softmax"},
	} {
		if got := tc.out.String(); got != tc.want {
			t.Errorf("got  %q\nwant %q", got, tc.want)
		}
	}
}

// Results decodes every row of a flat output buffer and keeps a refused
// row as a Result with its reason, so a model rejects it instead of
// averaging it in.
func TestOutputResults(t *testing.T) {
	o := Output{Decode: Years}
	res, err := o.Results(o.Split([]float32{31, float32(math.Inf(1)), 7}, 3))
	if err != nil {
		t.Fatal(err)
	}
	if res[0].Age != 31 || res[0].Err != nil || res[2].Age != 7 || res[1].Err == nil || res[1].Err.Reason != ReasonNonFinite {
		t.Fatalf("results %+v", res)
	}
	if _, reason, _ := res[1].Outcome(); reason != ReasonNonFinite {
		t.Errorf("outcome of a refused row: reason %q", reason)
	}
	if _, reason, _ := res[0].Outcome(); reason != "" {
		t.Errorf("a usable row has reason %q", reason)
	}
}
