// Command train-bench measures training and inference throughput of a
// tfmodel ResNet on synthetic images (pixel values do not change the work):
// one warm-up epoch, then the median images/s of the timed epochs, and the
// best of several timed Predict passes after a warm-up pass. run.sh runs it
// beside the Keras peer (peer.py) with the same architecture, batch, input
// size and thread pools, and prints the ratios.
//
// -precision bf16 (or fp16, auto) trains and predicts through TensorFlow's
// mixed-precision rewrite (train.precision); precision.sh compares it with
// fp32 and with Keras's mixed_bfloat16 policy.
//
// With -strategy head_only it times head-only epochs instead (training and
// validation, as the pipeline runs them), with the backbone's features
// cached or (-cache=false) recomputed every epoch; cache.sh compares both.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"time"

	"fairage/dataset"
	"fairage/regressor"
	"fairage/tfmodel"
)

func main() {
	arch := flag.String("arch", "resnet18", "architecture")
	n := flag.Int("n", 512, "images per epoch")
	size := flag.Int("size", 64, "input height and width")
	width := flag.Float64("width", 1, "width multiplier")
	batch := flag.Int("batch", 32, "batch size")
	epochs := flag.Int("epochs", 4, "epochs (the first is warm-up)")
	predicts := flag.Int("predicts", 3, "timed prediction passes")
	intra := flag.Int("intra", 2, "TensorFlow intra-op threads")
	inter := flag.Int("inter", 1, "TensorFlow inter-op threads")
	strategy := flag.String("strategy", "all_layers", "all_layers (throughput) or head_only (epoch times)")
	cache := flag.Bool("cache", true, "head_only: train the head on cached backbone features")
	valid := flag.Int("valid", 0, "head_only: validation images per epoch (default n/4)")
	precision := flag.String("precision", "fp32", "train.precision: fp32, bf16, fp16 or auto (training and prediction)")
	flag.Parse()
	if *strategy == "head_only" {
		if err := headOnly(*arch, *n, *valid, *size, *width, *batch, *epochs, *intra, *inter, *cache); err != nil {
			fmt.Fprintln(os.Stderr, "train-bench:", err)
			os.Exit(1)
		}
		return
	}
	if err := run(*arch, *n, *size, *width, *batch, *epochs, *predicts, *intra, *inter, tfmodel.Precision(*precision)); err != nil {
		fmt.Fprintln(os.Stderr, "train-bench:", err)
		os.Exit(1)
	}
}

func run(arch string, n, size int, width float64, batch, epochs, predicts, intra, inter int, precision tfmodel.Precision) error {
	if epochs < 2 {
		return fmt.Errorf("-epochs %d: need a warm-up epoch and at least one timed epoch", epochs)
	}
	dir, err := os.MkdirTemp("", "train-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	data, err := synthetic(filepath.Join(dir, "images.pack"), n, size)
	if err != nil {
		return err
	}
	defer data.Images.Close()

	cfg := tfmodel.DefaultModelConfig()
	cfg.Arch, cfg.InputSize, cfg.WidthMultiplier = tfmodel.Arch(arch), size, width
	tc := tfmodel.DefaultTrainConfig()
	tc.Strategy, tc.Epochs, tc.Adam.LR, tc.BatchSize = "all_layers", epochs, 1e-4, batch
	tc.ReduceOnPlateau.Patience, tc.EarlyStopping = 0, tfmodel.EarlyStopConfig{Monitor: "mae"}
	tc.Threads = tfmodel.Threads{IntraOp: intra, InterOp: inter}
	tc.Precision = precision
	m, err := tfmodel.New(cfg, tfmodel.WithTraining(tc), tfmodel.WithProgress(nil),
		tfmodel.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	if err != nil {
		return err
	}
	defer m.Close()

	hist, err := m.Fit(context.Background(), data, regressor.Data{}, nil, nil)
	if err != nil {
		return err
	}
	var rates []float64
	for _, h := range hist[1:] {
		rates = append(rates, h.ImagesPerSec)
	}
	slices.Sort(rates)
	fmt.Printf("go train %s %dx%d width %g batch %d precision %s: images_per_s=%.1f (median of %d epochs of %d images after 1 warm-up)\n",
		arch, size, size, width, batch, m.Precision().Resolved, rates[len(rates)/2], len(rates), n)

	if _, err := m.Predict(context.Background(), data); err != nil { // warm-up
		return err
	}
	best := 0.0
	for range predicts {
		start := time.Now()
		if _, err := m.Predict(context.Background(), data); err != nil {
			return err
		}
		best = max(best, float64(n)/time.Since(start).Seconds())
	}
	fmt.Printf("go predict %s %dx%d width %g batch %d precision %s: images_per_s=%.1f (best of %d passes)\n",
		arch, size, size, width, batch, m.Precision().Resolved, best, predicts)
	return nil
}

// synthetic writes n random images and returns them with random ages.
func synthetic(path string, n, size int) (regressor.Data, error) {
	w, err := dataset.CreatePacked(path, size, size)
	if err != nil {
		return regressor.Data{}, err
	}
	rng := rand.New(rand.NewPCG(1, 2))
	pix := make([]byte, size*size*3)
	examples := make([]regressor.Example, n)
	for i := range n {
		for j := range pix {
			pix[j] = byte(rng.IntN(256))
		}
		id := fmt.Sprintf("img%05d", i)
		if err := w.Append(id, pix); err != nil {
			w.Abort()
			return regressor.Data{}, err
		}
		examples[i] = regressor.Example{Index: i, ID: id, Target: 1 + 89*rng.Float64(), Weight: 1}
	}
	if err := w.Close(); err != nil {
		return regressor.Data{}, err
	}
	p, err := dataset.OpenPacked(path)
	if err != nil {
		return regressor.Data{}, err
	}
	return regressor.Data{Images: p, Examples: examples}, nil
}
