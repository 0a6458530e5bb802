package stages

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"fairage/dataset"
	"fairage/internal/golden"
	"fairage/pipeline"
)

// outputVersions is testdata/output_versions.json: per stage, its code
// version and the digest of what it writes on a tiny synthetic run.
type outputVersions struct {
	// CPU names the processor the TensorFlow stages' digests were taken
	// on: float kernels may differ in their last bits on another one, so
	// there only the pure-Go stages are compared.
	CPU    string                 `json:"cpu"`
	Stages map[string]stageDigest `json:"stages"`
}

type stageDigest struct {
	Version string `json:"version"`
	Digest  string `json:"digest"`
}

// tfStages compute with TensorFlow (or on its output).
var tfStages = []string{stageTrain, stageEvaluate, stageAnalyze}

// A stage whose output changes must say so with a new version, or cached
// outputs of the old code would be reused as if they were the new code's.
// This runs every stage on a tiny synthetic config and compares each
// output's digest with the one recorded for its version.
func TestOutputChangesComeWithAVersion(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a tiny network; skipped with -short")
	}
	// TensorFlow keeps process-wide state sized by the first session (its
	// CPU thread pools), which another test may have created with other
	// thread counts; the digests are taken in a fresh process.
	out := os.Getenv("FAIRAGE_VERSIONS_OUT")
	if out == "" {
		out = filepath.Join(t.TempDir(), "digests.json")
		cmd := exec.Command(os.Args[0], "-test.run=^TestOutputChangesComeWithAVersion$", "-test.count=1")
		cmd.Env = append(os.Environ(), "FAIRAGE_VERSIONS_OUT="+out)
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("digest run: %v\n%s", err, b)
		}
		compareVersions(t, out)
		return
	}
	sets := []string{"data.synthetic.count=120", "data.image_size=16", "model.width_multiplier=0.125", "model.head=[8]",
		"train.strategy=all_layers", "train.epochs=1", "train.batch_size=16", "train.threads.intra_op=1", "train.threads.inter_op=1",
		"evaluate.threads.intra_op=1", "evaluate.threads.inter_op=1",
		"balance.strategy=oversample", "analysis.bootstrap.resamples=20", "analysis.permutation.resamples=20"}
	cfg, err := loadWith(t, sets...)
	if err != nil {
		t.Fatal(err)
	}
	runs := t.TempDir()
	opts := cfg.RunOptions()
	opts.RunsDir, opts.Log = runs, io.Discard
	m, err := (&pipeline.Runner{Graph: Graph(cfg.Config)}).Run(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	got := outputVersions{CPU: cpuModel(), Stages: map[string]stageDigest{}}
	for _, st := range m.Stages {
		if st.Name == stageReport {
			continue // shows this run's timings; its content is checked by the reports' golden files
		}
		d, err := stableDigest(filepath.Join(runs, m.Name, st.Name))
		if err != nil {
			t.Fatal(err)
		}
		got.Stages[st.Name] = stageDigest{Version: versionOf(t, cfg.Config, st.Name), Digest: d}
	}
	// The audit graph's own stage, on a table without images.
	acfg, err := loadWith(t, auditSets(t)...)
	if err != nil {
		t.Fatal(err)
	}
	aopts := acfg.RunOptions()
	aopts.RunsDir, aopts.Log, aopts.Until = runs, io.Discard, stageLoad
	am, err := (&pipeline.Runner{Graph: Graph(acfg.Config)}).Run(context.Background(), aopts)
	if err != nil {
		t.Fatal(err)
	}
	d, err := stableDigest(filepath.Join(runs, am.Name, stageLoad))
	if err != nil {
		t.Fatal(err)
	}
	got.Stages[stageLoad] = stageDigest{Version: versionOf(t, acfg.Config, stageLoad), Digest: d}
	b, err := json.MarshalIndent(got, "", "  ")
	if err == nil {
		err = os.WriteFile(out, append(b, '\n'), 0o644)
	}
	if err != nil {
		t.Fatal(err)
	}
}

// compareVersions checks the digests a fresh process wrote to out against
// testdata/output_versions.json (rewriting it first with -update).
func compareVersions(t *testing.T, out string) {
	var got outputVersions
	b, err := os.ReadFile(out)
	if err == nil {
		err = json.Unmarshal(b, &got)
	}
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("testdata", "output_versions.json")
	if golden.Updating() {
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var want outputVersions
	b, err = os.ReadFile(path)
	if err == nil {
		err = json.Unmarshal(b, &want)
	}
	if err != nil {
		t.Fatalf("%s: %v (rerun with -update to create it)", path, err)
	}
	for _, name := range slices.Sorted(func(yield func(string) bool) {
		for k := range got.Stages {
			if !yield(k) {
				return
			}
		}
	}) {
		g, w := got.Stages[name], want.Stages[name]
		if slices.Contains(tfStages, name) && got.CPU != want.CPU {
			t.Logf("%s: not compared on %q (digests were taken on %q)", name, got.CPU, want.CPU)
			continue
		}
		switch {
		case g.Version == w.Version && g.Digest != w.Digest:
			t.Errorf("stage %s writes different output at the same version %s: bump its version (so cached outputs of the old code are not reused) and rerun with -update", name, g.Version)
		case g.Version != w.Version:
			t.Errorf("stage %s is at version %s, the recorded digest is of version %s: rerun with -update", name, g.Version, w.Version)
		}
	}
}

func versionOf(t *testing.T, cfg *Config, name string) string {
	for _, st := range Graph(cfg).Stages() {
		if st.Name() == name {
			return st.Version()
		}
	}
	t.Fatalf("no stage %s", name)
	return ""
}

// stableDigest hashes a stage output folder, leaving out what varies from
// run to run by design: the training history's wall times.
func stableDigest(link string) (string, error) {
	dir, err := filepath.EvalSymlinks(link) // the run folder links into the cache
	if err != nil {
		return "", err
	}
	h := sha256.New()
	var files []string
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() && !strings.HasPrefix(d.Name(), ".fairage") {
			files = append(files, p)
		}
		return err
	})
	if err != nil {
		return "", err
	}
	sort.Strings(files)
	if len(files) == 0 {
		return "", fmt.Errorf("%s holds no output", link)
	}
	for _, p := range files {
		rel, _ := filepath.Rel(dir, p)
		fmt.Fprintf(h, "%s\x00", filepath.ToSlash(rel))
		if filepath.Base(p) == historyFile {
			hist, err := dataset.ReadHistory(p)
			if err != nil {
				return "", err
			}
			for _, r := range hist {
				r.Seconds, r.ImagesPerSec = 0, 0
				fmt.Fprintf(h, "%+v\n", r)
			}
			continue
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return "", err
		}
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil))[:24], nil
}

// cpuModel reads the processor's model name (Linux).
func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return "unknown"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}
