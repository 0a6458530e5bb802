// Command tfjs-bench measures inference throughput of a tfjs preset through
// fairage/tfjsmodel (the TF.js graph model imported into libtensorflow) on
// a list of face crops, for run.sh to compare with TensorFlow.js running
// the same model.json in Node on the same pixels
// (scripts/conformance/tfjs_graph.mjs):
//
//	-chips-out FILE  resize the crops to the preset's input size once and
//	                 write them (N×S×S×3 RGB bytes) for the Node side; print
//	                 model.json, size, normalisation and output tensor
//	                 (tab-separated) for its command line
//	(default)        time preprocessing from those bytes + inference +
//	                 decoding, one warm-up pass and the best of -passes,
//	                 as wall-clock images/s and images per CPU-second
//	-mae METADATA    print the preset's MAE on the listed crops (their ages
//	                 from a metadata.csv with file and age columns) and the
//	                 predict-the-median baseline
//	-expressions METADATA
//	                 infer expression on the listed crops with the emotion
//	                 classifier (happy, neutral, other: attrinfer's rule at
//	                 -threshold) and print the distribution per gender and
//	                 ethnicity, unknowns included
//
// Both sides start from the same resized bytes, so the comparison is the
// model's own cost (normalisation, the graph, reading the output).
package main

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"flag"
	"fmt"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"fairage/attrinfer"
	"fairage/dataset"
	"fairage/preprocess"
	"fairage/tfjsmodel"
)

func main() {
	preset := flag.String("preset", "faceres-age", "tfjs preset: "+strings.Join(tfjsmodel.PresetNames(), ", "))
	list := flag.String("list", "", "file with one image path per line")
	passes := flag.Int("passes", 3, "timed passes (after one warm-up)")
	intra := flag.Int("intra", 1, "TensorFlow intra-op threads")
	inter := flag.Int("inter", 1, "TensorFlow inter-op threads")
	batch := flag.Int("batch", 32, "images per session run")
	chipsOut := flag.String("chips-out", "", "write the resized RGB crops here and exit")
	maeOf := flag.String("mae", "", "metadata.csv with the listed files' ages: print the MAE and exit")
	exprOf := flag.String("expressions", "", "metadata.csv (file, gender, ethnicity): infer expression with the emotion classifier, print the distribution per group and exit")
	threshold := flag.Float64("threshold", 0.5, "-expressions: least confidence for an inferred value")
	flag.Parse()
	if *exprOf != "" {
		if err := expressions(*list, *exprOf, *threshold, *intra, *inter, *batch); err != nil {
			fmt.Fprintln(os.Stderr, "tfjs-bench:", err)
			os.Exit(1)
		}
		return
	}
	if err := run(*preset, *list, *chipsOut, *maeOf, *passes, *intra, *inter, *batch); err != nil {
		fmt.Fprintln(os.Stderr, "tfjs-bench:", err)
		os.Exit(1)
	}
}

func run(preset, list, chipsOut, maeOf string, passes, intra, inter, batch int) error {
	p, err := tfjsmodel.LookupPreset(preset)
	if err != nil {
		return err
	}
	paths, err := readList(list)
	if err != nil {
		return err
	}
	pre := p.Preprocess
	chips, err := resize(paths, pre)
	if err != nil {
		return err
	}
	if chipsOut != "" {
		// What the Node side needs to run the same model on the same bytes.
		path, err := p.Path()
		if err != nil {
			return err
		}
		mean := pre.Mean
		if mean == nil {
			mean = []float64{}
		}
		prep, _ := json.Marshal(map[string]any{"color": pre.Color, "mean": mean, "scale": pre.Scale})
		fmt.Printf("%s\t%d\t%s\t%s\n", path, pre.Height, prep, p.Output)
		return os.WriteFile(chipsOut, chips, 0o644)
	}
	m, err := tfjsmodel.OpenPreset(preset, tfjsmodel.Options{BatchSize: batch, IntraOpThreads: intra, InterOpThreads: inter})
	if err != nil {
		return err
	}
	defer m.Close()
	pp, err := preprocess.New(pre)
	if err != nil {
		return err
	}
	n := len(paths)
	per := pre.Height * pre.Width * 3
	predict := func() ([]tfjsmodel.Result, error) {
		x := pre.NewTensor(n)
		for i := range n {
			if err := pp.PutRGB(x, i, chips[i*per:(i+1)*per], pre.Height, pre.Width); err != nil {
				return nil, err
			}
		}
		return m.Predict(context.Background(), x, nil)
	}
	if maeOf != "" {
		res, err := predict()
		if err != nil {
			return err
		}
		return mae(paths, res, maeOf, preset)
	}
	if _, err := predict(); err != nil { // warm-up
		return err
	}
	bestWall, bestCPU := 0.0, 0.0
	for range passes {
		start, cpu0 := time.Now(), cpuSeconds()
		if _, err := predict(); err != nil {
			return err
		}
		wall, cpu := time.Since(start).Seconds(), cpuSeconds()-cpu0
		bestWall, bestCPU = max(bestWall, float64(n)/wall), max(bestCPU, float64(n)/cpu)
	}
	fmt.Printf("go %s n=%d batch=%d intra=%d inter=%d images_per_s=%.2f images_per_cpu_s=%.2f\n",
		preset, n, batch, intra, inter, bestWall, bestCPU)
	return nil
}

// cpuSeconds is the user and system time of the process so far.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return math.NaN()
	}
	return float64(ru.Utime.Sec+ru.Stime.Sec) + float64(ru.Utime.Usec+ru.Stime.Usec)/1e6
}

func readList(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("-list: %w", err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if s := strings.TrimSpace(sc.Text()); s != "" {
			out = append(out, s)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("-list %s names no images", path)
	}
	return out, sc.Err()
}

// resize decodes and resizes each crop by the preset's declaration.
func resize(paths []string, pre preprocess.Spec) ([]byte, error) {
	rz, err := dataset.NewResizer(pre.Height, pre.Width, pre.Fit, pre.Resample)
	if err != nil {
		return nil, err
	}
	per := pre.Height * pre.Width * 3
	out := make([]byte, len(paths)*per)
	for i, p := range paths {
		img, err := preprocess.ReadImage(p)
		if err != nil {
			return nil, err
		}
		if err := rz.RGB(img, out[i*per:(i+1)*per]); err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
	}
	return out, nil
}

// mae prints the preset's MAE on the crops and the predict-the-median
// baseline (the median of the same crops' ages).
func mae(paths []string, res []tfjsmodel.Result, metadata, preset string) error {
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
	ages := map[string]float64{}
	for i, r := range rows[1:] {
		a, err := strconv.ParseFloat(r[ageCol], 64)
		if err != nil {
			return fmt.Errorf("%s row %d: age %q: %w", metadata, i+2, r[ageCol], err)
		}
		ages[r[fileCol]] = a
	}
	var truth []float64
	sum, rejected := 0.0, 0
	for i, p := range paths {
		a, ok := ages[filepath.Base(p)]
		if !ok {
			return fmt.Errorf("%s has no age for %s", metadata, filepath.Base(p))
		}
		if res[i].Err != nil {
			rejected++
			continue
		}
		truth = append(truth, a)
		sum += math.Abs(res[i].Age - a)
	}
	sorted := slices.Sorted(slices.Values(truth))
	med := sorted[len(sorted)/2]
	base := 0.0
	for _, a := range truth {
		base += math.Abs(a - med)
	}
	n := float64(len(truth))
	fmt.Printf("%s: MAE %.2f years on %d crops (%d rejected); predicting the median (%.0f) gives %.2f\n",
		preset, sum/n, len(truth), rejected, med, base/n)
	return nil
}

// expressions infers expression on the listed crops and prints, per gender
// and per ethnicity, how many became each value and how many stayed unknown.
func expressions(list, metadata string, threshold float64, intra, inter, batch int) error {
	paths, err := readList(list)
	if err != nil {
		return err
	}
	rows, err := readCSV(metadata)
	if err != nil {
		return err
	}
	head := rows[0]
	fileCol, gCol, eCol := slices.Index(head, "file"), slices.Index(head, "gender"), slices.Index(head, "ethnicity")
	if fileCol < 0 || gCol < 0 || eCol < 0 {
		return fmt.Errorf("%s: no file, gender and ethnicity columns", metadata)
	}
	attrs := map[string][2]string{}
	for _, r := range rows[1:] {
		attrs[r[fileCol]] = [2]string{r[gCol], r[eCol]}
	}
	c, err := tfjsmodel.OpenClassifier("emotion", tfjsmodel.Options{BatchSize: batch, IntraOpThreads: intra, InterOpThreads: inter})
	if err != nil {
		return err
	}
	defer c.Close()
	rule := attrinfer.Config{Mapping: map[string]string{"happy": "happy", "neutral": "neutral"}, Other: "other", Threshold: threshold}
	classes := c.Preset().Classes
	if err := rule.Check("expressions", classes, nil); err != nil {
		return err
	}
	pre := c.Preset().Preprocess
	pp, err := preprocess.New(pre)
	if err != nil {
		return err
	}
	values := []string{"happy", "neutral", "other", "unknown"}
	counts := map[string]map[string]int{} // group → value → n
	add := func(group, v string) {
		if counts[group] == nil {
			counts[group] = map[string]int{}
		}
		counts[group][v]++
	}
	const chunk = 256
	for lo := 0; lo < len(paths); lo += chunk {
		part := paths[lo:min(len(paths), lo+chunk)]
		x := pre.NewTensor(len(part))
		for i, p := range part {
			if err := pp.PutFile(x, i, p); err != nil {
				return fmt.Errorf("%s: %w", p, err)
			}
		}
		res, err := c.Classify(context.Background(), x, nil)
		if err != nil {
			return err
		}
		for i, r := range res {
			a, ok := attrs[filepath.Base(part[i])]
			if !ok {
				return fmt.Errorf("%s has no row for %s", metadata, filepath.Base(part[i]))
			}
			v := "unknown"
			if r.Err == nil {
				inf, err := rule.Infer(classes, r.Probs)
				if err != nil {
					return err
				}
				if inf.Known {
					v = inf.Value
				}
			}
			add("all", v)
			add("gender="+a[0], v)
			add("ethnicity="+a[1], v)
		}
	}
	fmt.Printf("expression inferred by the emotion classifier on %d crops (happy, neutral, other; unknown below confidence %.2f)\n", len(paths), threshold)
	fmt.Printf("%-22s %7s", "group", "n")
	for _, v := range values {
		fmt.Printf(" %9s", v)
	}
	fmt.Println()
	for _, g := range slices.Sorted(maps.Keys(counts)) {
		n := 0
		for _, k := range counts[g] {
			n += k
		}
		fmt.Printf("%-22s %7d", g, n)
		for _, v := range values {
			fmt.Printf(" %8.1f%%", 100*float64(counts[g][v])/float64(n))
		}
		fmt.Println()
	}
	return nil
}

func readCSV(path string) ([][]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(rows) < 2 {
		return nil, fmt.Errorf("%s has no rows", path)
	}
	return rows, nil
}
