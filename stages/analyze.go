package stages

import (
	"context"
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	"fairage/analysis"
	"fairage/dataset"
	"fairage/pipeline"
)

var analysisDefaults = analysis.DefaultOptions()

var analysisSection = pipeline.Section{
	Name: "analysis",
	Doc:  "The bias audit (package analysis): per-group error metrics, the study's bias scores (mean pairwise |ΔMAE|) with max−min gaps and min/max ratios, bootstrap intervals, permutation tests with Holm correction, and gates that fail the run.",
	Fields: []pipeline.Field{
		{Key: "analysis.split", Kind: pipeline.KindString, Default: dataset.SplitTest, Enum: []string{"train", "valid", "test", "all"}, Doc: "Which split's predictions are audited (all: every evaluated row)."},
		{Key: "analysis.attributes", Kind: pipeline.KindStrings, Default: analysisDefaults.Attributes, Enum: dataset.Attributes, Doc: "Attributes audited one by one; age_group is binned from the true age with analysis.age_edges."},
		{Key: "analysis.intersections", Kind: pipeline.KindStrings, Default: []string{"gender*ethnicity"}, Doc: "Joint groupings audited as one attribute, written a*b (e.g. gender*ethnicity)."},
		{Key: "analysis.age_edges", Kind: pipeline.KindFloats, Default: analysisDefaults.AgeEdges, Doc: "Inner edges of the age bins: [20, 40, 60] gives the study's [0,20), [20,40), [40,60), [60,∞)."},
		{Key: "analysis.groups", Kind: pipeline.KindMap, Optional: true, Doc: "Optional expected groups per attribute, in order (groups: {ethnicity: [asian, black, white]}); values not listed are counted as unknown and named. Unset: groups come from the data."},
		{Key: "analysis.min_group_size", Kind: pipeline.KindInt, Default: analysisDefaults.MinGroupSize, Min: pipeline.Num(1), Doc: "Groups with fewer rows are flagged in the report."},
		{Key: "analysis.small_groups", Kind: pipeline.KindString, Default: string(analysisDefaults.SmallGroups), Enum: []string{"include", "exclude"}, Doc: "Whether flagged small groups count in the bias scores (they are shown either way)."},
		{Key: "analysis.bootstrap.resamples", Kind: pipeline.KindInt, Default: analysisDefaults.Bootstrap.Resamples, Min: pipeline.Num(0), Doc: "Bootstrap resamples for percentile intervals (stratified within groups); 0 turns intervals off."},
		{Key: "analysis.bootstrap.confidence", Kind: pipeline.KindFloat, Default: analysisDefaults.Bootstrap.Confidence, Min: pipeline.Num(0.5), Max: pipeline.Num(0.999), Doc: "Interval coverage."},
		{Key: "analysis.permutation.resamples", Kind: pipeline.KindInt, Default: analysisDefaults.Permutation.Resamples, Min: pipeline.Num(0), Doc: "Permutations for the between-group tests; 0 turns tests off."},
		{Key: "analysis.alpha", Kind: pipeline.KindFloat, Default: analysisDefaults.Alpha, Min: pipeline.Num(0), Max: pipeline.Num(1), Doc: "Family-wise significance level (Holm-corrected)."},
		{Key: "analysis.workers", Kind: pipeline.KindInt, Default: 0, Min: pipeline.Num(0), Doc: "Resampling goroutines (0: one per CPU); results do not depend on it."},
		{Key: "analysis.gates", Kind: pipeline.KindMap, Optional: true, Doc: "Pass/fail thresholds that fail the run (exit code 3), e.g. {mae: {max: 8}, ethnicity_bias: {max: 1.0, on: interval}}. Keys: mae, rmse, mean_error, median_ae and <attribute>_bias|_gap|_ratio (age_bias for age_group, gender_x_ethnicity_bias for an intersection)."},
	},
}

// analysisOptions maps the analysis section onto analysis.Options.
func analysisOptions(cfg *pipeline.Config) (analysis.Options, error) {
	o := analysis.DefaultOptions()
	o.Split = cfg.String("analysis.split")
	if o.Split == "all" {
		o.Split = ""
	}
	o.Attributes = cfg.Strings("analysis.attributes")
	o.Intersections = nil
	for _, in := range cfg.Strings("analysis.intersections") {
		o.Intersections = append(o.Intersections, strings.Split(strings.ReplaceAll(in, "×", "*"), "*"))
	}
	o.AgeEdges = cfg.Floats("analysis.age_edges")
	o.MinGroupSize = cfg.Int("analysis.min_group_size")
	o.SmallGroups = analysis.SmallGroupPolicy(cfg.String("analysis.small_groups"))
	o.Bootstrap.Resamples = cfg.Int("analysis.bootstrap.resamples")
	o.Bootstrap.Confidence = cfg.Float("analysis.bootstrap.confidence")
	o.Bootstrap.Seed = seed(cfg) + 1
	o.Permutation.Resamples = cfg.Int("analysis.permutation.resamples")
	o.Permutation.Seed = seed(cfg) + 2
	o.Alpha = cfg.Float("analysis.alpha")
	o.Workers = cfg.Int("analysis.workers")
	var err error
	if o.Groups, err = groupsOption(cfg.Map("analysis.groups")); err != nil {
		return o, err
	}
	if o.Gates, err = gatesOption(cfg.Map("analysis.gates")); err != nil {
		return o, err
	}
	return o, o.Validate()
}

func groupsOption(m map[string]any) (map[string][]string, error) {
	return stringLists(m, "analysis.groups")
}

func gatesOption(m map[string]any) (map[string]analysis.Gate, error) {
	if len(m) == 0 {
		return nil, nil
	}
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	sort.Strings(names)
	out := map[string]analysis.Gate{}
	for _, name := range names {
		spec, ok := m[name].(map[string]any)
		if !ok {
			return nil, fmt.Errorf("analysis.gates.%s: expected a mapping such as {max: 1.0}", name)
		}
		var g analysis.Gate
		for k, v := range spec {
			key := fmt.Sprintf("analysis.gates.%s.%s", name, k)
			switch k {
			case "max", "min":
				x, ok := toFloat(v)
				if !ok {
					return nil, fmt.Errorf("%s: expected a number, got %v", key, v)
				}
				if k == "max" {
					g.Max = &x
				} else {
					g.Min = &x
				}
			case "on":
				s, _ := v.(string)
				if s != "estimate" && s != "interval" {
					return nil, fmt.Errorf("%s: %v is not one of estimate, interval", key, v)
				}
				g.On = analysis.GateBasis(s)
			default:
				return nil, fmt.Errorf("%s: unknown key (expected max, min or on)", key)
			}
		}
		if g.Max == nil && g.Min == nil {
			return nil, fmt.Errorf("analysis.gates.%s: give max, min or both", name)
		}
		out[name] = g
	}
	return out, nil
}

func toFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case int:
		return float64(x), true
	case int64:
		return float64(x), true
	case float64:
		return x, true
	}
	return 0, false
}

// analyzeStage audits the predictions for bias.
type analyzeStage struct{ stageBase }

func newAnalyzeStage() analyzeStage {
	return analyzeStage{stageBase{name: stageAnalyze, version: "2", sections: []string{"analysis", "run.seed"}, inputs: []string{stageEvaluate}}}
}

func (s analyzeStage) Run(ctx context.Context, sc *pipeline.StageContext) (pipeline.Stats, error) {
	opts, err := analysisOptions(sc.Config)
	if err != nil {
		return pipeline.Stats{}, err
	}
	preds, err := dataset.ReadPredictions(inputPath(sc, stageEvaluate, predictionsFile))
	if err != nil {
		return pipeline.Stats{}, err
	}
	res, err := analysis.Analyze(ctx, preds, opts)
	if err != nil {
		return pipeline.Stats{}, err
	}
	if err := analysis.WriteMetrics(outPath(sc, metricsFile), res); err != nil {
		return pipeline.Stats{}, err
	}
	if err := analysis.WriteSummary(outPath(sc, summaryFile), res); err != nil {
		return pipeline.Stats{}, err
	}
	fmt.Fprintf(sc.Log, "analyze: %s\n", headline(res))
	return pipeline.Stats{RowsIn: int64(len(preds)), RowsOut: int64(res.Overall.N)}, nil
}

// Verify re-checks the gates every run, so a failing gate keeps failing
// the run even when the analysis itself is fresh.
func (s analyzeStage) Verify(_ context.Context, _ *pipeline.Config, outDir string) error {
	res, err := analysis.ReadSummary(filepath.Join(outDir, summaryFile))
	if err != nil {
		return err
	}
	return res.GateError()
}

// headline is the one-line summary the analyze stage logs.
func headline(res *analysis.Result) string {
	var b strings.Builder
	fmt.Fprintf(&b, "n=%d MAE %.2f", res.Overall.N, res.Overall.MAE.Value)
	for _, a := range res.Attributes {
		if !a.Available {
			fmt.Fprintf(&b, ", %s bias unavailable", a.Key)
			continue
		}
		fmt.Fprintf(&b, ", %s bias %.3f", a.Key, a.Bias.Value)
	}
	return b.String()
}
