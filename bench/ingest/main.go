// Command ingest measures dataset.Ingest on the shared UTKFace development
// set: images per second (wall and per CPU-second), peak resident memory,
// and the machine's load before and after, since the CPUs may be shared.
//
//	go run ./bench/ingest [-data DIR] [-size 64] [-workers 0] [-resample bilinear] [-cpuprofile FILE]
//	go run ./bench/ingest -large 4 -workers 2   # four 49-megapixel PNGs among small ones: peak memory
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"fairage/dataset"
	"fairage/internal/testdata"
)

func main() {
	shared, _ := testdata.SharedDir()
	data := flag.String("data", filepath.Join(shared, "datasets", "utkface"), "UTKFace folder (images/ and metadata.csv)")
	size := flag.Int("size", 64, "packed image side in pixels")
	workers := flag.Int("workers", 0, "decoding goroutines (0: GOMAXPROCS)")
	resample := flag.String("resample", string(dataset.DefaultIngestOptions().Resample), "resampling kernel")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the ingest to this file")
	large := flag.Int("large", 0, "instead of -data, ingest this many generated 7000×7000 PNGs among 40 small ones")
	flag.Parse()
	if *large > 0 {
		dir, err := os.MkdirTemp("", "fairage-bench-large-")
		if err == nil {
			defer os.RemoveAll(dir)
			err = writeLargeSet(dir, *large, 7000)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench/ingest:", err)
			os.Exit(1)
		}
		*data = dir
		// Forget the generator's memory and peak, so VmHWM is the ingest's.
		debug.FreeOSMemory()
		resetErr := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
		fmt.Printf("generated %d 7000×7000 PNGs and 40 of 200×200 in %s (peak RSS reset: %v)\n", *large, dir, resetErr == nil)
	}
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench/ingest:", err)
			os.Exit(1)
		}
		defer pprof.StopCPUProfile()
	}
	if err := run(*data, *size, *workers, dataset.Resample(*resample)); err != nil {
		pprof.StopCPUProfile()
		fmt.Fprintln(os.Stderr, "bench/ingest:", err)
		os.Exit(1)
	}
}

func run(data string, size, workers int, resample dataset.Resample) error {
	tmp, err := os.MkdirTemp("", "fairage-bench-ingest-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	fmt.Printf("machine: %d cores (GOMAXPROCS %d), load before %s\n", runtime.NumCPU(), runtime.GOMAXPROCS(0), loadavg())
	start := time.Now()
	cpu0 := cpuSeconds()
	src, err := dataset.OpenUTKFace(data, dataset.UTKFaceOptions{})
	if err != nil {
		return err
	}
	opts := dataset.DefaultIngestOptions()
	opts.Size, opts.Workers, opts.Resample = size, workers, resample
	// Every image of the development set is valid: any rejection is a bug.
	opts.MaxRejectFraction = 0
	samples, rejected, err := dataset.Ingest(context.Background(), src, opts, filepath.Join(tmp, "images.pack"), nil)
	if err != nil {
		return err
	}
	wall := time.Since(start).Seconds()
	cpu := cpuSeconds() - cpu0
	n := float64(len(samples))
	if workers == 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	fmt.Printf("ingested: %d images, %d rejected, %dx%d %s, %d workers\n", len(samples), len(rejected), size, size, resample, workers)
	fmt.Printf("wall: %.2f s, %.0f images/s\n", wall, n/wall)
	fmt.Printf("cpu: %.2f s user+sys, %.0f images per CPU-second (%.2f ms/image)\n", cpu, n/cpu, 1000*cpu/n)
	fmt.Printf("peak RSS (VmHWM): %s\n", vmHWM())
	fmt.Printf("load after: %s\n", loadavg())
	return nil
}

func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	tv := func(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }
	return tv(ru.Utime) + tv(ru.Stime)
}

// vmHWM reads the peak resident set size the kernel recorded.
func vmHWM() string {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return "unknown (" + err.Error() + ")"
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ") + " (1, 5, 15 min)"
}
