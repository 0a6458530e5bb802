package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// entryOf is the cache entry the run folder's stage links to.
func entryOf(t *testing.T, runDir, stage string) string {
	t.Helper()
	target, err := os.Readlink(filepath.Join(runDir, stage))
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(runDir, target)
}

func TestChangedCachedOutputIsRecomputedNeverUsed(t *testing.T) {
	for _, c := range []struct {
		name, want string
		damage     func(path string) error
	}{
		{"overwritten", "content changed", func(p string) error {
			f, err := os.OpenFile(p, os.O_WRONLY, 0)
			if err != nil {
				return err
			}
			defer f.Close()
			_, err = f.WriteAt([]byte("XX"), 0) // same size, other bytes
			return err
		}},
		{"truncated", "bytes", func(p string) error { return os.Truncate(p, 3) }},
		{"removed", "missing", os.Remove},
		{"replaced by a FIFO", "missing", func(p string) error {
			os.Remove(p)
			return syscall.Mkfifo(p, 0o644)
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t)
			opts := RunOptions{RunsDir: filepath.Join(f.dir, "runs"), Name: "r1"}
			if _, err := f.run(context.Background(), opts); err != nil {
				t.Fatal(err)
			}
			runDir := opts.RunDir()
			if err := c.damage(filepath.Join(entryOf(t, runDir, "b"), "out.txt")); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			st, err := (&Runner{Graph: f.graph}).Status(ctx, opts)
			if err != nil {
				t.Fatal(err)
			}
			if st[0].State != Fresh || st[1].State != Stale || !strings.Contains(st[1].Reason, "cached output changed") ||
				!strings.Contains(st[1].Reason, "out.txt") || !strings.Contains(st[1].Reason, c.want) {
				t.Fatalf("status after the output changed: %+v", st)
			}
			checks, err := VerifyRun(ctx, runDir)
			if err != nil {
				t.Fatal(err)
			}
			bad := 0
			for _, chk := range checks {
				if len(chk.Problems) > 0 {
					bad++
					if chk.Stage != "b" || chk.Problems[0].Path != "out.txt" {
						t.Errorf("verify: %+v", chk)
					}
				}
			}
			if bad != 1 {
				t.Errorf("verify found %d bad stages, want 1: %+v", bad, checks)
			}
			var log bytes.Buffer
			opts.Log = &log
			m, err := f.run(ctx, opts)
			if err != nil {
				t.Fatal(err)
			}
			if got := statuses(m); got != "a:skipped b:ran c:skipped" {
				t.Fatalf("rerun: %s\n%s", got, log.String())
			}
			if !strings.Contains(m.Stages[1].Reason, "stale: cached output changed") {
				t.Errorf("reason %q", m.Stages[1].Reason)
			}
			out, err := os.ReadFile(filepath.Join(runDir, "c", "out.txt"))
			if err != nil || string(out) != "a=one\nb=two\nc=three\n" {
				t.Fatalf("output after the rerun: %q, %v", out, err)
			}
			if checks, _ := VerifyRun(ctx, runDir); len(checks) != 3 || len(checks[1].Problems) != 0 {
				t.Errorf("after the rerun: %+v", checks)
			}
		})
	}
}

// Entries written before per-file digests are checked against their
// output digest.
func TestOldEntryIsCheckedByItsOutputDigest(t *testing.T) {
	f := newFixture(t)
	opts := RunOptions{RunsDir: filepath.Join(f.dir, "runs"), Name: "r1"}
	if _, err := f.run(context.Background(), opts); err != nil {
		t.Fatal(err)
	}
	entry := entryOf(t, opts.RunDir(), "a")
	metaPath := filepath.Join(entry, metaFile)
	var raw map[string]any
	b, _ := os.ReadFile(metaPath)
	json.Unmarshal(b, &raw)
	delete(raw, "files")
	b, _ = json.Marshal(raw)
	os.WriteFile(metaPath, b, 0o644)
	st, _ := (&Runner{Graph: f.graph}).Status(context.Background(), opts)
	if st[0].State != Fresh {
		t.Fatalf("an intact old entry: %+v", st[0])
	}
	os.WriteFile(filepath.Join(entry, "out.txt"), []byte("a=edited\n"), 0o644)
	st, _ = (&Runner{Graph: f.graph}).Status(context.Background(), opts)
	if st[0].State != Stale || !strings.Contains(st[0].Reason, "output digest") {
		t.Fatalf("an edited old entry: %+v", st[0])
	}
}

func TestSweepRemovesWhatKilledRunsLeft(t *testing.T) {
	f := newFixture(t)
	opts := RunOptions{RunsDir: filepath.Join(f.dir, "runs"), Name: "r1"}
	if _, err := f.run(context.Background(), opts); err != nil {
		t.Fatal(err)
	}
	stageDir := filepath.Join(opts.RunsDir, cacheDirName, "a")
	fp := filepath.Base(entryOf(t, opts.RunDir(), "a"))
	mk := func(name string, age time.Duration) string {
		p := filepath.Join(stageDir, name)
		os.MkdirAll(p, 0o755)
		os.WriteFile(filepath.Join(p, "x"), make([]byte, 1000), 0o644)
		old := time.Now().Add(-age)
		os.Chtimes(p, old, old)
		return p
	}
	tmp := mk(".tmp-"+fp+"-123", 0)
	committedScratch := mk(".scratch-"+fp, 0)
	oldScratch := mk(".scratch-aaaaaaaaaaaaaaaaaaaaaaaa", 8*24*time.Hour)
	young := mk(".scratch-bbbbbbbbbbbbbbbbbbbbbbbb", time.Hour)
	held := mk(".tmp-cccccccccccccccccccccccc-1", 0)
	l, err := tryLock(filepath.Join(stageDir, ".cccccccccccccccccccccccc.lock"), "pid 1, run other")
	if err != nil {
		t.Fatal(err)
	}
	defer l.unlock()
	var log bytes.Buffer
	opts.Log = &log
	if _, err := f.run(context.Background(), opts); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		path string
		gone bool
	}{{tmp, true}, {committedScratch, true}, {oldScratch, true}, {young, false}, {held, false}} {
		_, err := os.Stat(c.path)
		if gone := os.IsNotExist(err); gone != c.gone {
			t.Errorf("%s: removed %v, want %v", filepath.Base(c.path), gone, c.gone)
		}
	}
	if !strings.Contains(log.String(), "removed 3 folders") || !strings.Contains(log.String(), "kept 1 scratch") {
		t.Errorf("log: %s", log.String())
	}
}

// holdStage is stage a of the fixture that, in a helper process, announces
// it started and then waits for a release file before writing its output.
type holdStage struct {
	*textStage
	started, release string
}

func (s *holdStage) Run(ctx context.Context, sc *StageContext) (Stats, error) {
	os.WriteFile(s.started, []byte(strconv.Itoa(os.Getpid())), 0o644)
	for {
		if _, err := os.Stat(s.release); err == nil {
			break
		}
		select {
		case <-ctx.Done():
			return Stats{}, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
	return s.textStage.Run(ctx, sc)
}

const helperEnv = "FAIRAGE_PIPELINE_TEST_HELPER"

// TestMain lets the test binary act as a second run in its own process.
func TestMain(m *testing.M) {
	if dir := os.Getenv(helperEnv); dir != "" {
		os.Exit(helperRun(dir))
	}
	os.Exit(m.Run())
}

func helperRun(dir string) int {
	t := &testing.T{}
	f := &fixture{t: t, dir: dir, cfgPath: filepath.Join(dir, "cfg.yaml"), runsA: new(atomic.Int32), runsB: new(atomic.Int32), runsC: new(atomic.Int32)}
	a := &textStage{name: "a", section: "a", runs: f.runsA}
	f.a = a
	f.b = &textStage{name: "b", section: "b", input: "a", runs: f.runsB}
	f.c = &textStage{name: "c", section: "c", input: "b", runs: f.runsC}
	hold := &holdStage{textStage: a, started: filepath.Join(dir, "started"), release: filepath.Join(dir, "release")}
	g, err := NewGraph(hold, f.b, f.c)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	f.graph = g
	if _, err := f.run(context.Background(), RunOptions{Name: "first"}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// A second run needing a stage that another process is computing says it
// waits for that run's lock, then reuses its output.
func TestSecondRunWaitsForTheOtherRunAndReusesItsOutput(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a second process; skipped with -short")
	}
	f := newFixture(t)
	child := exec.Command(os.Args[0], "-test.run=^$")
	child.Env = append(os.Environ(), helperEnv+"="+f.dir)
	var childErr bytes.Buffer
	child.Stderr = &childErr
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	defer child.Process.Kill()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, err := os.Stat(filepath.Join(f.dir, "started")); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the helper run did not start: %s", childErr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	var log syncBuffer
	done := make(chan error, 1)
	var m *Manifest
	go func() {
		var err error
		m, err = f.run(context.Background(), RunOptions{Name: "second", Log: &log})
		done <- err
	}()
	want := fmt.Sprintf("waiting: another run (pid %d, run first)", child.Process.Pid)
	for !strings.Contains(log.String(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("the second run did not say it waits (%q):\n%s", want, log.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	os.WriteFile(filepath.Join(f.dir, "release"), nil, 0o644)
	if err := child.Wait(); err != nil {
		t.Fatalf("helper run: %v: %s", err, childErr.String())
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := statuses(m); !strings.HasPrefix(got, "a:skipped") {
		t.Fatalf("second run: %s\n%s", got, log.String())
	}
	if f.runsA.Load() != 0 {
		t.Errorf("the second run computed a itself")
	}
	if !strings.Contains(m.Stages[0].Reason, "computed by another run") {
		t.Errorf("reason %q", m.Stages[0].Reason)
	}
}

// syncBuffer is a bytes.Buffer safe for a writer and a reader goroutine.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// A stage output read through another run's folder is checked too.
func TestVerifyOutputFindsTheEnclosingEntry(t *testing.T) {
	f := newFixture(t)
	opts := RunOptions{RunsDir: filepath.Join(f.dir, "runs"), Name: "r1"}
	if _, err := f.run(context.Background(), opts); err != nil {
		t.Fatal(err)
	}
	through := filepath.Join(opts.RunDir(), "b", "out.txt")
	if err := VerifyOutput(context.Background(), through); err != nil {
		t.Fatalf("intact: %v", err)
	}
	if err := VerifyOutput(context.Background(), f.cfgPath); err != nil {
		t.Fatalf("a file outside the cache: %v", err)
	}
	os.WriteFile(filepath.Join(entryOf(t, opts.RunDir(), "b"), "out.txt"), []byte("edited"), 0o644)
	if err := VerifyOutput(context.Background(), filepath.Join(opts.RunDir(), "b")); err == nil || !strings.Contains(err.Error(), "out.txt") {
		t.Fatalf("edited: %v", err)
	}
}
