package reports

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"strconv"

	"fairage/analysis"
	"fairage/internal/atomicfile"
)

// ConfigDifference is one resolved config key whose value differs between
// the compared runs: Values[i] is run i's value, as the config writes it.
type ConfigDifference struct {
	Key    string   `json:"key"`
	Values []string `json:"values"`
}

// ComparisonJSONVersion is the layout version of compare.json.
const ComparisonJSONVersion = 1

// comparisonJSON is compare.json: the comparison's numbers for programs.
type comparisonJSON struct {
	Version     int                `json:"version"`
	Title       string             `json:"title"`
	Runs        []comparedRunJSON  `json:"runs"`
	Differences []ConfigDifference `json:"config_differences"`
	Paired      []pairedJSON       `json:"paired"`
}

type comparedRunJSON struct {
	Name   string                        `json:"name"`
	Commit string                        `json:"commit,omitempty"`
	Rows   int                           `json:"rows"`
	Split  string                        `json:"split"`
	Scores map[string]*analysis.Estimate `json:"scores"` // mae, <key>_bias, … ; null when undefined
	Gates  string                        `json:"gates"`  // none, passed, failed
}

type pairedJSON struct {
	A            string           `json:"a"`
	B            string           `json:"b"`
	Matched      int              `json:"matched"`
	OnlyA        int              `json:"only_a"`
	OnlyB        int              `json:"only_b"`
	Permutations int              `json:"permutations"`
	Tests        []pairedTestJSON `json:"tests"`
}

type pairedTestJSON struct {
	Metric      string   `json:"metric"`
	A           *float64 `json:"a"`
	B           *float64 `json:"b"`
	Diff        *float64 `json:"diff"`
	P           *float64 `json:"p"`
	PHolm       *float64 `json:"p_holm"`
	Significant bool     `json:"significant"`
}

func num(v float64) *float64 {
	if !finite(v) {
		return nil
	}
	return &v
}

// scoreKeys are the run-level numbers compare.json and compare.csv list:
// the overall metrics, then every grouping's scores (raw and age-adjusted).
func scoreKeys(r *analysis.Result) []string {
	keys := []string{analysis.MetricMAE, analysis.MetricRMSE, analysis.MetricMeanError, analysis.MetricMedianAE}
	for _, a := range r.Attributes {
		for _, m := range []string{analysis.MetricBias, analysis.MetricGap, analysis.MetricRatio} {
			keys = append(keys, analysis.ScoreKey(a.Key, m))
			if a.AgeAdjusted != nil && a.AgeAdjusted.Available {
				keys = append(keys, analysis.ScoreKey(a.Key, m+analysis.AgeAdjustedSuffix))
			}
		}
	}
	return keys
}

func buildComparisonJSON(c *Comparison) comparisonJSON {
	out := comparisonJSON{Version: ComparisonJSONVersion, Title: c.Title, Differences: c.Differences, Paired: []pairedJSON{}}
	if out.Differences == nil {
		out.Differences = []ConfigDifference{}
	}
	for _, r := range c.Runs {
		rj := comparedRunJSON{Name: r.Name, Commit: r.Commit, Rows: r.Analysis.Settings.Rows, Split: r.Analysis.Split,
			Scores: map[string]*analysis.Estimate{}, Gates: gatesWord(r.Analysis)}
		for _, k := range scoreKeys(r.Analysis) {
			e, _, ok := r.Analysis.Metric(k)
			if !ok || !finite(e.Value) {
				rj.Scores[k] = nil
				continue
			}
			if !finite(e.Lower) || !finite(e.Upper) {
				e.Lower, e.Upper = math.NaN(), math.NaN()
			}
			rj.Scores[k] = &e
		}
		out.Runs = append(out.Runs, rj)
	}
	for _, p := range c.Paired {
		pj := pairedJSON{A: p.A, B: p.B, Matched: p.Matched, OnlyA: p.OnlyA, OnlyB: p.OnlyB, Permutations: p.Permutations, Tests: []pairedTestJSON{}}
		for _, t := range p.Tests {
			pj.Tests = append(pj.Tests, pairedTestJSON{Metric: t.Metric, A: num(t.A), B: num(t.B), Diff: num(t.Diff),
				P: num(t.P), PHolm: num(t.PHolm), Significant: t.Significant})
		}
		out.Paired = append(out.Paired, pj)
	}
	return out
}

func gatesWord(r *analysis.Result) string {
	switch {
	case len(r.Gates) == 0:
		return "none"
	case r.GateError() == nil:
		return "passed"
	}
	return "failed"
}

// WriteComparisonJSON writes compare.json into dir: each run's commit,
// rows and scores (estimates with intervals, null when undefined), the
// config keys that differ, and the paired tests.
func WriteComparisonJSON(dir string, c Comparison) (string, error) {
	b, err := json.MarshalIndent(buildComparisonJSON(&c), "", "  ")
	if err != nil {
		return "", fmt.Errorf("encode compare.json: %w", err)
	}
	path := filepath.Join(dir, "compare.json")
	return path, atomicfile.WriteBytes(path, append(b, '\n'))
}

// WriteComparisonCSV writes compare.csv into dir: one row per run and
// number (run, kind, metric, estimate, lower, upper, vs, p, p_holm,
// significant): kind "score" for each run's scores, "paired" for each
// paired test of a run against the baseline (vs).
func WriteComparisonCSV(dir string, c Comparison) (string, error) {
	path := filepath.Join(dir, "compare.csv")
	ff := func(v float64) string {
		if !finite(v) {
			return ""
		}
		return strconv.FormatFloat(v, 'g', -1, 64)
	}
	return path, atomicfile.WriteBuffered(path, func(w io.Writer) error {
		cw := csv.NewWriter(w)
		cw.Write([]string{"run", "kind", "metric", "estimate", "lower", "upper", "vs", "p", "p_holm", "significant"})
		for _, r := range c.Runs {
			for _, k := range scoreKeys(r.Analysis) {
				e, _, _ := r.Analysis.Metric(k)
				cw.Write([]string{r.Name, "score", k, ff(e.Value), ff(e.Lower), ff(e.Upper), "", "", "", ""})
			}
		}
		for _, p := range c.Paired {
			for _, t := range p.Tests {
				cw.Write([]string{p.B, "paired", t.Metric, ff(t.Diff), "", "", p.A, ff(t.P), ff(t.PHolm), strconv.FormatBool(t.Significant)})
			}
		}
		cw.Flush()
		return cw.Error()
	})
}
