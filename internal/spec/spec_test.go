package spec

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseIntervalAndContains(t *testing.T) {
	cases := []struct {
		in      string
		inside  []float64
		outside []float64
		str     string
	}{
		{"[0,1)", []float64{0, 0.5, 0.999}, []float64{-0.1, 1, 2}, "[0, 1)"},
		{"(0,inf)", []float64{1e-9, 1e300}, []float64{0, -1}, "(0, ∞)"},
		{"[1,4096]", []float64{1, 4096}, []float64{0.99, 4097}, "[1, 4096]"},
		{"(-inf, 0]", []float64{-1e300, 0}, []float64{1e-9}, "(-∞, 0]"},
	}
	for _, tc := range cases {
		iv, err := ParseInterval(tc.in)
		if err != nil {
			t.Fatalf("%s: %v", tc.in, err)
		}
		for _, x := range tc.inside {
			if !iv.Contains(x) {
				t.Errorf("%s does not contain %v", tc.in, x)
			}
		}
		for _, x := range tc.outside {
			if iv.Contains(x) {
				t.Errorf("%s contains %v", tc.in, x)
			}
		}
		if iv.String() != tc.str {
			t.Errorf("%s prints %s, want %s", tc.in, iv, tc.str)
		}
	}
	for _, bad := range []string{"0,1", "[0;1]", "[a,1]", "[0,1", "{0,1}"} {
		if _, err := ParseInterval(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

type color string

func (color) Values() []string { return []string{"red", "blue"} }

type inner struct {
	Sigma float64 `yaml:"sigma" range:"(0,inf)" doc:"a width"`
}

type opts struct {
	N      int       `yaml:"n" range:"[1,10]" doc:"a count"`
	Xs     []float64 `yaml:"xs" range:"[0,1]" doc:"fractions"`
	C      color     `yaml:"c" doc:"a colour"`
	Cs     []color   `yaml:"cs" doc:"colours"`
	In     inner     `yaml:"in" doc:"nested"`
	Hidden int       `yaml:"-" range:"[0,0]"`
	P      *float64  `yaml:"p" range:"[0,1]" doc:"optional"`
}

func TestCheckReportsEveryDeclaredBound(t *testing.T) {
	two := 2.0
	o := opts{N: 11, Xs: []float64{0.5, 1.5}, C: "green", Cs: []color{"red", "pink"}, In: inner{Sigma: 0}, Hidden: 5, P: &two}
	err := Check("sec", &o)
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{
		"sec.n: 11 is outside [1, 10]",
		"sec.xs: item 2, 1.5 is outside [0, 1]",
		`sec.c: "green" is not one of red, blue`,
		`sec.cs: item 2, "pink" is not one of red, blue`,
		"sec.in.sigma: 0 is outside (0, ∞)",
		"sec.p: 2 is outside [0, 1]",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q lacks %q", err, want)
		}
	}
	if strings.Contains(strings.ToLower(err.Error()), "hidden") || strings.Contains(err.Error(), ": 5 is outside") {
		t.Errorf("a yaml:\"-\" field was checked: %v", err)
	}
	good := opts{N: 3, Xs: []float64{0, 1}, C: "red", In: inner{Sigma: 1}}
	if err := Check("sec", &good); err != nil {
		t.Errorf("valid options rejected: %v", err)
	}
	if err := Check("sec", &opts{N: 1, In: inner{Sigma: 1}}); err == nil || !strings.Contains(err.Error(), "sec.c: not set") {
		t.Errorf("an unset enum: %v", err)
	}
}

func TestFieldsListSectionsBeforeTheirKeys(t *testing.T) {
	var keys []string
	for _, f := range Fields(typeOf[opts]()) {
		keys = append(keys, f.Key)
	}
	if got := strings.Join(keys, " "); got != "n xs c cs in in.sigma p" {
		t.Errorf("keys %s", got)
	}
}

func TestPairAndNumber(t *testing.T) {
	for _, tc := range []struct {
		raw    any
		lo, hi float64
		ok     bool
	}{
		{[]any{1, 2.5}, 1, 2.5, true},
		{"3, 4", 3, 4, true},
		{[]any{1}, 0, 0, false},
		{[]any{"a", 1}, 0, 0, false},
		{5, 0, 0, false},
	} {
		lo, hi, err := Pair(tc.raw)
		if (err == nil) != tc.ok || (tc.ok && (lo != tc.lo || hi != tc.hi)) {
			t.Errorf("Pair(%v) = %v, %v, %v", tc.raw, lo, hi, err)
		}
	}
	for _, tc := range []struct {
		v  any
		ok bool
	}{{3, true}, {"2.5", true}, {"x", false}, {nil, false}, {"NaN", false}, {uint64(7), true}} {
		if _, ok := Number(tc.v); ok != tc.ok {
			t.Errorf("Number(%v) ok = %v", tc.v, ok)
		}
	}
}

func typeOf[T any]() reflect.Type { return reflect.TypeOf((*T)(nil)).Elem() }
