package reports

import (
	"math"
	"strings"
	"testing"

	"fairage/analysis"
)

func TestMDEscape(t *testing.T) {
	tests := []struct{ in, want string }{
		{"female", "female"},
		{evilGroup, `&lt;script&gt;alert\(1\)&lt;/script&gt;`},
		{"a|b", `a\|b`},
		{"[x](http://e)", `\[x\]\(http://e\)`},
		{"two\nlines", "two lines"},
		{"age_group", `age\_group`},
	}
	for _, tc := range tests {
		if got := mdEscape(tc.in); got != tc.want {
			t.Errorf("mdEscape(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestFence(t *testing.T) {
	got := fence("a\n````\nb\n")
	if !strings.HasPrefix(got, "`````\n") || !strings.HasSuffix(got, "\n`````") {
		t.Errorf("fence should be longer than the text's backtick runs: %q", got)
	}
}

func TestFormatEstimate(t *testing.T) {
	f := formatter{3}
	tests := []struct {
		e    analysis.Estimate
		want string
	}{
		{analysis.Estimate{Value: 1.23456, Lower: 1, Upper: 1.5}, "1.235 [1.000, 1.500]"},
		{analysis.Estimate{Value: 2, Lower: math.NaN(), Upper: math.NaN()}, "2.000"},
		{analysis.Estimate{Value: math.NaN(), Lower: math.NaN(), Upper: math.NaN()}, "n/a"},
	}
	for _, tc := range tests {
		if got := f.est(tc.e); got != tc.want {
			t.Errorf("est(%+v) = %q, want %q", tc.e, got, tc.want)
		}
	}
}

func TestSeconds(t *testing.T) {
	for _, tc := range []struct {
		in   float64
		want string
	}{{0, "0.0 s"}, {4.24, "4.2 s"}, {59.94, "59.9 s"}, {59.96, "1 min 0 s"}, {723.4, "12 min 3 s"}, {3599.4, "59 min 59 s"}, {7530, "2 h 6 min"}, {math.NaN(), "n/a"}, {-1, "n/a"}} {
		if got := seconds(tc.in); got != tc.want {
			t.Errorf("seconds(%v) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
