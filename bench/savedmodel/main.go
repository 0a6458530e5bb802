// Command savedmodel-bench measures inference throughput of a TensorFlow
// SavedModel imported through fairage/savedmodel (the Go bindings), which
// run.sh compares with tf.saved_model.load in Python (peer.py) on the same
// images, batch and threads. It also prepares what run.sh needs:
//
//	-list L -metadata M -pack-out P -ages-out A
//	        pack the listed crops at -size (the pipeline's resize) and write
//	        their ages (JSON id -> age), for the Keras model and both sides
//	-make-resnet DIR
//	        export a freshly initialised fairage resnet18 (-width) at -size
//	        as a SavedModel (pipeline export's code path)
//	-saved DIR -pack P
//	        time preprocessing + inference + decoding over the pack: one
//	        warm-up pass, then the best of -passes, as wall-clock images/s
//	        and images per CPU-second of the process. Without -scale the
//	        preprocessing is the SavedModel's own metadata (a fairage
//	        export: uint8); with -scale it is float32 RGB NHWC × scale (the
//	        Keras model's declaration)
package main

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
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
	"fairage/preprocess"
	"fairage/savedmodel"
	"fairage/tfmodel"
)

func main() {
	list := flag.String("list", "", "file with one image path per line")
	metadata := flag.String("metadata", "", "metadata.csv with the listed files' ages")
	packOut := flag.String("pack-out", "", "write the resized crops to this pack and exit")
	agesOut := flag.String("ages-out", "", "with -pack-out: write the ages (JSON id -> age) here")
	size := flag.Int("size", 64, "image side")
	makeResNet := flag.String("make-resnet", "", "export a fresh resnet18 SavedModel to this folder and exit")
	width := flag.Float64("width", 0.5, "-make-resnet: width multiplier")
	saved := flag.String("saved", "", "SavedModel folder to time")
	packIn := flag.String("pack", "", "pack of images to predict")
	scale := flag.Float64("scale", 0, "float32 input × scale (0: the SavedModel's metadata decides)")
	label := flag.String("label", "model", "name printed on the result line")
	passes := flag.Int("passes", 3, "timed passes (after one warm-up)")
	intra := flag.Int("intra", 1, "TensorFlow intra-op threads")
	inter := flag.Int("inter", 1, "TensorFlow inter-op threads")
	batch := flag.Int("batch", 32, "images per session run")
	flag.Parse()
	var err error
	switch {
	case *packOut != "":
		err = writePack(*list, *metadata, *packOut, *agesOut, *size)
	case *makeResNet != "":
		err = exportResNet(*makeResNet, *size, *width)
	default:
		err = run(*saved, *packIn, *label, *scale, *passes, *intra, *inter, *batch)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "savedmodel-bench:", err)
		os.Exit(1)
	}
}

func run(saved, packPath, label string, scale float64, passes, intra, inter, batch int) error {
	if saved == "" || packPath == "" {
		return fmt.Errorf("-saved and -pack are required")
	}
	pk, err := dataset.OpenPacked(packPath)
	if err != nil {
		return err
	}
	defer pk.Close()
	var pre preprocess.Spec
	out := preprocess.Output{Decode: preprocess.Years, Reduce: preprocess.Expected}
	if scale > 0 {
		pre = preprocess.Spec{Height: pk.Height(), Width: pk.Width(), Resample: dataset.ResampleBiLinear, Fit: dataset.FitCrop,
			Color: preprocess.RGB, Layout: preprocess.NHWC, DType: preprocess.Float32, Scale: scale}
	} else {
		meta, ok, err := savedmodel.ReadMetadata(saved)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("%s has no fairage metadata: give -scale", saved)
		}
		pre, out = meta.Preprocess, meta.Decoding
	}
	m, err := savedmodel.Open(saved, pre, out, savedmodel.Options{BatchSize: batch, IntraOpThreads: intra, InterOpThreads: inter})
	if err != nil {
		return err
	}
	defer m.Close()
	index := make([]int, pk.Len())
	for i := range index {
		index[i] = i
	}
	ctx := context.Background()
	best, bestCPU := 0.0, 0.0
	for i := range passes + 1 {
		start, cpu0 := time.Now(), cpuSeconds()
		res, err := m.PredictPacked(ctx, pk, index, nil)
		if err != nil {
			return err
		}
		wall, cpu := time.Since(start).Seconds(), cpuSeconds()-cpu0
		for _, r := range res {
			if r.Err != nil {
				return fmt.Errorf("a rejected row: %s", r.Err.Detail)
			}
		}
		if i > 0 {
			best, bestCPU = max(best, float64(len(index))/wall), max(bestCPU, float64(len(index))/cpu)
		}
	}
	fmt.Printf("go %s: images_per_s=%.1f images_per_cpu_s=%.1f (best of %d passes of %d images after 1 warm-up; intra %d / inter %d threads, batch %d; %s)\n",
		label, best, bestCPU, passes, len(index), intra, inter, batch, pre)
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

func exportResNet(out string, size int, width float64) error {
	cfg := tfmodel.DefaultModelConfig()
	cfg.InputSize, cfg.WidthMultiplier = size, width
	r, err := tfmodel.New(cfg, tfmodel.WithProgress(nil))
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "savedmodel-bench-")
	if err != nil {
		r.Close()
		return err
	}
	defer os.RemoveAll(dir)
	err = r.Save(filepath.Join(dir, "model"))
	r.Close()
	if err != nil {
		return err
	}
	return tfmodel.ExportSavedModel(filepath.Join(dir, "model"), out,
		tfmodel.ExportOptions{Resample: dataset.ResampleBiLinear, Fit: dataset.FitCrop, Source: "bench"}, tfmodel.WithProgress(nil))
}

func writePack(list, metadata, out, agesOut string, size int) error {
	paths, err := readList(list)
	if err != nil {
		return err
	}
	ageOf := map[string]float64{}
	if metadata != "" {
		if ageOf, err = readAges(metadata); err != nil {
			return err
		}
	}
	spec := preprocess.Spec{Height: size, Width: size, Resample: dataset.ResampleBiLinear, Fit: dataset.FitCrop,
		Color: preprocess.RGB, Layout: preprocess.NHWC, DType: preprocess.Uint8, Scale: 1}
	t, errs, err := preprocess.LoadFiles(context.Background(), spec, paths, 0)
	if err != nil {
		return err
	}
	w, err := dataset.CreatePacked(out, size, size)
	if err != nil {
		return err
	}
	ages := map[string]float64{}
	per := spec.PerImage()
	for i, p := range paths {
		if errs[i] != nil {
			w.Abort()
			return errs[i]
		}
		id := strings.TrimSuffix(filepath.Base(p), filepath.Ext(p))
		if err := w.Append(id, t.U8[i*per:(i+1)*per]); err != nil {
			w.Abort()
			return err
		}
		if a, ok := ageOf[filepath.Base(p)]; ok {
			ages[id] = a
		}
	}
	if err := w.Close(); err != nil {
		return err
	}
	if agesOut == "" {
		return nil
	}
	b, err := json.Marshal(ages)
	if err != nil {
		return err
	}
	return os.WriteFile(agesOut, b, 0o644)
}

func readAges(metadata string) (map[string]float64, error) {
	f, err := os.Open(metadata)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", metadata, err)
	}
	fileCol, ageCol := slices.Index(rows[0], "file"), slices.Index(rows[0], "age")
	if fileCol < 0 || ageCol < 0 {
		return nil, fmt.Errorf("%s: no file and age columns", metadata)
	}
	ages := map[string]float64{}
	for i, r := range rows[1:] {
		a, err := strconv.ParseFloat(r[ageCol], 64)
		if err != nil {
			return nil, fmt.Errorf("%s row %d: age %q: %w", metadata, i+2, r[ageCol], err)
		}
		ages[r[fileCol]] = a
	}
	return ages, nil
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
