package analysis

import (
	"context"
	"testing"

	"fairage/dataset"
)

func benchOptions(resamples int) Options {
	o := DefaultOptions()
	o.Attributes = []string{dataset.AttrGender, dataset.AttrEthnicity, dataset.AttrAgeGroup}
	o.Intersections = []Intersection{{dataset.AttrGender, dataset.AttrEthnicity}}
	o.Bootstrap.Resamples = resamples
	o.Permutation.Resamples = 0
	return o
}

// BenchmarkAnalyze measures a full analysis of 100,000 predictions with
// three attributes, one intersection and 100 bootstrap resamples (the
// 1M × 1000 benchmark lives in bench/analysis).
func BenchmarkAnalyze(b *testing.B) {
	preds := synthPredictions(100_000, 1)
	opts := benchOptions(100)
	b.ResetTimer()
	for b.Loop() {
		if _, err := Analyze(context.Background(), preds, opts); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPermutation measures the between-group tests alone.
func BenchmarkPermutation(b *testing.B) {
	preds := synthPredictions(100_000, 1)
	opts := benchOptions(0)
	opts.Permutation.Resamples = 100
	b.ResetTimer()
	for b.Loop() {
		if _, err := Analyze(context.Background(), preds, opts); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkResampleGroup measures one bootstrap resample of a 100,000-row
// group, per row.
func BenchmarkResampleGroup(b *testing.B) {
	preds := synthPredictions(100_000, 1)
	rows, _, _ := selectRows(preds, "", &DefaultRange)
	errs, order := sortedErrors(rows)
	e := make([]float64, len(order))
	for k, i := range order {
		e[k] = errs[i]
	}
	counts := make([]uint8, len(e))
	r := newStream(1, "bench", 0)
	b.ResetTimer()
	for b.Loop() {
		resampleStats(e, counts, r)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(e)), "ns/row")
}
