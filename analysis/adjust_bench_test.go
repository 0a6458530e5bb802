package analysis

import (
	"context"
	"testing"
)

// BenchmarkAnalyzeAgeAdjusted is BenchmarkAnalyze with and without the
// age-adjusted scores.
func BenchmarkAnalyzeAgeAdjusted(b *testing.B) {
	preds := synthPredictions(100_000, 1)
	for _, on := range []bool{false, true} {
		name := "off"
		if on {
			name = "on"
		}
		b.Run(name, func(b *testing.B) {
			opts := benchOptions(100)
			opts.AgeAdjust.Enabled = on
			for b.Loop() {
				if _, err := Analyze(context.Background(), preds, opts); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
