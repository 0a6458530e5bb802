package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"syscall"
	"time"

	"fairage/analysis"
	"fairage/dataset"
)

// analyze times analysis.Analyze on a predictions file with the benchmark's
// configuration (gender, ethnicity, age_group, gender×ethnicity) and prints
// one JSON line: rows, load and analysis seconds, peak RSS. It also writes
// the summary and a per-group metrics CSV for fairlearn_check.py.
func analyze(args []string) error {
	fs := flag.NewFlagSet("analyze", flag.ContinueOnError)
	in := fs.String("in", "build/bench-analysis/predictions.arrow", "predictions file")
	out := fs.String("out", "", "folder for summary.json and metrics.csv (default: beside -in)")
	resamples := fs.Int("resamples", 1000, "bootstrap resamples")
	perms := fs.Int("permutations", 0, "permutations per test (0: no tests, as fairlearn has none)")
	workers := fs.Int("workers", 0, "workers (0: GOMAXPROCS)")
	ageAdjust := fs.Bool("age-adjust", true, "also compute the age-adjusted scores (analysis.age_adjust.enabled)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *out == "" {
		*out = filepath.Dir(*in)
	}
	t0 := time.Now()
	preds, err := dataset.ReadPredictions(*in)
	if err != nil {
		return err
	}
	load := time.Since(t0)

	o := analysis.DefaultOptions()
	o.Attributes = []string{dataset.AttrGender, dataset.AttrEthnicity, dataset.AttrAgeGroup}
	o.Intersections = []analysis.Intersection{{dataset.AttrGender, dataset.AttrEthnicity}}
	o.Bootstrap.Resamples = *resamples
	o.Permutation.Resamples = *perms
	o.Workers = *workers
	o.AgeAdjust.Enabled = *ageAdjust
	cpu0 := cpuSeconds()
	t1 := time.Now()
	res, err := analysis.Analyze(context.Background(), preds, o)
	if err != nil {
		return err
	}
	took := time.Since(t1)
	cpu := cpuSeconds() - cpu0

	if err := analysis.WriteSummary(filepath.Join(*out, "summary.json"), res); err != nil {
		return err
	}
	if err := writeMetricsCSV(filepath.Join(*out, "metrics.csv"), res); err != nil {
		return err
	}
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return json.NewEncoder(os.Stdout).Encode(map[string]any{
		"tool":           "fairage",
		"rows":           len(preds),
		"resamples":      *resamples,
		"permutations":   *perms,
		"age_adjust":     *ageAdjust,
		"workers":        runtime.GOMAXPROCS(0),
		"load_s":         load.Seconds(),
		"analysis_s":     took.Seconds(),
		"analysis_cpu_s": cpu,
		"peak_rss_mb":    float64(ru.Maxrss) / 1024, // Linux reports KiB
	})
}

// writeMetricsCSV writes attribute, group, metric, estimate, lower, upper,
// n for every group row of the metrics table, floats in round-trip form.
func writeMetricsCSV(path string, res *analysis.Result) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := csv.NewWriter(f)
	w.Write([]string{"attribute", "group", "metric", "estimate", "lower", "upper", "n"})
	ff := func(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
	for _, r := range analysis.MetricRows(res) {
		w.Write([]string{r.Attribute, r.Group, r.Metric, ff(r.Estimate), ff(r.Lower), ff(r.Upper), strconv.FormatInt(r.N, 10)})
	}
	w.Flush()
	if err := w.Error(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// cpuSeconds is the process's user+system CPU time: on a shared machine it
// says how much work was done better than wall time does.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}
