// Command verify measures what checking cached outputs costs: it builds
// (or finds in its cache) the ingest and split outputs of a config, by
// default the UTKFace development set, then times pipeline.VerifyRun, the
// check every reuse and `pipeline status` make, warm (files in the page
// cache) and cold (pages dropped with posix_fadvise first).
//
//	go run ./bench/verify [-config configs/utkface.yaml] [-runs build/bench-verify] [-repeat 5] [-until split]
package main

import (
	"context"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"time"

	"golang.org/x/sys/unix"

	"fairage/pipeline"
	"fairage/stages"
)

func main() {
	config := flag.String("config", "configs/utkface.yaml", "config whose early stages to build and verify")
	runs := flag.String("runs", "build/bench-verify", "runs folder (its cache is reused by later calls)")
	repeat := flag.Int("repeat", 5, "timed repetitions (the median is reported)")
	until := flag.String("until", "split", "last stage to build")
	flag.Parse()
	if err := run(*config, *runs, *until, *repeat); err != nil {
		fmt.Fprintln(os.Stderr, "bench/verify:", err)
		os.Exit(1)
	}
}

func run(config, runs, until string, repeat int) error {
	cfg, err := stages.Load(config, stages.LoadOptions{})
	if err != nil {
		return err
	}
	opts := cfg.RunOptions()
	opts.RunsDir, opts.Until, opts.Log = runs, until, os.Stderr
	r := &pipeline.Runner{Graph: stages.Graph(cfg.Config)}
	ctx := context.Background()
	if _, err := r.Run(ctx, opts); err != nil {
		return err
	}
	runDir := opts.RunDir()
	fmt.Printf("machine: %d cores; run folder %s\n", runtime.NumCPU(), runDir)
	checks, err := pipeline.VerifyRun(ctx, runDir)
	if err != nil {
		return err
	}
	fmt.Printf("%-8s %6s %9s %10s %10s %10s %10s\n", "stage", "files", "MB", "warm_ms", "warm_MB/s", "cold_ms", "cold_MB/s")
	for _, c := range checks {
		if len(c.Problems) > 0 || c.Err != nil {
			return fmt.Errorf("stage %s does not verify: %v %v", c.Stage, c.Problems, c.Err)
		}
	}
	for _, c := range checks {
		warm := median(repeat, func() time.Duration { return timeVerify(ctx, runDir, c.Stage) })
		cold := median(repeat, func() time.Duration {
			if err := dropPages(c.Entry); err != nil {
				fmt.Fprintln(os.Stderr, "bench/verify: drop pages:", err)
			}
			return timeVerify(ctx, runDir, c.Stage)
		})
		mb := float64(c.Bytes) / 1e6
		fmt.Printf("%-8s %6d %9.1f %10.1f %10.0f %10.1f %10.0f\n", c.Stage, c.Files, mb,
			ms(warm), mb/warm.Seconds(), ms(cold), mb/cold.Seconds())
	}
	return nil
}

// timeVerify times the check of one stage's output (VerifyRun on a run
// folder holding just that stage's link).
func timeVerify(ctx context.Context, runDir, stage string) time.Duration {
	tmp, err := os.MkdirTemp(filepath.Dir(runDir), ".bench-verify-")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(tmp)
	target, err := filepath.EvalSymlinks(filepath.Join(runDir, stage))
	if err == nil {
		target, err = filepath.Abs(target)
	}
	if err == nil {
		err = os.Symlink(target, filepath.Join(tmp, stage))
	}
	if err != nil {
		panic(err)
	}
	start := time.Now()
	checks, err := pipeline.VerifyRun(ctx, tmp)
	d := time.Since(start)
	if err != nil || len(checks) != 1 || checks[0].Err != nil || len(checks[0].Problems) > 0 {
		panic(fmt.Sprintf("verify %s: %v %+v", stage, err, checks))
	}
	return d
}

// dropPages asks the kernel to forget the cached pages of every file under
// dir, so the next read comes from the disk.
func dropPages(dir string) error {
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		return unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED)
	})
}

func median(n int, f func() time.Duration) time.Duration {
	ts := make([]time.Duration, n)
	for i := range ts {
		ts[i] = f()
	}
	slices.Sort(ts)
	return ts[n/2]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
