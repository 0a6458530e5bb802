package stages

import (
	"context"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"fairage/analysis"
	"fairage/pipeline"
)

// runSynthetic runs the default pipeline on a reduced synthetic dataset
// through every real stage (TensorFlow training included) and returns the
// manifest and the analysis summary.
func runSynthetic(t *testing.T, runs, name string, sets ...string) (*pipeline.Manifest, *analysis.Result) {
	t.Helper()
	base := []string{
		"run.name=" + name,
		"data.synthetic.count=1200", "data.image_size=32", "data.synthetic.group_cue_noise={ethnicity: {group_c: 12}}",
		"model.width_multiplier=0.125", "model.head=[64, 32]",
		"train.epochs=15", "train.batch_size=16", "train.lr=0.003",
		"train.early_stopping.patience=0", "train.threads.intra_op=2", "train.threads.inter_op=1",
		"analysis.bootstrap.resamples=200", "analysis.permutation.resamples=200",
	}
	cfg, err := pipeline.Load(repoFile(t, "pipeline.yaml"), Schema(), pipeline.LoadOptions{Sets: append(base, sets...)})
	if err != nil {
		t.Fatal(err)
	}
	r := &pipeline.Runner{Graph: Graph(cfg), Config: cfg}
	m, err := r.Run(context.Background(), pipeline.RunOptions{RunsDir: runs, Name: name, Log: io.Discard})
	if err != nil {
		t.Fatalf("run %s: %v", name, err)
	}
	res, err := analysis.ReadSummary(filepath.Join(runs, name, stageAnalyze, summaryFile))
	if err != nil {
		t.Fatal(err)
	}
	return m, res
}

func attribute(t *testing.T, res *analysis.Result, name string) *analysis.AttributeResult {
	t.Helper()
	for i := range res.Attributes {
		if res.Attributes[i].Name == name {
			return &res.Attributes[i]
		}
	}
	t.Fatalf("no attribute %s in the analysis", name)
	return nil
}

// The synthetic data plants a disadvantage for ethnicity group_c (rarer, and
// noisier age cues). The audit must find it: group_c has the largest MAE of
// the ethnicity groups, and the between-group test rejects equal MAEs.
// A second run sharing ingest and split must not recompute them.
func TestEndToEndAuditFindsThePlantedBias(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a small ResNet end to end; skipped with -short")
	}
	runs := t.TempDir()
	m, res := runSynthetic(t, runs, "plain", "balance.strategy=none", "augment.mode=none")
	for _, st := range m.Stages {
		if st.Status != "ran" {
			t.Errorf("first run: stage %s %s", st.Name, st.Status)
		}
	}
	eth := attribute(t, res, "ethnicity")
	var planted, worstOther float64
	for _, g := range eth.Groups {
		if g.Name == "group_c" {
			planted = g.MAE.Value
		} else if g.MAE.Value > worstOther {
			worstOther = g.MAE.Value
		}
	}
	t.Logf("test MAE %.2f; ethnicity bias %.2f [%.2f, %.2f]; group_c MAE %.2f vs worst other %.2f; p=%.3f",
		res.Overall.MAE.Value, eth.Bias.Value, eth.Bias.Lower, eth.Bias.Upper, planted, worstOther, eth.Test.P)
	if planted <= worstOther {
		t.Errorf("planted group_c MAE %.2f is not above the other groups' (max %.2f): the audit no longer detects the planted bias", planted, worstOther)
	}
	if eth.Test == nil || eth.Test.P >= 0.05 {
		t.Errorf("between-group test of the ethnicity bias is not significant: %+v", eth.Test)
	}
	if res.Overall.MAE.Value > 15 {
		t.Errorf("test MAE %.1f: the model learned little (a constant guess gives about 20)", res.Overall.MAE.Value)
	}

	// A second experiment that only changes balancing reuses ingest and split.
	m2, _ := runSynthetic(t, runs, "oversampled", "balance.strategy=oversample", "augment.mode=none")
	got := map[string]string{}
	for _, st := range m2.Stages {
		got[st.Name] = st.Status
	}
	if got[stageIngest] != "skipped" || got[stageSplit] != "skipped" || got[stageBalance] != "ran" || got[stageTrain] != "ran" {
		t.Errorf("second experiment stages: %v", got)
	}
	if !strings.Contains(m2.Stages[0].Reason, "cache") {
		t.Errorf("ingest reason %q should say it came from the cache", m2.Stages[0].Reason)
	}
}
