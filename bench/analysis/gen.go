package main

import (
	"bufio"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"

	"fairage/dataset"
)

// gen writes n synthetic predictions with a planted bias as Arrow IPC (for
// Go) and CSV (for pandas/fairlearn), with identical values: floats are
// written in shortest round-trip form.
func gen(args []string) error {
	fs := flag.NewFlagSet("gen", flag.ContinueOnError)
	n := fs.Int("n", 1_000_000, "number of predictions")
	seed := fs.Uint64("seed", 1, "random seed")
	out := fs.String("out", "build/bench-analysis", "output folder")
	if err := fs.Parse(args); err != nil {
		return err
	}
	preds := synthesize(*n, *seed)
	if err := dataset.WritePredictions(filepath.Join(*out, "predictions.arrow"), preds); err != nil {
		return err
	}
	return writeCSV(filepath.Join(*out, "predictions.csv"), preds)
}

// synthesize draws UTKFace-like rows: two genders, five ethnicities (2%
// unknown), no expression, ages 1–90, and errors whose spread grows with
// age and differs by ethnicity and gender.
func synthesize(n int, seed uint64) []dataset.Prediction {
	r := rand.New(rand.NewPCG(seed, 42))
	eths := []string{"white", "black", "asian", "indian", "others"}
	cum := []float64{0.42, 0.61, 0.76, 0.93, 1}
	spread := []float64{5.5, 7, 5, 6, 6.5}
	out := make([]dataset.Prediction, n)
	for i := range out {
		age := 1 + r.Float64()*89
		gender, gsd := "female", 0.3
		if r.IntN(2) == 1 {
			gender, gsd = "male", 0
		}
		u, e := r.Float64(), 0
		for u > cum[e] {
			e++
		}
		sd := spread[e] + gsd + age/25
		eth := eths[e]
		if r.IntN(50) == 0 {
			eth = ""
		}
		out[i] = dataset.Prediction{
			ID:        "p" + strconv.Itoa(i),
			Split:     dataset.SplitTest,
			YTrue:     age,
			YPred:     age + 0.4 + r.NormFloat64()*sd,
			Gender:    gender,
			Ethnicity: eth,
		}
	}
	return out
}

func writeCSV(path string, preds []dataset.Prediction) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	fmt.Fprintln(w, "id,split,y_true,y_pred,gender,ethnicity,expression")
	ff := func(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
	for _, p := range preds {
		fmt.Fprintf(w, "%s,%s,%s,%s,%s,%s,%s\n", p.ID, p.Split, ff(p.YTrue), ff(p.YPred), p.Gender, p.Ethnicity, p.Expression)
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	return f.Close()
}
