package stages

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"fairage/internal/testdata"
	"fairage/pipeline"
)

func repoFile(t *testing.T, rel string) string {
	t.Helper()
	root, ok := testdata.RepoRoot()
	if !ok {
		t.Fatal("repository root not found")
	}
	return filepath.Join(root, rel)
}

// Every config shipped in the repository validates against the schema.
func TestShippedConfigsAreValid(t *testing.T) {
	var files []string
	for _, pattern := range []string{"pipeline.yaml", "configs/*.yaml", "experiments/*.yaml"} {
		m, _ := filepath.Glob(repoFile(t, pattern))
		files = append(files, m...)
	}
	if len(files) == 0 {
		t.Fatal("no configs found")
	}
	for _, f := range files {
		cfg, err := pipeline.Load(f, Schema(), pipeline.LoadOptions{})
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		// The domain packages' own checks pass too, so a shipped config
		// never fails at run time on its options.
		if _, err := balanceOptions(cfg); err != nil {
			t.Errorf("%s: %v", f, err)
		}
		if _, err := augmentOptions(cfg); err != nil {
			t.Errorf("%s: %v", f, err)
		}
		if _, err := analysisOptions(cfg); err != nil {
			t.Errorf("%s: %v", f, err)
		}
		if err := modelConfig(cfg).Validate(); err != nil {
			t.Errorf("%s: %v", f, err)
		}
		if err := trainConfig(cfg).Validate(); err != nil {
			t.Errorf("%s: %v", f, err)
		}
		Graph(cfg) // panics on a miswired graph
	}
}

// docs/config.md is generated from the schema; `make docs` regenerates it.
func TestConfigReferenceIsUpToDate(t *testing.T) {
	want := pipeline.Reference(Schema())
	got, err := os.ReadFile(repoFile(t, "docs/config.md"))
	if err != nil || string(got) != want {
		t.Fatalf("docs/config.md is out of date with the schema: run `make docs` (%v)", err)
	}
}

func loadWith(t *testing.T, sets ...string) (*pipeline.Config, error) {
	t.Helper()
	return pipeline.Load(repoFile(t, "pipeline.yaml"), Schema(), pipeline.LoadOptions{Sets: sets})
}

func TestStageOptionErrorsNameTheKey(t *testing.T) {
	cases := []struct {
		set   string
		check func(*pipeline.Config) error
		want  string
	}{
		{"analysis.gates={mae: 8}", func(c *pipeline.Config) error { _, err := analysisOptions(c); return err }, "analysis.gates.mae: expected a mapping"},
		{"analysis.gates={mae: {max: high}}", func(c *pipeline.Config) error { _, err := analysisOptions(c); return err }, "analysis.gates.mae.max: expected a number"},
		{"analysis.gates={mae: {maximum: 8}}", func(c *pipeline.Config) error { _, err := analysisOptions(c); return err }, "analysis.gates.mae.maximum: unknown key"},
		{"analysis.gates={mae: {on: always, max: 1}}", func(c *pipeline.Config) error { _, err := analysisOptions(c); return err }, "analysis.gates.mae.on"},
		{"analysis.intersections=[gender]", func(c *pipeline.Config) error { _, err := analysisOptions(c); return err }, "analysis.intersections"},
		{"augment.crop.scale=[0.5]", func(c *pipeline.Config) error { _, err := augmentOptions(c); return err }, "augment.crop.scale: expected [min, max]"},
		{"augment.rotate.degrees=200", func(c *pipeline.Config) error { _, err := augmentOptions(c); return err }, "augment.rotate.degrees"},
		{"augment.blur.range=[3, 1]", func(c *pipeline.Config) error { _, err := augmentOptions(c); return err }, "augment.blur.range"},
		{"balance.target=lots", func(c *pipeline.Config) error { _, err := balanceOptions(c); return err }, "balance.target"},
		{"data.synthetic.proportions={ethnicity: {a: many}}", func(c *pipeline.Config) error { _, err := synthetic(c); return err }, "data.synthetic.proportions.ethnicity.a"},
		{"data.age_edges=[40, 20]", func(c *pipeline.Config) error { _, err := ingestOptions(c); return err }, "data.age_edges"},
		{"data.adapter=utkface", func(c *pipeline.Config) error { _, err := openSource(t.Context(), c); return err }, "data.root"},
		{"data.adapter=csv", func(c *pipeline.Config) error { _, err := openSource(t.Context(), c); return err }, "data.csv.path"},
		{"evaluate.model=/nonexistent/run", func(c *pipeline.Config) error { _, err := externalModelDir(c); return err }, "evaluate.model"},
	}
	for _, tc := range cases {
		t.Run(tc.set, func(t *testing.T) {
			cfg, err := loadWith(t, tc.set)
			if err == nil {
				err = tc.check(cfg)
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func TestGraphFollowsTheEvaluationMode(t *testing.T) {
	cases := []struct {
		sets []string
		want string
	}{
		{nil, "ingest split balance augment train evaluate analyze report"},
		{[]string{"evaluate.model=runs/other"}, "ingest split evaluate analyze report"},
		{[]string{"evaluate.backend=predictions", "evaluate.predictions.path=p.csv"}, "ingest split evaluate analyze report"},
	}
	for _, tc := range cases {
		cfg, err := loadWith(t, tc.sets...)
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Join(Graph(cfg).Names(), " "); got != tc.want {
			t.Errorf("%v: graph %s, want %s", tc.sets, got, tc.want)
		}
	}
}

// Stages that do not depend on a key must not rerun when it changes:
// the run name in particular, so runs with different names share outputs.
func TestFingerprintSectionsExcludeTheRunName(t *testing.T) {
	a, _ := loadWith(t, "run.name=a")
	b, _ := loadWith(t, "run.name=b")
	for _, st := range Graph(a).Stages() {
		if a.Digest(st.Sections()...) != b.Digest(st.Sections()...) {
			t.Errorf("stage %s fingerprint depends on run.name", st.Name())
		}
	}
}

// Ingest depends on its own adapter's settings and the shared data keys,
// not on another adapter's settings (configs/utkface.yaml extends the
// synthetic pipeline.yaml) nor on the worker count (byte-identical output).
func TestIngestFingerprintFollowsOnlyItsAdapter(t *testing.T) {
	utk := func(sets ...string) string {
		t.Helper()
		cfg, err := pipeline.Load(repoFile(t, "configs/utkface.yaml"), Schema(), pipeline.LoadOptions{Sets: sets})
		if err != nil {
			t.Fatal(err)
		}
		return cfg.Digest(newIngestStage(cfg).Sections()...)
	}
	base := utk()
	tests := []struct {
		set     string
		changes bool
	}{
		{"data.synthetic.count=10", false},
		{"data.synthetic.group_age_shift={ethnicity: {group_c: 3}}", false},
		{"data.csv.path=other.csv", false},
		{"data.appa_real.target=real", false},
		{"data.workers=1", false},
		{"data.utkface.labels=filename", true},
		{"data.image_size=32", true},
		{"data.root=/elsewhere", true},
		{"data.allowed.gender=[female]", true},
		{"data.max_reject_fraction=0.5", true},
	}
	for _, tc := range tests {
		if got := utk(tc.set) != base; got != tc.changes {
			t.Errorf("--set %s: ingest fingerprint changed = %v, want %v", tc.set, got, tc.changes)
		}
	}
}
