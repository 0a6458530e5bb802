package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"time"

	"fairage/config"
	"fairage/internal/progress"
)

// Graph is the ordered list of stages; each stage's inputs come earlier.
// Omitted lists stages this config's graph leaves out, with why.
type Graph struct {
	stages  []Stage
	omitted []Omitted
}

// Omit records stages left out of the graph, for the log and manifest.
func (g *Graph) Omit(o ...Omitted) { g.omitted = append(g.omitted, o...) }

// Omitted lists the stages left out, with why.
func (g *Graph) Omitted() []Omitted { return g.omitted }

// NewGraph checks that names are unique and inputs refer to earlier stages.
func NewGraph(stages ...Stage) (*Graph, error) {
	seen := map[string]bool{}
	for _, s := range stages {
		if seen[s.Name()] {
			return nil, fmt.Errorf("stage graph: %q appears twice", s.Name())
		}
		for _, in := range s.Inputs() {
			if !seen[in] {
				return nil, fmt.Errorf("stage graph: %s reads %q, which is not an earlier stage", s.Name(), in)
			}
		}
		seen[s.Name()] = true
	}
	return &Graph{stages: stages}, nil
}

// Stages returns the stages in order.
func (g *Graph) Stages() []Stage { return g.stages }

// Names returns the stage names in order.
func (g *Graph) Names() []string {
	out := make([]string, len(g.stages))
	for i, s := range g.stages {
		out[i] = s.Name()
	}
	return out
}

func (g *Graph) index(name string) int {
	for i, s := range g.stages {
		if s.Name() == name {
			return i
		}
	}
	return -1
}

// RunOptions select what a run does.
type RunOptions struct {
	RunsDir string // folder of run folders and the shared cache ("runs")
	Name    string // run name; the run folder is RunsDir/Name
	Only    string // run just this stage (its inputs must already be built)
	From    string // rerun this stage and everything after it
	Until   string // stop after this stage
	Force   bool   // rerun every selected stage even when fresh
	Resume  bool   // let a stage continue an interrupted attempt (StageContext.Scratch)
	Log     io.Writer
	// Progress creates trackers; nil means progress.New on Log.
	Progress func(label, unit string, total int) progress.Tracker
	// Versions are extra component versions for the manifest (e.g. TensorFlow).
	Versions map[string]string
	Args     []string
	// Config is the resolved config as nested mappings, ConfigFile and
	// ConfigChain the files it came from, for the manifest; Seed is the
	// run seed it records.
	Config      map[string]any
	ConfigFile  string
	ConfigChain []string
	Seed        int
}

// Runner executes a graph. The stages carry their own settings.
type Runner struct {
	Graph *Graph
}

// RunDir is the folder of a run.
func (o RunOptions) RunDir() string { return filepath.Join(o.RunsDir, o.Name) }

func (o RunOptions) cache() cache { return cache{root: filepath.Join(o.RunsDir, cacheDirName)} }

// Run executes the selected stages, skipping those whose outputs are fresh,
// and returns the manifest (also written to the run folder).
func (r *Runner) Run(ctx context.Context, opts RunOptions) (*Manifest, error) {
	if opts.Log == nil {
		opts.Log = io.Discard
	}
	if opts.Progress == nil {
		log := opts.Log
		opts.Progress = func(label, unit string, total int) progress.Tracker { return progress.New(log, label, unit, total) }
	}
	if err := CheckRunName(opts.Name); err != nil {
		return nil, &UsageError{err}
	}
	if err := r.checkSelection(opts); err != nil {
		return nil, err
	}
	runDir := opts.RunDir()
	if err := os.MkdirAll(runDir, 0o755); err != nil {
		return nil, fmt.Errorf("run folder %s: %w", runDir, err)
	}
	lock, err := tryLock(filepath.Join(runDir, ".lock"), holderLabel(opts.Name))
	if err != nil {
		return nil, fmt.Errorf("run %s is busy: %w", opts.Name, err)
	}
	defer lock.unlock()
	if n, b, kept := opts.cache().sweepStale(holderLabel(opts.Name)); n > 0 || kept > 0 {
		msg := fmt.Sprintf("cache: removed %d folders (%.1f MB) left by interrupted runs", n, float64(b)/1e6)
		if kept > 0 {
			msg += fmt.Sprintf("; kept %d scratch folders of interrupted stages for --resume (removed once %s old)", kept, scratchMaxAge)
		}
		fmt.Fprintln(opts.Log, msg)
	}

	m := r.newManifest(opts)
	if err := m.write(runDir); err != nil {
		return nil, err
	}
	runErr := r.execute(ctx, opts, m)
	m.Finished = time.Now().UTC()
	switch {
	case runErr == nil:
		m.Status = RunCompleted
	case errors.Is(runErr, context.Canceled):
		m.Status = RunInterrupted
		m.Error = runErr.Error()
	default:
		m.Status = RunFailed
		m.Error = runErr.Error()
	}
	if err := m.write(runDir); err != nil && runErr == nil {
		runErr = err
	}
	return m, runErr
}

func (r *Runner) newManifest(opts RunOptions) *Manifest {
	host, _ := os.Hostname()
	versions := map[string]string{"go": runtime.Version()}
	if bi, ok := debug.ReadBuildInfo(); ok {
		versions["fairage"] = bi.Main.Version
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" {
				versions["fairage_revision"] = s.Value
			}
		}
	}
	for k, v := range opts.Versions {
		versions[k] = v
	}
	return &Manifest{
		Name: opts.Name, ConfigFile: opts.ConfigFile, ConfigChain: opts.ConfigChain,
		Config: opts.Config, Seed: opts.Seed, Status: RunRunning,
		Started: time.Now().UTC(), Host: host, Versions: versions, Args: opts.Args,
	}
}

// CheckRunName rejects run names that are not plain folder names or that
// the runs folder reserves (".cache" and every other dot name).
func CheckRunName(name string) error {
	switch {
	case name == "" || strings.ContainsAny(name, `/\`) || name == "." || name == "..":
		return fmt.Errorf("run.name: %q: expected a plain folder name", name)
	case strings.HasPrefix(name, "."):
		return fmt.Errorf("run.name: %q: names starting with a dot are reserved (the runs folder keeps its cache in %s)", name, cacheDirName)
	}
	return nil
}

// UsageError is a run request that cannot be carried out as given (a
// selection that runs nothing, a reserved run name); the command exits as
// for an invalid config.
type UsageError struct{ Err error }

func (e *UsageError) Error() string { return e.Err.Error() }
func (e *UsageError) Unwrap() error { return e.Err }

// checkSelection rejects unknown stages and selections that run nothing.
func (r *Runner) checkSelection(opts RunOptions) error {
	if err := r.selectionProblem(opts); err != nil {
		return &UsageError{err}
	}
	return nil
}

func (r *Runner) selectionProblem(opts RunOptions) error {
	for _, sel := range []struct{ flag, name string }{{"--only", opts.Only}, {"--from", opts.From}, {"--until", opts.Until}} {
		if sel.name == "" || r.Graph.index(sel.name) >= 0 {
			continue
		}
		for _, o := range r.Graph.omitted {
			if o.Name == sel.name {
				return fmt.Errorf("%s %s: this config has no %s stage (%s)", sel.flag, sel.name, sel.name, o.Reason)
			}
		}
		return fmt.Errorf("%s %s: unknown stage (stages: %s)", sel.flag, sel.name, strings.Join(r.Graph.Names(), ", "))
	}
	if opts.Only != "" && opts.From != "" {
		return errors.New("--only and --from cannot be combined")
	}
	if opts.Until != "" {
		until := r.Graph.index(opts.Until)
		if opts.From != "" && r.Graph.index(opts.From) > until {
			return fmt.Errorf("--from %s --until %s selects no stage: %s comes after %s", opts.From, opts.Until, opts.From, opts.Until)
		}
		if opts.Only != "" && r.Graph.index(opts.Only) > until {
			return fmt.Errorf("--only %s --until %s selects no stage: %s comes after %s", opts.Only, opts.Until, opts.Only, opts.Until)
		}
	}
	return nil
}

// selection says, for stage i, whether it runs (when stale or forced) and
// whether it is forced.
func (r *Runner) selection(i int, opts RunOptions) (selected, forced bool) {
	name := r.Graph.stages[i].Name()
	switch {
	case opts.Only != "":
		return name == opts.Only, opts.Force
	case opts.From != "":
		from := r.Graph.index(opts.From)
		return true, i >= from || opts.Force
	}
	return true, opts.Force
}

func (r *Runner) execute(ctx context.Context, opts RunOptions, m *Manifest) error {
	runDir := opts.RunDir()
	c := opts.cache()
	outputs := map[string]string{} // stage -> cache entry folder
	digests := map[string]string{} // stage -> output digest
	var verifyErrs []error
	for i, st := range r.Graph.stages {
		if err := ctx.Err(); err != nil {
			return err
		}
		selected, forced := r.selection(i, opts)
		always := false
		if u, ok := st.(Uncached); ok && u.Uncached() && selected {
			forced, always = true, true
		}
		if (opts.Only != "" && i > r.Graph.index(opts.Only)) || (opts.Until != "" && i > r.Graph.index(opts.Until)) {
			break
		}
		fp, err := r.fingerprintOf(ctx, st, digests)
		if err != nil {
			return err
		}
		sum := fp.sum()
		rec := StageRecord{Name: st.Name(), Fingerprint: sum, ConfigDigest: fp.ConfigDigest,
			Inputs: fp.Inputs, External: fp.External, Output: st.Name()}
		meta, cached := c.lookup(st.Name(), sum)
		reuse := !selected || (cached && !forced)
		changed := ""
		if reuse && cached {
			// Never use an output whose files are not those committed.
			if err := verifyEntry(ctx, c.entry(st.Name(), sum), meta); err != nil {
				var ce *CorruptError
				if !errors.As(err, &ce) {
					return err
				}
				changed = "stale: " + ce.Error()
				fmt.Fprintf(opts.Log, "%-9s %s; recomputing\n", st.Name(), changed)
				cached, reuse = false, false
			}
		}
		if reuse {
			if !cached {
				return fmt.Errorf("stage %s: its output is not built yet, and --only %s does not run it; run without --only (or with --from %s)", st.Name(), opts.Only, st.Name())
			}
			if err := r.reuse(&rec, meta, selected, opts); err != nil {
				return err
			}
		} else {
			rec.Reason = runReason(c, runDir, fp, sum, cached, forced)
			if changed != "" {
				rec.Reason = changed
			}
			if always {
				rec.Reason = "runs every time (its output describes this run)"
			}
			if err := r.compute(ctx, st, &rec, fp, outputs, opts, m, forced || changed != ""); err != nil {
				m.Stages = append(m.Stages, rec)
				return fmt.Errorf("stage %s: %w", st.Name(), err)
			}
		}
		outputs[st.Name()] = c.entry(st.Name(), sum)
		digests[st.Name()] = rec.OutputDigest
		if v, ok := st.(Verifier); ok {
			if err := v.Verify(ctx, outputs[st.Name()]); err != nil {
				rec.Check = err.Error()
				verifyErrs = append(verifyErrs, fmt.Errorf("stage %s: %w", st.Name(), err))
				fmt.Fprintf(opts.Log, "%-9s check failed: %v\n", st.Name(), err)
			}
		}
		m.Stages = append(m.Stages, rec)
		for _, o := range r.Graph.omitted {
			if o.After == st.Name() {
				fmt.Fprintf(opts.Log, "%-9s not run: %s\n", o.Name, o.Reason)
				m.Stages = append(m.Stages, StageRecord{Name: o.Name, Status: StageNotApplicable, Reason: o.Reason})
			}
		}
		if err := m.write(runDir); err != nil {
			return err
		}
	}
	return errors.Join(verifyErrs...)
}

// reuse links a fresh cached output into the run folder.
func (r *Runner) reuse(rec *StageRecord, meta *entryMeta, selected bool, opts RunOptions) error {
	rec.Status, rec.OutputDigest, rec.Stats, rec.ComputedS = StageSkipped, meta.OutputDigest, meta.Stats, meta.DurationS
	rec.Reason = skipReason(opts.RunDir(), rec.Name, rec.Fingerprint, selected)
	if err := link(opts.RunDir(), rec.Name, opts.cache().entry(rec.Name, rec.Fingerprint)); err != nil {
		return err
	}
	fmt.Fprintf(opts.Log, "%-9s skipped: %s\n", rec.Name, rec.Reason)
	return nil
}

// compute runs a stage into the cache and links its output into the run
// folder; on failure rec says why. When another run is computing the same
// output, compute waits for it and reuses its result unless recompute is
// set (a forced run, or an entry found changed).
func (r *Runner) compute(ctx context.Context, st Stage, rec *StageRecord, fp fingerprint, outputs map[string]string, opts RunOptions, m *Manifest, recompute bool) error {
	fmt.Fprintf(opts.Log, "%-9s running: %s\n", rec.Name, rec.Reason)
	res, err := r.runStage(ctx, st, rec.Fingerprint, fp, outputs, opts, m, recompute)
	if err != nil {
		rec.Status = StageFailed
		if errors.Is(err, context.Canceled) {
			rec.Status = StageInterrupted
		}
		rec.Reason = err.Error()
		rec.Stats = res.stats
		rec.DurationS = res.seconds
		return err
	}
	meta := res.meta
	if res.waitedFor != "" {
		rec.Status, rec.OutputDigest, rec.Stats, rec.ComputedS = StageSkipped, meta.OutputDigest, meta.Stats, meta.DurationS
		rec.Reason = "computed by another run (" + res.waitedFor + ") while this one waited; reusing its output " + rec.Fingerprint
		if err := link(opts.RunDir(), rec.Name, opts.cache().entry(rec.Name, rec.Fingerprint)); err != nil {
			return err
		}
		fmt.Fprintf(opts.Log, "%-9s skipped: %s\n", rec.Name, rec.Reason)
		return nil
	}
	rec.Status, rec.OutputDigest, rec.Stats, rec.DurationS = StageRan, meta.OutputDigest, meta.Stats, meta.DurationS
	if err := link(opts.RunDir(), rec.Name, opts.cache().entry(rec.Name, rec.Fingerprint)); err != nil {
		return err
	}
	fmt.Fprintf(opts.Log, "%-9s done in %s%s\n", rec.Name, time.Duration(meta.DurationS*float64(time.Second)).Round(time.Millisecond), statsText(meta.Stats))
	return nil
}

func statsText(s Stats) string {
	if s.RowsIn == 0 && s.RowsOut == 0 && s.Rejected == 0 {
		return ""
	}
	return fmt.Sprintf(" (rows in %d, out %d, rejected %d)", s.RowsIn, s.RowsOut, s.Rejected)
}

func (r *Runner) fingerprintOf(ctx context.Context, st Stage, digests map[string]string) (fingerprint, error) {
	fp := fingerprint{Stage: st.Name(), Version: st.Version(), ConfigDigest: config.DeclDigest(st.Settings()), Inputs: map[string]string{}}
	for _, in := range st.Inputs() {
		d, ok := digests[in]
		if !ok {
			return fp, fmt.Errorf("stage %s needs the output of %s, which is not available", st.Name(), in)
		}
		fp.Inputs[in] = d
	}
	if ext, ok := st.(ExternalInputs); ok {
		d, err := ext.InputDigest(ctx)
		if err != nil {
			return fp, fmt.Errorf("stage %s: %w", st.Name(), err)
		}
		fp.External = d
	}
	return fp, nil
}

// skipReason explains why a stage is not run.
func skipReason(runDir, stage, sum string, selected bool) string {
	if !selected {
		return "not selected; using its output " + sum
	}
	if linkedFingerprint(runDir, stage) == sum {
		return "up to date (fingerprint " + sum + ")"
	}
	return "output " + sum + " found in the cache (computed by an earlier run)"
}

// runReason explains why a stage runs, comparing with the output the run
// folder had before when there is one.
func runReason(c cache, runDir string, fp fingerprint, sum string, cached, forced bool) string {
	if forced && cached {
		return "forced (output was fresh)"
	}
	if forced {
		return "forced"
	}
	old := linkedFingerprint(runDir, fp.Stage)
	if old == "" {
		return "no output yet"
	}
	if prev, ok := c.lookup(fp.Stage, old); ok {
		return "stale: " + fp.explainChange(prev.Inputs)
	}
	return "stale: previous output " + old + " is gone from the cache"
}

// stageResult is what runStage produced: the committed entry's meta, or
// (waitedFor set) the entry another run committed while this one waited;
// on failure, the counts and time the stage reported.
type stageResult struct {
	meta      *entryMeta
	waitedFor string
	stats     Stats
	seconds   float64
}

func (r *Runner) runStage(ctx context.Context, st Stage, sum string, fp fingerprint, outputs map[string]string, opts RunOptions, m *Manifest, recompute bool) (stageResult, error) {
	c := opts.cache()
	holder := ""
	entryLock, err := waitLock(ctx, c.lockPath(st.Name(), sum), holderLabel(opts.Name), func(h string) {
		holder = h
		fmt.Fprintf(opts.Log, "%-9s waiting: another run (%s) is computing this output; it will be reused when done (lock %s)\n",
			st.Name(), h, c.lockPath(st.Name(), sum))
	})
	if err != nil {
		return stageResult{}, err
	}
	defer entryLock.unlock()
	if holder != "" && !recompute {
		if meta, ok := c.lookup(st.Name(), sum); ok {
			if err := verifyEntry(ctx, c.entry(st.Name(), sum), meta); err == nil {
				return stageResult{meta: meta, waitedFor: holder}, nil
			} else if ctx.Err() != nil {
				return stageResult{}, ctx.Err()
			}
		}
		fmt.Fprintf(opts.Log, "%-9s the other run left no usable output; computing it\n", st.Name())
	}
	c.sweepTemps(st.Name(), sum)
	tmp, err := c.newTemp(st.Name(), sum)
	if err != nil {
		return stageResult{}, err
	}
	committed := false
	defer func() {
		if !committed {
			os.RemoveAll(tmp)
		}
	}()
	inputs := map[string]string{}
	for _, in := range st.Inputs() {
		inputs[in] = outputs[in]
	}
	scratch := c.scratch(st.Name(), sum)
	if !opts.Resume {
		if err := os.RemoveAll(scratch); err != nil {
			return stageResult{}, fmt.Errorf("clear %s: %w", scratch, err)
		}
	}
	if err := os.MkdirAll(scratch, 0o755); err != nil {
		return stageResult{}, fmt.Errorf("scratch folder: %w", err)
	}
	sc := &StageContext{Inputs: inputs, OutDir: tmp, RunDir: opts.RunDir(),
		Log: opts.Log, Progress: opts.Progress, Manifest: m, Scratch: scratch, Resume: opts.Resume}
	start := time.Now()
	stats, err := runProtected(ctx, st, sc)
	if err != nil {
		return stageResult{stats: stats, seconds: time.Since(start).Seconds()}, err
	}
	if err := ctx.Err(); err != nil {
		return stageResult{stats: stats, seconds: time.Since(start).Seconds()}, err
	}
	digest, files, err := digestOutput(ctx, tmp)
	if err != nil {
		return stageResult{}, err
	}
	meta := entryMeta{Fingerprint: sum, Inputs: fp, OutputDigest: digest, Files: files, Stats: stats,
		DurationS: time.Since(start).Seconds(), Created: time.Now().UTC()}
	if err := c.commit(st.Name(), sum, tmp, meta); err != nil {
		return stageResult{}, err
	}
	committed = true
	os.RemoveAll(scratch)
	return stageResult{meta: &meta}, nil
}

// runProtected turns a panic inside a stage into an error with its stack, so
// one bad stage never kills the process without a manifest.
func runProtected(ctx context.Context, st Stage, sc *StageContext) (stats Stats, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("internal error (panic): %v\n%s", p, debug.Stack())
		}
	}()
	return st.Run(ctx, sc)
}
