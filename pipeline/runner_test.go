package pipeline

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"fairage/config"
)

// textStage is a real stage for runner tests: it reads its input stage's
// out.txt, appends its config value, and writes out.txt. It counts runs.
type textStage struct {
	name, section, input string
	runs                 *atomic.Int32
	block                chan struct{} // when set, Run waits for ctx or this
	started              chan struct{} // closed when a blocking Run starts waiting
	value                string        // its section's value, set by configure
	decls                []config.Decl
}

func (s *textStage) Name() string            { return s.name }
func (s *textStage) Version() string         { return "1" }
func (s *textStage) Settings() []config.Decl { return s.decls }
func (s *textStage) Inputs() []string {
	if s.input == "" {
		return nil
	}
	return []string{s.input}
}

func (s *textStage) Run(ctx context.Context, sc *StageContext) (Stats, error) {
	s.runs.Add(1)
	prev := ""
	if s.input != "" {
		b, err := os.ReadFile(filepath.Join(sc.Inputs[s.input], "out.txt"))
		if err != nil {
			return Stats{}, err
		}
		prev = string(b)
	}
	// Write part of the output first, so an interruption would leave half
	// an artifact if the runner did not protect it.
	if err := os.WriteFile(filepath.Join(sc.OutDir, "out.txt"), []byte(prev+"partial"), 0o644); err != nil {
		return Stats{}, err
	}
	if s.block != nil {
		close(s.started)
		select {
		case <-ctx.Done():
			return Stats{}, ctx.Err()
		case <-s.block:
		}
	}
	out := fmt.Sprintf("%s%s=%s\n", prev, s.name, s.value)
	return Stats{RowsIn: 1, RowsOut: 1}, os.WriteFile(filepath.Join(sc.OutDir, "out.txt"), []byte(out), 0o644)
}

// testConfig is the runner tests' config: one value per stage section.
type testConfig struct {
	A valueSection `yaml:"a"`
	B valueSection `yaml:"b"`
	C valueSection `yaml:"c"`
}

type valueSection struct {
	Value string `yaml:"value" doc:"the stage's value"`
}

func loadTest(t *testing.T, path string, sets ...string) *testConfig {
	t.Helper()
	cfg := &testConfig{A: valueSection{"x"}, B: valueSection{"y"}, C: valueSection{"z"}}
	if _, err := config.Load(path, cfg, config.Options{Sets: sets}); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// configure hands each stage its section's value and declaration.
func configure(t *testing.T, cfg *testConfig, stages ...*textStage) {
	t.Helper()
	sections := map[string]*valueSection{"a": &cfg.A, "b": &cfg.B, "c": &cfg.C}
	for _, st := range stages {
		sec := sections[st.section]
		decls, err := config.Declare(cfg, sec)
		if err != nil {
			t.Fatal(err)
		}
		st.value, st.decls = sec.Value, decls
	}
}

type fixture struct {
	t            *testing.T
	dir, cfgPath string
	runsA, runsB *atomic.Int32
	runsC        *atomic.Int32
	a, b, c      *textStage
	graph        *Graph
}

func newFixture(t *testing.T) *fixture {
	f := &fixture{t: t, dir: t.TempDir(), runsA: new(atomic.Int32), runsB: new(atomic.Int32), runsC: new(atomic.Int32)}
	f.a = &textStage{name: "a", section: "a", runs: f.runsA}
	f.b = &textStage{name: "b", section: "b", input: "a", runs: f.runsB}
	f.c = &textStage{name: "c", section: "c", input: "b", runs: f.runsC}
	g, err := NewGraph(f.a, f.b, f.c)
	if err != nil {
		t.Fatal(err)
	}
	f.graph = g
	f.cfgPath = filepath.Join(f.dir, "cfg.yaml")
	f.writeConfig("a: {value: one}\nb: {value: two}\nc: {value: three}\n")
	return f
}

func (f *fixture) writeConfig(text string) {
	if err := os.WriteFile(f.cfgPath, []byte(text), 0o644); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) run(ctx context.Context, opts RunOptions, sets ...string) (*Manifest, error) {
	configure(f.t, loadTest(f.t, f.cfgPath, sets...), f.a, f.b, f.c)
	if opts.RunsDir == "" {
		opts.RunsDir = filepath.Join(f.dir, "runs")
	}
	if opts.Name == "" {
		opts.Name = "r1"
	}
	r := &Runner{Graph: f.graph}
	return r.Run(ctx, opts)
}

func (f *fixture) counts() [3]int32 {
	return [3]int32{f.runsA.Load(), f.runsB.Load(), f.runsC.Load()}
}

func statuses(m *Manifest) string {
	var parts []string
	for _, s := range m.Stages {
		parts = append(parts, s.Name+":"+string(s.Status))
	}
	return strings.Join(parts, " ")
}

func TestSecondRunSkipsEveryStage(t *testing.T) {
	f := newFixture(t)
	if _, err := f.run(context.Background(), RunOptions{}); err != nil {
		t.Fatal(err)
	}
	m, err := f.run(context.Background(), RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := statuses(m); got != "a:skipped b:skipped c:skipped" {
		t.Fatalf("second run: %s", got)
	}
	if f.counts() != [3]int32{1, 1, 1} {
		t.Fatalf("stages ran %v times, want once each", f.counts())
	}
	// A reused stage keeps how long it took when computed, apart from
	// this run's own (zero) duration.
	for _, s := range m.Stages {
		if s.DurationS != 0 || s.ComputedS <= 0 {
			t.Errorf("stage %s reused: duration %g, computed in %g; want 0 and > 0", s.Name, s.DurationS, s.ComputedS)
		}
	}
	out, err := os.ReadFile(filepath.Join(f.dir, "runs", "r1", "c", "out.txt"))
	if err != nil || string(out) != "a=one\nb=two\nc=three\n" {
		t.Fatalf("run folder output = %q, %v", out, err)
	}
	disk, err := ReadManifest(filepath.Join(f.dir, "runs", "r1"))
	if err != nil || disk.Status != RunCompleted || len(disk.Stages) != 3 {
		t.Fatalf("manifest on disk: %+v, %v", disk, err)
	}
	if !strings.Contains(disk.Stages[0].Reason, "up to date") {
		t.Errorf("skip reason %q does not say why", disk.Stages[0].Reason)
	}
}

func TestChangingAStageConfigRerunsItAndDownstreamOnly(t *testing.T) {
	f := newFixture(t)
	if _, err := f.run(context.Background(), RunOptions{}); err != nil {
		t.Fatal(err)
	}
	m, err := f.run(context.Background(), RunOptions{}, "b.value=changed")
	if err != nil {
		t.Fatal(err)
	}
	if got := statuses(m); got != "a:skipped b:ran c:ran" {
		t.Fatalf("after changing b: %s", got)
	}
	if f.counts() != [3]int32{1, 2, 2} {
		t.Fatalf("run counts %v", f.counts())
	}
	if !strings.Contains(m.Stages[1].Reason, "config changed") {
		t.Errorf("b reason %q should say the config changed", m.Stages[1].Reason)
	}
	if !strings.Contains(m.Stages[2].Reason, "output of b changed") {
		t.Errorf("c reason %q should name the upstream change", m.Stages[2].Reason)
	}
}

func TestInterruptedStageLeavesNoOutput(t *testing.T) {
	f := newFixture(t)
	f.b.block, f.b.started = make(chan struct{}), make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	// Cancel once b has started writing.
	go func() {
		<-f.b.started
		cancel()
	}()
	m, err := f.run(ctx, RunOptions{})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("want context.Canceled, got %v", err)
	}
	if m.Status != RunInterrupted || statuses(m) != "a:ran b:interrupted" {
		t.Fatalf("manifest %s / %s", m.Status, statuses(m))
	}
	if _, err := os.Lstat(filepath.Join(f.dir, "runs", "r1", "b")); !os.IsNotExist(err) {
		t.Errorf("run folder has a b output after interruption: %v", err)
	}
	entries, _ := os.ReadDir(filepath.Join(f.dir, "runs", cacheDirName, "b"))
	for _, e := range entries {
		// Only the scratch folder (kept for --resume, not an output) may stay.
		if e.IsDir() && !strings.HasPrefix(e.Name(), ".scratch-") {
			t.Errorf("cache holds %s after interruption", e.Name())
		}
	}
	// A rerun completes, reusing a and running b and c.
	f.b.block = nil
	m, err = f.run(context.Background(), RunOptions{})
	if err != nil || statuses(m) != "a:skipped b:ran c:ran" {
		t.Fatalf("rerun: %s, %v", statuses(m), err)
	}
}

func TestRunsSharingAStageComputeItOnce(t *testing.T) {
	f := newFixture(t)
	if _, err := f.run(context.Background(), RunOptions{Name: "first"}); err != nil {
		t.Fatal(err)
	}
	m, err := f.run(context.Background(), RunOptions{Name: "second"}, "c.value=other")
	if err != nil {
		t.Fatal(err)
	}
	if got := statuses(m); got != "a:skipped b:skipped c:ran" {
		t.Fatalf("second run: %s", got)
	}
	if f.runsA.Load() != 1 {
		t.Fatalf("a computed %d times across two runs", f.runsA.Load())
	}
	if !strings.Contains(m.Stages[0].Reason, "cache") {
		t.Errorf("reason %q should say the output came from the cache", m.Stages[0].Reason)
	}
}

func TestOnlyFromAndForce(t *testing.T) {
	f := newFixture(t)
	if _, err := f.run(context.Background(), RunOptions{Only: "b"}); err == nil || !strings.Contains(err.Error(), "not built yet") {
		t.Fatalf("--only b before a exists: %v", err)
	}
	if _, err := f.run(context.Background(), RunOptions{}); err != nil {
		t.Fatal(err)
	}
	m, err := f.run(context.Background(), RunOptions{Only: "b", Force: true})
	if err != nil || statuses(m) != "a:skipped b:ran" {
		t.Fatalf("--only b --force: %s, %v", statuses(m), err)
	}
	m, err = f.run(context.Background(), RunOptions{From: "b"})
	if err != nil || statuses(m) != "a:skipped b:ran c:ran" {
		t.Fatalf("--from b: %s, %v", statuses(m), err)
	}
	m, err = f.run(context.Background(), RunOptions{Until: "b", Force: true})
	if err != nil || statuses(m) != "a:ran b:ran" {
		t.Fatalf("--until b --force: %s, %v", statuses(m), err)
	}
	m, err = f.run(context.Background(), RunOptions{Force: true})
	if err != nil || statuses(m) != "a:ran b:ran c:ran" {
		t.Fatalf("--force: %s, %v", statuses(m), err)
	}
	if _, err := f.run(context.Background(), RunOptions{Only: "nope"}); err == nil || !strings.Contains(err.Error(), "unknown stage") {
		t.Fatalf("unknown stage: %v", err)
	}
}

func TestSecondRunOnSameFolderIsRefusedWhileFirstHoldsTheLock(t *testing.T) {
	f := newFixture(t)
	f.a.block, f.a.started = make(chan struct{}), make(chan struct{})
	done := make(chan error)
	go func() {
		_, err := f.run(context.Background(), RunOptions{})
		done <- err
	}()
	<-f.a.started
	r := &Runner{Graph: f.graph}
	_, err := r.Run(context.Background(), RunOptions{RunsDir: filepath.Join(f.dir, "runs"), Name: "r1"})
	if err == nil || !strings.Contains(err.Error(), "busy") {
		t.Fatalf("concurrent run on the same folder: %v", err)
	}
	close(f.a.block)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestStatusExplainsFreshStaleMissing(t *testing.T) {
	f := newFixture(t)
	opts := RunOptions{RunsDir: filepath.Join(f.dir, "runs"), Name: "r1"}
	load := func(sets ...string) *Runner {
		configure(t, loadTest(t, f.cfgPath, sets...), f.a, f.b, f.c)
		return &Runner{Graph: f.graph}
	}
	st, err := load().Status(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if st[0].State != Missing || st[2].State != Missing {
		t.Fatalf("before any run: %+v", st)
	}
	if _, err := load().Run(context.Background(), opts); err != nil {
		t.Fatal(err)
	}
	st, _ = load().Status(context.Background(), opts)
	for _, s := range st {
		if s.State != Fresh {
			t.Fatalf("after a run %s is %s", s.Name, s.State)
		}
	}
	st, _ = load("b.value=new").Status(context.Background(), opts)
	if st[0].State != Fresh || st[1].State != Stale || !strings.Contains(st[1].Reason, "config changed") || st[2].State != Missing {
		t.Fatalf("after changing b: %+v", st)
	}
	if f.counts() != [3]int32{1, 1, 1} {
		t.Fatalf("status ran stages: %v", f.counts())
	}
}

func TestStagePanicBecomesAnError(t *testing.T) {
	g, _ := NewGraph(panicStage{})
	dir := t.TempDir()
	m, err := (&Runner{Graph: g}).Run(context.Background(), RunOptions{RunsDir: dir, Name: "p"})
	if err == nil || !strings.Contains(err.Error(), "panic") || m.Status != RunFailed {
		t.Fatalf("panic: %v, %+v", err, m)
	}
}

type panicStage struct{}

func (panicStage) Name() string            { return "boom" }
func (panicStage) Version() string         { return "1" }
func (panicStage) Settings() []config.Decl { return nil }
func (panicStage) Inputs() []string        { return nil }
func (panicStage) Run(context.Context, *StageContext) (Stats, error) {
	var m map[string]int
	m["x"] = 1
	return Stats{}, nil
}

func TestGraphRejectsBadWiring(t *testing.T) {
	r := new(atomic.Int32)
	if _, err := NewGraph(&textStage{name: "b", input: "a", runs: r}); err == nil {
		t.Error("input from a later/unknown stage accepted")
	}
	if _, err := NewGraph(&textStage{name: "a", runs: r}, &textStage{name: "a", runs: r}); err == nil {
		t.Error("duplicate stage accepted")
	}
}

func writeFile(t *testing.T, dir, name, text string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// gateStage fails its check when its config value is "fail".
type gateStage struct{ textStage }

func (g *gateStage) Verify(_ context.Context, outDir string) error {
	if _, err := os.Stat(filepath.Join(outDir, "out.txt")); err != nil {
		return err
	}
	if g.value == "fail" {
		return errors.New("gate failed")
	}
	return nil
}

type alwaysStage struct{ textStage }

func (alwaysStage) Uncached() bool { return true }

func TestVerifierFailsTheRunButLaterStagesStillRunAndSkipsRecheck(t *testing.T) {
	dir := t.TempDir()
	runs := [3]*atomic.Int32{new(atomic.Int32), new(atomic.Int32), new(atomic.Int32)}
	a := &textStage{name: "a", section: "a", runs: runs[0]}
	b := &gateStage{textStage{name: "b", section: "b", input: "a", runs: runs[1]}}
	c := &alwaysStage{textStage{name: "c", section: "c", input: "b", runs: runs[2]}}
	g, err := NewGraph(a, b, c)
	if err != nil {
		t.Fatal(err)
	}
	cfgPath := writeFile(t, dir, "c.yaml", "b: {value: fail}\n")
	for i := 0; i < 2; i++ {
		configure(t, loadTest(t, cfgPath), a, &b.textStage, &c.textStage)
		m, err := (&Runner{Graph: g}).Run(context.Background(), RunOptions{RunsDir: dir, Name: "g"})
		if err == nil || !strings.Contains(err.Error(), "gate failed") {
			t.Fatalf("run %d: want the gate error, got %v", i, err)
		}
		if m.Status != RunFailed || m.Stages[1].Check == "" || len(m.Stages) != 3 {
			t.Fatalf("run %d manifest: %s %s", i, m.Status, statuses(m))
		}
	}
	if runs[1].Load() != 1 {
		t.Errorf("gated stage ran %d times; its fresh output should be reused and re-checked", runs[1].Load())
	}
	if runs[2].Load() != 2 {
		t.Errorf("uncached stage ran %d times, want every run", runs[2].Load())
	}
}

// resumableStage counts, in its scratch folder, how many attempts it has
// made, and fails on the first.
type resumableStage struct{ textStage }

func (r *resumableStage) Run(ctx context.Context, sc *StageContext) (Stats, error) {
	marker := filepath.Join(sc.Scratch, "attempts")
	b, _ := os.ReadFile(marker)
	n := len(b) + 1
	if err := os.WriteFile(marker, []byte(strings.Repeat("x", n)), 0o644); err != nil {
		return Stats{}, err
	}
	if n == 1 {
		return Stats{}, errors.New("first attempt fails")
	}
	return Stats{}, os.WriteFile(filepath.Join(sc.OutDir, "out.txt"), []byte(fmt.Sprint(n)), 0o644)
}

func TestScratchSurvivesAFailedAttemptOnlyWithResume(t *testing.T) {
	for _, resume := range []bool{false, true} {
		dir := t.TempDir()
		st := &resumableStage{textStage{name: "a", section: "a", runs: new(atomic.Int32)}}
		configure(t, loadTest(t, writeFile(t, dir, "c.yaml", "a: {value: v}\n")), &st.textStage)
		g, _ := NewGraph(st)
		r := &Runner{Graph: g}
		if _, err := r.Run(context.Background(), RunOptions{RunsDir: dir, Name: "x"}); err == nil {
			t.Fatal("first attempt should fail")
		}
		if _, err := r.Run(context.Background(), RunOptions{RunsDir: dir, Name: "x", Resume: resume}); resume == (err != nil) {
			t.Fatalf("resume=%v: second attempt err = %v", resume, err)
		}
		if resume {
			out, _ := os.ReadFile(filepath.Join(dir, "x", "a", "out.txt"))
			if string(out) != "2" {
				t.Errorf("resumed attempt saw %q attempts, want 2", out)
			}
			if m, _ := filepath.Glob(filepath.Join(dir, cacheDirName, "a", ".scratch-*")); len(m) != 0 {
				t.Errorf("scratch kept after commit: %v", m)
			}
		}
	}
}

// Selections that run nothing, and reserved run names, are errors.
func TestSelectionAndRunNameErrors(t *testing.T) {
	f := newFixture(t)
	cases := []struct {
		opts RunOptions
		want string
	}{
		{RunOptions{From: "c", Until: "a"}, "--from c --until a selects no stage"},
		{RunOptions{Only: "c", Until: "b"}, "--only c --until b selects no stage"},
		{RunOptions{Only: "a", From: "b"}, "cannot be combined"},
		{RunOptions{Name: ".cache"}, "reserved"},
		{RunOptions{Name: "a/b"}, "plain folder name"},
	}
	for _, tc := range cases {
		if _, err := f.run(context.Background(), tc.opts); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: got %v, want %q", tc.opts, err, tc.want)
		}
	}
	if f.counts() != [3]int32{} {
		t.Errorf("a refused selection ran stages: %v", f.counts())
	}
}

// An omitted stage is recorded where it would have run, not run.
func TestOmittedStagesAreRecorded(t *testing.T) {
	f := newFixture(t)
	f.graph.Omit(Omitted{Name: "train", Reason: "nothing to train for kind onnx", After: "a"})
	m, err := f.run(context.Background(), RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := statuses(m); got != "a:ran train:not_applicable b:ran c:ran" {
		t.Fatalf("statuses %s", got)
	}
	if _, err := f.run(context.Background(), RunOptions{Only: "train"}); err == nil || !strings.Contains(err.Error(), "nothing to train") {
		t.Fatalf("--only an omitted stage: %v", err)
	}
}
