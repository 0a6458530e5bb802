// Command dist-bench measures what data-parallel training on a TensorFlow
// cluster costs on one machine: training images/s of the same network and
// global batch in one process and on a loopback cluster whose workers
// (`pipeline worker` processes) the script started, plus the bytes a step
// moves between tasks, computed from the variables and the batch.
//
// On a 2-core machine the workers share the cores with each other and with
// this process, so the numbers show the distributed runtime's overhead, not
// scaling; the printed speed-up model says what N machines would give.
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
	"strings"

	"fairage/dataset"
	"fairage/regressor"
	"fairage/tfmodel"
)

func main() {
	workers := flag.String("workers", "", "comma-separated host:port of the worker tasks (empty: one process)")
	n := flag.Int("n", 256, "images per epoch")
	size := flag.Int("size", 32, "input height and width")
	width := flag.Float64("width", 0.25, "width multiplier")
	batch := flag.Int("batch", 32, "global batch size")
	epochs := flag.Int("epochs", 3, "epochs (the first is warm-up)")
	intra := flag.Int("intra", 2, "TensorFlow intra-op threads of this process")
	flag.Parse()
	if err := run(*workers, *n, *size, *width, *batch, *epochs, *intra); err != nil {
		fmt.Fprintln(os.Stderr, "dist-bench:", err)
		os.Exit(1)
	}
}

func run(workers string, n, size int, width float64, batch, epochs, intra int) error {
	if epochs < 2 {
		return fmt.Errorf("-epochs %d: need a warm-up epoch and at least one timed epoch", epochs)
	}
	dir, err := os.MkdirTemp("", "dist-bench-")
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
	cfg.InputSize, cfg.WidthMultiplier = size, width
	tc := tfmodel.DefaultTrainConfig()
	tc.Strategy, tc.Epochs, tc.Adam.LR, tc.BatchSize = "all_layers", epochs, 1e-4, batch
	tc.ReduceOnPlateau.Patience, tc.EarlyStopping = 0, tfmodel.EarlyStopConfig{Monitor: "mae"}
	tc.Threads = tfmodel.Threads{IntraOp: intra, InterOp: 1}
	label := "single process"
	if workers != "" {
		tc.Cluster.Worker = strings.Split(workers, ",")
		label = fmt.Sprintf("cluster of %d workers", len(tc.Cluster.Worker))
	}
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
	rate := rates[len(rates)/2]
	fmt.Printf("%s: resnet18 x%g %dx%d global batch %d: images_per_s=%.1f step_ms=%.1f (median of %d epochs of %d images after 1 warm-up)\n",
		label, width, size, size, batch, rate, 1000*float64(batch)/rate, len(rates), n)

	// What one step moves between tasks (the model, not a capture): every
	// worker but 0 receives its shard (uint8) and the values of the
	// variables it reads, and sends one gradient per trained variable
	// back; worker 0 holds the variables and feeds the batch itself.
	k := len(tc.Cluster.Worker)
	if k > 1 {
		params, trained := m.ParamBytes()
		shard := int64(batch/k) * int64(size*size*3)
		perWorker := shard + params + trained
		fmt.Printf("bytes per step: %d per remote worker (shard %d + variables %d + gradients %d), %d for all %d remote workers\n",
			perWorker, shard, params, trained, perWorker*int64(k-1), k-1)
	}
	return nil
}

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
